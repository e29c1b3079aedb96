# The one entry point: `make test` (lint + types + tests), `make run` (the main program).
# `make fuzz`: the bad-input tests (tests/fuzz) with many more examples than the fixed sample `make test` runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests bench examples)

.PHONY: test run lint types unit fuzz bench bench-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP) lint types unit

# lint-imports: the layer contracts in pyproject.toml ([tool.importlinter]); see docs/architecture.md, "Layers".
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports --no-logo --no-cache

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	PIPEWORK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/fuzz -m fuzz

# The server with the power-dispatch example loaded (see examples/power-dispatch/README.md).
run: $(STAMP)
	$(BIN)/pipework serve --functions examples/power-dispatch/functions.py --load examples/power-dispatch/setup.py

bench-deps: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'

bench: bench-deps
	$(BIN)/python bench/patterns.py
	$(BIN)/python bench/queues.py
	$(BIN)/python bench/tables.py
	$(BIN)/python bench/bus.py
	$(BIN)/python bench/pipes.py
	$(BIN)/python bench/scheduler.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
