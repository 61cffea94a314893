"""Reads about series. Every function takes the caller's organization: a series of another
organization is never found, exactly like one that does not exist."""

from collections.abc import Collection

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from . import query, rollup
from .models import Series
from .query import Rollup

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
    ever served to readers that loaded the series before that write committed.
    """
    key = f"samples-total:{series.pk}:{series.revision}:{start_ms}:{end_ms}"
    total = cache.get(key)
    if total is None:
        total = query.samples_count(series_id=series.pk, start_ms=start_ms, end_ms=end_ms)
        cache.set(key, total, settings.SAMPLE_COUNT_CACHE_SECONDS)
    return total


# Cached where a page of rollups starts: the value of a key past the window's records.
_PAST_END = "end"


def rollup_page(
    *, series: Collection[Series], start_ms: int, end_ms: int, period_ms: int, offset: int, limit: int
) -> dict[int, list[Rollup]]:
    """One page of each series' rollups (`rollup.rollups`), keyed by series id.

    Finding a page costs a key of the primary index per sample before it (`rollup.rollup_pages`):
    nothing for the first page, about a second 3,000,000 samples deep on the benchmark machine. A
    client reads a long window page after page, and every page tells where the next one starts,
    so that is cached (SAMPLE_COUNT_CACHE_SECONDS) under the series' revision, like
    `samples_total`, together with where the page itself started and whether the window ended:
    the next page, a repeated page and a page past the end then cost what they return. Any
    change to a series' samples bumps its revision, and its positions are found anew.
    """
    window = f"{start_ms}:{end_ms}:{period_ms}"

    def key(one: Series, at: int) -> str:
        return f"rollup-start:{one.pk}:{one.revision}:{window}:{at}"

    keys = {one.pk: key(one, offset) for one in series}
    known = cache.get_many(list(keys.values()))
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
    cache.set_many(learned, settings.SAMPLE_COUNT_CACHE_SECONDS)
    return {pk: pages[pk].records if pk in pages else [] for pk in keys}
