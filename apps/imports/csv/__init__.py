"""CSV files uploaded in the admin: samples (long and wide form) and their staging between the
preview and the import. See `reader` (bytes to records), `samples` (records to an import job) and
`staging` (the uploaded file kept server-side between two requests)."""
