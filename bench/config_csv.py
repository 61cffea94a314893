"""The bulk configuration CSV (apps/inventory/config_csv): time and peak memory of its preview and of
its apply, each in a fresh process, beside a same-run reference, `csv.reader` over the same file.

    BENCH_DATABASE_URL=postgres://... python bench/config_csv.py [ROWS | <n>MB | ROWS@<n>MB ...]

For each size (default: the most rows the form takes, and the same rows filling the largest file
it takes; docs/performance.md also has 200000 and 50MB, the limit the form had before it was
measured) a file is generated, one row per signal, 10 signals a load and 4 loads a device, every
signal with a meter code (~70 bytes a row; `<rows>@<n>MB` adds long series names). Then, each in
a process of its own, so that the peak resident set (VmHWM) is that of one step alone:

- reference: `csv.reader` over the file, counting rows (the least any reader of the file costs);
- preview: what the preview request does with the staged file (check it, stream it, validate
  it against the organization, say what applying it would do);
- apply: what the Apply request does (validate again inside its transaction, write everything),
  into an organization emptied before.

Sizes past the form's limits are measured with the limits lifted. Each line prints the wall
time, the peak RSS and the RSS the process had before the step (Django loaded), and the rows per
second; at the limits, the two figures they were chosen by are recorded for bench/summary.py:
peak RSS ≤ 300 MiB and the Apply request ≤ 30 s (half of gunicorn's timeout). The database
(BENCH_DATABASE_URL, else DATABASE_URL, else ems_bench) is for benchmarks only: created and
migrated when missing, its inventory and series tables emptied before each apply.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = (
    os.environ.get("BENCH_DATABASE_URL")
    or os.environ.get("DATABASE_URL")
    or "postgres://postgres@127.0.0.1:5432/ems_bench"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ems.settings")

from bench.common import ROOT, Figure, ensure_database, load_average, print_figures

HEADER = (
    "device_uid,device_label,device_protocol,load_uid,load_label,signal_uid,signal_si,signal_unit,"
    "series_meter_code"
)
SIGNALS_PER_LOAD = 10
LOADS_PER_DEVICE = 4
UNITS = ("kW", "kWh", "V", "A", "var", "Hz", "PF", "kVA")
ORG_SLUG = "bench-config"


def write_file(
    path: Path, *, rows: int | None = None, max_bytes: int | None = None, padded: bool = False
) -> int:
    """Write a table of `rows` rows, or of as many rows as fit in `max_bytes`; return the rows.
    `padded`: `rows` rows filling `max_bytes`, each signal with a long series name (the largest
    table the form takes has both limits' worth)."""
    written = 0
    header = HEADER + (",series_name" if padded else "")
    size = len(header) + 1
    target = (max_bytes - size) // rows if padded else 0  # bytes a row, newline included
    with path.open("w", newline="") as out:
        out.write(header + "\n")
        while rows is None or written < rows:
            load = written // SIGNALS_PER_LOAD
            device = load // LOADS_PER_DEVICE
            line = (
                f"{device + 1},Meter {device + 1},meterBus,{load + 1},Feeder {load + 1},{written + 1},"
                f"{30 + written % 40},{UNITS[written % len(UNITS)]},"
                f"site{device // 100:04d}-m{written + 1:07d}"
            )
            if padded:  # a series name that makes the row `target` bytes long (at most 200 characters)
                name = f"Signal {written + 1} of feeder {load + 1} "
                line += "," + name.ljust(min(200, target - len(line) - 2), "x")
            line += "\n"
            if not padded and max_bytes is not None and size + len(line) > max_bytes:
                break
            out.write(line)
            size += len(line)
            written += 1
    return written


def status_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak) of this process, in KiB. Not `ru_maxrss`: Linux carries
    that over from the parent across fork and exec, so a child would report at least the
    parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


# --- the measured steps, each in a child process -------------------------------------------------


def child(mode: str, path: str) -> None:
    if mode == "reference":
        before = status_kib("VmRSS")
        started = time.perf_counter()
        with open(path, newline="", encoding="utf-8") as source:
            rows = sum(1 for _ in csv.reader(source)) - 1
        seconds = time.perf_counter() - started
    else:
        import django

        django.setup()
        from apps.tenancy.models import Organization

        organization = Organization.objects.get(slug=ORG_SLUG)
        before = status_kib("VmRSS")
        started = time.perf_counter()
        rows = STEPS[mode](organization, Path(path))
        seconds = time.perf_counter() - started
    peak = status_kib("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_kib": peak, "before_kib": before, "rows": rows}))


