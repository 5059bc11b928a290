# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/repricer run --sim

lint: $(STAMP)
	$(BIN)/ruff check engine adapters sim bench tests
	$(BIN)/ruff format --check engine adapters sim bench tests

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on every core (pytest-xdist): each test is deterministic alone (tests/conftest.py), and none shares a
# port, a file or a directory with another. Then the `slow` daemon-level kill test alone, as it always ran: it works
# on the real clock, and a busy core beside it moves its kills and its last stop (tests/loopback/test_kill.py).
unit: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow"
	$(BIN)/python -m pytest -m slow

test: lint typecheck unit

clean:
	rm -rf $(VENV)
