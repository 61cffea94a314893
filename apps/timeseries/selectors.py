"""Reads about series. Every function takes the caller's organization: a series of another
organization is never found, exactly like one that does not exist."""

import contextlib
from collections.abc import Collection

from django.conf import settings
from django.db.models import Case, F, OuterRef, Q, Subquery, When

from apps.core.shared_cache import CacheUnavailable, shared_cache

from . import query, rollup
from .models import Sample, Series
from .query import Rollup
from .stats.edges import BucketSize, bucket_count_bound
from .stats.read import (
    SeriesStatistics,
    StatisticsBucket,
    StatisticsRangeError,
    series_zone,
    statistics,
    statistics_read,
)
from .stats.rollups import rollups_from_statistics, statistics_serve

__all__ = [
    "BucketSize",
    "SeriesStatistics",
    "StatisticsBucket",
    "StatisticsRangeError",
    "bucket_count_bound",
    "rollup_page",
    "samples_total",
    "series_current",
    "series_resolve",
    "series_zone",
    "statistics",
    "statistics_read",
]

# References per query: stays below SQLite's and PostgreSQL's bound-parameter limits.
RESOLVE_CHUNK = 10_000


def series_resolve(
    *, organization, meter_codes: Collection[str] = (), ids: Collection[int] = ()
) -> tuple[dict[str, int], set[int]]:
    """The organization's series named by meter code or by id: `({meter code: id}, {ids found})`.

    One query for up to RESOLVE_CHUNK references of each kind (an import names thousands of
    variables at once), whatever mix of codes and ids; references not in the result do not exist
    in the organization.
    """
    codes, pks = sorted(set(meter_codes)), sorted(set(ids))
    wanted_codes, wanted_ids = set(codes), set(pks)
    by_code: dict[str, int] = {}
    found_ids: set[int] = set()
    for start in range(0, max(len(codes), len(pks)), RESOLVE_CHUNK):
        code_chunk, id_chunk = codes[start : start + RESOLVE_CHUNK], pks[start : start + RESOLVE_CHUNK]
        condition = Q()
        if code_chunk:
            condition |= Q(meter_code__in=code_chunk)
        if id_chunk:
            condition |= Q(pk__in=id_chunk)
        rows = Series.objects.filter(condition, organization=organization).values_list("pk", "meter_code")
        for pk, code in rows:
            if code is not None and code in wanted_codes:
                by_code[code] = pk
            if pk in wanted_ids:
                found_ids.add(pk)
    return by_code, found_ids


