"""The facility manager's console (issue #15, "Performance"): `make bench`.

Targets: every console page renders in <= 300 ms server time with the benchmark database
(10,000,000 samples, 1,000 series), and the analysis page's data for 10 series over a year of
days (statistics.json, daily buckets) <= 100 ms over HTTP.

Data, written through the store (its COPY path for new samples, which keeps the statistics, as in
production) into the benchmark database, built once and kept across runs (resumed where a build
was interrupted): an organization in Europe/Berlin with SITES sites (time zones, floor areas),
DEVICES devices with a load each and a signal per series, and 1,000 kWh counters at one sample a
quarter-hour up to the time of the build: YEAR_SERIES of them over a year and a day (35,136
samples each; the analysis figure reads these), the others 10,000 samples each (104 days),
10,251,360 samples in all. A staff facility manager of the organization is the user.

Figures, each the median and p95 of REQUESTS requests after WARMUP, the cases taking turns
request by request so that a change in the shared machine's load hits all of them alike:

- server time, in process (django.test.Client with the user's session, the whole Django stack
  with its middleware, no network): the admin index (dashboard with the energy overview), the
  analysis page with 10 series, statistics.json of 10 series x a year of days, series.json
  search, the export form, a series change page (its chart), the series, site and device
  changelists; reference: the admin's login page (a trivial admin page) in the same loop;
- over HTTP (gunicorn, one sync worker, loopback, a connection a request, as the other
  benchmarks): statistics.json of 10 series x a year of days; reference: /healthz.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench_console; created
when missing and migrated).
"""

import http.client
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench_console")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import (
    Figure,
    admin_session,
    ensure_database,
    free_port,
    gunicorn_serving,
    load_average,
    print_figures,
)

SLUG = "bench-console"
USERNAME = "bench-console"
PASSWORD = secrets.token_urlsafe(16)
SERIES = 1_000
YEAR_SERIES = 10
SITES = 4
DEVICES = 50
QUARTER_MS = 900_000
HOUR_MS = 3_600_000
YEAR_SAMPLES = 366 * 96  # a year and a day of quarter-hours
OTHER_SAMPLES = 10_000
WRITE_ROWS = 200_000
REQUESTS = 30
WARMUP = 3
PAGE_TARGET_MS = 300
DATA_TARGET_MS = 100
SITE_ZONES = ("Europe/Berlin", "Europe/Berlin", "Europe/London", "America/New_York")


