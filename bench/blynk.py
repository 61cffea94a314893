"""Blynk dialect over HTTP: `make bench` (PostgreSQL, the database in DATABASE_URL, by default
ems_bench: the read series then sits among bench/store.py's 10,000,000 samples of 1,000 other
series, as a datastream's history does in a real installation).

Serves the project with gunicorn (one sync worker) on a loopback port and measures, end to end
(client-side JSON already encoded, request sent, parsed, validated, written, 204 received):

- the history import rate: POST /api/v1/organization/device/import/batch with 10,000 values a
  request, new points each time, as points per second (the median request), next to a direct
  binary COPY of the same 10,000-point batches into the sample table, and their ratio;
- the history read latency: GET /api/v1/organization/device/datastream/history with size=1000,
  a client paging through all 100 pages of a datastream holding 100,000 samples, five times (each
  walk a window of its own): the median page, and apart the first page of a range (which counts
  the range) and the last.

The benchmark organization `bench-blynk` gets a device, two datastreams and a Blynk client (a
fresh secret each run), an import allowance large enough for the runs, and no request limit to
speak of. The import series is emptied before each run; the 100,000-sample read series is built
once, in SQL, and kept.
"""

import http.client
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import (
    Figure,
    copy_rows,
    ensure_database,
    free_port,
    gunicorn_serving,
    load_average,
    print_figures,
)

IMPORT_REQUESTS = 20
IMPORT_WARMUP = 2
POINTS_PER_REQUEST = 10_000
READ_WALKS = 5
READ_WARMUP_WALKS = 1
READ_SAMPLES = 100_000
PAGE_SIZE = 1_000
DAY_MS = 86_400_000
STEP_MS = 1_000


def prepare(now_ms: int) -> dict:
    """The benchmark's objects, an emptied import series and the kept 100,000-sample read series."""
    from django.core.management import call_command
    from django.db import connection

    from apps.access.models import Dialect, OAuthClient
    from apps.access.services import oauth_client_issue, oauth_client_secret_rotate
    from apps.inventory.models import DataStream, Device, Product
    from apps.tenancy.models import Organization
    from apps.timeseries.models import Series

    call_command("migrate", verbosity=0, interactive=False)
    organization, _ = Organization.objects.update_or_create(
        slug="bench-blynk",
        defaults={
            "name": "Blynk benchmarks",
            "import_points_per_device_day": 2_000_000_000,
            "requests_per_minute": 1_000_000,
        },
    )
    product, _ = Product.objects.get_or_create(organization=organization, name="Bench product")
    device, _ = Device.objects.update_or_create(
        organization=organization, uid=1, defaults={"label": "Bench device", "product": product}
    )
    streams = {}
    for stream_id, label in ((1, "Imported"), (2, "Read")):
        series, _ = Series.objects.get_or_create(
            organization=organization, meter_code=f"blynk-{label.lower()}"
        )
        streams[stream_id], _ = DataStream.objects.update_or_create(
            device=device,
            stream_id=stream_id,
            defaults={"organization": organization, "pin": f"v{stream_id}", "label": label, "series": series},
        )
    client = OAuthClient.objects.filter(client_id="bench-blynk").first()
    issued = (
        oauth_client_secret_rotate(client=client)
        if client is not None
        else oauth_client_issue(
            organization=organization, dialect=Dialect.BLYNK, name="Bench", client_id="bench-blynk"
        )
    )

    read_series = streams[2].series_id
    read_start = now_ms - 20 * DAY_MS
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [streams[1].series_id])
        cursor.execute("SELECT COUNT(*), MIN(ts) FROM timeseries_sample WHERE series_id = %s", [read_series])
        count, first = cursor.fetchone()
        if count != READ_SAMPLES:
            cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [read_series])
            cursor.execute(
                "INSERT INTO timeseries_sample (series_id, ts, value) "
                "SELECT %s, %s::int8 + g::int8 * %s, 20 + 5 * sin(g / 600.0) "
                "FROM generate_series(0, %s) AS g",
                [read_series, read_start, STEP_MS, READ_SAMPLES - 1],
            )
            first = read_start
        # The server may run without autovacuum (this machine's does): the deleted samples of
        # earlier runs would otherwise stay in the index the reads and the imports go through.
        cursor.execute("VACUUM ANALYZE timeseries_sample")
    return {
        "client_id": issued.credential.client_id,
        "client_secret": issued.secret,
        "import_series": streams[1].series_id,
        "read_from": first,
        "read_to": first + (READ_SAMPLES - 1) * STEP_MS,
    }


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def import_bodies(now_ms: int, n: int) -> list[list[int]]:
    """Timestamps of `n` 10,000-point batches: new points, inside the one-month window."""
    start = now_ms - 25 * DAY_MS
    return [
        [start + (i * POINTS_PER_REQUEST + j) * STEP_MS for j in range(POINTS_PER_REQUEST)] for i in range(n)
    ]


