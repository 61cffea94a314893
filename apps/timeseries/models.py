"""The store's two tables.

Time is an integer count of milliseconds since the Unix epoch (UTC) everywhere in the store:
every dialect speaks epoch seconds or milliseconds, integer arithmetic gives epoch-aligned
rollup periods with the same SQL on PostgreSQL and SQLite, and an int8 packs and compares as
fast as a timestamp.
"""

from datetime import UTC, datetime, timedelta

from django.db import models

from apps.core.time import MAX_TS_MS, MIN_TS_MS, TS_RANGE_TEXT  # noqa: F401  (the store's range: other modules import it from here)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_to_datetime(ms: int | None) -> datetime | None:
    """Epoch ms as an aware UTC datetime; None for None and for an instant outside the years
    1-9999, which no datetime holds (pages show those with `ms_label`, never fail on them)."""
    if ms is None or not MIN_TS_MS <= ms <= MAX_TS_MS:
        return None
    return _EPOCH + timedelta(milliseconds=ms)


def ms_label(ms: int) -> str:
    """An instant as people read it in the admin, `2024-03-01 12:00:00.250` (UTC), or as its epoch
    ms when it lies outside the years 1-9999."""
    moment = ms_to_datetime(ms)
    if moment is None:
        return f"{ms} epoch ms (outside the years 1 to 9999)"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


class SeriesKind(models.TextChoices):
    """What a series measures, which decides its statistics (docs/energy.md)."""

    MEASUREMENT = "measurement", "Measurement (instantaneous: kW, V, A, °C, %)"
    COUNTER = "counter", "Counter (cumulative register: kWh, m³ meter reading)"
    INTERVAL = "interval", "Interval (each sample is one interval's quantity)"
    VIRTUAL = "virtual", "Virtual (a linear combination of other series, no samples of its own)"


# Offered in the admin's unit input; any other unit is kept as typed.
KNOWN_UNITS = (
    *("kWh", "Wh", "MWh", "GJ", "m³", "l", "kvarh"),
    *("kW", "W", "MW", "var", "kvar", "VA", "kVA", "V", "A", "Hz", "°C", "%", "m³/h", "l/h", "ppm"),
)


class Series(models.Model):
    """One stored stream of samples: what ioTORQ calls a variable.

    `last_ts` / `last_value` mirror the newest sample at or before the time of the last write;
    the store keeps them current in the same transaction as every write, so realtime reads never
    touch the sample table. A sample dated later is stored but is not current until its time
    comes: `next_ts` is the oldest such sample (null when there is none), and readers of the
    current value (`selectors.series_current`) look past `last_ts` only once `next_ts` has passed.
    The same update bumps `revision`, so a figure computed from the samples and cached under the
    revision it was computed at (a range's count) is never served after the samples change.

    `kind` says what the samples measure (SeriesKind: instantaneous values, a cumulative register,
    or per-interval quantities); `site` gives the series its local calendar (`series_zone`).

    `pending_seq` is the lowest acceptance number of the writes accepted for later (import jobs)
    that have not finished on this series, null when there are none: while it is set, writes
    to the series leave marks that keep an older import from undoing them (see write_order.py).
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=200)
    # NULL, not "": the per-organization uniqueness applies only to series that have a code.
    meter_code = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    unit = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16, choices=SeriesKind.choices, default=SeriesKind.MEASUREMENT)
    interval_end = models.BooleanField(
        default=False,
        help_text="Interval series: the timestamp marks the end of the interval rather than its start.",
    )
    # A site with series is not deleted (their calendar would silently change); RESTRICT, not
    # PROTECT: deleting the organization deletes its series and sites together.
    site = models.ForeignKey(
        "tenancy.Site", null=True, blank=True, on_delete=models.RESTRICT, related_name="series"
    )
    last_ts = models.BigIntegerField("latest sample (epoch ms)", null=True, blank=True, editable=False)
    last_value = models.FloatField("latest value", null=True, blank=True, editable=False)
    next_ts = models.BigIntegerField(
        "next future sample (epoch ms)",
        null=True,
        blank=True,
        editable=False,
        help_text="The oldest sample dated after the last write; it becomes current when its time comes.",
    )
    pending_seq = models.BigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Lowest acceptance number of the unfinished imports writing to the series.",
    )
    statistics_pending = models.BooleanField(
        default=False,
        editable=False,
        help_text="Its statistics are being recomputed (after a change of kind or time zone).",
    )
    # What the statistics were last computed for, all of a series' samples at once (stats/basis.py):
    # when the series' kind, interval end or zone (site's, else organization's) no longer matches,
    # they are recomputed in the background. Null: not recorded yet (a new series).
    statistics_kind = models.CharField(max_length=16, null=True, blank=True, editable=False)  # noqa: DJ001
    statistics_interval_end = models.BooleanField(null=True, blank=True, editable=False)
    statistics_zone = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
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


class PendingWrite(models.Model):
    """A write accepted for later (an import job) that has not finished on `series`: one row per
    series it writes to, numbered `seq` in acceptance order (see write_order.py). The lowest of a
    series' numbers is mirrored on `Series.pending_seq`, read with the series lock."""

    pk = models.CompositePrimaryKey("series", "seq")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False, related_name="+")
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.series_id}#{self.seq}"


