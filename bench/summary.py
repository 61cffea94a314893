"""The targets table of issue #8, from the figures the benchmarks recorded: run after them
(`make bench` runs it last).

Each benchmark appends its rows to the results file (BENCH_RESULTS, default
<temp dir>/ems-bench-results.jsonl, see bench/common.py); this prints the newest figure of every
row, in the issue's order, with the machine's load when it was measured. A row no benchmark has
recorded yet reads "not measured"; one recorded more than an hour before the newest is marked
as stale (left from an earlier run).
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MACHINE_KEY, RESULTS

ORDER = [
    ("store-insert", "store write, new data, 1,000,000 points"),
    ("store-overwrite", "store write, all timestamps stored, overwrite"),
    ("iotorq-vs-copy", "ioTORQ import end to end (2 MB requests -> job done)"),
    ("iotorq-vs-bulk-create", "same, against the naive way"),
    ("blynk-import-vs-copy", "Blynk import batch, 10,000 values per request"),
    ("buildingx-rps", "Building X, 100 values a request, 8 clients, gunicorn"),
    ("ems-history", "EMS history, one day of 1-minute rollups, 10M table"),
    ("ems-realtime", "EMS realtime for 1,000 signals"),
    ("blynk-history", "Blynk history, 1,000-row page (walks through 100)"),
    ("disk-per-sample", "disk per stored sample, table and indexes"),
    ("worker-peak-memory", "peak memory of a worker importing a 2 MB request"),
    ("config_csv_memory", "bulk configuration CSV at its limits: peak RSS"),
    ("config_csv_apply", "bulk configuration CSV at its limits: Apply request"),
    ("write-limits-slowest", "largest body of every write endpoint, the slowest"),
]
STALE_SECONDS = 3600


def main() -> None:
    newest: dict[str, dict] = {}
    try:
        lines = RESULTS.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("key") and entry.get("at", 0) >= newest.get(entry["key"], {}).get("at", 0):
            newest[entry["key"]] = entry
    last = max((entry["at"] for entry in newest.values()), default=time.time())
    print()
    print(f"Issue #8: performance targets, from {RESULTS}")
    print(f"{'what':<54} {'result':>11} {'target':>17}  {'met':<4} measured / reference")
    met = 0
    for key, what in ORDER:
        entry = newest.get(key)
        if entry is None:
            print(f"{what:<54} {'not measured':>11}")
            continue
        stale = " (stale)" if last - entry["at"] > STALE_SECONDS else ""
        verdict = {True: "yes", False: "NO", None: "n/a"}[entry["met"]]
        met += entry["met"] is True
        print(
            f"{what:<54} {entry['shown']:>11} {entry['target_text']:>17}  {verdict:<4} "
            f"{entry['measured']}; vs {entry['reference']}{stale}"
        )
    print()
    machine = newest.get(MACHINE_KEY)
    if machine is not None:
        print(
            f"Machine (bench/machine.py): Python 10M-addition loop {machine['python_loop_s']:.3f} s, "
            f"PostgreSQL round trip {machine['pg_round_trip_ms']:.3f} ms, "
            f"committed one-row INSERT {machine['pg_commit_ms']:.3f} ms"
        )
    print(f"{met} of {len(ORDER)} targets met. Load while measured:")
    for script in sorted({entry["script"] for entry in newest.values()}):
        loads = {entry["load"] for entry in newest.values() if entry["script"] == script}
        at = max(entry["at"] for entry in newest.values() if entry["script"] == script)
        print(f"  {script:<12} {time.strftime('%H:%M:%S', time.localtime(at))}  {'; '.join(sorted(loads))}")


if __name__ == "__main__":
    main()
