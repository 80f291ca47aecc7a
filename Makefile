# Every target creates the virtual environment and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
# Exact versions with their hashes (`make lock` writes them from pyproject.toml's ranges).
LOCK := requirements-dev.lock

.PHONY: run cluster test lint bench bench-cluster schema lock clean

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## run: create the SQLite database or bring it to this release's schema (`dispatch db upgrade`),
## load demo data once, serve on 127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/dispatch db upgrade
	$(VENV)/bin/dispatch serve --demo

## cluster: N server processes (PROCESSES, default 2) behind HAProxy on one port (PORT, default 8000),
## on PostgreSQL (database "dispatch" on 127.0.0.1:5432, made if missing) and Redis, demo loaded once
PROCESSES ?= 2
PORT ?= 8000
cluster: $(STAMP)
	scripts/ensure-tools
	$(VENV)/bin/dispatch cluster --processes $(PROCESSES) --port $(PORT)

## test: the whole test suite (PostgreSQL and Redis tests skip when those are absent, except under CI=true);
## the browser tests need Chromium and the cluster tests HAProxy, installed here with apt-get when root
test: $(STAMP)
	scripts/ensure-tools
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## bench: the offer step at 10,000 crews (bench/offer_step_bench.py, 1 min), then the load benchmark (bench/load_bench.py, about 15 min per database) on SQLite, then
## PostgreSQL; DB=sqlite or DB=postgres for one; BENCH_ARGS=... passes flags (e.g. --phases steady).
## The older scripts stay callable: .venv/bin/python bench/dispatch_bench.py (plan_bench, console_bench)
DB ?= sqlite postgres
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) bench/offer_step_bench.py
	for db in $(DB); do $(PY) bench/load_bench.py --db $$db $(BENCH_ARGS) || exit 1; done

## bench-cluster: the load benchmark's load on 1 process and on 2 behind HAProxy, PostgreSQL, same run
## (about 35 min); BENCH_ARGS=... passes flags
bench-cluster: $(STAMP)
	scripts/ensure-tools
	$(PY) bench/load_bench.py --db postgres --processes 1,2 $(BENCH_ARGS)

schema: $(STAMP)
	$(VENV)/bin/dispatch schema --out docs/protocol.schema.json

## lock: write requirements.lock (the server's) and requirements-dev.lock (with the dev extra)
## from pyproject.toml, with hashes; versions already locked stay unless UPGRADE=1 (the newest
## within pyproject's bounds). Commit both files; `make` reinstalls when the lock changes.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.5,<1'
	$(UV_COMPILE) --extra dev -o requirements-dev.lock
	$(UV_COMPILE) -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf $(VENV) dispatch.db dispatch.db-wal dispatch.db-shm
