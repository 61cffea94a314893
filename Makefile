# The two set-up commands are `make run` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ems_bench

.PHONY: run test bench load fuzz lint format check venv clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_alarms_demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

# lint-imports: the layers' contracts ([tool.importlinter] in pyproject.toml); --no-cache leaves
# no cache directory behind.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: venv
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Benchmarks run against PostgreSQL, in a database of their own (created when missing).
bench: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/machine.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/store.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/statistics_upkeep.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/gavazzi.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/history_periods.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_iotorq $(BIN)/python bench/iotorq.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/blynk.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_buildingx $(BIN)/python bench/buildingx.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/config_csv.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_writes $(BIN)/python bench/write_limits.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_reads $(BIN)/python bench/statistics_read.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_alarms $(BIN)/python bench/alarms.py
	DATABASE_URL=$(BENCH_DATABASE_URL)_console $(BIN)/python bench/console.py
	$(BIN)/python bench/summary.py

# schemathesis against /api/schema/ for every dialect, FUZZ_EXAMPLES cases per operation (the
# suite runs a bounded version).
fuzz: venv
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/pytest -m fuzz -p no:logging tests/reliability/test_fuzz.py

# 50 clients on all four dialects for LOAD_SECONDS (60) against gunicorn + a Celery worker on
# PostgreSQL (LOAD_DATABASE_URL, default ems_load) and Redis; fails on any error or lost point.
load: venv
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .ruff_cache staticfiles
