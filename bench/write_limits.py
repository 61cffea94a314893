"""The largest body of every write endpoint, processed in process: `make bench` (issue #13, item 2).

A body limit bounds what one request may cost only if processing is linear in the body: a Blynk
batch update of 40,000 labels (614 KB, under the 4 MiB limit) took 18 s, quadratic in its labels,
and any client token could send it. This benchmark builds, for every write endpoint of the four
dialects, the largest body its limit allows in the shapes that cost the most (many labels, many
rows, many variables, many keys, the longest texts, bodies full of errors: bench/write_bodies.py),
sends each through the whole Django stack in this process (the test client: middleware,
authentication, rate limit, parsing, services, PostgreSQL, rendering) and prints the median time
beside two references measured in the same run: orjson parsing the same body, and, for bodies that
write samples, a direct binary COPY of as many rows. Any endpoint over FLAG_SECONDS (1 s) is
flagged.

The EMS (Carlo Gavazzi) dialect has no write endpoint (its login's body is limited to 16 KiB, like
the token endpoints of the other dialects). ioTORQ requests are measured as the web process serves
them in production: validate, resolve, store the job, enqueue it (here on an in-memory broker);
the jobs' runs, which a Celery worker does, are timed apart (`job`). Each Blynk batch update
starts without its datastreams' series, so its first run (`first`) creates them (100,000 over
all the devices) and the later runs find them.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench_writes; created
when missing and migrated), BENCH_REPEATS (runs per endpoint after the first, default 3).
"""

import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench_writes")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")
# As production runs: no DEBUG (which would keep every query in memory), and import jobs queued
# for a worker (an in-memory broker nobody consumes: the jobs are run, and timed, here).
os.environ.update(
    {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "localhost",
        "CELERY_BROKER_URL": "memory://",
    }
)

import django

from bench.common import Figure, copy_rows, ensure_database, load_average, median_seconds, print_figures
from bench.write_bodies import (
    DEVICES,
    STREAMS,
    STRING_STREAM,
    VARIABLES,
    blynk_shapes,
    buildingx_shapes,
    iotorq_shapes,
    largest,
)

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
FLAG_SECONDS = 1.0
SLUG = "bench-writes"


def prepare() -> dict:
    """The benchmark organization: an ioTORQ key and VARIABLES series, a Blynk product of DEVICES
    devices with STREAMS numeric datastreams each (their series removed, so the first batch update
    creates them) and a string one, a Building X point; a token for each dialect."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from apps.access.models import Dialect, OAuthClient
    from apps.access.services import api_token_issue, oauth_client_issue
    from apps.access.tokens import jwt_issue
    from apps.imports.models import ImportJob
    from apps.inventory.models import DataStream, Device, Partition, Point, Product, ValueType
    from apps.tenancy.models import Organization
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    call_command("migrate", verbosity=0, interactive=False)
    organization, _ = Organization.objects.update_or_create(
        slug=SLUG,
        defaults={
            "name": "Write limits benchmark",
            "requests_per_minute": 10**9,
            "import_points_per_device_day": 2_000_000_000,
        },
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-writes")
    membership_grant(user=user, organization=organization, role_slugs=[])
    ImportJob.objects.filter(organization=organization).delete()
    if Series.objects.filter(organization=organization, meter_code__isnull=False).count() != VARIABLES:
        Series.objects.bulk_create(
            (
                Series(organization=organization, name=f"w{i:05d}", meter_code=f"w{i:05d}")
                for i in range(VARIABLES)
            ),
            batch_size=5_000,
            ignore_conflicts=True,
        )

    product, _ = Product.objects.get_or_create(organization=organization, name="Bench product")
    if Device.objects.filter(organization=organization).count() != DEVICES:
        Device.objects.bulk_create(
            (
                Device(organization=organization, uid=uid, label=f"D{uid}", product=product)
                for uid in range(1, DEVICES + 1)
            ),
            ignore_conflicts=True,
        )
    devices = list(Device.objects.filter(organization=organization).order_by("uid"))
    if DataStream.objects.filter(organization=organization).count() != DEVICES * STREAMS + 1:
        DataStream.objects.filter(organization=organization).delete()
        DataStream.objects.bulk_create(
            (
                DataStream(organization=organization, device=d, stream_id=s, pin=f"v{s}", label=f"L{s}")
                for d in devices
                for s in range(STREAMS)
            ),
            batch_size=5_000,
        )
        DataStream.objects.create(
            organization=organization,
            device=devices[0],
            stream_id=STRING_STREAM,
            pin="v1000",
            label="Text",
            value_type=ValueType.STRING,
        )
    streams = DataStream.objects.filter(organization=organization, series__isnull=False)
    stale = list(streams.values_list("series_id", flat=True))
    streams.update(series=None)
    Series.objects.filter(pk__in=stale).delete()
    with connection.cursor() as cursor:
        # The server may run without autovacuum (this machine's does): earlier runs' dead rows
        # would otherwise slow every update of these tables.
        cursor.execute("VACUUM ANALYZE inventory_datastream")
        cursor.execute("VACUUM ANALYZE timeseries_series")
        cursor.execute("VACUUM ANALYZE timeseries_sample")

    partition, _ = Partition.objects.get_or_create(organization=organization, name="Bench building")
    point, _ = Point.objects.get_or_create(organization=organization, partition=partition, name="Bench point")
    clients = {}
    for dialect in (Dialect.BLYNK, Dialect.BUILDINGX):
        client_id = f"bench-writes-{dialect}"
        clients[dialect] = OAuthClient.objects.filter(client_id=client_id).first() or (
            oauth_client_issue(
                organization=organization, dialect=dialect, name="bench", client_id=client_id
            ).credential
        )

    def bearer(dialect) -> str:
        token = jwt_issue(
            dialect=dialect, organization=organization, client=clients[dialect], lifetime_seconds=3600
        )
        return f"Bearer {token}"

    return {
        "iotorq": f"Token {api_token_issue(organization=organization, user=user, name='bench').secret}",
        "blynk": bearer(Dialect.BLYNK),
        "buildingx": bearer(Dialect.BUILDINGX),
        "buildingx_path": f"/ingest/partitions/{partition.uuid}/points/{point.uuid}/values",
    }


def copy_seconds(points: int) -> float:
    """A direct binary COPY of `points` rows into an empty temporary copy of the sample table, one
    transaction: the floor under writing them."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS bench_copy (LIKE timeseries_sample INCLUDING ALL)"
        )

    def run() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_rows(cursor, "bench_copy", ((1 + i % 1000, i, 1.5, None) for i in range(points)))

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_copy")

    return median_seconds(run, times=REPEATS, before=empty)


