"""The store's two tables.

Time is an integer count of milliseconds since the Unix epoch (UTC) everywhere in the store:
every dialect speaks epoch seconds or milliseconds, integer arithmetic gives epoch-aligned
rollup periods with the same SQL on PostgreSQL and SQLite, and an int8 packs and compares as
fast as a timestamp.
"""

from datetime import UTC, datetime, timedelta

from django.db import models

# The instants a datetime can hold, 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z, in
# epoch ms: what every write path accepts at most. The store's column holds any int8, so a
# sample written before the write paths checked this may lie outside.
MIN_MS = -62_135_596_800_000
MAX_MS = 253_402_300_799_999
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_to_datetime(ms: int | None) -> datetime | None:
    """Epoch ms as an aware UTC datetime; None for None and for an instant outside the years
    1-9999, which no datetime holds (pages show those with `ms_label`, never fail on them)."""
    if ms is None or not MIN_MS <= ms <= MAX_MS:
        return None
    return _EPOCH + timedelta(milliseconds=ms)


def ms_label(ms: int) -> str:
    """An instant as people read it in the admin, `2024-03-01 12:00:00.250` (UTC), or as its epoch
    ms when it lies outside the years 1-9999."""
    moment = ms_to_datetime(ms)
    if moment is None:
        return f"{ms} epoch ms (outside the years 1 to 9999)"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


class Series(models.Model):
    """One stored stream of samples: what ioTORQ calls a variable.

    `last_ts` / `last_value` mirror the newest sample; the store keeps them current in the same
    transaction as every write, so realtime reads never touch the sample table. The same update
    bumps `revision`, so a figure computed from the samples and cached under the revision it was
    computed at (a range's count) is never served after the samples change.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=200)
    # NULL, not "": the per-organization uniqueness applies only to series that have a code.
    meter_code = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    unit = models.CharField(max_length=16, blank=True)
    last_ts = models.BigIntegerField("latest sample (epoch ms)", null=True, blank=True, editable=False)
    last_value = models.FloatField("latest value", null=True, blank=True, editable=False)
    revision = models.BigIntegerField(
        db_default=0,  # rows inserted in SQL (data loads, benchmarks) start at 0 too
        editable=False,
        help_text="Counts the changes to the series' samples; keys what is cached about them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "meter_code"],
                condition=models.Q(meter_code__isnull=False),
                name="series_org_meter_code_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.meter_code or self.name

    @property
    def last_at(self) -> datetime | None:
        """The newest sample's time; None also when it lies outside the years 1-9999 (`last_ts`
        still holds it)."""
        return ms_to_datetime(self.last_ts)


class Sample(models.Model):
    """One value of a series at one millisecond; the only large table.

    Keyed by (series, ts) with no surrogate id, so the primary key index is the only index. The
    table is created by hand in the migration, with no foreign key (a per-row check that made bulk
    writes five times slower); a database trigger deletes a deleted series' samples instead, so
    deleting a series never loads its samples into Python. Rows are written by `store.write`
    only, which locks and checks their series, never through the ORM.
    """

    pk = models.CompositePrimaryKey("series", "ts")
    series = models.ForeignKey(
        Series, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    ts = models.BigIntegerField()
    value = models.FloatField()
    quality = models.SmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.series_id}@{self.ts}={self.value}"
