"""Benchmark: alarm evaluation and the alarm list (issue #16), on PostgreSQL (`make bench`).

One organization of 10,000 series (8,000 measurements, 1,500 counters, 500 interval series) on
100 sites, and 2,000 rules: 1,200 thresholds (half with no delay, so that minutes open and clear
alarms) and 400 no-data rules on single series, 200 no-data
rules on sites, 150 consumption rules on sites' counters (hour and day), 50 gap rules.

- Evaluation after a minute in which 1,000 series were written (through the store, not timed),
  against the same run's full pass (every series unseen, every period rule due: what the pass
  would cost if it were not incremental). Also the minute at a quarter-hour, when the 200
  consumption and gap rules are due as well.
- The alarm list of the admin with 100,000 alarms in history, opened by a facility manager (the
  tenant-scoped queryset), against the series list (10,000 rows) of the same run.

Medians of RUNS runs; DEBUG off, tasks queued to an in-memory broker nobody consumes (the
notifications are not part of the evaluation's time).
"""

import os
import random
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench_alarms")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")
os.environ.update(
    {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "localhost",
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
)

import django

from bench.common import Figure, ensure_database, load_average, median_seconds, print_figures

SERIES = 10_000
SITES = 100
WRITTEN = 1_000
HISTORY = 100_000
RUNS = 7
MINUTE_MS = 60_000
QUARTER_MS = 15 * MINUTE_MS


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    django.setup()

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(16)
    org, series = _inventory()
    _rules(org, series)
    print(f"{SERIES} series, {len(series['sites'])} sites, 2000 rules")

    from apps.alarms.evaluate import alarms_evaluate
    from apps.alarms.models import AlarmRule, SeriesMark

    period_rules = AlarmRule.objects.filter(kind__in=["consumption", "gaps"])

    def full_prepare():
        SeriesMark.objects.all().delete()
        period_rules.update(next_due_at=None)

    full = median_seconds(lambda: alarms_evaluate(), times=3, before=full_prepare)

    def minute_prepare(*, quarter: bool):
        def prepare():
            _write_minute(series, rng)
            period_rules.update(next_due_at=None if quarter else _in_an_hour())

        return prepare

    counts = []

    def timed_pass():
        counts.append(alarms_evaluate())

    minute = median_seconds(timed_pass, times=RUNS, before=minute_prepare(quarter=False))
    quarter = median_seconds(timed_pass, times=RUNS, before=minute_prepare(quarter=True))
    last = counts[RUNS - 1]
    print(
        f"evaluation: full pass {full * 1000:.0f} ms; after a minute of {WRITTEN} written series "
        f"{minute * 1000:.0f} ms (last: {last.series_written} written, {last.counts}); "
        f"at a quarter-hour (+200 period rules) {quarter * 1000:.0f} ms"
    )

    alarm_list, series_list = _alarm_list(org, series, rng)
    print(
        f"admin: alarm list ({HISTORY} in history) {alarm_list * 1000:.0f} ms; "
        f"series list {series_list * 1000:.0f} ms"
    )

    print_figures(
        "Alarms",
        [
            Figure(
                "alarms-evaluate-minute",
                f"alarm pass, 10k series/2k rules, {WRITTEN} written",
                f"full pass {full * 1000:.0f} ms",
                f"{minute * 1000:.0f} ms",
                f"{minute * 1000:.0f} ms",
                minute * 1000,
                2000,
                "lower",
                "ms",
            ),
            Figure(
                "alarms-evaluate-quarter",
                "the same at a quarter-hour (+200 period rules)",
                f"full pass {full * 1000:.0f} ms",
                f"{quarter * 1000:.0f} ms",
                f"{quarter * 1000:.0f} ms",
                quarter * 1000,
                2000,
                "lower",
                "ms",
            ),
            Figure(
                "alarms-admin-list",
                f"admin alarm list, {HISTORY:,} alarms in history",
                f"series list (10k) {series_list * 1000:.0f} ms",
                f"{alarm_list * 1000:.0f} ms",
                f"{alarm_list * 1000:.0f} ms",
                alarm_list * 1000,
                300,
                "lower",
                "ms",
            ),
        ],
        load=load_average(),
    )


def _in_an_hour():
    from django.utils import timezone

    return timezone.now() + timedelta(hours=1)


def _inventory():
    """The organization, its sites and series (made once, kept between runs), each series with a
    recent sample, and the counters' quarter-hours of the last hour and the same hours of the 4
    weeks before (what the consumption rules read)."""
    from apps.tenancy.models import Organization, Site
    from apps.timeseries.models import Series
    from apps.timeseries.store import Policy, SampleBatch, write

    org, _ = Organization.objects.get_or_create(slug="bench-alarms", defaults={"name": "Alarm benchmark"})
    sites = list(Site.objects.filter(organization=org).order_by("pk"))
    if len(sites) < SITES:
        Site.objects.bulk_create(
            [Site(organization=org, name=f"site {i:03}") for i in range(len(sites), SITES)]
        )
        sites = list(Site.objects.filter(organization=org).order_by("pk"))
    have = Series.objects.filter(organization=org).count()
    if have < SERIES:
        kinds = ["measurement"] * 8000 + ["counter"] * 1500 + ["interval"] * 500
        Series.objects.bulk_create(
            [
                Series(organization=org, name=f"s{i:05}", kind=kinds[i], site=sites[i % SITES])
                for i in range(have, SERIES)
            ],
            batch_size=5000,
        )
    rows = list(Series.objects.filter(organization=org).order_by("pk").values_list("pk", "kind"))
    by_kind = {kind: [pk for pk, k in rows if k == kind] for kind in ("measurement", "counter", "interval")}
    now_ms = time.time_ns() // 1_000_000
    hour = now_ms // 3_600_000 * 3_600_000
    ids, ts, values = [], [], []
    for pk, _ in rows:
        ids.append(pk)
        ts.append(now_ms - 2 * MINUTE_MS)
        values.append(50.0)
    for pk in by_kind["counter"]:
        register = 1000.0
        for week in range(4, -1, -1):
            start = hour - 3_600_000 - week * 7 * 86_400_000
            for q in range(5):
                register += 2.0
                ids.append(pk)
                ts.append(start + q * QUARTER_MS - 1)
                values.append(register)
    write(SampleBatch(ids, ts, values), Policy.OVERWRITE)
    return org, {"sites": sites, "rows": rows, **by_kind}


def _rules(org, series) -> None:
    from apps.alarms.models import Alarm, AlarmRule, Breach, SeriesMark

    Alarm.objects.all().delete()
    Breach.objects.all().delete()
    SeriesMark.objects.all().delete()
    AlarmRule.objects.all().delete()
    measurement, interval, sites = series["measurement"], series["interval"], series["sites"]
    rules = []
    for i in range(1200):
        rules.append(
            AlarmRule(
                organization=org, name=f"hot {i}", kind="threshold", scope="series", series_id=measurement[i],
                direction="above", limit=90, hysteresis=2, delay_minutes=5 if i % 2 else 0,
            )
        )  # fmt: skip
    for i in range(400):
        rules.append(
            AlarmRule(
                organization=org, name=f"quiet {i}", kind="no_data", scope="series",
                series_id=measurement[1200 + i], delay_minutes=15,
            )
        )  # fmt: skip
    for i in range(200):
        rules.append(
            AlarmRule(
                organization=org, name=f"site quiet {i}", kind="no_data", scope="site", site=sites[i % SITES],
                series_kind="measurement" if i < SITES else "", delay_minutes=30,
            )
        )  # fmt: skip
    for i in range(150):
        rules.append(
            AlarmRule(
                organization=org, name=f"use {i}", kind="consumption", scope="site", site=sites[i % SITES],
                series_kind="counter", period="hour" if i < SITES else "day", percent=150, delay_minutes=15,
            )
        )  # fmt: skip
    for i in range(50):
        rules.append(
            AlarmRule(
                organization=org, name=f"gaps {i}", kind="gaps", scope="series", series_id=interval[i],
                interval_minutes=15, delay_minutes=30,
            )
        )  # fmt: skip
    AlarmRule.objects.bulk_create(rules)
    _analyze("alarms_alarmrule", "timeseries_series", "timeseries_stats_quarter")


def _analyze(*tables: str) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum gives a table soon after."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def _write_minute(series, rng) -> None:
    """A minute of data: one new sample on each of WRITTEN series, one in ten beyond a threshold."""
    from apps.timeseries.store import Policy, SampleBatch, write

    chosen = rng.sample(series["measurement"], WRITTEN)
    now_ms = time.time_ns() // 1_000_000
    values = [95.0 if rng.random() < 0.1 else rng.uniform(0, 80) for _ in chosen]
    write(SampleBatch(chosen, [now_ms] * WRITTEN, values), Policy.OVERWRITE)


def _alarm_list(org, series, rng) -> tuple[float, float]:
    from django.test import Client
    from django.utils import timezone

    from apps.alarms.models import Alarm, AlarmRule
    from apps.tenancy.services import membership_grant
    from apps.timeseries.models import Series

    rules = list(AlarmRule.objects.filter(organization=org).values_list("pk", "series_id", "severity"))
    have = Alarm.objects.filter(organization=org).count()
    now = timezone.now()
    batch = []
    for i in range(have, HISTORY):
        rule_id, series_id, severity = rules[i % len(rules)]
        started = now - timedelta(minutes=rng.randrange(1, 365 * 1440))
        batch.append(
            Alarm(
                organization=org, rule_id=rule_id, series_id=series_id or series["measurement"][i % 8000],
                severity=severity, started_at=started, updated_at=started,
                cleared_at=started + timedelta(hours=1), value=1.0, message="history",
            )
        )  # fmt: skip
        if len(batch) == 10_000:
            Alarm.objects.bulk_create(batch)
            batch = []
    Alarm.objects.bulk_create(batch)
    _analyze("alarms_alarm", "alarms_alarmrule")

    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="bench-alarms-manager", defaults={"is_staff": True}
    )
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def get(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return run

    assert Series.objects.filter(organization=org).count() == SERIES
    get("/admin/alarms/alarm/")()
    get("/admin/timeseries/series/")()
    alarms = median_seconds(get("/admin/alarms/alarm/"), times=11)
    series_page = median_seconds(get("/admin/timeseries/series/"), times=11)
    return alarms, series_page


if __name__ == "__main__":
    main()