def _records(path: Path):
    """The staged file as the tools page reads it: checked, then streamed. Sizes past the form's
    limits are measured too, with the limits lifted, to show how the work grows."""
    from apps.core.uploads.reader import csv_open, csv_records
    from apps.inventory.config_csv import table

    table.MAX_ROWS = 10**9
    return csv_records(csv_open(path, limit=2**40))


def preview(organization, path: Path) -> int:
    """The preview request's work on a staged file."""
    from apps.inventory.config_csv import config_plan

    plan = config_plan(organization=organization, records=_records(path))
    assert plan.ok, plan.errors[:3]
    return plan.rows


def apply(organization, path: Path) -> int:
    """The Apply request's work on a staged file: validated again inside the transaction, then
    written."""
    from apps.inventory.config_csv import config_apply

    return config_apply(organization=organization, records=_records(path)).rows


STEPS = {"preview": preview, "apply": apply}


# --- the parent ----------------------------------------------------------------------------------


def run_child(mode: str, path: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def empty_organization() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE inventory_signal, inventory_load, inventory_device, timeseries_series CASCADE"
        )


def measure(path: Path) -> dict[str, dict]:
    """The three steps on one file, each printed as it ends; a step that fails is left out."""
    results = {}
    for mode in ("reference", "preview", "apply"):
        if mode == "apply":
            empty_organization()
        try:
            figures = results[mode] = run_child(mode, path)
        except subprocess.CalledProcessError as exc:
            print(f"  {mode:<9} failed: {exc.stderr.strip().splitlines()[-1:]}")
            continue
        print(
            f"  {mode:<9} {figures['seconds']:7.2f} s  peak RSS {figures['peak_kib'] / 1024:7.1f} MiB"
            f"  (before {figures['before_kib'] / 1024:5.1f} MiB)"
            f"  {figures['rows'] / figures['seconds']:>9,.0f} rows/s"
        )
    empty_organization()
    return results


def limit_figures(results: dict[str, dict], *, rows: int, mb: float) -> list[Figure]:
    """The figures the form's limits were chosen by, at the largest table it takes: the peak
    memory of either request, and the Apply request's time, against half of gunicorn's 60 s
    timeout (a slower moment of the machine must not reach it)."""
    reference = results["reference"]
    peaks = {mode: results[mode]["peak_kib"] / 1024 for mode in ("preview", "apply")}
    peak = max(results[mode]["peak_kib"] for mode in ("preview", "apply")) / 1024
    seconds = results["apply"]["seconds"]
    what = f"bulk configuration CSV, {rows:,} rows in {mb:.0f} MB"
    read = f"csv.reader over the file: {reference['seconds']:.2f} s, {reference['peak_kib'] / 1024:.0f} MiB"
    return [
        Figure(
            "config_csv_memory",
            f"{what}: peak RSS",
            read,
            f"preview {peaks['preview']:.0f} MiB, apply {peaks['apply']:.0f} MiB",
            f"{peak:.0f} MiB",
            peak,
            300,
            "lower",
            "MiB",
        ),
        Figure(
            "config_csv_apply",
            f"{what}: Apply request",
            read,
            f"preview {results['preview']['seconds']:.1f} s, apply {seconds:.1f} s",
            f"{seconds:.1f} s",
            seconds,
            30,
            "lower",
            "s",
        ),
    ]


def main(sizes: list[str]) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    from apps.inventory.config_csv import MAX_BYTES, MAX_ROWS
    from apps.tenancy.models import Organization

    call_command("migrate", verbosity=0, interactive=False)
    Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bulk configuration bench"})
    load = load_average()
    print(f"bulk configuration CSV ({load})")
    limits = f"{MAX_ROWS}@{MAX_BYTES // 2**20}MB"
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes or [str(MAX_ROWS), limits]:
            path = Path(directory) / f"config-{size}.csv"
            count, _, megabytes = size.partition("@")
            if megabytes:  # <rows>@<n>MB: that many rows filling that many MB
                rows = write_file(path, rows=int(count), max_bytes=int(megabytes[:-2]) * 2**20, padded=True)
            elif size.endswith("MB"):
                rows = write_file(path, max_bytes=int(size[:-2]) * 2**20)
            else:
                rows = write_file(path, rows=int(size))
            mb = path.stat().st_size / 2**20
            within = rows <= MAX_ROWS and path.stat().st_size <= MAX_BYTES
            print(f"\n{rows:,} rows, {mb:.1f} MB ({'within' if within else 'beyond'} the form's limits)")
            results = measure(path)
            if size == limits and len(results) == 3:
                figures = limit_figures(results, rows=rows, mb=mb)
    if figures:
        print_figures("bulk configuration CSV", figures, load=f"{load} -> {load_average()}")
    print(f"\n({load_average()})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
