"""CSV files of samples uploaded in the admin (long and wide form): `shapes` (which columns hold
what, and the preview), `samples` (records to an import job) and `repeated` (the hour repeated
when clocks go back). Reading and staging the file is apps/core/uploads."""
