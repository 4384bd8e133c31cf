# camvault: `make run` starts the main job, `make test` runs every check, `make bench` measures.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench lint install install-dev clean

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
	$(BIN)/pytest --cov=camvault --cov-report=term

bench: install-dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage benchmarks/results
