# Pesquisa — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(CURDIR)/data
# mypy: strict on lakehouse/, pipelines/governance and pipelines/search, checked (mypy's default
# flags) on the rest of the project code (pyproject [tool.mypy]); cached in .mypy_cache
MYPY_PATHS ?= lakehouse pipelines jobs app dagster_project benchmarks
MYPY := $(BIN)/mypy $(MYPY_PATHS)

.PHONY: setup demo test lint bench app dagster train-plates clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh $(PY) $(VENV)
	touch $(STAMP)

demo: setup
	$(BIN)/pesquisa --home $(HOME_DIR) demo --open

test: setup
	bash scripts/system_deps.sh
	$(BIN)/ruff check .
	$(MYPY)
	$(BIN)/python -m pytest -q -ra --durations=40 tests

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)

bench: setup
	$(BIN)/python -m benchmarks.run_all

app: setup
	$(BIN)/pesquisa --home $(HOME_DIR) app

# Dagster UI on 127.0.0.1 (a free port, printed) with this project loaded; DAGSTER_HOME=$(HOME_DIR)/dagster
dagster: setup
	$(BIN)/pesquisa --home $(HOME_DIR) dagster

# the second plate recogniser (pipelines/plates/second): deterministic, < 1 h on 2 CPU cores;
# rewrites the committed weights and their sidecar (SHA-256, command, split, timing)
train-plates: setup
	$(BIN)/python -m pipelines.plates.second.train

clean:
	rm -rf $(VENV) .pytest_cache
