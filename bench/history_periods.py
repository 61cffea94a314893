"""Benchmark: EMS history rollups of whole quarter-hour periods, from the statistics against the
samples (`make bench`).

One series of 30 days of one-minute samples (43,200, written through the store, which keeps
their statistics); 30 days of hourly records (720: what an EMS history with
EMS_HISTORY_PERIOD_SECONDS=3600 returns) read through `selectors.rollup_page`, which serves
them from the quarter-hour statistics, against `rollup.rollups` over the samples in the same
run. The window starts and ends off the quarter-hours, as a client's `start`/`end` do, so the
edge fragments are read from the samples as in production. Medians of RUNS reads.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

import django

from bench.common import Figure, ensure_database, load_average, median_seconds, print_figures

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAYS = 30
RUNS = 21


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()

    from django.core.management import call_command

    from apps.tenancy.models import Organization
    from apps.timeseries import rollup, selectors
    from apps.timeseries.models import Series
    from apps.timeseries.store import Policy, SampleBatch, write

    call_command("migrate", verbosity=0, interactive=False)
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Benchmarks"})
    series, created = Series.objects.get_or_create(
        organization=org,
        meter_code="history-periods",
        defaults={"name": "history-periods", "kind": "counter"},
    )
    count = DAYS * 24 * 60
    if created or series.last_ts != T0_MS + (count - 1) * MINUTE_MS:
        ts = [T0_MS + i * MINUTE_MS for i in range(count)]
        write(SampleBatch([series.pk] * count, ts, [i * 0.25 for i in range(count)]), Policy.OVERWRITE)
        series.refresh_from_db()
    window = {"start_ms": T0_MS + 7_000, "end_ms": T0_MS + DAYS * 86_400_000 - 7_000, "period_ms": HOUR_MS}

    def from_samples():
        assert len(rollup.rollups(series_ids=[series.pk], **window)[series.pk]) == DAYS * 24

    def from_statistics():
        page = selectors.rollup_page(series=[series], offset=0, limit=10_000, **window)
        assert len(page[series.pk]) == DAYS * 24

    samples = median_seconds(from_samples, times=RUNS)
    stats = median_seconds(from_statistics, times=RUNS)
    print(
        f"30 days of hourly records (720) of one-minute data: samples {samples * 1000:.1f} ms, "
        f"statistics {stats * 1000:.1f} ms ({samples / stats:.1f}x)"
    )
    print_figures(
        "EMS history of whole quarter-hour periods",
        [
            Figure(
                "history-statistics",
                "EMS history, 30 days hourly, SQL (selector)",
                f"rollups of the samples {samples * 1000:.1f} ms",
                f"{stats * 1000:.1f} ms",
                f"{samples / stats:.1f}x",
                stats * 1000,
                8.0,
                "lower",
                "ms",
            )
        ],
        load=load_average(),
    )


if __name__ == "__main__":
    main()
