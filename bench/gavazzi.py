"""EMS gateway latency over HTTP: `make bench` (after bench/store.py, which builds the table).

Serves the project with gunicorn on a loopback port against the benchmark database, whose sample
table holds the 10,000,000 samples bench/store.py built (1,000 series x 10,000, 10 s apart), and
times, as the median of many requests:

- `GET /v1/signals/{uid}/history`: one day of one-minute rollups of one signal (1,440 records);
- `GET /v1/realtime?limit=1000`: the realtime values of 1,000 signals;
- paging through the history of one signal whose series holds 3,000,000 samples, one a minute
  (issue #13): the first page of 10,000 records, the last (page 300) found afresh and found from
  where page 299 ended, the page past the end, and 30 days read in 5 pages; in process (beside
  reading 10,000 rows by primary key, the floor under any page of 10,000) and over HTTP. Each
  request over HTTP names a window of its own (its `end` moves by a millisecond past the last
  sample), so no page finds its position in the cache of an earlier request unless it should.

The benchmark organization gets a device, a load and 1,000 signals on those series, and a user
with the API role; the series' latest samples are set from the table, since bench/store.py wrote
them in SQL, not through the store. The 3,000,000-sample series is built once, in SQL, in the same
table (with the other 10,000,000 samples, as a long history among many series is in production).
"""

import http.client
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import Figure, free_port, gunicorn_serving, load_average, median_seconds, print_figures

REQUESTS = 50
WARMUP = 5
T0_MS = 1_704_067_200_000  # as in bench/store.py
DAY_MS = 86_400_000
MINUTE_MS = 60_000
LONG_SAMPLES = 3_000_000  # one a minute: 5.7 years, 3,000,000 one-minute records
LONG_UID = 5_000
LONG_END_MS = T0_MS + LONG_SAMPLES * MINUTE_MS  # just past the last sample
PAGE = 10_000  # the largest page the dialect allows
LAST_PAGE = LONG_SAMPLES // PAGE
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))  # each cold last page counts 2,990,000 records
PASSWORD = secrets.token_urlsafe(16)


