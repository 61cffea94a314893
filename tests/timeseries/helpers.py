from datetime import UTC, datetime

from django.db import connection

from apps.timeseries.store import Policy, SampleBatch, latest_refresh, write


def ms(*args) -> int:
    """Epoch milliseconds of the UTC instant datetime(*args)."""
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def write_samples(series, ts, values, policy: Policy = Policy.OVERWRITE) -> None:
    """Write the series' samples (ts[i], values[i]) through the store."""
    write(SampleBatch([series.pk] * len(ts), list(ts), list(values)), policy)


def stored(series) -> list[tuple[int, float, int | None]]:
    """The series' samples as (ts, value, quality), read straight from the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value, quality FROM timeseries_sample WHERE series_id = %s ORDER BY ts", [series.pk]
        )
        return [tuple(row) for row in cursor.fetchall()]


def store_snapshot() -> list[tuple]:
    """Every stored sample and every series' latest sample: equal snapshots, untouched store."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT series_id, ts, value, quality FROM timeseries_sample ORDER BY series_id, ts")
        samples = cursor.fetchall()
        cursor.execute("SELECT id, last_ts, last_value FROM timeseries_series ORDER BY id")
        return [*samples, *cursor.fetchall()]


def sample_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_sample")
        return cursor.fetchone()[0]


# Instants the store no longer accepts, as rows written before it refused them could hold them:
# the 9999-12-31T23:59:59.999-23:59 and 0001-01-01T00:00:00+23:59.
PAST_THE_END_MS = 253_402_300_799_999 + (23 * 60 + 59) * 60_000
BEFORE_THE_START_MS = -62_135_596_800_000 - (23 * 60 + 59) * 60_000


def store_unchecked(series_id: int, rows: list[tuple[int, float]]) -> None:
    """Insert (ts, value) samples past the store's checks (as an old row, or a hand-written one,
    sits in the table) and bring the series' latest sample up to date as the store would."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO timeseries_sample (series_id, ts, value, quality) VALUES (%s, %s, %s, NULL)",
            [(series_id, ts, value) for ts, value in rows],
        )
    latest_refresh([series_id])