def jobs_seconds() -> float:
    """Run the queued import jobs, as a worker would: the median run."""
    from apps.imports.models import ImportJob
    from apps.imports.services import import_run

    timings = []
    for job_id in ImportJob.objects.filter(status=ImportJob.Status.QUEUED).values_list("pk", flat=True):
        started = time.perf_counter()
        import_run(job_id=job_id)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.test import Client

    from apps.api.blynk.views import BODY_LIMIT as BLYNK_LIMIT
    from apps.api.buildingx.parsing import BODY_LIMIT as BUILDINGX_LIMIT
    from apps.api.iotorq.parsing import BODY_LIMIT as IOTORQ_LIMIT

    setup = prepare()
    load_before = load_average()
    now_ms = time.time_ns() // 1_000_000
    client = Client(HTTP_HOST="localhost")
    plan = [
        *((shape, IOTORQ_LIMIT, setup["iotorq"], "application/json") for shape in iotorq_shapes(now_ms)),
        *((shape, BLYNK_LIMIT, setup["blynk"], "application/json") for shape in blynk_shapes(now_ms)),
        *(
            (shape, BUILDINGX_LIMIT, setup["buildingx"], "application/vnd.api+json")
            for shape in buildingx_shapes(setup["buildingx_path"])
        ),
    ]
    print()
    print(
        "The largest body of every write endpoint, in process (Django test client, PostgreSQL, DEBUG off); "
        f"medians of {REPEATS} runs after a first"
    )
    print()
    header = f"{'dialect':<11} {'shape':<44} {'body':>9} {'n':>8} {'first':>9} {'median':>9}"
    print(f"{header} {'parse':>8} {'COPY':>9} {'job':>9}")
    rows = []
    for shape, limit, auth, media_type in plan:
        n, body = largest(shape.build, limit, shape.high)

        def send(path=shape.path, body=body, auth=auth, media_type=media_type, shape=shape):
            response = client.post(path, body, content_type=media_type, HTTP_AUTHORIZATION=auth)
            if response.status_code != shape.status:
                sys.exit(
                    f"{shape.dialect} {shape.name}: HTTP {response.status_code}: {response.content[:300]!r}"
                )

        first = median_seconds(send, times=1)
        seconds = median_seconds(send, times=REPEATS)
        parse = median_seconds(lambda body=body: orjson.loads(body), times=REPEATS)
        points = shape.points(n)
        copy = copy_seconds(points) if points else None
        job = jobs_seconds() if shape.dialect == "ioTORQ" and shape.status == 202 else None
        slowest = max(first, seconds)
        rows.append((shape, slowest, parse))
        print(
            f"{shape.dialect:<11} {shape.name:<44} {len(body) / 1024:>6,.0f} KiB {n:>8,} "
            f"{first * 1000:>6,.0f} ms {seconds * 1000:>6,.0f} ms {parse * 1000:>5,.1f} ms "
            + "".join(f"{t * 1000:>6,.0f} ms" if t is not None else " " * 9 for t in (copy, job))
            + ("  OVER 1 s" if slowest > FLAG_SECONDS else ""),
            flush=True,
        )
    print()
    print("body: its size (the limits: ioTORQ 2,097,152 bytes, Blynk 4 MiB, Building X 1 MiB); n: the size")
    print("parameter of the shape (points, variables, labels, keys, characters...); first: the first run;")
    print("parse: orjson parsing the same body; COPY: a direct binary COPY of as many samples as the body")
    print("writes; job: the import job's run (a Celery worker's part, not the request's).")
    shape, worst, parse = max(rows, key=lambda row: row[1])
    print_figures(
        "write limits",
        [
            Figure(
                "write-limits-slowest",
                "largest body of every write endpoint, the slowest",
                f"orjson parsing the same body: {parse * 1000:.1f} ms",
                f"{shape.dialect}: {shape.name}",
                f"{worst * 1000:,.0f} ms",
                worst * 1000,
                FLAG_SECONDS * 1000,
                "lower",
                "ms",
            )
        ],
        load=f"{load_before}; after: {load_average()}",
    )


if __name__ == "__main__":
    main()