def samples_total(*, series: Series, start_ms: int, end_ms: int) -> int:
    """How many samples `series` has in [start_ms, end_ms), as of `series.revision`.

    Counting is an index-only scan of every key in the range (100,000 samples: 6-13 ms), the
    floor under a paged read, and a client paging through a range asks for the same count on
    every page. So the count is cached (SAMPLE_COUNT_CACHE_SECONDS) under the series' revision,
    which every change to its samples bumps: a page read after a write counts again. A count
    computed while a write commits may be cached under the revision before it; it is then only
    ever served to readers that loaded the series before that write committed. While the cache is
    down every page counts again.
    """
    key = f"samples-total:{series.pk}:{series.revision}:{start_ms}:{end_ms}"
    try:
        with shared_cache(use="samples_total") as cache:
            total = cache.get(key)
    except CacheUnavailable:  # counted again, as on a miss
        return query.samples_count(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
    if total is None:
        total = query.samples_count(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
        with contextlib.suppress(CacheUnavailable), shared_cache(use="samples_total") as cache:
            cache.set(key, total, settings.SAMPLE_COUNT_CACHE_SECONDS)
    return total


def series_current(*, now_ms: int, via: str | None = None) -> dict:
    """Annotations `current_ts` and `current_value`: the series' newest sample at or before
    `now_ms` (None when it has none), for a queryset of Series (`via` None) or of a model that
    links one through the foreign key named `via` ("series").

    The store keeps that sample on the series row as of its last write (`last_ts`), and notes a
    sample dated later in `next_ts`. Until `next_ts` has passed, the row is the answer, and the
    query reads no sample (the CASE does not evaluate its other branch); after, one backward
    probe of the sample table's primary key finds the sample that has become current. So does a
    `now_ms` earlier than the row (a past instant, or a clock behind the writer's).
    """
    prefix, series_ref = (f"{via}__", OuterRef(via)) if via else ("", OuterRef("pk"))
    up_to_date = (Q(**{f"{prefix}next_ts__isnull": True}) | Q(**{f"{prefix}next_ts__gt": now_ms})) & (
        Q(**{f"{prefix}last_ts__isnull": True}) | Q(**{f"{prefix}last_ts__lte": now_ms})
    )
    newest = Sample.objects.filter(series=series_ref, ts__lte=now_ms).order_by("-ts")
    return {
        f"current_{name}": Case(
            When(up_to_date, then=F(f"{prefix}last_{name}")),
            default=Subquery(newest.values(name)[:1]),
        )
        for name in ("ts", "value")
    }


# Cached where a page of rollups starts: the value of a key past the window's records.
_PAST_END = "end"


def rollup_page(
    *, series: Collection[Series], start_ms: int, end_ms: int, period_ms: int, offset: int, limit: int
) -> dict[int, list[Rollup]]:
    """One page of each series' rollups (`rollup.rollups`), keyed by series id.

    Periods of whole quarter-hours come from the quarter-hour statistics (stats/rollups.py):
    the cost then follows the page, not the samples before it. Others from the samples:

    Finding a page costs a key of the primary index per sample before it (`rollup.rollup_pages`):
    nothing for the first page, about a second 3,000,000 samples deep on the benchmark machine. A
    client reads a long window page after page, and every page tells where the next one starts,
    so that is cached (SAMPLE_COUNT_CACHE_SECONDS) under the series' revision, like
    `samples_total`, together with where the page itself started and whether the window ended:
    the next page, a repeated page and a page past the end then cost what they return. Any
    change to a series' samples bumps its revision, and its positions are found anew.
    """
    by_statistics = {
        one.pk
        for one in series
        if statistics_serve(
            kind=one.kind,
            interval_end=one.interval_end,
            pending=one.statistics_pending,
            recorded_interval_end=one.statistics_interval_end,
            start_ms=start_ms,
            end_ms=end_ms,
            period_ms=period_ms,
        )
    }
    result = {
        pk: rollups_from_statistics(
            series_id=pk, start_ms=start_ms, end_ms=end_ms, period_ms=period_ms, offset=offset, limit=limit
        )
        for pk in by_statistics
    }
    series = [one for one in series if one.pk not in by_statistics]
    if series:
        result |= _rollup_page_samples(
            series=series, start_ms=start_ms, end_ms=end_ms, period_ms=period_ms, offset=offset, limit=limit
        )
    return result


def _rollup_page_samples(
    *, series: Collection[Series], start_ms: int, end_ms: int, period_ms: int, offset: int, limit: int
) -> dict[int, list[Rollup]]:
    window = f"{start_ms}:{end_ms}:{period_ms}"

    def key(one: Series, at: int) -> str:
        return f"rollup-start:{one.pk}:{one.revision}:{window}:{at}"

    keys = {one.pk: key(one, offset) for one in series}
    try:
        with shared_cache(use="rollup_positions") as cache:
            known = cache.get_many(list(keys.values()))
    except CacheUnavailable:  # found anew, as on a miss
        known = {}
    starts = {pk: known[k] for pk, k in keys.items() if k in known}
    pages = rollup.rollup_pages(
        series_ids=[pk for pk in keys if starts.get(pk) != _PAST_END],
        start_ms=start_ms,
        end_ms=end_ms,
        period_ms=period_ms,
        offset=offset,
        limit=limit,
        resume={pk: ts for pk, ts in starts.items() if ts != _PAST_END},
    )
    learned = {}
    for one in series:
        page = pages.get(one.pk)
        if page is None:
            continue
        learned[keys[one.pk]] = _PAST_END if page.first_ts is None else page.first_ts
        if page.first_ts is not None:
            learned[key(one, offset + limit)] = _PAST_END if page.next_ts is None else page.next_ts
    with contextlib.suppress(CacheUnavailable), shared_cache(use="rollup_positions") as cache:
        cache.set_many(learned, settings.SAMPLE_COUNT_CACHE_SECONDS)
    return {pk: pages[pk].records if pk in pages else [] for pk in keys}
