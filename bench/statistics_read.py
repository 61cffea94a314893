"""Reading the statistics (issue #14, "Performance"): `make bench`.

Data, written through the store (which keeps the statistics, as in production) into the
benchmark database, built once and kept across runs: an organization in Europe/Berlin (a year
with its 23- and 25-hour days) with

- one kWh counter of a year (2024) of one-minute samples (527,040), the series of every
  single-series figure;
- 99 counters of the same year at one sample a quarter-hour (35,136 each): their statistics have
  the rows one-minute data would give (one per quarter-hour, one per local day), which is all a
  statistics read touches, at a fourteenth of the writing.

Figures (median of REQUESTS requests after WARMUP, the cases taking turns request by request,
over HTTP against gunicorn with one sync worker on loopback, as a staff facility manager with an
admin session; SQL and in-process figures the median of as many runs), each beside a reference
measured in the same run:

- 30 days of hourly values of one series (720 buckets) over HTTP: target <= 8 ms; references:
  the same 30 days rolled up by hour from the 43,200 samples in SQL (rollup.rollups, what the
  EMS history dialect does), and the issue's figures for Emoncms (4.5 ms) and InfluxDB (20 ms),
  measured on another run of this kind of machine (this machine's speed is printed beside them);
- a year of daily totals of one series: its SQL (the aggregate statement alone) <= 5 ms, over
  HTTP <= 15 ms; reference: the same local days bucketed from the 527,040 samples in SQL
  (query.rollups_by_edges, what the series page's totals read before the statistics);
- a year of daily totals of 100 series <= 60 ms over HTTP: the endpoint takes at most 50 series
  a request (the issue's limit), so two requests of 50, one after the other; and one read of all
  100 in process (`statistics_read`); reference: one series' request;
- a year of hourly values of one series (8,784 buckets) <= 40 ms over HTTP; reference: the
  year rolled up by hour from its samples in SQL.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench; created when
missing and migrated).
"""

import http.client
import json
import os
import secrets
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import (
    Figure,
    admin_session,
    ensure_database,
    free_port,
    gunicorn_serving,
    load_average,
    median_seconds,
    print_figures,
)

REQUESTS = 30
WARMUP = 5
YEAR_START_MS = 1_704_063_600_000  # 2024-01-01T00:00:00+01:00, Berlin's new year
YEAR_END_MS = 1_735_686_000_000  # 2025-01-01T00:00:00+01:00
MINUTE_MS = 60_000
QUARTER_MS = 900_000
HOUR_MS = 3_600_000
OTHER_SERIES = 99
WRITE_CHUNK = 200_000
EMONCMS_MS, INFLUXDB_MS = 4.5, 20.0  # the figures, 30 days hourly of one meter
PASSWORD = secrets.token_urlsafe(16)
USERNAME = "bench-statistics"