def prepare() -> None:
    """The benchmark organization's EMS objects on the rollup series, and its API user."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apps.inventory.models import Device, Load, Signal
    from apps.tenancy.models import Organization
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    organization = Organization.objects.get(slug="bench")
    series = list(
        Series.objects.filter(organization=organization, meter_code__startswith="rollup-")
        .order_by("meter_code")
        .values_list("id", flat=True)
    )
    if len(series) != 1_000:
        sys.exit("run bench/store.py first: it builds the 10,000,000-sample table")
    device, _ = Device.objects.get_or_create(organization=organization, uid=1, defaults={"label": "Bench"})
    load, _ = Load.objects.get_or_create(
        organization=organization, uid=1, defaults={"device": device, "label": "L"}
    )
    existing = set(Signal.objects.filter(organization=organization).values_list("uid", flat=True))
    Signal.objects.bulk_create(
        [
            Signal(organization=organization, load=load, uid=i + 1, si=29, series_id=series_id)
            for i, series_id in enumerate(series)
            if i + 1 not in existing
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE timeseries_series s SET last_ts = l.ts, last_value = l.value FROM ("
            " SELECT DISTINCT ON (series_id) series_id, ts, value FROM timeseries_sample"
            " WHERE series_id = ANY(%s) ORDER BY series_id, ts DESC) l WHERE s.id = l.series_id",
            [series],
        )
    _long_signal(organization, load)
    user, _ = get_user_model().objects.get_or_create(username="bench-api")
    user.set_password(PASSWORD)
    user.save()
    membership_grant(user=user, organization=organization, role_slugs=["api"])


def _long_signal(organization, load) -> None:
    """Signal LONG_UID on a series of LONG_SAMPLES samples, one in every minute (at a varying
    second), built once in SQL and kept."""
    from django.db import connection

    from apps.inventory.models import Signal
    from apps.timeseries.models import Series

    series, _ = Series.objects.get_or_create(
        organization=organization, meter_code="history-long", defaults={"name": "history-long"}
    )
    Signal.objects.get_or_create(
        organization=organization, uid=LONG_UID, defaults={"load": load, "si": 29, "series": series}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_sample WHERE series_id = %s", [series.pk])
        if cursor.fetchone()[0] == LONG_SAMPLES:
            return
        print(f"building the {LONG_SAMPLES:,}-sample series (once)...")
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [series.pk])
        cursor.execute(
            "INSERT INTO timeseries_sample (series_id, ts, value)"
            " SELECT %s, %s + g::int8 * 60000 + (g::int8 * 7919) %% 60000, 100 + 50 * sin(g / 60.0)"
            " FROM generate_series(0, %s) AS g",
            [series.pk, T0_MS, LONG_SAMPLES - 1],
        )
        cursor.execute("VACUUM ANALYZE timeseries_sample")


def paging_in_process() -> dict[str, float]:
    """Seconds (medians) of reading pages of the long signal's history through the selector the
    view calls, with the cache emptied before each run unless the run is a walk."""
    from django.core.cache import cache

    from apps.timeseries import query, selectors
    from apps.timeseries.models import Series

    series = Series.objects.get(organization__slug="bench", meter_code="history-long")
    window = {"start_ms": T0_MS, "end_ms": LONG_END_MS, "period_ms": MINUTE_MS}

    def page(number: int, **other) -> list:
        offset = (number - 1) * PAGE
        return selectors.rollup_page(series=[series], offset=offset, limit=PAGE, **(other or window))[
            series.pk
        ]

    last = page(LAST_PAGE)
    _expect(len(page(1)) == PAGE and len(last) == PAGE, "full first and last pages")
    _expect(last[0].period_end_ms == T0_MS + (LONG_SAMPLES - PAGE + 1) * MINUTE_MS, "the last page's periods")
    _expect(page(LAST_PAGE + 1) == [], "an empty page past the end")
    month = {"start_ms": T0_MS, "end_ms": T0_MS + 30 * DAY_MS, "period_ms": MINUTE_MS}

    def walk_month() -> None:
        records = sum(len(page(number, **month)) for number in range(1, 6))
        _expect(records == 30 * 1_440, "30 days of records")

    def read_month_by_key() -> None:
        after, rows = None, 0
        while batch := query.samples_after(
            series_id=series.pk, start_ms=T0_MS, end_ms=T0_MS + 30 * DAY_MS, after_ts=after, limit=PAGE
        ):
            after, rows = batch[-1].ts, rows + len(batch)
        _expect(rows == 30 * 1_440, "30 days of samples")

    def after_page_299() -> None:
        cache.clear()
        page(LAST_PAGE - 1)

    return {
        "rows by key": median_seconds(
            lambda: query.samples_page(series_id=series.pk, start_ms=T0_MS, end_ms=LONG_END_MS, limit=PAGE),
            times=9,
        ),
        "page 1": median_seconds(lambda: page(1), times=9, before=cache.clear),
        "page 300": median_seconds(lambda: page(LAST_PAGE), times=COLD_RUNS, before=cache.clear),
        "page 300 after 299": median_seconds(lambda: page(LAST_PAGE), times=COLD_RUNS, before=after_page_299),
        "page 301": median_seconds(lambda: page(LAST_PAGE + 1), times=9, before=cache.clear),
        "30 days, 5 pages": median_seconds(walk_month, times=5, before=cache.clear),
        "30 days by key": median_seconds(read_month_by_key, times=5),
    }


def paging_over_http(port: int, token: str) -> dict[str, float]:
    """Seconds (medians) of the same pages over HTTP, each request with a window of its own."""
    ends = iter(range(LONG_END_MS, LONG_END_MS + 10_000))

    def get(number: int, end: int | None = None) -> float:
        path = (
            f"/v1/signals/{LONG_UID}/history?start={T0_MS}&end={end or next(ends)}&limit={PAGE}&page={number}"
        )
        started = time.perf_counter()
        status, data = request(port, "GET", path, token=token)
        elapsed = time.perf_counter() - started
        if status != 200:
            sys.exit(f"{path}: HTTP {status}: {data[:200]!r}")
        _expect(len(json.loads(data)) == (PAGE if number <= LAST_PAGE else 0), f"page {number}")
        return elapsed

    def walked() -> float:
        end = next(ends)
        get(LAST_PAGE - 1, end)
        return get(LAST_PAGE, end)

    get(1)  # warm-up
    return {
        "page 1": statistics.median(get(1) for _ in range(9)),
        "page 300": statistics.median(get(LAST_PAGE) for _ in range(COLD_RUNS)),
        "page 300 after 299": statistics.median(walked() for _ in range(COLD_RUNS)),
        "page 301": statistics.median(get(LAST_PAGE + 1) for _ in range(9)),
    }


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def median_ms(port: int, path: str, token: str, check) -> float:
    timings = []
    for i in range(WARMUP + REQUESTS):
        started = time.perf_counter()
        status, data = request(port, "GET", path, token=token)
        elapsed = time.perf_counter() - started
        if status != 200:
            sys.exit(f"{path}: HTTP {status}: {data[:200]!r}")
        if i == 0:
            check(json.loads(data))
        if i >= WARMUP:
            timings.append(elapsed)
    return statistics.median(timings) * 1000


def main() -> None:
    load_before = load_average()
    django.setup()
    prepare()
    in_process = paging_in_process()
    port = free_port()
    with gunicorn_serving(port):
        status, data = request(
            port, "POST", "/v1/auth/login", {"username": "bench-api", "password": PASSWORD}
        )
        if status != 200:
            sys.exit(f"login failed: HTTP {status}: {data!r}")
        token = json.loads(data)["token"]

        history_path = f"/v1/signals/500/history?start={T0_MS}&end={T0_MS + DAY_MS}&limit=1440"
        history = median_ms(
            port, history_path, token, lambda body: _expect(len(body) == 1440, "1,440 records")
        )
        realtime = median_ms(
            port,
            "/v1/realtime?limit=1000",
            token,
            lambda body: _expect(len(body["realtime"]) == 1000, "1,000 signals"),
        )
        over_http = paging_over_http(port, token)

    print()
    print("EMS gateway over HTTP (gunicorn, 1 sync worker, loopback), table of 10,000,000 samples")
    print(f"median of {REQUESTS} requests after {WARMUP} warm-up requests")
    print()
    print(
        f"{'/v1/signals/{uid}/history: one day of 1-minute rollups (1,440 records)':<72} {history:>8.1f} ms"
    )
    print(f"{'/v1/realtime?limit=1000: realtime values of 1,000 signals':<72} {realtime:>8.1f} ms")
    print_paging(in_process, over_http)
    print_figures(
        "EMS gateway",
        [
            Figure(
                "ems-history",
                "EMS history, one day of 1-minute rollups, 10M table",
                "no reference; 1,440 records of one signal",
                f"median of {REQUESTS} over HTTP",
                f"{history:.1f} ms",
                history,
                20,
                "lower",
                "ms",
            ),
            Figure(
                "ems-realtime",
                "EMS realtime for 1,000 signals",
                "no reference; /v1/realtime?limit=1000",
                f"median of {REQUESTS} over HTTP",
                f"{realtime:.1f} ms",
                realtime,
                30,
                "lower",
                "ms",
            ),
        ],
        load=f"{load_before}; after: {load_average()}",
    )


def print_paging(in_process: dict[str, float], over_http: dict[str, float]) -> None:
    reference = in_process["rows by key"]
    print()
    print(
        f"EMS history paging (issue #13): signal of {LONG_SAMPLES:,} samples, one a minute, pages of"
        f" {PAGE:,} records; in process: median of 9 ({COLD_RUNS} for page 300), cache emptied before"
        " each run but the walks; over HTTP: median of 9 requests, each with a window of its own"
    )
    print(f"  reference: {PAGE:,} rows read by primary key (samples_page): {reference * 1000:.1f} ms")
    print(f"  {'':<46} {'in process':>12} {'x reference':>12} {'over HTTP':>12}")
    rows = [
        ("page 1", "page 1"),
        ("page 300 (the last), found afresh", "page 300"),
        ("page 300, found from where page 299 ended", "page 300 after 299"),
        ("page 301 (past the end)", "page 301"),
    ]
    for label, key in rows:
        print(
            f"  {label:<46} {in_process[key] * 1000:>9.1f} ms {in_process[key] / reference:>11.1f}x"
            f" {over_http[key] * 1000:>9.1f} ms"
        )
    month, by_key = in_process["30 days, 5 pages"], in_process["30 days by key"]
    print(
        f"  {'30 days (43,200 records) in 5 pages':<46} {month * 1000:>9.1f} ms {month / by_key:>11.1f}x"
        f"  (reference: its 43,200 samples read by key in 5 pages, {by_key * 1000:.1f} ms)"
    )


def _expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"unexpected response: wanted {what}")


if __name__ == "__main__":
    main()
