"""The statistics of a series computed from its samples in plain Python, independently of the
store's SQL (apps/timeseries/stats): the reference the tests compare the stored tables with.

The rules, as docs/energy.md states them: a sample belongs to the UTC quarter-hour holding its
time, 1 ms earlier for an interval series labelled with the end of its intervals; a local day of
the series' zone holds the quarter-hours that start in it. A counter's increment b - a (consecutive
samples) belongs to b's quarter-hour and is b when a > 0 and b < 0.9 a (a reset); an interval
series' consumption is the sum of its samples; a measurement has none.
"""

import math
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from django.db import connection

QUARTER_MS = 900_000
FIELDS = (
    "count",
    "sum",
    "min",
    "max",
    "first_ts",
    "first_value",
    "last_ts",
    "last_value",
    "consumption",
    "resets",
    "steps_back",
)


def _bucket(ts: int, shift: int) -> int:
    return (ts - shift) // QUARTER_MS * QUARTER_MS


def _local_day(start_ms: int, zone: ZoneInfo) -> tuple[int, str]:
    """(local midnight in epoch ms, ISO date) of the local day holding `start_ms`."""
    day = datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(zone).date()
    midnight = datetime.combine(day, time(), tzinfo=zone)
    return round(midnight.timestamp() * 1000), day.isoformat()


def reference_statistics(
    samples: list[tuple[int, float]], *, kind: str, interval_end: bool, zone: str
) -> tuple[dict[int, dict], dict[int, dict]]:
    """Quarter-hour and daily figures {start: {field: value}} of one series' samples."""
    shift = 1 if kind == "interval" and interval_end else 0
    quarters: dict[int, dict] = {}
    previous = None
    for ts, value in sorted(samples):
        start = _bucket(ts, shift)
        q = quarters.get(start)
        if q is None:
            q = quarters[start] = {
                "count": 0,
                "sum": 0.0,
                "min": value,
                "max": value,
                "first_ts": ts,
                "first_value": value,
                "consumption": 0.0 if kind in ("counter", "interval") else None,
                "resets": 0,
                "steps_back": 0,
            }
        q["count"] += 1
        q["sum"] += value
        q["min"], q["max"] = min(q["min"], value), max(q["max"], value)
        q["last_ts"], q["last_value"] = ts, value
        if kind == "interval":
            q["consumption"] += value
        elif kind == "counter" and previous is not None:
            if previous > 0 and value < 0.9 * previous:
                q["consumption"] += value
                q["resets"] += 1
            else:
                q["consumption"] += value - previous
                q["steps_back"] += value < previous
        previous = value
    tz = ZoneInfo(zone)
    days: dict[int, dict] = {}
    for start in sorted(quarters):
        q = quarters[start]
        midnight, iso = _local_day(start, tz)
        d = days.get(midnight)
        if d is None:
            days[midnight] = {**q, "day": iso}
            continue
        d["count"] += q["count"]
        d["sum"] += q["sum"]
        d["min"], d["max"] = min(d["min"], q["min"]), max(d["max"], q["max"])
        d["last_ts"], d["last_value"] = q["last_ts"], q["last_value"]
        if d["consumption"] is not None:
            d["consumption"] += q["consumption"]
        d["resets"] += q["resets"]
        d["steps_back"] += q["steps_back"]
    return quarters, days


def stored_statistics(series_id: int) -> tuple[dict[int, dict], dict[int, dict]]:
    """The rows of the two statistics tables for one series, shaped as `reference_statistics`."""
    columns = ", ".join(FIELDS)
    found = []
    with connection.cursor() as cursor:
        for table, extra in (("timeseries_stats_quarter", ""), ("timeseries_stats_day", ", day")):
            cursor.execute(f"SELECT start, {columns}{extra} FROM {table} WHERE series_id = %s", [series_id])
            rows = {}
            for start, *values in cursor.fetchall():
                row = dict(zip(FIELDS, values, strict=False))
                if extra:
                    row["day"] = str(values[-1])[:10]
                rows[start] = row
            found.append(rows)
    return found[0], found[1]


def stored_samples(series_id: int) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value FROM timeseries_sample WHERE series_id = %s ORDER BY ts", [series_id]
        )
        return [(ts, value) for ts, value in cursor.fetchall()]


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def statistics_differences(series_id: int, *, kind: str, interval_end: bool, zone: str) -> list[str]:
    """What differs between the stored statistics of a series and the reference computed from its
    stored samples; empty when they agree."""
    want_q, want_d = reference_statistics(
        stored_samples(series_id), kind=kind, interval_end=interval_end, zone=zone
    )
    got_q, got_d = stored_statistics(series_id)
    problems = []
    for name, want, got in (("quarter", want_q, got_q), ("day", want_d, got_d)):
        for start in sorted(set(want) | set(got)):
            w, g = want.get(start), got.get(start)
            if w is None or g is None:
                problems.append(f"{name} {start}: expected {w}, stored {g}")
                continue
            bad = [key for key in w if not _same(w[key], g[key])]
            if bad:
                problems.append(f"{name} {start}: " + ", ".join(f"{k} {w[k]!r} != {g[k]!r}" for k in bad))
    return problems