class WriteMark(models.Model):
    """Which accepted write set the sample (series, ts) last, by its acceptance number `seq`.

    Kept only while an older write is pending on the series, so that the older one, when it runs,
    leaves the sample alone; deleted as soon as no pending write is older than it. No database
    foreign key, like Sample: marks are written in bulk next to samples, and the check would
    cost a trigger per row. Deleting a series deletes its marks (an ORM cascade that loads no
    rows: one DELETE).
    """

    pk = models.CompositePrimaryKey("series", "ts")
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    ts = models.BigIntegerField()
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.series_id}@{self.ts}#{self.seq}"


class _Statistics(models.Model):
    """The figures of one series' samples in one bucket (docs/energy.md, "Statistics").

    `start` is the bucket's start in epoch ms. `consumption` is the kind's quantity: for a counter
    the sum of the increments whose later sample lies in the bucket (the first of them reaches
    back to the bucket's preceding sample), for an interval series the sum of the samples, and
    null for a measurement. `resets` and `steps_back` count a counter's increments that were a
    reset or a small step back (0 for other kinds). A bucket without samples has no row.

    Written by the store only (apps/timeseries/stats), in the same transaction as the samples
    they summarise; no database foreign key, like Sample, for the bulk writes.
    """

    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    start = models.BigIntegerField()
    count = models.IntegerField()
    sum = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    first_ts = models.BigIntegerField()
    first_value = models.FloatField()
    last_ts = models.BigIntegerField()
    last_value = models.FloatField()
    consumption = models.FloatField(null=True)
    resets = models.IntegerField(default=0)
    steps_back = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.series_id}@{self.start}"


class QuarterHourStatistics(_Statistics):
    """Per series and UTC quarter-hour ([start, start + 15 min)): every time-zone offset in use
    is a multiple of 15 minutes, so local hours and days are whole quarter-hours."""

    pk = models.CompositePrimaryKey("series", "start")

    class Meta:
        db_table = "timeseries_stats_quarter"
        verbose_name_plural = "quarter-hour statistics"


class DailyStatistics(_Statistics):
    """Per series and local day of its zone (`series_zone`): `start` is the day's local midnight
    in epoch ms, `day` its date. Rebuilt when the series' zone changes."""

    pk = models.CompositePrimaryKey("series", "start")
    day = models.DateField()

    class Meta:
        db_table = "timeseries_stats_day"
        verbose_name_plural = "daily statistics"


class VirtualSource(models.Model):
    """One term of a virtual series (SeriesKind.VIRTUAL): `coefficient` * `source`. A virtual
    series is the sum of its terms (`Main - Σ sub-meters` = unmetered: coefficients 1, -1, ...);
    it has no samples, and its statistics are computed on read from its sources' statistics
    (stats/read.py). A source may itself be virtual; the admin refuses cycles, sources of another
    organization and sources whose units differ (stats/virtual.py)."""

    virtual = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="virtual_sources")
    # A source in use cannot be deleted alone (the virtual series would silently change meaning);
    # deleting its organization deletes both.
    source = models.ForeignKey(Series, on_delete=models.RESTRICT, related_name="virtual_uses")
    coefficient = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["virtual", "source"], name="virtual_source_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.coefficient:+g} * {self.source_id}"
