"""EMS gateway latency over HTTP: `make bench` (after bench/store.py, which builds the table).

Serves the project with gunicorn on a loopback port against the benchmark database, whose sample
table holds the 10,000,000 samples bench/store.py built (1,000 series x 10,000, 10 s apart), and
times, as the median of many requests:

- `GET /v1/signals/{uid}/history`: one day of one-minute rollups of one signal (1,440 records);
- `GET /v1/realtime?limit=1000`: the realtime values of 1,000 signals.

The benchmark organization gets a device, a load and 1,000 signals on those series, and a user
with the API role; the series' latest samples are set from the table, since bench/store.py wrote
them in SQL, not through the store.
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

from bench.common import Figure, free_port, gunicorn_serving, load_average, print_figures

REQUESTS = 50
WARMUP = 5
T0_MS = 1_704_067_200_000  # as in bench/store.py
DAY_MS = 86_400_000
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
    user, _ = get_user_model().objects.get_or_create(username="bench-api")
    user.set_password(PASSWORD)
    user.save()
    membership_grant(user=user, organization=organization, role_slugs=["api"])


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

    print()
    print("EMS gateway over HTTP (gunicorn, 1 sync worker, loopback), table of 10,000,000 samples")
    print(f"median of {REQUESTS} requests after {WARMUP} warm-up requests")
    print()
    print(
        f"{'/v1/signals/{uid}/history: one day of 1-minute rollups (1,440 records)':<72} {history:>8.1f} ms"
    )
    print(f"{'/v1/realtime?limit=1000: realtime values of 1,000 signals':<72} {realtime:>8.1f} ms")
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


def _expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"unexpected response: wanted {what}")


if __name__ == "__main__":
    main()