def copy_batches(series_id: int, batches: list[list[int]]) -> list[float]:
    """Direct binary COPY of each batch into the sample table, one transaction each: the floor."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:  # the same points, so the imported ones go first
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [series_id])
        cursor.execute("VACUUM ANALYZE timeseries_sample")  # as the imports found it
    timings = []
    for stamps in batches:
        values = [float(j % 97) for j in range(len(stamps))]
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            copy_rows(
                cursor,
                "timeseries_sample",
                ((series_id, ts, value, None) for ts, value in zip(stamps, values, strict=True)),
            )
        timings.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM timeseries_sample WHERE series_id = %s", [series_id])
        cursor.execute("VACUUM ANALYZE timeseries_sample")
    return timings


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    now_ms = time.time_ns() // 1_000_000
    setup = prepare(now_ms)
    load_before = load_average()
    port = free_port()
    batches = import_bodies(now_ms, IMPORT_WARMUP + IMPORT_REQUESTS)
    with gunicorn_serving(port):
        status, data = request(
            port,
            "POST",
            f"/oauth2/token?grant_type=client_credentials&client_id={setup['client_id']}"
            f"&client_secret={setup['client_secret']}",
        )
        if status != 200:
            sys.exit(f"token request failed: HTTP {status}: {data!r}")
        auth = {"Authorization": f"Bearer {orjson.loads(data)['access_token']}"}

        # --- imports: bodies encoded up front, so the timing is the server's round trip -------
        json_headers = {**auth, "Content-Type": "application/json"}
        bodies = [
            orjson.dumps(
                {
                    "deviceId": 1,
                    "dataStreamId": 1,
                    "values": [{"value": float(j % 97), "ts": ts} for j, ts in enumerate(stamps)],
                }
            )
            for stamps in batches
        ]
        import_timings = []
        for i, body in enumerate(bodies):
            started = time.perf_counter()
            status, data = request(
                port, "POST", "/api/v1/organization/device/import/batch", body, json_headers
            )
            elapsed = time.perf_counter() - started
            if status != 204:
                sys.exit(f"import failed: HTTP {status}: {data[:300]!r}")
            if i >= IMPORT_WARMUP:
                import_timings.append(elapsed)
        body_kib = statistics.median(len(b) for b in bodies) / 1024

        # --- history reads: a client paging through the whole range, WALKS times ------------
        # Each walk reads a window of its own (its end 1 ms later than the previous walk's, past
        # the last sample), so its first page counts the range and the later pages find the
        # count cached, as a client paging through a range does.
        pages = READ_SAMPLES // PAGE_SIZE
        first_pages, later_pages, last_pages = [], [], []
        for walk in range(READ_WARMUP_WALKS + READ_WALKS):
            for page in range(pages):
                path = (
                    f"/api/v1/organization/device/datastream/history?deviceId=1&dataStreamId=2"
                    f"&from={setup['read_from']}&to={setup['read_to'] + walk}&page={page}&size={PAGE_SIZE}"
                )
                started = time.perf_counter()
                status, data = request(port, "GET", path, headers=auth)
                elapsed = time.perf_counter() - started
                if status != 200:
                    sys.exit(f"history read failed: HTTP {status}: {data[:300]!r}")
                if page in (0, pages - 1) and walk == 0:
                    body = orjson.loads(data)
                    if body["totalElements"] != READ_SAMPLES or len(body["content"]) != PAGE_SIZE:
                        sys.exit(f"unexpected history page: {body['totalElements']} / {len(body['content'])}")
                if walk < READ_WARMUP_WALKS:
                    continue
                (first_pages if page == 0 else later_pages).append(elapsed)
                if page == pages - 1:
                    last_pages.append(elapsed)

    copy_timings = copy_batches(setup["import_series"], batches[IMPORT_WARMUP:])

    import_s, copy_s = statistics.median(import_timings), statistics.median(copy_timings)
    print()
    print("Blynk dialect over HTTP (gunicorn, 1 sync worker, loopback), PostgreSQL")
    print(
        f"Import: {IMPORT_REQUESTS} requests of {POINTS_PER_REQUEST:,} new points (~{body_kib:,.0f} KiB JSON "
        f"each) after {IMPORT_WARMUP} warm-up; medians"
    )
    print()
    print(f"{'':<62} {'points/s':>12} {'per batch':>11} {'import/COPY':>12}")
    print(
        f"{'POST /import/batch, 10,000 values, end to end':<62} {POINTS_PER_REQUEST / import_s:>12,.0f} "
        f"{import_s * 1000:>8.1f} ms {copy_s / import_s:>11.2f}x"
    )
    print(
        f"{'direct binary COPY of the same 10,000 points (one transaction)':<62} "
        f"{POINTS_PER_REQUEST / copy_s:>12,.0f} {copy_s * 1000:>8.1f} ms"
    )
    print()
    every_page = statistics.median(first_pages + later_pages)
    first, later, last = (statistics.median(t) for t in (first_pages, later_pages, last_pages))
    print(
        f"History read: datastream of {READ_SAMPLES:,} samples, size={PAGE_SIZE}, {READ_WALKS} walks through "
        f"all {pages} pages after {READ_WARMUP_WALKS} warm-up walk; medians"
    )
    print()
    print(f"{'GET /datastream/history, any page of a walk':<62} {every_page * 1000:>9.1f} ms")
    print(f"{'  the first page of a range (counts the range)':<62} {first * 1000:>9.1f} ms")
    print(f"{'  the later pages (the count cached)':<62} {later * 1000:>9.1f} ms")
    print(f"{'  the last page':<62} {last * 1000:>9.1f} ms")

    print_figures(
        "Blynk",
        [
            Figure(
                "blynk-import-vs-copy",
                "Blynk import batch, 10,000 values per request",
                f"direct binary COPY of the same points: {POINTS_PER_REQUEST / copy_s:,.0f} points/s",
                f"{POINTS_PER_REQUEST / import_s:,.0f} points/s",
                f"{copy_s / import_s:.2f}x",
                copy_s / import_s,
                0.3,
                "higher",
            ),
            Figure(
                "blynk-history",
                "Blynk history, 1,000-row page (walks through 100)",
                f"no reference; first page of a range {first * 1000:.1f} ms, last page {last * 1000:.1f} ms",
                f"median of {len(first_pages) + len(later_pages)} pages over HTTP",
                f"{every_page * 1000:.1f} ms",
                every_page * 1000,
                20,
                "lower",
                "ms",
            ),
        ],
        load=f"{load_before}; after: {load_average()}",
    )


if __name__ == "__main__":
    main()
