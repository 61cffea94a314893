"""The store's statistics: per series and quarter-hour, and per series and local day (models
`QuarterHourStatistics`, `DailyStatistics`; the rules in docs/energy.md).

They are kept by the writers of the sample table, in the transaction of each change:
`buckets.statistics_recompute` brings the buckets of changed ranges up to date from the samples
(in SQL), `rebuild.statistics_rebuild` recomputes whole series.
"""
