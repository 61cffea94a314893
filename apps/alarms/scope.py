"""A rule's scope expanded to its series, in SQL: (rule, series) pairs.

Why SQL: a rule on a site or on every series of a kind covers many series, and an evaluation
pass looks at thousands of rules; joining the rules to the series in the database costs one
query for all of them, where the ORM would load every series of every scope into Python. The
three scope shapes are three joins on indexed columns (the series' id, site, organization),
glued with UNION ALL: one join with an OR in its condition would be planned as a cross product.
The same text runs on PostgreSQL and SQLite. A site's virtual series are left out: they have no
samples of their own (their sources are watched).
"""

from dataclasses import dataclass

from django.db import connection

from apps.timeseries.sql import ids_match

from .models import RuleKind, RuleScope

_COLUMNS = (
    "r.id, s.id, s.last_ts, s.last_value, s.kind, s.created_at, "
    "COALESCE(site.time_zone, org.time_zone) AS zone"
)
_JOINS = (
    "LEFT JOIN tenancy_site site ON site.id = s.site_id "
    "JOIN tenancy_organization org ON org.id = s.organization_id"
)
_SHAPES = (
    f"SELECT {_COLUMNS} FROM alarms_alarmrule r JOIN timeseries_series s ON s.id = r.series_id {_JOINS} "
    f"WHERE r.scope = '{RuleScope.SERIES}'",
    f"SELECT {_COLUMNS} FROM alarms_alarmrule r JOIN timeseries_series s ON s.site_id = r.site_id {_JOINS} "
    f"WHERE r.scope = '{RuleScope.SITE}' AND (r.series_kind = '' OR s.kind = r.series_kind) "
    "AND s.kind <> 'virtual'",
    f"SELECT {_COLUMNS} FROM alarms_alarmrule r JOIN timeseries_series s "
    f"ON s.organization_id = r.organization_id AND s.kind = r.series_kind {_JOINS} "
    f"WHERE r.scope = '{RuleScope.KIND}'",
)


@dataclass(frozen=True, slots=True)
class Pair:
    rule_id: int
    series_id: int
    last_ts: int | None
    last_value: float | None
    series_kind: str
    series_created_at: object
    zone: str


def rule_pairs(
    *, kind: str | None = None, rule_ids: list[int] | None = None, series_ids: list[int] | None = None
) -> list[Pair]:
    """The (rule, series) pairs of the enabled rules of `kind` (or among `rule_ids`), limited to
    `series_ids` when given, with what the conditions read of the series."""
    if (rule_ids is not None and not rule_ids) or (series_ids is not None and not series_ids):
        return []
    where, params = " AND r.enabled", []
    if kind is not None:
        where += " AND r.kind = %s"
        params.append(kind)
    if rule_ids is not None:
        rules_sql, rules_params = ids_match("r.id", rule_ids)
        where += f" AND {rules_sql}"
        params += rules_params
    if series_ids is not None:
        series_sql, series_params = ids_match("s.id", series_ids)
        where += f" AND {series_sql}"
        params += series_params
    sql = " UNION ALL ".join(shape + where for shape in _SHAPES)
    with connection.cursor() as cursor:
        cursor.execute(sql, params * len(_SHAPES))
        return [Pair(*row) for row in cursor.fetchall()]


def stale_pairs(*, now_ms: int) -> list[Pair]:
    """The pairs of the enabled no-data rules whose series' newest sample is older than the
    rule's delay and that have no open alarm yet: what a pass opens. A series that never had a
    sample is not watched (nothing stopped)."""
    where = (
        f" AND r.enabled AND r.kind = '{RuleKind.NO_DATA}' AND s.last_ts IS NOT NULL"
        " AND s.last_ts < %s - r.delay_minutes * 60000"
        " AND NOT EXISTS (SELECT 1 FROM alarms_alarm a"
        " WHERE a.rule_id = r.id AND a.series_id = s.id AND a.cleared_at IS NULL)"
    )
    params = [now_ms]
    sql = " UNION ALL ".join(shape + where for shape in _SHAPES)
    with connection.cursor() as cursor:
        cursor.execute(sql, params * len(_SHAPES))
        return [Pair(*row) for row in cursor.fetchall()]
