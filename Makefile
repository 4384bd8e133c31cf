# camvault: `make run` starts the main job, `make test` runs every check, `make bench` measures.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# the suite waits on servers and child processes more than it computes: 4 workers on 2 cores
TEST_WORKERS ?= 4

.PHONY: run test bench chaos lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

install: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: install
	$(BIN)/camvault serve --db camvault.db --demo

lint: install-dev
	$(BIN)/ruff check camvault tests benchmarks
	$(BIN)/ruff format --check camvault tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --cov=camvault --cov-report=term

chaos: install-dev
	CAMVAULT_CHAOS_SECONDS=180 $(BIN)/pytest tests/chaos -m chaos -s -p no:cacheprovider

bench: install-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage benchmarks/results
