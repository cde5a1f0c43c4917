# Pesquisa — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(CURDIR)/data

.PHONY: setup demo test lint bench app clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh $(PY) $(VENV)
	touch $(STAMP)

demo: setup
	$(BIN)/pesquisa --home $(HOME_DIR) demo --open

test: setup
	bash scripts/system_deps.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra tests

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/python -m benchmarks.run_all

app: setup
	$(BIN)/pesquisa --home $(HOME_DIR) app

clean:
	rm -rf $(VENV) .pytest_cache
