"""The table's entries against the organization's devices, loads, signals and series: what each
entry creates or changes (`config_plan`), and writing that (`config_apply`).

Objects are compared a chunk at a time, from their current values (`values()` rows, no model
instances), and only the changes of a chunk become model instances, written before the next
chunk is read: memory stays bounded by the table's entries, not by the objects it touches.
Parents come before children (devices, loads, then series and signals), so each chunk of
children finds its parents' ids.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.exceptions import Invalid
from apps.tenancy.models import Site
from apps.timeseries.models import Series
from apps.timeseries.stats.basis import STATISTICS_FIELDS, series_statistics_refresh

from ..models import Device, Load, Signal
from .table import CREATE, FIELDS, UNCHANGED, UPDATE, Change, ConfigPlan, ConfigRejected, Entry, table_read

CHUNK = 900  # objects compared and written at a time; ids per IN (...) stay below SQLite's limit
SERIES_NAME_LENGTH = Series._meta.get_field("name").max_length
# The series' fields the table may change besides its meter code (table.COLUMNS).
SERIES_FIELDS = ("name", "kind", "unit", "interval_end")


def config_plan(*, organization, records: Iterable[tuple[int, list[str]]]) -> ConfigPlan:
    """Validate the table (`records`: (line number, cells), the header first) against
    `organization`'s devices, loads, signals and series and say what applying it would do.
    Writes nothing; never raises for bad content."""
    plan, table = table_read(records)
    if not plan.error_count:
        _Resolver(plan, organization, lock=False).run(table)
    plan.errors.sort(key=lambda error: error.index or 0)
    return plan


def config_apply(*, organization, records: Iterable[tuple[int, list[str]]]) -> ConfigPlan:
    """Create and update what the table describes in `organization`, all or nothing, validated
    again inside the transaction (the existing objects it names are locked). Raises
    ConfigRejected with the errors when there are any, or when a concurrent change collided
    with this one (a uid created, a meter code taken meanwhile)."""
    plan, table = table_read(records)
    if not plan.ok:
        raise ConfigRejected(plan.errors or [Invalid("The file holds no rows.")])
    try:
        with transaction.atomic(durable=True):
            _Resolver(plan, organization, lock=True).run(table)
            if plan.error_count:
                raise ConfigRejected(sorted(plan.errors, key=lambda error: error.index or 0))
    except IntegrityError as exc:
        raise ConfigRejected(
            [Invalid("The configuration changed while this file was applied; preview it again.")]
        ) from exc
    return plan


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _diff(current: dict[str, Any], values: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(name, current[name], value) for name, value in values.items() if current[name] != value]


def _created(values: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(name, None, value) for name, value in values.items()]


class _Resolver:
    """One pass over a table's entries, kind by kind: with `lock` (inside config_apply's
    transaction) the rows compared are locked and every change is written; without, the plan
    only records them."""

    def __init__(self, plan: ConfigPlan, organization, *, lock: bool):
        self.plan = plan
        self.organization = organization
        self.lock = lock
        # uid -> (id, or None for a new object not written; label; the device's site id; and for
        # loads their device's label and site id)
        self.devices: dict[int, tuple[int | None, str, int | None]] = {}
        self.loads: dict[int, tuple[int | None, str, str, int | None]] = {}
        self.site_names: dict[int | None, str | None] = {None: None}

    def run(self, table) -> None:
        self._sites(table.devices)
        self._parents(Device, table.devices)
        self._parents(Load, table.loads)
        self._signals(table.signals)

    def _sites(self, entries: dict[int, Entry]) -> None:
        """Replace the site names of `device_site` with the ids of the organization's sites of
        those names; an unknown name is an error of its line. All the organization's sites are
        read (an organization has a few buildings, not thousands), so that the plan names the
        sites devices leave too."""
        if not any("site_id" in entry.values for entry in entries.values()):
            return
        by_name = dict(Site.objects.filter(organization=self.organization).values_list("name", "pk"))
        self.site_names |= {pk: name for name, pk in by_name.items()}
        for entry in entries.values():
            name = entry.values.get("site_id")
            if name is None:
                continue
            if name not in by_name:
                self.plan.error(
                    entry.lines["site_id"], f"No site is named {name!r} in the organization.", "device_site"
                )
            entry.values["site_id"] = by_name.get(name)

    def _shown(self, diff: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
        """A device's changes as the plan shows them: sites by name."""
        names = self.site_names
        return [
            ("site", names.get(old, old), names.get(new, new)) if name == "site_id" else (name, old, new)
            for name, old, new in diff
        ]

    def _current(self, model, uids: list[int], fields: Iterable[str]) -> dict[int, dict[str, Any]]:
        rows = model.objects.filter(organization=self.organization, uid__in=uids).order_by("pk")
        if self.lock:
            # Only the rows themselves: PostgreSQL cannot lock the nullable side of a join.
            rows = rows.select_for_update(of=("self",))
        return {row["uid"]: row for row in rows.values("pk", "uid", *fields)}

    def _parents(self, model, entries: dict[int, Entry]) -> None:
        """Devices or loads: compare, record, and (when locked) write them, a chunk at a time."""
        kind = model._meta.model_name
        fields = FIELDS[kind]
        is_load = model is Load
        known = self.loads if is_load else self.devices
        for chunk in _chunks(list(entries.values())):
            current = self._current(
                model, [e.uid for e in chunk], (*fields, *(("device_id", "device__uid") if is_load else ()))
            )
            new, updated, changed = [], [], set()
            for entry in chunk:
                row = current.get(entry.uid)
                label = f"{kind} {entry.uid}"
                extra = {"device_id": self.devices[entry.parent][0]} if is_load else {}
                if row is None:
                    values = {"label": f"{kind.capitalize()} {entry.uid}", **entry.values}
                    change = Change(kind, entry.line, label, CREATE, self._shown(_created(entry.values)))
                    new.append((entry.uid, values | extra))
                else:
                    values = {**{name: row[name] for name in fields}, **entry.values}
                    diff = _diff(row, entry.values)
                    if is_load and (extra["device_id"] is None or row["device_id"] != extra["device_id"]):
                        diff.append(("device", row["device__uid"], entry.parent))
                    change = Change(kind, entry.line, label, UPDATE if diff else UNCHANGED, self._shown(diff))
                    if diff:
                        changed |= {name for name, _, _ in diff}
                        updated.append(model(pk=row["pk"], uid=entry.uid, **values, **extra))
                self.plan.record(change)
                parent = self.devices[entry.parent] if is_load else None
                known[entry.uid] = (
                    row["pk"] if row else None,
                    values["label"],
                    *((parent[1], parent[2]) if is_load else (values.get("site_id"),)),
                )
            if self.lock:
                created = [model(organization=self.organization, uid=uid, **values) for uid, values in new]
                self._write(model, created, updated, changed)
                for obj in created:
                    known[obj.uid] = (obj.pk, *known[obj.uid][1:])

    @staticmethod
    def _write(model, new: list, updated: list, changed: set[str]) -> None:
        if new:
            model.objects.bulk_create(new)
        if updated:
            model.objects.bulk_update(updated, sorted(changed), batch_size=500)

    # --- signals and their series --------------------------------------------------------------------

    def _signals(self, entries: dict[int, Entry]) -> None:
        """Check what only the whole table tells (new signals have an si, meter codes name one
        series), then compare and write the signals and their series a chunk at a time."""
        ready, codes = self._check_series(entries)
        if self.lock and self.plan.error_count:
            return
        fields = FIELDS["signal"]
        related = ("load_id", "load__uid", "series_id", *(f"series__{name}" for name in SERIES_FIELDS))
        for chunk in _chunks(ready):
            current = self._current(Signal, [e.uid for e in chunk], (*fields, *related))
            signals = []  # (the signal's values, its action, its series' values, the series' action)
            changed, series_changed = set(), set()
            for entry in chunk:
                row = current.get(entry.uid)
                load_id = self.loads[entry.parent][0]
                label = f"signal {entry.uid}"
                if row is None:
                    values = {"pk": None, "uid": entry.uid, **entry.values}
                    change = Change("signal", entry.line, label, CREATE, _created(entry.values))
                else:
                    values = {"pk": row["pk"], "uid": entry.uid, **{name: row[name] for name in fields}}
                    values |= entry.values
                    values["series_id"] = row["series_id"]
                    diff = _diff(row, entry.values)
                    if load_id is None or row["load_id"] != load_id:
                        diff.append(("load", row["load__uid"], entry.parent))
                    change = Change("signal", entry.line, label, UPDATE if diff else UNCHANGED, diff)
                values["load_id"] = load_id
                given = entry.series or {}
                if row is not None and row["series_id"] is not None:
                    series = {
                        "pk": row["series_id"],
                        # As it was before the table's changing codes were cleared.
                        "meter_code": codes.get(entry.uid),
                        **{name: row[f"series__{name}"] for name in SERIES_FIELDS},
                    }
                    diff = _diff(series, given)
                    series_change = Change(
                        "series",
                        entry.line,
                        f"series of signal {entry.uid}",
                        UPDATE if diff else UNCHANGED,
                        diff,
                    )
                    series_changed |= {name for name, _, _ in diff}
                    series |= given
                else:
                    series_change, series = self._new_series(entry, values.get("unit", ""))
                    if row is not None:
                        change.changes.append(("series", None, series["name"]))
                        change.action = UPDATE
                changed |= {name for name, _, _ in change.changes}
                self.plan.record(change)
                self.plan.record(series_change)
                signals.append((values, change.action, series, series_change.action))
            if self.lock:
                self._write_signals(signals, changed, series_changed)

    def _write_signals(self, signals: list, changed: set[str], series_changed: set[str]) -> None:
        """A chunk of signals with their series: new and changed series first (a new signal's
        series must exist), then the signals."""
        org = self.organization
        # `revision` is given its database default: Django inserts many rows with one UNNEST of
        # arrays only when no value is an expression, as an unset db_default is (900 series:
        # 160-320 ms with a placeholder per value, 50-60 ms with UNNEST).
        new_series = [
            (values, Series(organization=org, revision=0, **series))
            for values, _, series, action in signals
            if action == CREATE
        ]
        updated_series = [Series(**series) for _, _, series, action in signals if action == UPDATE]
        self._write(Series, [series for _, series in new_series], updated_series, series_changed)
        if series_changed & STATISTICS_FIELDS:  # recomputed in the background (timeseries/stats/basis.py)
            series_statistics_refresh(series_ids=[series.pk for series in updated_series])
        for values, series in new_series:
            values["series_id"] = series.pk
        new = [Signal(organization=org, **values) for values, action, _, _ in signals if action == CREATE]
        updated = [
            Signal(organization=org, **values)
            for values, action, _, _ in signals
            if action == UPDATE and values["pk"] is not None
        ]
        self._write(Signal, new, updated, changed)

    def _new_series(self, entry: Entry, unit: str) -> tuple[Change, dict[str, Any]]:
        """The series a signal without one gets: named after its device, load and uid unless the
        table names it, in the signal's unit unless the table gives one, at its device's site."""
        _, load_label, device_label, site_id = self.loads[entry.parent]
        default = f"{device_label} / {load_label} / signal {entry.uid}"[:SERIES_NAME_LENGTH]
        given = entry.series or {}
        change = Change("series", entry.line, f"series of signal {entry.uid}", CREATE, _created(given))
        if "name" not in given:
            change.changes.insert(0, ("name", None, default))
        return change, {"name": default, "unit": unit, "site_id": site_id, **given}

    def _check_series(self, entries: dict[int, Entry]) -> tuple[list[Entry], dict[int, str | None]]:
        """The signals that can be placed: a new one needs an si, and a meter code may be given to
        one signal of the table and may not belong to a series outside the table's own recoded
        ones (a code may move from one series of the table to another). Errors go to the plan.
        When locked, the codes that change are cleared first, so that no write sees one code on
        two series. Returns the placeable signals and each existing signal's series code."""
        current: dict[int, tuple[int | None, str | None]] = {}  # signal uid -> (series id, code)
        for chunk in _chunks(list(entries)):
            rows = Signal.objects.filter(organization=self.organization, uid__in=chunk)
            current |= {
                uid: (sid, code)
                for uid, sid, code in rows.values_list("uid", "series_id", "series__meter_code")
            }
        codes = sorted(
            {e.series["meter_code"] for e in entries.values() if e.series and "meter_code" in e.series}
        )
        holders: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(codes):
            rows = Series.objects.filter(organization=self.organization, meter_code__in=chunk)
            holders |= {code: (pk, name) for code, pk, name in rows.values_list("meter_code", "pk", "name")}
        recoded = {
            current[e.uid][0]
            for e in entries.values()
            if e.uid in current
            and current[e.uid][0] is not None
            and e.series
            and "meter_code" in e.series
            and e.series["meter_code"] != current[e.uid][1]
        }
        ready, code_lines = [], {}
        for entry in entries.values():
            if entry.uid not in current and "si" not in entry.values:
                self.plan.error(
                    entry.line, f"signal_si is required for the new signal {entry.uid}.", "signal_si"
                )
                continue
            code = (entry.series or {}).get("meter_code")
            if code is not None:
                if code in code_lines:
                    self.plan.error(
                        entry.line,
                        f"Meter code {code!r} is given to two signals (first on line {code_lines[code]}).",
                        "series_meter_code",
                    )
                    continue
                code_lines[code] = entry.line
                holder = holders.get(code)
                own = current.get(entry.uid, (None, None))[0]
                if holder is not None and holder[0] not in recoded and holder[0] != own:
                    self.plan.error(
                        entry.line,
                        f"Meter code {code!r} belongs to another series: {holder[1]!r} (id {holder[0]}).",
                        "series_meter_code",
                    )
                    continue
            ready.append(entry)
        if self.lock and not self.plan.error_count:
            for chunk in _chunks(sorted(recoded)):
                Series.objects.filter(pk__in=chunk).update(meter_code=None)
        return ready, {uid: code for uid, (_, code) in current.items()}
