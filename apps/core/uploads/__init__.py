"""Files uploaded in the admin, below every app that takes one: `reader` (CSV bytes to records,
streamed), `staging` (an upload kept server-side between its preview and its import) and
`timestamps` (a CSV's timestamp cells to epoch milliseconds). The samples import
(apps/imports/samples_csv) and the configuration import (apps/inventory/config_csv) build on them."""