def prepare() -> dict:
    """The organization, sites, devices, series and samples (written when missing), and the user;
    returns the ids the cases need."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from apps.inventory.models import Device, Load, Signal
    from apps.tenancy.models import Organization, Site
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    call_command("migrate", verbosity=0, interactive=False)
    organization, _ = Organization.objects.update_or_create(
        slug=SLUG, defaults={"name": "Console benchmark", "time_zone": "Europe/Berlin"}
    )
    sites = []
    for i in range(SITES):
        site, _ = Site.objects.get_or_create(
            organization=organization,
            name=f"Site {i + 1}",
            defaults={"time_zone": SITE_ZONES[i % len(SITE_ZONES)], "floor_area": 1_000.0 * (i + 1)},
        )
        sites.append(site)
    if Series.objects.filter(organization=organization).count() < SERIES:
        existing = set(Series.objects.filter(organization=organization).values_list("meter_code", flat=True))
        Series.objects.bulk_create(
            [
                Series(
                    organization=organization,
                    meter_code=f"M{i:04d}",
                    name=f"Meter {i:04d} {'Building' if i % 2 else 'Plant'} {i % 37}",
                    kind="counter",
                    unit="kWh",
                    site=sites[i % SITES],
                )
                for i in range(SERIES)
                if f"M{i:04d}" not in existing
            ]
        )
    series_ids = list(
        Series.objects.filter(organization=organization).order_by("meter_code").values_list("id", flat=True)
    )
    if not Device.objects.filter(organization=organization).exists():
        devices = Device.objects.bulk_create(
            [
                Device(
                    organization=organization,
                    uid=70_000 + i,
                    label=f"Meter cabinet {i}",
                    site=sites[i % SITES],
                )
                for i in range(DEVICES)
            ]
        )
        loads = Load.objects.bulk_create(
            [
                Load(organization=organization, device=device, uid=70_000 + i, label=f"Feeder {i}")
                for i, device in enumerate(devices)
            ]
        )
        Signal.objects.bulk_create(
            [
                Signal(
                    organization=organization,
                    load=loads[i % DEVICES],
                    uid=70_000 + i,
                    si=1 + i % 40,
                    unit="kWh",
                    series_id=sid,
                )
                for i, sid in enumerate(series_ids)
            ]
        )
    _samples_ensure(series_ids)
    with connection.cursor() as cursor:
        for table in ("timeseries_sample", "timeseries_stats_quarter", "timeseries_stats_day"):
            cursor.execute(f"ANALYZE {table}")
    user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(PASSWORD)
    user.save()
    membership_grant(user=user, organization=organization, role_slugs=["facility-manager"])
    return {
        "organization": organization.pk,
        "series": series_ids,
        "sites": [s.pk for s in sites],
        "user": user,
    }


def _samples_ensure(series_ids: list[int]) -> None:
    """Quarter-hourly counter readings for each series without samples, through the store, up to
    the end of the samples already written (else now): a build resumes where it stopped."""
    import numpy as np
    from django.db.models import Max

    from apps.timeseries.models import Series
    from apps.timeseries.store import Policy, SampleBatch, write

    missing = set(Series.objects.filter(pk__in=series_ids, last_ts__isnull=True).values_list("id", flat=True))
    if not missing:
        return
    newest = Series.objects.filter(pk__in=series_ids).aggregate(newest=Max("last_ts"))["newest"]
    end_ms = newest + QUARTER_MS if newest else int(time.time() * 1000) // QUARTER_MS * QUARTER_MS
    todo = [(i, sid) for i, sid in enumerate(series_ids) if sid in missing]
    print(f"writing quarter-hourly samples of {len(todo)} series (once)...", flush=True)
    started = time.perf_counter()
    written = 0
    ids, stamps, readings = [], [], []

    def flush():
        nonlocal written
        if ids:
            batch = SampleBatch(
                np.concatenate(ids).tolist(),
                np.concatenate(stamps).tolist(),
                np.concatenate(readings).tolist(),
            )
            written += write(batch, Policy.OVERWRITE).written
            ids.clear(), stamps.clear(), readings.clear()
            print(f"  {written:,} samples, {time.perf_counter() - started:.0f} s", flush=True)

    pending = 0
    for i, sid in todo:
        n = YEAR_SAMPLES if i < YEAR_SERIES else OTHER_SAMPLES
        ts = np.arange(end_ms - n * QUARTER_MS, end_ms, QUARTER_MS, dtype=np.int64)
        hours = ts / HOUR_MS
        # A register counting 0.5-2.5 kWh an hour (scaled per meter) with a daily shape.
        rate = (1.5 + np.sin(hours * 2 * np.pi / 24)) * (1 + i % 7)
        ids.append(np.full(n, sid, dtype=np.int64))
        stamps.append(ts)
        readings.append(1_000.0 * i + np.cumsum(rate) * QUARTER_MS / HOUR_MS)
        pending += n
        if pending >= WRITE_ROWS:
            flush()
            pending = 0
    flush()
    print(f"  {written:,} samples in {time.perf_counter() - started:.1f} s", flush=True)


# --- the cases -----------------------------------------------------------------------------------


def cases(ids: dict) -> dict[str, str]:
    """name -> path of each console page and JSON endpoint measured, the reference first."""
    from datetime import date

    series = ids["series"]
    year_series = "&".join(f"series={sid}" for sid in series[:YEAR_SERIES])
    today = date.today()
    start = today.replace(year=today.year - 1).isoformat()
    return {
        "login page (reference)": "/admin/login/",
        "admin index (dashboard)": "/admin/",
        "analysis page, 10 series": f"/admin/analytics/?{year_series}",
        "statistics.json 10 series x year of days": (
            f"/admin/analytics/statistics.json?{year_series}&start={start}&end={today.isoformat()}&bucket=day"
        ),
        "series.json search": "/admin/analytics/series.json?q=building+1",
        "export form": "/admin/analytics/export/",
        "series change page": f"/admin/timeseries/series/{series[0]}/change/",
        "series changelist": "/admin/timeseries/series/",
        "site changelist": "/admin/tenancy/site/",
        "device changelist": "/admin/inventory/device/",
    }


def in_process_ms(paths: dict[str, str], user) -> dict[str, list[float]]:
    """Each case's server times (ms) through django.test.Client, the cases taking turns."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    anonymous = Client()
    client.force_login(user)
    timings: dict[str, list[float]] = {name: [] for name in paths}
    queries: dict[str, int] = {}
    for i in range(WARMUP + REQUESTS):
        for name, path in paths.items():
            who = anonymous if path == "/admin/login/" else client
            started = time.perf_counter()
            response = who.get(path)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                sys.exit(f"{name}: {path[:120]}: HTTP {response.status_code}")
            if i >= WARMUP:
                timings[name].append(elapsed * 1000)
    for name, path in paths.items():  # the query counts, once, outside the timings
        who = anonymous if path == "/admin/login/" else client
        with CaptureQueriesContext(connection) as captured:
            who.get(path)
        queries[name] = len(captured)
    reset_queries()
    return timings, queries


