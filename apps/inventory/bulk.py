"""Bulk configuration: devices, loads and signals created or updated from one table, in one step.

A site has hundreds of signals; this is how they get in. The table has one row per signal,
carrying its load and its device (devices and loads repeat on the rows of their signals)::

    device_uid,device_label,device_protocol,load_uid,load_label,signal_uid,signal_si,signal_unit,series_meter_code
    1,Main meter,meterBus,2,Main,3,31,kW,main_power
    1,Main meter,meterBus,2,Main,4,32,var,main_reactive
    82,Sub meter,rtu,83,Sub,100,29,V,

Columns (header names, any order, case-insensitive; only the three uids are required):

- device: `device_uid`, `device_label`, `device_part_number`, `device_system`, `device_protocol`
  (a protocol's value or label: rtu, tcp, meterBus, virtual, P1)
- load: `load_uid`, `load_label`, `load_index`, `load_type`, `load_enable`
- signal: `signal_uid`, `signal_si`, `signal_sir`, `signal_unit`, `signal_enable`
- the signal's series: `series_meter_code`, `series_name`

Objects are found by uid in the organization (uids are unique there). A blank cell keeps the
current value of an existing object and gives a new one its default (a label "Device 7",
"Load 8"; enabled; index 1; type 0); `signal_si` is required for a new signal. A load or signal
listed under another device or load than its current one is moved there. Every new signal, and
every existing one without a series, gets a new Series (named by `series_name`, else after its
device, load and uid; coded by `series_meter_code`; in the signal's unit). Booleans are
true/false, yes/no, 1/0 or on/off.

Rows must agree: a device or load listed on several rows must have the same values wherever a
cell is filled, a signal is listed once, a meter code names one series. Everything is validated
before anything is written, errors name their line and column, and the whole table is applied
in one transaction or not at all. The caller reads the file (apps/imports/csv/reader.py) and
passes its records with their line numbers, the header first.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.exceptions import Invalid
from apps.timeseries.models import Series

from .models import Device, Load, Protocol, Signal

MAX_ERRORS = 100
MAX_UID = 2**31 - 1  # the APIs' 32-bit ids
LOOKUP_CHUNK = 900  # ids per IN (...): below SQLite's parameter limit
KINDS = ("device", "load", "signal", "series")
CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
_TRUE = frozenset({"true", "yes", "1", "on", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "off", "n", "f"})


class ConfigRejected(Invalid):
    """A table with errors; each Invalid of `errors` names its line (`index`) and column
    (`field`). Nothing of it was written."""

    def __init__(self, errors: Sequence[Invalid], message: str = "Invalid configuration."):
        super().__init__(message)
        self.errors = list(errors)


# --- cells ----------------------------------------------------------------------------------------


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(cell: str) -> int:
        if not (cell.lstrip("-").isdigit() and cell.isascii()) or not low <= int(cell) <= high:
            raise ValueError(f"expected a whole number from {low} to {high:,}")
        return int(cell)

    return parse


def _text(model, name: str) -> Callable[[str], str]:
    limit = model._meta.get_field(name).max_length

    def parse(cell: str) -> str:
        if len(cell) > limit:
            raise ValueError(f"longer than {limit} characters")
        return cell

    return parse


def _boolean(cell: str) -> bool:
    word = cell.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected true or false")


_PROTOCOLS = {p.value.lower(): p.value for p in Protocol} | {p.label.lower(): p.value for p in Protocol}


def _protocol(cell: str) -> str:
    try:
        return _PROTOCOLS[cell.lower()]
    except KeyError:
        raise ValueError(f"expected one of {', '.join(p.value for p in Protocol)}") from None


_uid = _integer(0, MAX_UID)
# column -> (kind, model field, parser)
COLUMNS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "device_uid": ("device", "uid", _uid),
    "device_label": ("device", "label", _text(Device, "label")),
    "device_part_number": ("device", "part_number", _text(Device, "part_number")),
    "device_system": ("device", "system", _text(Device, "system")),
    "device_protocol": ("device", "protocol", _protocol),
    "load_uid": ("load", "uid", _uid),
    "load_label": ("load", "label", _text(Load, "label")),
    "load_index": ("load", "index", _integer(0, 32767)),
    "load_type": ("load", "type", _integer(-32768, 32767)),
    "load_enable": ("load", "enable", _boolean),
    "signal_uid": ("signal", "uid", _uid),
    "signal_si": ("signal", "si", _integer(0, 2**31 - 1)),
    "signal_sir": ("signal", "sir", _integer(0, 2**31 - 1)),
    "signal_unit": ("signal", "unit", _text(Signal, "unit")),
    "signal_enable": ("signal", "enable", _boolean),
    "series_meter_code": ("series", "meter_code", _text(Series, "meter_code")),
    "series_name": ("series", "name", _text(Series, "name")),
}
REQUIRED = ("device_uid", "load_uid", "signal_uid")


# --- the plan -------------------------------------------------------------------------------------


@dataclass
class Change:
    """What happens to one object: created, updated (with each field's old and new value) or
    left unchanged; `obj` is the object as it will be saved."""

    kind: str
    line: int
    label: str
    action: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    obj: Any = None


@dataclass
class ConfigPlan:
    """What a table does: the changes of each kind in file order, and the errors (with their line
    in `index` and their column in `field`) up to MAX_ERRORS of `error_count`."""

    header: list[str] = field(default_factory=list)
    rows: int = 0
    changes: dict[str, list[Change]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: list[Invalid] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_count and self.rows > 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        result = {}
        for kind, changes in self.changes.items():
            result[kind] = {CREATE: 0, UPDATE: 0, UNCHANGED: 0}
            for change in changes:
                result[kind][change.action] += 1
        return result

    def error(self, line: int | None, message: str, column: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Invalid(message, field=column, index=line))


@dataclass
class _Entry:
    """One object as the table describes it: its uid, its filled cells (field -> value, line,
    column) and, for loads and signals, the uid of their parent."""

    uid: int
    line: int
    values: dict[str, tuple[Any, int, str]] = field(default_factory=dict)
    parent: int | None = None
    series: dict[str, tuple[Any, int, str]] = field(default_factory=dict)


def config_plan(*, organization, records: Iterable[tuple[int, list[str]]]) -> ConfigPlan:
    """Validate the table (`records`: (line number, cells), the header first) against
    `organization`'s devices, loads, signals and series and say what applying it would do.
    Writes nothing; never raises for bad content."""
    return _plan(organization, records, lock=False)


def config_apply(*, organization, records: Iterable[tuple[int, list[str]]]) -> ConfigPlan:
    """Create and update what the table describes in `organization`, all or nothing, validated
    again inside the transaction (the existing objects it names are locked). Raises
    ConfigRejected with the errors when there are any, or when a concurrent change collided
    with this one (a uid created, a meter code taken meanwhile)."""
    try:
        with transaction.atomic(durable=True):
            plan = _plan(organization, records, lock=True)
            if not plan.ok:
                raise ConfigRejected(plan.errors or [Invalid("The file holds no rows.")])
            _apply(plan)
    except IntegrityError as exc:
        raise ConfigRejected(
            [Invalid("The configuration changed while this file was applied; preview it again.")]
        ) from exc
    return plan


def _plan(organization, records, *, lock: bool) -> ConfigPlan:
    records = iter(records)
    first = next(records, None)
    if first is None:
        plan = ConfigPlan()
        plan.error(None, "The file is empty.")
        return plan
    header_line, header = first
    plan = ConfigPlan(header=list(header))
    columns = _columns(plan, header_line, header)
    if columns is None:
        return plan
    devices: dict[int, _Entry] = {}
    loads: dict[int, _Entry] = {}
    signals: dict[int, _Entry] = {}
    for line, cells in records:
        plan.rows += 1
        _row(plan, line, cells, columns, devices, loads, signals)
    if not plan.rows:
        plan.error(None, "The file holds a header but no rows.")
    if not plan.error_count:
        _resolve(plan, organization, devices, loads, signals, lock=lock)
    plan.errors.sort(key=lambda error: error.index or 0)
    return plan


def _columns(plan: ConfigPlan, line: int, header: list[str]) -> list[str | None] | None:
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            continue
        if name not in COLUMNS:
            plan.error(
                line, f"Unknown column {name!r}; the columns are {', '.join(COLUMNS)}.", f"column {index}"
            )
        elif name in seen:
            plan.error(line, f"Column {name!r} appears twice (columns {seen[name]} and {index}).")
        seen.setdefault(name, index)
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        plan.error(line, f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
    return None if plan.error_count else [name or None for name in names]


def _row(plan, line, cells, columns, devices, loads, signals) -> None:
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        plan.error(line, f"Expected at most {len(columns)} cells, as in the header, found {len(cells)}.")
        return
    parsed: dict[str, dict[str, tuple[Any, int, str]]] = {kind: {} for kind in KINDS}
    bad: set[str] = set()
    for name, cell in zip(columns, cells, strict=False):
        if name is None or not cell:
            continue
        kind, field_name, parse = COLUMNS[name]
        try:
            parsed[kind][field_name] = (parse(cell), line, name)
        except ValueError as exc:
            plan.error(line, f"{cell!r}: {exc}.", name)
            bad.add(name)
    for name in REQUIRED:
        if "uid" not in parsed[COLUMNS[name][0]] and name not in bad:
            plan.error(line, f"{name} is required.", name)
            bad.add(name)
    if bad:
        return
    device_uid, load_uid, signal_uid = (parsed[kind].pop("uid")[0] for kind in ("device", "load", "signal"))
    _merge(plan, devices, "device", device_uid, None, parsed["device"], line)
    _merge(plan, loads, "load", load_uid, device_uid, parsed["load"], line)
    if signal_uid in signals:
        plan.error(
            line,
            f"Signal {signal_uid} is listed twice (first on line {signals[signal_uid].line}).",
            "signal_uid",
        )
        return
    entry = signals[signal_uid] = _Entry(signal_uid, line, parsed["signal"], parent=load_uid)
    entry.series = parsed["series"]


def _merge(plan, entries: dict[int, _Entry], kind: str, uid: int, parent: int | None, values, line) -> None:
    """Add a device or load row to `entries`, checking it against the rows before it."""
    entry = entries.get(uid)
    if entry is None:
        entries[uid] = _Entry(uid, line, dict(values), parent)
        return
    if parent != entry.parent:
        plan.error(
            line,
            f"Load {uid} is under device {parent} here but under device {entry.parent} on line {entry.line}.",
            "device_uid",
        )
    for name, (value, _line, column) in values.items():
        known = entry.values.setdefault(name, (value, line, column))
        if known[0] != value:
            conflict = (
                f"{kind.capitalize()} {uid} has {name} {value!r} here but {known[0]!r} on line {known[1]}."
            )
            plan.error(line, conflict, column)


def _existing(model, organization, uids: list[int], *, lock: bool, related=()) -> dict[int, Any]:
    found = {}
    for start in range(0, len(uids), LOOKUP_CHUNK):
        rows = model.objects.filter(organization=organization, uid__in=uids[start : start + LOOKUP_CHUNK])
        if related:
            rows = rows.select_related(*related)
        if lock:
            # Only the rows themselves: PostgreSQL cannot lock the nullable side of a join.
            rows = rows.select_for_update(of=("self",))
        found |= {obj.uid: obj for obj in rows.order_by("pk")}
    return found


def _series_by_code(organization, codes: list[str]) -> dict[str, Series]:
    found = {}
    for start in range(0, len(codes), LOOKUP_CHUNK):
        chunk = codes[start : start + LOOKUP_CHUNK]
        found |= {
            s.meter_code: s for s in Series.objects.filter(organization=organization, meter_code__in=chunk)
        }
    return found


def _diff(kind: str, line: int, label: str, obj, values: dict) -> Change:
    """Set `values` on `obj` and say what that changes (everything, for a new object)."""
    if obj.pk is None:
        for name, (value, _line, _column) in values.items():
            setattr(obj, name, value)
        return Change(kind, line, label, CREATE, [(name, None, v[0]) for name, v in values.items()], obj)
    changes = []
    for name, (value, _line, _column) in values.items():
        old = getattr(obj, name)
        if old != value:
            changes.append((name, old, value))
            setattr(obj, name, value)
    return Change(kind, line, label, UPDATE if changes else UNCHANGED, changes, obj)


def _reparent(change: Change, obj, relation: str, parent) -> None:
    """Put `obj` under `parent` (new objects, and moves), recording a move as a change. The
    parent may be unsaved yet: saving `obj` later takes its id."""
    current = getattr(obj, f"{relation}_id")
    if obj.pk is not None and (parent.pk is None or current != parent.pk):
        change.changes.append((relation, getattr(obj, relation).uid, parent.uid))
        change.action = UPDATE
    setattr(obj, relation, parent)


def _resolve(plan, organization, devices, loads, signals, *, lock: bool) -> None:
    """Match the entries with the organization's objects and fill the plan's changes."""
    found_devices = _existing(Device, organization, sorted(devices), lock=lock)
    found_loads = _existing(Load, organization, sorted(loads), lock=lock, related=("device",))
    found_signals = _existing(Signal, organization, sorted(signals), lock=lock, related=("load", "series"))

    device_objs = {}
    for uid, entry in devices.items():
        obj = found_devices.get(uid) or Device(organization=organization, uid=uid, label=f"Device {uid}")
        plan.changes["device"].append(_diff("device", entry.line, f"device {uid}", obj, entry.values))
        device_objs[uid] = obj

    load_objs = {}
    for uid, entry in loads.items():
        obj = found_loads.get(uid) or Load(organization=organization, uid=uid, label=f"Load {uid}")
        change = _diff("load", entry.line, f"load {uid}", obj, entry.values)
        _reparent(change, obj, "device", device_objs[entry.parent])
        plan.changes["load"].append(change)
        load_objs[uid] = obj

    placed = []
    for uid, entry in signals.items():
        obj = found_signals.get(uid) or Signal(organization=organization, uid=uid)
        if obj.pk is None and "si" not in entry.values:
            plan.error(entry.line, f"signal_si is required for the new signal {uid}.", "signal_si")
            continue
        change = _diff("signal", entry.line, f"signal {uid}", obj, entry.values)
        _reparent(change, obj, "load", load_objs[entry.parent])
        plan.changes["signal"].append(change)
        placed.append((entry, change))
    _plan_series(plan, organization, placed)


def _plan_series(plan, organization, placed: list[tuple[_Entry, Change]]) -> None:
    """The series of the signals: new ones where a signal has none, codes and names updated.

    A meter code may move from one series of the table to another (its old holder is recoded
    by the same table); any other series holding it makes the row an error.
    """
    codes = [entry.series["meter_code"][0] for entry, _ in placed if "meter_code" in entry.series]
    holders = _series_by_code(organization, sorted(set(codes)))
    recoded = {
        change.obj.series_id
        for entry, change in placed
        if change.obj.series_id is not None
        and "meter_code" in entry.series
        and entry.series["meter_code"][0] != change.obj.series.meter_code
    }
    code_lines: dict[str, int] = {}
    for entry, signal_change in placed:
        signal = signal_change.obj
        series = signal.series if signal.series_id is not None else None
        if "meter_code" in entry.series:
            code = entry.series["meter_code"][0]
            holder = holders.get(code)
            if code in code_lines:
                plan.error(
                    entry.line,
                    f"Meter code {code!r} is given to two signals (first on line {code_lines[code]}).",
                    "series_meter_code",
                )
                continue
            code_lines[code] = entry.line
            if holder is not None and holder.pk not in recoded and (series is None or holder.pk != series.pk):
                plan.error(
                    entry.line,
                    f"Meter code {code!r} belongs to another series: {holder.name!r} (id {holder.pk}).",
                    "series_meter_code",
                )
                continue
        label = f"series of signal {signal.uid}"
        if series is not None:
            plan.changes["series"].append(_diff("series", entry.line, label, series, entry.series))
            continue
        load = signal.load
        default = f"{load.device.label} / {load.label} / signal {signal.uid}"[
            : Series._meta.get_field("name").max_length
        ]
        series = Series(organization=organization, name=default, unit=signal.unit)
        change = _diff("series", entry.line, label, series, entry.series)
        if "name" not in entry.series:
            change.changes.insert(0, ("name", None, default))
        plan.changes["series"].append(change)
        if signal.pk is not None:
            signal_change.changes.append(("series", None, series.name))
            signal_change.action = UPDATE
        signal.series = series


def _apply(plan: ConfigPlan) -> None:
    """Write the plan: bulk creates and updates, parents before children."""
    _write(Device, plan.changes["device"])
    _write(Load, plan.changes["load"])
    series_changes = plan.changes["series"]
    # A meter code may move between two series of the table: clear the changing codes first, so
    # that no statement sees one code on two series.
    recoded = [
        c.obj.pk
        for c in series_changes
        if c.action == UPDATE and any(name == "meter_code" for name, _, _ in c.changes)
    ]
    if recoded:
        Series.objects.filter(pk__in=recoded).update(meter_code=None)
    _write(Series, series_changes)
    _write(Signal, plan.changes["signal"])


def _write(model, changes: list[Change]) -> None:
    new = [change.obj for change in changes if change.action == CREATE]
    if new:
        model.objects.bulk_create(new)
    updated = [change for change in changes if change.action == UPDATE]
    if updated:
        fields = sorted({name for change in updated for name, _, _ in change.changes})
        model.objects.bulk_update([change.obj for change in updated], fields, batch_size=500)
