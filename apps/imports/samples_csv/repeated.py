"""Wall clock times of the hour repeated when daylight-saving time ends: which pass each one means.

On 2025-10-26 in Europe/Berlin the clocks go from 03:00 summer time (UTC+2) back to 02:00 winter
time (UTC+1): every time from 02:00 to 02:59 happens twice. A file without offsets does not say
which pass a line means; the order of its lines does, and it is read the way pandas reads it
with `tz_localize(ambiguous="infer")`:

- The repeated-hour times of one sequence (the lines of one series in a long file, the rows of a
  wide file) form runs: times that follow each other in the sequence, within one repeated hour.
- In a run, a step where the time does not move forward (02:45 followed by 02:00, or 02:00 by
  02:00) is where the clocks went back: the times before it are the first pass (summer time),
  the time at it and those after it the second pass (winter time). 15-minute readings through
  the night give 02:00 02:15 02:30 02:45 02:00 02:15 02:30 02:45: four of each.
- A run without such a step (a single line, or an hourly file that logged the hour once) or with
  more than one (lines out of order) cannot be decided by order: the person importing chooses
  the earlier or the later offset for such times, and until they do the file is not imported.

Only the lines of repeated hours are remembered (a handful per year of data), each with where
its time is kept (`slot`), so that the readers can move the ones of the second pass later.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

EARLIER, LATER = "earlier", "later"
CHOICES = (EARLIER, LATER)


@dataclass(frozen=True, slots=True)
class _Time:
    ordinal: int  # position in its sequence: consecutive ordinals follow each other
    ms: int  # the instant of the first pass
    shift: int  # how many ms later the second pass is
    line: int
    slot: int  # where the reader keeps this time
    cell: str


@dataclass(frozen=True, slots=True)
class Undecided:
    """A run whose order does not tell which pass its times mean."""

    first_line: int
    last_line: int
    count: int
    cell: str

    def message(self, time_zone: str) -> str:
        """The error that asks for a choice, on the run's first line."""
        earlier, later = _offsets(self.cell, time_zone)
        first = f"{self.cell!r} (line {self.first_line})"
        if self.count == 1:
            what = f"{first} falls"
            why = "the order of the lines does not tell which pass it means"
            whether = "whether it takes"
        else:
            others = f"{self.count - 1} time{'s' if self.count > 2 else ''}"
            what = f"{first} and the {others} after it up to line {self.last_line} fall"
            why = "their order does not tell which pass they mean"
            whether = "whether they take"
        return (
            f"{what} in the hour repeated when daylight-saving time ends in {time_zone}, and {why}: choose "
            f"under “Repeated hour” {whether} the earlier offset (summer time, {earlier}) or the later one "
            f"(winter time, {later}), and preview again."
        )


@dataclass
class Resolution:
    """What was decided: the slots whose time moves `shift` ms later (the second pass), how many
    times order put in each pass, how many took the chosen offset, and the runs left undecided
    (only when no choice was given)."""

    later: list[tuple[int, int]] = field(default_factory=list)  # (slot, shift)
    first_pass: int = 0
    second_pass: int = 0
    chosen: int = 0
    undecided: list[Undecided] = field(default_factory=list)
    first_line: int | None = None
    choice: str = ""

    def warning(self, time_zone: str) -> str:
        """What the preview says about the repeated-hour times that were decided ("" if none)."""
        decided = self.first_pass + self.second_pass + self.chosen
        if not decided:
            return ""
        parts = []
        if self.first_pass or self.second_pass:
            parts.append(
                f"by the order of the lines, {self.first_pass:,} are read as summer time and "
                f"{self.second_pass:,} as winter time"
            )
        if self.chosen:
            season = "summer" if self.choice == EARLIER else "winter"
            parts.append(f"{self.chosen:,} whose order does not tell as {season} time, as you chose")
        many = decided != 1
        return (
            f"{decided:,} timestamp{'s' if many else ''} (first on line {self.first_line}) "
            f"fall{'' if many else 's'} in the hour repeated when daylight-saving time ends in {time_zone}: "
            f"{'; '.join(parts)}."
        )


class RepeatedHours:
    """Collects the repeated-hour times of a file as its reader meets them (`add`), then decides
    their passes (`resolve`)."""

    def __init__(self) -> None:
        self._sequences: dict[int, list[_Time]] = {}

    def __bool__(self) -> bool:
        return bool(self._sequences)

    def add(
        self, *, sequence: int, ordinal: int, ms: int, shift: int, line: int, slot: int, cell: str
    ) -> None:
        self._sequences.setdefault(sequence, []).append(_Time(ordinal, ms, shift, line, slot, cell))

    def resolve(self, choice: str = "") -> Resolution:
        """Decide every run by order (see the module docstring); a run order cannot decide takes
        `choice` (EARLIER or LATER), or is listed in `undecided` when there is none."""
        result = Resolution(choice=choice)
        for times in self._sequences.values():
            for run in _runs(times):
                switch = _switch(run)
                if switch is not None or choice in CHOICES:
                    result.first_line = min(result.first_line or run[0].line, run[0].line)
                if switch is not None:
                    result.first_pass += switch
                    result.second_pass += len(run) - switch
                    result.later += [(t.slot, t.shift) for t in run[switch:]]
                elif choice in CHOICES:
                    result.chosen += len(run)
                    if choice == LATER:
                        result.later += [(t.slot, t.shift) for t in run]
                else:
                    result.undecided.append(Undecided(run[0].line, run[-1].line, len(run), run[0].cell))
        return result


def _runs(times: list[_Time]) -> list[list[_Time]]:
    """`times` (in sequence order) cut where they stop following each other or leave the
    repeated hour they were in: two times of one repeated hour are less than its length apart."""
    runs: list[list[_Time]] = []
    for time in times:
        run = runs[-1] if runs else None
        if run and time.ordinal == run[-1].ordinal + 1 and abs(time.ms - run[-1].ms) < time.shift:
            run.append(time)
        else:
            runs.append([time])
    return runs


def _switch(run: list[_Time]) -> int | None:
    """The index of the first time of the second pass: the one step where time does not move
    forward. None when there is no such step or more than one."""
    steps = [i for i in range(1, len(run)) if run[i].ms <= run[i - 1].ms]
    return steps[0] if len(steps) == 1 else None


def _offsets(cell: str, time_zone: str) -> tuple[str, str]:
    """The two UTC offsets of the wall time `cell` in `time_zone`: `UTC+02:00`, `UTC+01:00`."""
    wall = datetime.fromisoformat(cell).replace(tzinfo=ZoneInfo(time_zone))
    return _utc(wall.replace(fold=0).utcoffset()), _utc(wall.replace(fold=1).utcoffset())


def _utc(offset: timedelta) -> str:
    minutes = offset // timedelta(minutes=1)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