def http_ms(port: int, session: str, paths: dict[str, str]) -> dict[str, list[float]]:
    """Each case's times (ms) over HTTP, a connection a request, the cases taking turns."""
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(WARMUP + REQUESTS):
        for name, path in paths.items():
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
            response = connection.getresponse()
            data = response.read()
            connection.close()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                sys.exit(f"{name}: HTTP {response.status}: {data[:200]!r}")
            if i >= WARMUP:
                timings[name].append(elapsed * 1000)
    return timings


def machine_speed() -> str:
    """This machine's Python loop and PostgreSQL round trip (bench/machine.py's figures): the
    machine is shared, and a busy one is a slower one."""
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


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    load_before = load_average()
    ids = prepare()
    paths = cases(ids)
    speed = machine_speed()
    local, queries = in_process_ms(paths, ids["user"])
    data_path = paths["statistics.json 10 series x year of days"]
    port = free_port()
    with gunicorn_serving(port):
        session = admin_session(port, USERNAME, PASSWORD)
        remote = http_ms(port, session, {"healthz (reference)": "/healthz", "statistics.json": data_path})
    load = f"{load_before}; after: {load_average()}"

    reference = statistics.median(local["login page (reference)"])
    print()
    print(f"Console pages (issue #15): {SERIES:,} series, {SERIES - YEAR_SERIES} x {OTHER_SAMPLES:,} and")
    print(f"{YEAR_SERIES} x {YEAR_SAMPLES:,} quarter-hourly samples; server time in process")
    print("(django.test.Client, the login page anonymous, the others as the facility manager),")
    print(f"median and p95 of {REQUESTS} after {WARMUP} warm-up; ratio: median / the login page's median")
    print(f"machine: {speed}")
    print(f"  {'case':<44} {'median':>9} {'p95':>9} {'ratio':>7} {'queries':>8}")
    for name, values in local.items():
        median = statistics.median(values)
        print(
            f"  {name:<44} {median:>6.1f} ms {p95(values):>6.1f} ms {median / reference:>6.1f}x"
            f" {queries[name]:>8}"
        )
    healthz, data = (
        statistics.median(remote["healthz (reference)"]),
        statistics.median(remote["statistics.json"]),
    )
    print(f"over HTTP (gunicorn, 1 sync worker), median and p95 of {REQUESTS} after {WARMUP} warm-up:")
    for name, values in remote.items():
        median = statistics.median(values)
        print(f"  {name:<44} {median:>6.1f} ms {p95(values):>6.1f} ms {median / healthz:>6.1f}x")

    slowest_name, slowest = max(
        ((name, statistics.median(values)) for name, values in local.items() if "reference" not in name),
        key=lambda item: item[1],
    )
    print_figures(
        "console (issue #15)",
        [
            Figure(
                "console-slowest-page",
                "console, slowest page or JSON, server time (median)",
                f"login page {reference:.1f} ms in process; slowest: {slowest_name}",
                f"median of {REQUESTS}, in process",
                f"{slowest:.1f} ms",
                slowest,
                PAGE_TARGET_MS,
                "lower",
                "ms",
            ),
            Figure(
                "console-analysis-data-http",
                "analysis data, 10 series x a year of days, HTTP",
                f"/healthz {healthz:.1f} ms over HTTP",
                f"median of {REQUESTS}, gunicorn",
                f"{data:.1f} ms",
                data,
                DATA_TARGET_MS,
                "lower",
                "ms",
            ),
        ],
        load=load,
    )


if __name__ == "__main__":
    ensure_database(os.environ["DATABASE_URL"])
    if sys.argv[1:] == ["--prepare"]:
        django.setup()
        prepare()
    else:
        main()
