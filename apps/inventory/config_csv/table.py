"""The bulk configuration table read into entries: its columns, its cells, the rules rows must
agree on, and the plan that reports what applying it does (see the package docstring).

Reading keeps one small entry per device, load and signal (its uid, line, parent and filled
cells), not the rows: a table of MAX_ROWS rows read from a stream stays a few tens of MB.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.exceptions import Invalid
from apps.tenancy.models import Site
from apps.timeseries.models import Series, SeriesKind

from ..models import Device, Load, Protocol, Signal

MAX_ERRORS = 100
MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
SHOWN = 200  # changes of each kind listed in the plan; all are counted
MAX_UID = 2**31 - 1  # the APIs' 32-bit ids
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


# A signal's series stores its samples: it cannot be virtual (computed from other series).
_KINDS = {kind.value: kind.value for kind in SeriesKind if kind != SeriesKind.VIRTUAL}


def _kind(cell: str) -> str:
    try:
        return _KINDS[cell.lower()]
    except KeyError:
        raise ValueError(f"expected one of {', '.join(_KINDS)}") from None


_uid = _integer(0, MAX_UID)
# column -> (kind, model field, parser); every column is named `<kind>_<field>`.
COLUMNS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "device_uid": ("device", "uid", _uid),
    "device_label": ("device", "label", _text(Device, "label")),
    "device_part_number": ("device", "part_number", _text(Device, "part_number")),
    "device_system": ("device", "system", _text(Device, "system")),
    "device_protocol": ("device", "protocol", _protocol),
    # A site's name, found in the organization when the table is resolved (its id then).
    "device_site": ("device", "site_id", _text(Site, "name")),
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
    "series_kind": ("series", "kind", _kind),
    "series_unit": ("series", "unit", _text(Series, "unit")),
    "series_interval_end": ("series", "interval_end", _boolean),
}
REQUIRED = ("device_uid", "load_uid", "signal_uid")
FIELDS = {
    kind: tuple(name for k, name, _ in COLUMNS.values() if k == kind and name != "uid") for kind in KINDS
}


# --- the plan -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Change:
    """What happens to one object: created, updated (with each field's old and new value) or
    left unchanged."""

    kind: str
    line: int
    label: str
    action: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class ConfigPlan:
    """What a table does: how many objects of each kind are created, updated and left unchanged,
    the first SHOWN changes of each kind in file order, and the errors (with their line in `index`
    and their column in `field`) up to MAX_ERRORS of `error_count`."""

    header: list[str] = field(default_factory=list)
    rows: int = 0
    changes: dict[str, list[Change]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {CREATE: 0, UPDATE: 0, UNCHANGED: 0} for kind in KINDS}
    )
    errors: list[Invalid] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_count and self.rows > 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    @property
    def sections(self) -> list[tuple[str, list[Change], int]]:
        """(kind, the changes listed, how many more there are) of each kind with changes."""
        return [
            (kind, changes, sum(self.counts[kind].values()) - len(changes))
            for kind, changes in self.changes.items()
            if changes
        ]

    def record(self, change: Change) -> None:
        self.counts[change.kind][change.action] += 1
        listed = self.changes[change.kind]
        if len(listed) < SHOWN:
            listed.append(change)

    def error(self, line: int | None, message: str, column: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Invalid(message, field=column, index=line))


@dataclass(slots=True)
class Entry:
    """One object as the table describes it: its uid, its first line, its filled cells (field ->
    value) and, for loads and signals, the uid of their parent. A device's or load's `lines` say
    where each value was first given; a signal's `series` holds the cells of its series."""

    uid: int
    line: int
    values: dict[str, Any]
    parent: int | None = None
    lines: dict[str, int] | None = None
    series: dict[str, Any] | None = None


@dataclass
class Table:
    """The entries of a table, by uid, in order of first appearance."""

    devices: dict[int, Entry] = field(default_factory=dict)
    loads: dict[int, Entry] = field(default_factory=dict)
    signals: dict[int, Entry] = field(default_factory=dict)


def table_read(records: Iterable[tuple[int, list[str]]]) -> tuple[ConfigPlan, Table]:
    """Read `records` ((line number, cells), the header first) into entries, checking every cell
    and that rows agree; the errors are the plan's. Stops past MAX_ROWS rows."""
    table = Table()
    records = iter(records)
    first = next(records, None)
    if first is None:
        plan = ConfigPlan()
        plan.error(None, "The file is empty.")
        return plan, table
    header_line, header = first
    plan = ConfigPlan(header=list(header))
    columns = _columns(plan, header_line, header)
    if columns is None:
        return plan, table
    for line, cells in records:
        if plan.rows == MAX_ROWS:
            plan.error(
                line,
                f"The file holds more than {MAX_ROWS:,} rows, the most one file may hold: split it into "
                "files of at most that many and apply them one after the other.",
            )
            break
        plan.rows += 1
        _row(plan, table, line, cells, columns)
    if not plan.rows:
        plan.error(None, "The file holds a header but no rows.")
    return plan, table


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


def _row(plan: ConfigPlan, table: Table, line: int, cells: list[str], columns: list[str | None]) -> None:
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        plan.error(line, f"Expected at most {len(columns)} cells, as in the header, found {len(cells)}.")
        return
    parsed: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    bad = False
    for name, cell in zip(columns, cells, strict=False):
        if name is None or not cell:
            continue
        kind, field_name, parse = COLUMNS[name]
        try:
            parsed[kind][field_name] = parse(cell)
        except ValueError as exc:
            plan.error(line, f"{cell!r}: {exc}.", name)
            bad = True
            parsed[kind][field_name] = None
    for name in REQUIRED:
        if "uid" not in parsed[COLUMNS[name][0]]:
            plan.error(line, f"{name} is required.", name)
            bad = True
    if bad:
        return
    device_uid, load_uid, signal_uid = (parsed[kind].pop("uid") for kind in ("device", "load", "signal"))
    _merge(plan, table.devices, "device", device_uid, None, parsed["device"], line)
    _merge(plan, table.loads, "load", load_uid, device_uid, parsed["load"], line)
    known = table.signals.get(signal_uid)
    if known is not None:
        plan.error(line, f"Signal {signal_uid} is listed twice (first on line {known.line}).", "signal_uid")
        return
    table.signals[signal_uid] = Entry(
        signal_uid, line, parsed["signal"], parent=load_uid, series=parsed["series"] or None
    )


def _merge(plan, entries: dict[int, Entry], kind: str, uid: int, parent: int | None, values, line) -> None:
    """Add a device or load row to `entries`, checking it against the rows before it."""
    entry = entries.get(uid)
    if entry is None:
        entries[uid] = Entry(uid, line, dict(values), parent, dict.fromkeys(values, line))
        return
    if parent != entry.parent:
        plan.error(
            line,
            f"Load {uid} is under device {parent} here but under device {entry.parent} on line {entry.line}.",
            "device_uid",
        )
    for name, value in values.items():
        if name not in entry.values:
            entry.values[name], entry.lines[name] = value, line
        elif entry.values[name] != value:
            conflict = (
                f"{kind.capitalize()} {uid} has {name} {value!r} here but {entry.values[name]!r} "
                f"on line {entry.lines[name]}."
            )
            plan.error(line, conflict, f"{kind}_{name}")
