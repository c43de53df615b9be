# straum: `make run` and `make test` set everything up (idempotently) and do their job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup browser lint typecheck unit integration bench chaos fuzz clean-data help

help:
	@echo "make run    - set up and run straum on an embedded Kafka (http://127.0.0.1:8080)"
	@echo "make test   - set up and run lint, type checks and every test against a real broker"
	@echo "make bench  - benchmarks; results in docs/BENCHMARKS.md"
	@echo "make chaos  - fault injection under load; results in docs/RELIABILITY.md"
	@echo "              (make chaos NODES=3: brokers of a three-node cluster fail instead)"
	@echo "make fuzz   - the API's fuzz tests with a larger budget (STRAUM_FUZZ_EXAMPLES=500)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "straum needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The broker's jars live in a cache outside the repository; fetching is a no-op once there.
setup: $(STAMP)
	@$(BIN)/straum broker fetch

# The ops-page test drives a real headless Chromium (Debian's package); installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make: the ops-page test needs Chromium: install Debian's chromium package" >&2; exit 1; \
	  fi; }

run: setup
	$(BIN)/straum run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

test: setup browser lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python -m bench

# Faults under load (kill -9 workers, broker restart, frozen worker, API killed mid-request);
# figures into docs/RELIABILITY.md. `make chaos NODES=3`: the cluster mode on three Kafka nodes
# (a broker killed three times, a rolling restart, a wiped node, the controller lost).
NODES ?= 1
chaos: setup
	$(BIN)/python -m bench.chaos $(if $(filter-out 1,$(NODES)),--nodes $(NODES))

# The API's fuzz tests (tests/integration/test_fuzz_api.py) with a larger budget than in
# `make test` (25 examples per class there); the classes and counts go to var/fuzz-report.json.
STRAUM_FUZZ_EXAMPLES ?= 500
fuzz: setup
	STRAUM_FUZZ_EXAMPLES=$(STRAUM_FUZZ_EXAMPLES) STRAUM_FUZZ_REPORT=var/fuzz-report.json \
	  $(BIN)/pytest -q -p no:cacheprovider tests/integration/test_fuzz_api.py

clean-data:
	rm -rf var
