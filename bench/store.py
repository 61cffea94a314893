"""Benchmarks of the time-series store against PostgreSQL: `make bench`.

Prints, as one table:

(a) `store.write` of 1,000,000 new points (100 series x 10,000) against a direct binary COPY of
    the same points into the same table, emptied before each run;
(b) `store.write` overwriting 1,000,000 stored points against COPY into a temporary table plus
    one INSERT ... ON CONFLICT DO UPDATE;
(c) one day of one-minute rollups of one series from a table of 10,000,000 samples
    (1,000 series x 10,000 samples, 10 s apart: 27.8 hours a series);
(d) the disk each stored sample takes in that table: table and indexes over rows;
(e) `store.write` overwriting 1,000,000 stored points while an import is pending on their series
    (the write also leaves a mark per sample, see apps/timeseries/write_order.py), against (b)
    measured again in the same loop;
(f) that pending import's own write of the same 1,000,000 points, of which 100,000 were set by a
    write accepted after it (checked against the marks and left alone), against the same.

Write figures are the median of 3 runs, each timed from Python lists to commit, the store's and
the reference's runs taking turns so that a change in the machine's load hits both alike; rollup
figures the median of several runs.

The database named in DATABASE_URL is used only for benchmarks: it is created when missing and
migrated. The 10,000,000 samples live in the real sample table and are built once, in SQL, then
kept across runs. The write benchmarks run against a table of the same definition (columns,
primary key, foreign keys if any) in a schema `bench` that comes first on the connection's search
path, so the store's unqualified SQL writes there and emptying it between runs never touches the
big table.
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

from bench.common import (
    Figure,
    copy_rows,
    ensure_database,
    load_average,
    median_seconds,
    print_figures,
    ratio_figure,
)

WRITE_SERIES = 100
WRITE_PER_SERIES = 10_000
WRITE_RUNS = 3
ROLLUP_SERIES = 1_000
ROLLUP_PER_SERIES = 10_000
ROLLUP_STEP_MS = 10_000
ROLLUP_RUNS = 9
T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
DAY_MS = 86_400_000
MINUTE_MS = 60_000
STATISTICS_TABLES = ("timeseries_stats_quarter", "timeseries_stats_day")


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()

    from django.core.management import call_command
    from django.db import connection, transaction

    from apps.tenancy.models import Organization
    from apps.timeseries import query, rollup
    from apps.timeseries.models import Series
    from apps.timeseries.store import Policy, SampleBatch, write, write_accept, write_release

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Benchmarks"})

    def series_ids(prefix: str, n: int) -> list[int]:
        """Ids of the benchmark's series `prefix0000`..., created when missing."""
        codes = [f"{prefix}{i:04d}" for i in range(n)]
        found = Series.objects.filter(organization=org, meter_code__in=codes)
        existing = set(found.values_list("meter_code", flat=True))
        Series.objects.bulk_create(
            [Series(organization=org, name=code, meter_code=code) for code in codes if code not in existing]
        )
        by_code = dict(found.values_list("meter_code", "id"))
        return [by_code[code] for code in codes]

    # --- the write table: same shape as the real one, first on the search path ------------------
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS bench")
        # Recreated each run, so it follows the real table's current definition (keys, checks);
        # the statistics the store keeps beside the samples too, emptied with them.
        for table in ("timeseries_sample", *STATISTICS_TABLES):
            cursor.execute(f"DROP TABLE IF EXISTS bench.{table}")
            cursor.execute(f"CREATE TABLE bench.{table} (LIKE public.{table} INCLUDING ALL)")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'public.timeseries_sample'::regclass AND contype = 'f'"
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE bench.timeseries_sample ADD CONSTRAINT {name} {definition}")
    write_ids = series_ids("write-", WRITE_SERIES)
    sids = [sid for sid in write_ids for _ in range(WRITE_PER_SERIES)]
    ts = [T0_MS + i * 1_000 for _ in write_ids for i in range(WRITE_PER_SERIES)]
    values = [float(i % 9_973) * 0.5 for i in range(len(ts))]
    new_values = [v + 1.0 for v in values]
    points = len(ts)

    def search_path(path: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {path}")

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE " + ", ".join(f"bench.{t}" for t in ("timeseries_sample", *STATISTICS_TABLES))
            )

    def copy_into(cursor, target: str, column_values: list[float]) -> None:
        copy_rows(cursor, target, zip(sids, ts, column_values, [None] * points, strict=True))

    def copy_direct() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_into(cursor, "bench.timeseries_sample", values)

    def store_write(column_values: list[float]) -> None:
        write(SampleBatch(series_ids=sids, ts=ts, values=column_values), Policy.OVERWRITE)

    def copy_merge() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_batch (series_id int8, ts int8, value float8, quality int2)"
                " ON COMMIT DROP"
            )
            copy_into(cursor, "bench_batch", new_values)
            cursor.execute(
                "INSERT INTO bench.timeseries_sample (series_id, ts, value, quality) "
                "SELECT series_id, ts, value, quality FROM bench_batch "
                "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality"
            )

    def empty_then_load() -> None:
        empty()
        copy_direct()

    def paired(first, second, before) -> tuple[float, float]:
        """Medians of WRITE_RUNS runs of each, taking turns."""
        timings: tuple[list[float], list[float]] = ([], [])
        for _ in range(WRITE_RUNS):
            for run, into in ((first, timings[0]), (second, timings[1])):
                before()
                into.append(median_seconds(run, times=1))
        return statistics.median(timings[0]), statistics.median(timings[1])

    load_before = load_average()
    search_path("bench, public")  # the store's unqualified SQL now writes to bench.timeseries_sample
    insert_store, insert_copy = paired(lambda: store_write(values), copy_direct, empty)
    overwrite_store, overwrite_copy = paired(lambda: store_write(new_values), copy_merge, empty_then_load)

    def pending_import(run) -> float:
        """Seconds of `run(seq)` with an import (acceptance number seq) pending on the series."""
        with transaction.atomic():
            seq = write_accept(series_ids=write_ids)
        try:
            return median_seconds(lambda: run(seq), times=1)
        finally:
            with transaction.atomic():
                write_release(seq=seq, series_ids=write_ids)

    later = slice(None, None, 10)  # every tenth point: set by a write accepted after the import

    def import_with_later_writes(seq: int) -> None:
        with transaction.atomic():
            newer = write_accept(series_ids=write_ids)
        newer_batch = SampleBatch(series_ids=sids[later], ts=ts[later], values=values[later])
        write(newer_batch, Policy.OVERWRITE, seq=newer)
        with transaction.atomic():
            write_release(seq=newer, series_ids=write_ids)
        seconds = median_seconds(
            lambda: write(SampleBatch(series_ids=sids, ts=ts, values=new_values), Policy.OVERWRITE, seq=seq),
            times=1,
        )
        timings_f.append(seconds)

    timings_e, timings_f, timings_b = [], [], []
    for _ in range(WRITE_RUNS):
        empty_then_load()
        timings_b.append(median_seconds(lambda: store_write(new_values), times=1))
        empty_then_load()
        timings_e.append(pending_import(lambda seq: store_write(new_values)))
        empty_then_load()
        pending_import(import_with_later_writes)
    pending_store, pending_job, overwrite_again = (
        statistics.median(timings_e),
        statistics.median(timings_f),
        statistics.median(timings_b),
    )
    empty()
    search_path("public")

    # --- the rollup table: 10,000,000 samples, built once --------------------------------------
    rollup_ids = series_ids("rollup-", ROLLUP_SERIES)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM public.timeseries_sample WHERE series_id BETWEEN %s AND %s",
            [min(rollup_ids), max(rollup_ids)],
        )
        present = cursor.fetchone()[0] == ROLLUP_SERIES * ROLLUP_PER_SERIES
    build_seconds = None
    if not present:
        build_started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE public.timeseries_sample")
            # The nested loop yields rows in primary-key order, so the index grows at its right
            # edge; an ORDER BY would only add a 10,000,000-row sort.
            cursor.execute(
                "INSERT INTO public.timeseries_sample (series_id, ts, value, quality) "
                "SELECT s.id, %s::int8 + g::int8 * %s, 100 + 50 * sin(g / 60.0 + s.id), NULL "
                "FROM unnest(%s::int8[]) AS s(id) CROSS JOIN generate_series(0, %s) AS g",
                [T0_MS, ROLLUP_STEP_MS, sorted(rollup_ids), ROLLUP_PER_SERIES - 1],
            )
            cursor.execute("VACUUM ANALYZE public.timeseries_sample")
        build_seconds = time.perf_counter() - build_started

    one = rollup_ids[len(rollup_ids) // 2]
    day = {"start_ms": T0_MS, "end_ms": T0_MS + DAY_MS, "period_ms": MINUTE_MS}
    records = rollup.rollups(series_ids=[one], **day)[one]
    assert len(records) == DAY_MS // MINUTE_MS, len(records)
    rollup_one = median_seconds(lambda: rollup.rollups(series_ids=[one], **day), times=ROLLUP_RUNS)
    ten = rollup_ids[:10]
    rollup_ten = median_seconds(lambda: rollup.rollups(series_ids=ten, **day), times=ROLLUP_RUNS)
    latest_all = median_seconds(
        lambda: query.rollups_latest(series_ids=rollup_ids, period_ms=MINUTE_MS), times=ROLLUP_RUNS
    )

    # --- disk per stored sample, on the 10,000,000-sample table ---------------------------------
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_table_size('public.timeseries_sample'), pg_indexes_size('public.timeseries_sample'),"
            " (SELECT COUNT(*) FROM public.timeseries_sample)"
        )
        table_bytes, index_bytes, stored_rows = cursor.fetchone()
    per_sample = (table_bytes + index_bytes) / stored_rows
    load_after = load_average()

    # --- report -------------------------------------------------------------------------------
    def rate(seconds: float) -> str:
        return f"{points / seconds:>12,.0f} points/s  ({seconds:6.2f} s)"

    print()
    print(f"Store benchmarks on PostgreSQL, database {connection.settings_dict['NAME']!r}")
    print(f"Writes: {points:,} points ({WRITE_SERIES} series x {WRITE_PER_SERIES:,}), median of {WRITE_RUNS}")
    print()
    print(f"{'':<52} {'rate':>34} {'store/COPY':>11}")
    rows = [
        ("(a) insert  store.write(OVERWRITE), new points", insert_store, insert_copy),
        ("    insert  binary COPY into the table", insert_copy, None),
        ("(b) overwrite  store.write(OVERWRITE), all stored", overwrite_store, overwrite_copy),
        ("    overwrite  COPY to temp + INSERT ON CONFLICT", overwrite_copy, None),
    ]
    for label, seconds, baseline in rows:
        ratio = f"{baseline / seconds:>10.2f}x" if baseline else ""
        print(f"{label:<52} {rate(seconds):>34} {ratio:>11}")
    print()
    print(f"{'':<52} {'rate':>34} {'vs (b)':>11}")
    for label, seconds in (
        ("    overwrite  store.write(OVERWRITE), as (b)", overwrite_again),
        ("(e) overwrite  with an import pending (marks)", pending_store),
        ("(f) the import's write, 10% set by later writes", pending_job),
    ):
        print(f"{label:<52} {rate(seconds):>34} {overwrite_again / seconds:>10.2f}x")
    print()
    print(
        f"Rollups: table of {ROLLUP_SERIES * ROLLUP_PER_SERIES:,} samples "
        f"({ROLLUP_SERIES:,} series x {ROLLUP_PER_SERIES:,}, {ROLLUP_STEP_MS // 1000} s apart), "
        f"median of {ROLLUP_RUNS}"
        + (f"; built in {build_seconds:.1f} s" if build_seconds is not None else "; already present")
    )
    print()
    print(f"{'(c) one day of 1-minute rollups, 1 series (1,440 records)':<60} {rollup_one * 1000:>9.1f} ms")
    print(f"{'    one day of 1-minute rollups, 10 series (14,400 records)':<60} {rollup_ten * 1000:>9.1f} ms")
    print(f"{'    latest 1-minute rollup of 1,000 series':<60} {latest_all * 1000:>9.1f} ms")
    print()
    print(
        f"(d) disk per stored sample: {per_sample:.1f} bytes ({table_bytes / stored_rows:.1f} table + "
        f"{index_bytes / stored_rows:.1f} primary key) over {stored_rows:,} rows of public.timeseries_sample"
    )

    def rate_text(seconds: float) -> str:
        return f"{points / seconds:,.0f} points/s"

    print_figures(
        "the store",
        [
            ratio_figure(
                "store-insert",
                "store write, new data, 1,000,000 points",
                reference=f"direct binary COPY into the same table: {rate_text(insert_copy)}",
                seconds=insert_store,
                reference_seconds=insert_copy,
                target=0.5,
                rate=rate_text(insert_store),
            ),
            ratio_figure(
                "store-overwrite",
                "store write, all timestamps stored, overwrite",
                reference=f"COPY to a temporary table + INSERT ON CONFLICT: {rate_text(overwrite_copy)}",
                seconds=overwrite_store,
                reference_seconds=overwrite_copy,
                target=0.9,
                rate=rate_text(overwrite_store),
            ),
            Figure(
                "disk-per-sample",
                "disk per stored sample, table and indexes",
                f"no reference; {stored_rows:,} rows, {(table_bytes + index_bytes) / 2**20:,.0f} MiB",
                f"{table_bytes / stored_rows:.1f} table + {index_bytes / stored_rows:.1f} index",
                f"{per_sample:.1f} B",
                per_sample,
                95,
                "lower",
                "bytes",
            ),
        ],
        load=f"{load_before}; after: {load_after}",
    )
    print()
    print(f"Total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
