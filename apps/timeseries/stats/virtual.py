"""Virtual series: a linear combination of other series of the organization (VirtualSource rows),
with no samples of their own. Their definitions are checked here (the admin's inline calls
`virtual_sources_check`) and expanded to stored series for reading (`virtual_terms`).
"""

from collections.abc import Iterable, Sequence

from apps.core.exceptions import Invalid

from ..models import Series, SeriesKind, VirtualSource

# A definition nested deeper than this is refused (and a cycle is one of infinite depth).
MAX_DEPTH = 10


class VirtualCycle(Invalid):
    """A virtual series' sources reach back to it."""


def _graph(virtual_ids: Iterable[int]) -> dict[int, list[tuple[int, float]]]:
    """Every virtual series reachable from `virtual_ids` with its terms (source, coefficient):
    one query per level of nesting."""
    graph: dict[int, list[tuple[int, float]]] = {}
    frontier = set(virtual_ids)
    for _ in range(MAX_DEPTH + 1):
        frontier -= graph.keys()
        if not frontier:
            break
        for vid in frontier:
            graph[vid] = []
        rows = VirtualSource.objects.filter(virtual__in=frontier).values_list(
            "virtual_id", "source_id", "coefficient", "source__kind"
        )
        nested = set()
        for vid, sid, coefficient, kind in rows:
            graph[vid].append((sid, coefficient))
            if kind == SeriesKind.VIRTUAL:
                nested.add(sid)
        frontier = nested
    else:
        if frontier - graph.keys():
            raise VirtualCycle(f"virtual series are nested more than {MAX_DEPTH} deep", field="series")
    return graph


def virtual_terms(virtual_ids: Sequence[int]) -> dict[int, dict[int, float]]:
    """Each virtual series as {stored series id: coefficient}: nested virtual series expanded,
    their coefficients multiplied, a series reached twice counted with the sum of its
    coefficients. Raises VirtualCycle for a definition that reaches back to itself (the admin
    refuses those; two admins saving at once could still make one)."""
    graph = _graph(virtual_ids)
    expanded: dict[int, dict[int, float]] = {}

    def expand(vid: int, path: tuple[int, ...]) -> dict[int, float]:
        if vid in expanded:
            return expanded[vid]
        if vid in path:
            raise VirtualCycle(f"virtual series {vid} is defined in terms of itself", field="series")
        terms: dict[int, float] = {}
        for sid, coefficient in graph.get(vid, []):
            parts = expand(sid, (*path, vid)) if sid in graph else {sid: 1.0}
            for stored, c in parts.items():
                terms[stored] = terms.get(stored, 0.0) + coefficient * c
        expanded[vid] = terms
        return terms

    return {vid: expand(vid, ()) for vid in virtual_ids}


def virtual_sources_check(virtual: Series, sources: Sequence[Series]) -> None:
    """Refuse (Invalid) the sources `sources` for the virtual series `virtual`: a source of
    another organization, one that is `virtual` itself or reaches it (a cycle), sources of
    different units (the virtual series' own unit, when set, included: coefficients that
    convert units are not checked, so none are allowed), and sources mixing measurements with
    counters or interval series (a sum of power and energy means nothing)."""
    for source in sources:
        if source.organization_id != virtual.organization_id:
            raise Invalid(f"{source} belongs to another organization", field="source")
        if source.pk == virtual.pk:
            raise VirtualCycle("a virtual series cannot be its own source", field="source")
    units = {source.unit for source in sources} | ({virtual.unit} if virtual.unit else set())
    if len(units) > 1:
        raise Invalid(f"the sources must have one unit, not {', '.join(sorted(units))}", field="source")
    kinds = {source.kind for source in sources} - {SeriesKind.VIRTUAL}
    if SeriesKind.MEASUREMENT in kinds and len(kinds) > 1:
        raise Invalid("measurements cannot be combined with counters or interval series", field="source")
    nested = [source.pk for source in sources if source.kind == SeriesKind.VIRTUAL]
    if nested and virtual.pk is not None and _reaches(nested, virtual.pk):
        raise VirtualCycle(f"{virtual} would be defined in terms of itself", field="source")


def _reaches(starts: list[int], target: int) -> bool:
    """Whether the stored definitions lead from the virtual series `starts` to `target`."""
    seen: set[int] = set()
    frontier = set(starts)
    while frontier:
        if target in frontier:
            return True
        seen |= frontier
        frontier = (
            set(
                VirtualSource.objects.filter(
                    virtual__in=frontier, source__kind=SeriesKind.VIRTUAL
                ).values_list("source_id", flat=True)
            )
            - seen
        )
    return False