def prepare() -> tuple[int, list[int]]:
    """The organization, its series and their samples (written when missing), and a staff
    facility manager; returns the one-minute series' id and the other 99's."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from apps.tenancy.models import Organization
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    call_command("migrate", verbosity=0, interactive=False)
    organization, _ = Organization.objects.update_or_create(
        slug="bench-statistics", defaults={"name": "Statistics benchmark", "time_zone": "Europe/Berlin"}
    )
    codes = ["minute", *(f"quarter-{i:02d}" for i in range(OTHER_SERIES))]
    for code in codes:
        Series.objects.get_or_create(
            organization=organization,
            meter_code=code,
            defaults={"name": f"Bench {code}", "kind": "counter", "unit": "kWh"},
        )
    ids = dict(Series.objects.filter(organization=organization).values_list("meter_code", "id"))
    minute, others = ids["minute"], [ids[code] for code in codes[1:]]
    _samples_ensure([minute], MINUTE_MS)
    _samples_ensure(others, QUARTER_MS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE timeseries_stats_quarter")
        cursor.execute("ANALYZE timeseries_stats_day")
    user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(PASSWORD)
    user.save()
    membership_grant(user=user, organization=organization, role_slugs=["facility-manager"])
    return minute, others


def _samples_ensure(series_ids: list[int], step_ms: int) -> None:
    """A year of counter readings every `step_ms` for each series, through the store, unless the
    series hold them already."""
    import numpy as np
    from django.db import connection

    from apps.timeseries.store import Policy, SampleBatch, write

    per_series = (YEAR_END_MS - YEAR_START_MS) // step_ms
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_stats_day WHERE series_id = ANY(%s)", [series_ids])
        if cursor.fetchone()[0] == 366 * len(series_ids):
            return
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = ANY(%s)", [series_ids])
    print(f"writing a year of samples every {step_ms // 1000} s for {len(series_ids)} series (once)...")
    started = time.perf_counter()
    ts = np.arange(YEAR_START_MS, YEAR_END_MS, step_ms, dtype=np.int64)
    # A register that counts 0.5-2.5 kWh an hour, with a daily shape.
    hours = (ts - YEAR_START_MS) / HOUR_MS
    values = np.cumsum(1.5 + np.sin(hours * 2 * np.pi / 24)) * step_ms / HOUR_MS
    for sid in series_ids:
        for lo in range(0, per_series, WRITE_CHUNK):
            chunk = slice(lo, lo + WRITE_CHUNK)
            n = len(ts[chunk])
            write(SampleBatch([sid] * n, ts[chunk].tolist(), values[chunk].tolist()), Policy.OVERWRITE)
    print(f"  {per_series * len(series_ids):,} samples in {time.perf_counter() - started:.1f} s")


# --- over HTTP -----------------------------------------------------------------------------------


def statistics_path(series_ids: list[int], start: str, end: str, bucket: str) -> str:
    ids = "&".join(f"series={sid}" for sid in series_ids)
    return f"/admin/analytics/statistics.json?{ids}&start={start}&end={end}&bucket={bucket}"


def _get(port: int, session: str, path: str, status: int) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status != status:
        sys.exit(f"{path[:120]}: HTTP {response.status}: {data[:200]!r}")
    return data


def http_ms(port: int, session: str, cases: dict[str, tuple[list[str], object]]) -> dict[str, float]:
    """Median milliseconds of each case: GETting its paths one after the other, a connection
    each (as the other benchmarks do). The cases take turns, request by request, so that a
    change in the machine's load (it is shared) hits all of them alike. A case's check sees its
    first bodies; None: the answer must be a 400."""
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(WARMUP + REQUESTS):
        for name, (paths, check) in cases.items():
            started = time.perf_counter()
            bodies = [_get(port, session, path, 200 if check else 400) for path in paths]
            elapsed = time.perf_counter() - started
            if i == 0 and check:
                check([json.loads(body) for body in bodies])
            if i >= WARMUP:
                timings[name].append(elapsed)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def _expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"unexpected answer: wanted {what}")


def _buckets(n: int):
    def check(bodies) -> None:
        for body in bodies:
            for one in body["series"]:
                _expect(len(one["buckets"]) == n, f"{n} buckets")
                _expect(all(b["count"] for b in one["buckets"]), "no empty bucket")

    return check


# --- in process ----------------------------------------------------------------------------------


def in_process(minute: int, others: list[int]) -> dict[str, float]:
    """Milliseconds (medians) of the SQL and selector reads, and of their raw-sample references."""
    from apps.timeseries import query, rollup
    from apps.timeseries.models import Series
    from apps.timeseries.stats.edges import BucketSize, bucket_edges
    from apps.timeseries.stats.read import _aggregate, statistics_read

    year_days = bucket_edges(
        zone="Europe/Berlin", start=date(2024, 1, 1), end=date(2025, 1, 1), bucket=BucketSize.DAY
    )
    series = list(Series.objects.select_related("organization", "site").filter(pk__in=[minute, *others]))
    one = [s for s in series if s.pk == minute]
    month_end_ms = YEAR_START_MS + 30 * 86_400_000

    def read(which, start, end, bucket, n):
        result = statistics_read(which, start=start, end=end, bucket=bucket)
        _expect(all(len(b.starts) == n for b in result.values()), f"{n} buckets")

    figures = {
        "year days SQL": median_seconds(
            lambda: _aggregate("timeseries_stats_day", [minute], year_days, grouped=False), times=REQUESTS
        ),
        "year days from samples": median_seconds(
            lambda: query.rollups_by_edges(series_id=minute, edges_ms=year_days), times=1
        ),
        "year days read": median_seconds(
            lambda: read(one, date(2024, 1, 1), date(2025, 1, 1), "day", 366), times=REQUESTS
        ),
        "100 series year days read": median_seconds(
            lambda: read(series, date(2024, 1, 1), date(2025, 1, 1), "day", 366), times=9
        ),
        "30 days hours read": median_seconds(
            lambda: read(one, date(2024, 1, 1), date(2024, 1, 31), "hour", 720), times=REQUESTS
        ),
        "30 days hours from samples": median_seconds(
            lambda: rollup.rollups(
                series_ids=[minute], start_ms=YEAR_START_MS, end_ms=month_end_ms, period_ms=HOUR_MS
            ),
            times=9,
        ),
        "year hours read": median_seconds(
            lambda: read(one, date(2024, 1, 1), date(2025, 1, 1), "hour", 8_784), times=9
        ),
        "year hours from samples": median_seconds(
            lambda: rollup.rollups(
                series_ids=[minute], start_ms=YEAR_START_MS, end_ms=YEAR_END_MS, period_ms=HOUR_MS
            ),
            times=3,
        ),
    }
    return {name: seconds * 1000 for name, seconds in figures.items()}


def machine_speed() -> str:
    """This machine's Python loop and PostgreSQL round trip (bench/machine.py's figures), printed
    beside the issue's figures from another run."""
    from django.db import connection

    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop = time.perf_counter() - started
    with connection.cursor() as cursor:
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            timings.append(time.perf_counter() - started)
    return (
        f"Python 10M additions {loop:.2f} s, PostgreSQL round trip {statistics.median(timings) * 1000:.3f} ms"
    )


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    load_before = load_average()
    minute, others = prepare()
    local = in_process(minute, others)
    speed = machine_speed()
    port = free_port()
    with gunicorn_serving(port):
        session = admin_session(port, USERNAME, PASSWORD)
        all_ids = [minute, *others]
        figures = http_ms(
            port,
            session,
            {
                "floor": ([statistics_path([minute], "2024-01-01", "2024-01-31", "minute")], None),
                "month hours": (
                    [statistics_path([minute], "2024-01-01", "2024-01-31", "hour")],
                    _buckets(720),
                ),
                "year days": ([statistics_path([minute], "2024-01-01", "2025-01-01", "day")], _buckets(366)),
                "hundred": (
                    [
                        statistics_path(all_ids[:50], "2024-01-01", "2025-01-01", "day"),
                        statistics_path(all_ids[50:], "2024-01-01", "2025-01-01", "day"),
                    ],
                    _buckets(366),
                ),
                "year hours": (
                    [statistics_path([minute], "2024-01-01", "2025-01-01", "hour")],
                    _buckets(8_784),
                ),
            },
        )
    floor, month_hours, year_days = figures["floor"], figures["month hours"], figures["year days"]
    hundred, year_hours = figures["hundred"], figures["year hours"]
    load = f"{load_before}; after: {load_average()}"

    print()
    print("Statistics reads (issue #14): Europe/Berlin, 2024; a counter of 527,040 one-minute samples")
    print(f"and 99 of 35,136 quarter-hourly ones, written through the store; {speed}")
    print(f"over HTTP: median of {REQUESTS} after {WARMUP} warm-up, gunicorn 1 sync worker, admin session")
    rows = [
        ("floor: the endpoint answering 400 (session, permissions, no read)", floor),
        ("30 days hourly (720 buckets), over HTTP", month_hours),
        ("  in process (statistics_read)", local["30 days hours read"]),
        ("  reference: rolled up by hour from the 43,200 samples, SQL", local["30 days hours from samples"]),
        ("  reference: Emoncms / InfluxDB (issue's figures, another run)", None),
        ("a year of daily totals (366 buckets), over HTTP", year_days),
        ("  its SQL (the aggregate statement)", local["year days SQL"]),
        ("  in process (statistics_read)", local["year days read"]),
        ("  reference: local days from the 527,040 samples, SQL", local["year days from samples"]),
        ("a year of daily totals of 100 series, 2 requests of 50", hundred),
        ("  in process, one read of the 100", local["100 series year days read"]),
        ("a year hourly (8,784 buckets), over HTTP", year_hours),
        ("  in process (statistics_read)", local["year hours read"]),
        ("  reference: rolled up by hour from the 527,040 samples, SQL", local["year hours from samples"]),
    ]
    for label, value in rows:
        shown = f"{EMONCMS_MS} / {INFLUXDB_MS} ms" if value is None else f"{value:.2f} ms"
        print(f"  {label:<66} {shown:>16}")

    def figure(key, what, reference, value, target):
        return Figure(
            key, what, reference, f"median of {REQUESTS}", f"{value:.1f} ms", value, target, "lower", "ms"
        )

    print_figures(
        "statistics reads",
        [
            figure(
                "stats-30d-hourly-http",
                "30 days of hourly values, one series, HTTP",
                f"HTTP floor {floor:.1f} ms; from samples {local['30 days hours from samples']:.1f} ms;"
                f" Emoncms {EMONCMS_MS}, InfluxDB {INFLUXDB_MS} ms",
                month_hours,
                8,
            ),
            figure(
                "stats-year-daily-sql",
                "a year of daily totals, one series, SQL",
                f"from samples {local['year days from samples']:.1f} ms of SQL",
                local["year days SQL"],
                5,
            ),
            figure(
                "stats-year-daily-http",
                "a year of daily totals, one series, HTTP",
                f"HTTP floor {floor:.1f} ms; its SQL {local['year days SQL']:.1f} ms",
                year_days,
                15,
            ),
            figure(
                "stats-year-daily-100-http",
                "a year of daily totals, 100 series, HTTP (2 x 50)",
                f"HTTP floor {floor:.1f} ms; one series {year_days:.1f} ms over HTTP",
                hundred,
                60,
            ),
            figure(
                "stats-year-hourly",
                "a year of hourly values, one series, HTTP",
                f"HTTP floor {floor:.1f} ms; from samples {local['year hours from samples']:.1f} ms of SQL",
                year_hours,
                40,
            ),
        ],
        load=load,
    )


if __name__ == "__main__":
    main()
