"""The statistics tables equal a from-scratch recomputation from the samples after every change:
random sequences of writes (new, overwrite, keep, duplicates, out of order, counter resets, several
series of every kind and zone), range deletions and retention, each checked against the plain
Python reference of statistics_reference.py."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.timeseries import store
from apps.timeseries.retention import DAY_MS, samples_expire
from apps.timeseries.services import samples_delete
from apps.timeseries.stats import bulk
from apps.timeseries.store import Policy, SampleBatch, postgresql_copy, write
from tests.factories import OrganizationFactory, SeriesFactory, SiteFactory
from tests.timeseries.helpers import ms
from tests.timeseries.statistics_reference import statistics_differences

pytestmark = pytest.mark.django_db

Q = 900_000


# Local midnights next to the days that are not 24 hours long, and one of a zone at +5:45.
ANCHORS = [ms(2024, 3, 30, 23), ms(2024, 10, 26, 22), ms(2024, 1, 1, 18, 15)]
ZONES = ["UTC", "Europe/Berlin", "Asia/Kathmandu"]
KINDS = ["counter", "interval", "measurement"]
SERIES = 3

values = st.one_of(
    st.integers(0, 60).map(float),
    st.sampled_from([0.0, 100.0, 95.0, 89.0, 1000.0, -3.0, 5.5]),
    st.floats(-10, 1e4, allow_nan=False, allow_infinity=False),
)


@st.composite
def scenarios(draw):
    anchor = draw(st.sampled_from(ANCHORS))
    # Quarter-hours from an hour before a local midnight to past the next one (a 25-hour day
    # included), at a quarter-hour's edges and inside it.
    stamp = st.builds(
        lambda q, offset: anchor + q * Q + offset,
        st.integers(-4, 104),
        st.sampled_from([0, 1, 300_000, Q - 1]),
    )
    pool = draw(st.lists(stamp, min_size=3, max_size=14))
    configs = draw(
        st.lists(
            st.tuples(st.sampled_from(KINDS), st.booleans(), st.sampled_from([None, *ZONES])),
            min_size=SERIES,
            max_size=SERIES,
        )
    )
    index = st.integers(0, len(pool) - 1)
    point = st.tuples(st.integers(0, SERIES - 1), index, values)
    operation = st.one_of(
        st.tuples(st.just("write"), st.sampled_from(list(Policy)), st.lists(point, min_size=1, max_size=10)),
        st.tuples(
            st.just("run"),  # a run of samples, a bulk write: up to 80 hours, whole days in it
            st.integers(0, SERIES - 1),
            index,
            st.integers(1, 50),
            st.sampled_from([60_000, 7 * 60_000, 97 * 60_000]),
            st.sampled_from(list(Policy)),
        ),
        st.tuples(st.just("delete"), st.integers(0, SERIES - 1), index, index),
        st.tuples(st.just("expire"), index, st.integers(1, 3)),
    )
    operations = draw(st.lists(operation, min_size=1, max_size=7))
    return draw(st.sampled_from(ZONES)), configs, pool, operations


def apply(operation, series, pool, organization) -> None:
    match operation:
        case ("write", policy, points):
            write(
                SampleBatch(
                    [series[s].pk for s, _, _ in points],
                    [pool[i] for _, i, _ in points],
                    [v for *_, v in points],
                ),
                policy,
            )
        case ("run", s, i, n, step, policy):
            ts = [pool[i] + k * step for k in range(n)]
            write(
                SampleBatch([series[s].pk] * n, ts, [float(100 + k * (k % 7 - 2)) for k in range(n)]), policy
            )
        case ("delete", s, i, j):
            low, high = sorted((pool[i], pool[j]))
            samples_delete(series_id=series[s].pk, start_ms=low, end_ms=high + 1)
        case ("expire", i, batch_size):
            organization.sample_retention_days = 1
            organization.save(update_fields=["sample_retention_days"])
            try:
                samples_expire(now_ms=pool[i] + DAY_MS, batch_size=batch_size)
            finally:
                organization.sample_retention_days = 0
                organization.save(update_fields=["sample_retention_days"])


# The bulk path of new data (PostgreSQL: from postgresql_copy.COPY_BATCH rows, statistics from the
# arrays from bulk._MIN_ROWS rows a series) taken by small batches too.
@pytest.fixture(params=["default", "bulk"])
def copy_batch(request, monkeypatch):
    if request.param == "bulk":
        monkeypatch.setattr(postgresql_copy, "COPY_BATCH", 3)
        monkeypatch.setattr(bulk, "_MIN_ROWS", 2)
    return request.param


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_after_every_change_the_statistics_equal_a_recomputation_from_the_samples(copy_batch, scenario):
    org_zone, configs, pool, operations = scenario
    organization = OrganizationFactory(time_zone=org_zone, sample_retention_days=0)
    series = []
    for kind, interval_end, site_zone in configs:
        site = None if site_zone is None else SiteFactory(organization=organization, time_zone=site_zone)
        series.append(
            SeriesFactory(organization=organization, kind=kind, interval_end=interval_end, site=site)
        )

    for step, operation in enumerate(operations):
        apply(operation, series, pool, organization)
        for s, (kind, interval_end, site_zone) in zip(series, configs, strict=True):
            zone = site_zone or org_zone
            problems = statistics_differences(s.pk, kind=kind, interval_end=interval_end, zone=zone)
            assert not problems, (step, operation, kind, interval_end, zone, problems)


@st.composite
def appends(draw):
    """Batches of 1-8 samples, each after the last one written: steps that stay inside a
    quarter-hour, land on its edges, cross local midnights (a 23- and a 25-hour day among them)."""
    anchor = draw(st.sampled_from(ANCHORS))
    config = draw(st.tuples(st.sampled_from(KINDS), st.booleans(), st.sampled_from(ZONES)))
    step = st.one_of(
        st.integers(1, 3),
        st.sampled_from([Q - 1, Q, Q + 1, 4 * Q, 23 * 3_600_000, 25 * 3_600_000]),
        st.integers(1, 3 * Q),
    )
    batch = st.tuples(
        st.sampled_from(list(Policy)), st.lists(st.tuples(step, values), min_size=1, max_size=8)
    )
    batches = draw(st.lists(batch, min_size=1, max_size=8))
    return anchor + draw(st.sampled_from([-Q, -1, 0, 1])), config, batches


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=appends())
def test_appends_merge_their_statistics_equal_to_a_recomputation(monkeypatch, scenario):
    start, (kind, interval_end, zone), batches = scenario
    organization = OrganizationFactory(time_zone=zone, sample_retention_days=0)
    series = SeriesFactory(organization=organization, kind=kind, interval_end=interval_end)
    # The series the SQL recompute is asked for: never one that a batch appends to.
    recomputed = []
    original = store.statistics_recompute
    monkeypatch.setattr(
        store,
        "statistics_recompute",
        lambda ranges, **kw: (recomputed.extend(r[0] for r in ranges), original(ranges, **kw))[1],
    )
    t = start
    for number, (policy, batch) in enumerate(batches):
        ts = []
        for gap, _ in batch:
            t += gap
            ts.append(t)
        del recomputed[:]
        write(SampleBatch([series.pk] * len(ts), ts, [v for _, v in batch]), policy)
        if number:
            assert series.pk not in recomputed, number
        problems = statistics_differences(series.pk, kind=kind, interval_end=interval_end, zone=zone)
        assert not problems, (number, batch, problems)
