"""How fast this machine is, measured first by `make bench` so every other figure can be read
against it: the benchmarks' absolute targets were set on one 2-core machine, and the machines
this project runs on differ (one session's 2 vCPUs ran the same Python twice as fast as
another's).

Three figures, each the median of several runs, printed and recorded with the other figures:

- Python: 10,000,000 additions in a plain loop (one core, the interpreter's speed);
- PostgreSQL round trip: `SELECT 1` on an open loopback connection;
- committed write: a one-row INSERT in its own transaction (the WAL flush to disk that every
  committed request of the dialects waits for).

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ems_bench; created when
missing).
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg

from bench.common import ensure_database, load_average, record_machine

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ems_bench")
LOOP = 10_000_000


def python_loop_seconds() -> float:
    def run() -> float:
        started = time.perf_counter()
        total = 0
        for i in range(LOOP):
            total += i
        return time.perf_counter() - started

    return statistics.median(run() for _ in range(3))


def database_ms(connection, statement: str, *, times: int) -> float:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        connection.execute(statement)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main() -> None:
    ensure_database(DATABASE_URL)
    load = load_average()
    loop = python_loop_seconds()
    url = DATABASE_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as connection:
        round_trip = database_ms(connection, "SELECT 1", times=500)
        # A temporary table writes no WAL; a real one does, which is what a commit waits for.
        connection.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")
        try:
            commit = database_ms(connection, "INSERT INTO bench_commit_probe VALUES (1)", times=300)
        finally:
            connection.execute("DROP TABLE bench_commit_probe")
    figures = {
        "python_loop_s": round(loop, 3),
        "pg_round_trip_ms": round(round_trip, 3),
        "pg_commit_ms": round(commit, 3),
    }
    print()
    print(f"This machine ({load}):")
    print(f"  Python, {LOOP:,} additions in a loop     {loop:>8.3f} s")
    print(f"  PostgreSQL round trip (SELECT 1)         {round_trip:>8.3f} ms")
    print(f"  committed one-row INSERT (WAL flush)     {commit:>8.3f} ms")
    record_machine(figures, load=load)


if __name__ == "__main__":
    main()
