"""Benchmarks of the statistics' upkeep on the store's write path (issue #14): `make bench`.

(Not named bench/statistics.py: in this folder that name would be the standard library's
`statistics` for every benchmark script, bench/common.py included.)

Prints, each beside its reference measured in the same run:

(a) `store.write` of 1,000,000 new points (10 series x 100,000 one-minute samples: counters,
    interval series and measurements, in Europe/Berlin) with the quarter-hour and daily statistics
    kept, against a direct binary COPY of the same points into the sample table; and the same
    write with its statistics computed as an overwrite's are (every touched bucket in SQL), against
    the COPY measured again beside it;
(b) `store.write` overwriting those 1,000,000 stored points (new values), statistics kept,
    against COPY into a temporary table plus one INSERT ... ON CONFLICT DO UPDATE;
(c) the disk the statistics take beside the samples they summarise (pg_total_relation_size of
    the two statistics tables over the sample table's), after (a);
(d) small writes, as a gateway sends them: 1 and 100 new samples appended to one series, with the
    statistics kept against the same write with their upkeep switched off, and the statements a
    1-sample write issues.

Write figures are the median of WRITE_RUNS runs, timed from numpy arrays to commit, the store's
and the reference's runs taking turns. The tables written live in a schema `bench` first on the
search path (the same definitions as the real ones), emptied between runs; the database named in
DATABASE_URL is created when missing and migrated.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django
import numpy as np

from bench.common import (
    Figure,
    copy_rows,
    ensure_database,
    load_average,
    median_seconds,
    print_figures,
    ratio_figure,
)

SERIES = 10
PER_SERIES = 100_000
KINDS = ["counter"] * 4 + ["interval"] * 3 + ["measurement"] * 3
WRITE_RUNS = 3
SMALL_RUNS = 200
T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE_MS = 60_000
TABLES = ("timeseries_sample", "timeseries_stats_quarter", "timeseries_stats_day")


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from apps.tenancy.models import Organization
    from apps.timeseries import store
    from apps.timeseries.models import Series
    from apps.timeseries.stats.buckets import TAG
    from apps.timeseries.store.batch import series_ranges

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    org, _ = Organization.objects.update_or_create(
        slug="bench-statistics", defaults={"name": "Statistics benchmarks", "time_zone": "Europe/Berlin"}
    )
    ids = []
    for i, kind in enumerate(KINDS):
        series, _ = Series.objects.update_or_create(
            organization=org, meter_code=f"stats-{i:02d}", defaults={"name": f"stats-{i:02d}", "kind": kind}
        )
        ids.append(series.pk)
    small_series, _ = Series.objects.update_or_create(
        organization=org, meter_code="stats-small", defaults={"name": "stats-small", "kind": "counter"}
    )

    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for table in TABLES:  # recreated each run: the real tables' current definitions
            cursor.execute(f"DROP TABLE IF EXISTS bench.{table}")
            cursor.execute(f"CREATE TABLE bench.{table} (LIKE public.{table} INCLUDING ALL)")
        cursor.execute("SET search_path TO bench, public")

    rng = np.random.default_rng(14)
    sids = np.repeat(np.asarray(ids, dtype=np.int64), PER_SERIES)
    ts = np.tile(T0_MS + np.arange(PER_SERIES, dtype=np.int64) * MINUTE_MS, SERIES)
    columns = []
    for kind in KINDS:
        if kind == "counter":  # a register read every minute, reset once
            column = np.cumsum(rng.uniform(0, 2, PER_SERIES))
            column[PER_SERIES // 2 :] -= column[PER_SERIES // 2 - 1]
        elif kind == "interval":
            column = rng.uniform(0, 2, PER_SERIES)
        else:
            column = 100 + 50 * np.sin(np.arange(PER_SERIES) / 60)
        columns.append(column)
    values = np.concatenate(columns)
    new_values = values * 1.01
    points = len(ts)
    sid_list, ts_list, value_list = sids.tolist(), ts.tolist(), values.tolist()

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(f"bench.{t}" for t in TABLES))

    def store_write(column: np.ndarray) -> None:
        store.write(store.SampleBatch(series_ids=sids, ts=ts, values=column), store.Policy.OVERWRITE)

    def copy_direct() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_rows(
                cursor,
                "bench.timeseries_sample",
                zip(sid_list, ts_list, value_list, [None] * points, strict=True),
            )

    def copy_merge() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_batch (series_id int8, ts int8, value float8, quality int2)"
                " ON COMMIT DROP"
            )
            copy_rows(
                cursor,
                "bench_batch",
                zip(sid_list, ts_list, new_values.tolist(), [None] * points, strict=True),
            )
            cursor.execute(
                "INSERT INTO bench.timeseries_sample (series_id, ts, value, quality) "
                "SELECT series_id, ts, value, quality FROM bench_batch "
                "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality"
            )

    def load() -> None:
        empty()
        store_write(values)

    def paired(first, second, before) -> tuple[float, float]:
        """Medians of WRITE_RUNS runs of each, taking turns."""
        timings: tuple[list[float], list[float]] = ([], [])
        for _ in range(WRITE_RUNS):
            for run, into in ((first, timings[0]), (second, timings[1])):
                before()
                into.append(median_seconds(run, times=1))
        return statistics.median(timings[0]), statistics.median(timings[1])

    load_before = load_average()
    insert_store, insert_copy = paired(lambda: store_write(values), copy_direct, empty)

    def sql_only(series_ids, ts, values, *, calendars):
        """New data's statistics as an overwrite's: every touched bucket recomputed in SQL."""
        bounds = series_ranges(series_ids, ts)
        store.statistics_recompute(
            list(zip(*(c.tolist() for c in bounds), strict=True)), calendars=calendars, grows=True
        )

    def insert_sql_only() -> None:
        store.statistics_add = sql_only
        try:
            store_write(values)
        finally:
            store.statistics_add = array_path

    array_path = store.statistics_add
    insert_sql, insert_copy_again = paired(insert_sql_only, copy_direct, empty)
    overwrite_store, overwrite_copy = paired(lambda: store_write(new_values), copy_merge, load)

    load()
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"pg_total_relation_size('bench.{t}')" for t in TABLES))
        sample_bytes, quarter_bytes, day_bytes = cursor.fetchone()
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM bench.timeseries_stats_quarter), "
            "(SELECT COUNT(*) FROM bench.timeseries_stats_day)"
        )
        quarter_rows, day_rows = cursor.fetchone()
    disk_share = (quarter_bytes + day_bytes) / sample_bytes * 100

    # --- small writes: appended to one counter, with and without the statistics' upkeep --------
    empty()
    upkeep = store.statistics_recompute
    next_ts = [T0_MS]

    def append(n: int) -> None:
        batch = store.SampleBatch(
            [small_series.pk] * n, range(next_ts[0], next_ts[0] + n * 1000, 1000), [1.0] * n
        )
        next_ts[0] += n * 1000
        store.write(batch, store.Policy.OVERWRITE)

    tails, merge = store.series_tails, store.statistics_append

    def without_statistics(run):
        """`run` with every statistics step of the store replaced by nothing: the recompute, and the
        append path's probe and merge (stats/append.py)."""

        def timed() -> None:
            store.statistics_recompute = lambda *args, **kwargs: None
            store.series_tails = lambda *args, **kwargs: {}
            store.statistics_append = lambda *args, **kwargs: set()
            try:
                run()
            finally:
                store.statistics_recompute, store.series_tails, store.statistics_append = upkeep, tails, merge

        return timed

    small = {}
    for n in (1, 100):
        timings: tuple[list[float], list[float]] = ([], [])
        for _ in range(SMALL_RUNS):
            timings[0].append(median_seconds(lambda n=n: append(n), times=1))
            timings[1].append(median_seconds(without_statistics(lambda n=n: append(n)), times=1))
        small[n] = statistics.median(timings[0]), statistics.median(timings[1])
    with CaptureQueriesContext(connection) as queries:
        append(1)
    statements = [q["sql"] for q in queries.captured_queries]
    statistics_statements = sum(TAG in sql for sql in statements)
    load_after = load_average()
    empty()
    with connection.cursor() as cursor:
        cursor.execute("SET search_path TO public")

    def rate(seconds: float) -> str:
        return f"{points / seconds:,.0f} points/s"

    print()
    print(f"Statistics upkeep on PostgreSQL, database {connection.settings_dict['NAME']!r}")
    print(
        f"Writes: {points:,} points ({SERIES} series x {PER_SERIES:,} one-minute samples: "
        f"{KINDS.count('counter')} counters, {KINDS.count('interval')} interval, "
        f"{KINDS.count('measurement')} measurements), median of {WRITE_RUNS}"
    )
    print()
    print(f"{'':<58} {'rate':>24} {'seconds':>8} {'ratio':>7}")
    for label, seconds, reference in (
        ("(a) store.write, new points, statistics kept", insert_store, insert_copy),
        ("    direct binary COPY into the sample table", insert_copy, None),
        ("    the same with every bucket computed in SQL", insert_sql, insert_copy_again),
        ("    direct binary COPY, measured again beside it", insert_copy_again, None),
        ("(b) store.write, overwrite all, statistics kept", overwrite_store, overwrite_copy),
        ("    COPY to a temporary table + INSERT ON CONFLICT", overwrite_copy, None),
    ):
        ratio = f"{reference / seconds:.2f}x" if reference else ""
        print(f"{label:<58} {rate(seconds):>24} {seconds:>8.2f} {ratio:>7}")
    print()
    print(
        f"(c) disk: samples {sample_bytes / 2**20:,.1f} MiB; statistics {quarter_bytes / 2**20:,.1f} MiB "
        f"({quarter_rows:,} quarter-hours) + {day_bytes / 2**20:,.2f} MiB ({day_rows:,} days) = "
        f"{disk_share:.1f} % of the samples'"
    )
    print()
    print(f"(d) small writes appended to one counter, median of {SMALL_RUNS}, commit included")
    for n, (kept, off) in small.items():
        print(
            f"    {n:>3} sample(s): {kept * 1000:6.2f} ms with statistics, {off * 1000:6.2f} ms without "
            f"({off / kept:.2f}x)"
        )
    print(
        f"    statements of a 1-sample write: {len(statements)}, of which {statistics_statements} "
        f"for the statistics"
    )

    print_figures(
        "statistics upkeep",
        [
            ratio_figure(
                "statistics-insert",
                "store write, new data, statistics kept, 1,000,000 pts",
                reference=f"direct binary COPY into the same table: {rate(insert_copy)}",
                seconds=insert_store,
                reference_seconds=insert_copy,
                target=0.5,
                rate=rate(insert_store),
            ),
            ratio_figure(
                "statistics-overwrite",
                "store overwrite, statistics kept, 1,000,000 pts",
                reference=f"COPY to a temporary table + INSERT ON CONFLICT: {rate(overwrite_copy)}",
                seconds=overwrite_store,
                reference_seconds=overwrite_copy,
                target=0.7,
                rate=rate(overwrite_store),
            ),
            Figure(
                "statistics-disk",
                "statistics disk over samples' at 1-minute data",
                f"the samples: {sample_bytes / 2**20:,.1f} MiB ({points:,} rows)",
                f"{(quarter_bytes + day_bytes) / 2**20:,.1f} MiB",
                f"{disk_share:.1f} %",
                disk_share,
                10,
                "lower",
                "%",
            ),
        ],
        load=f"{load_before}; after: {load_after}",
    )
    print()
    print(f"Total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
