# Casewise developer commands. `make run` serves the example rules; `make test` runs every test.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-bench run test check lint typecheck bench fmt

install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the dependencies changed.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

install-bench: $(VENV)/.installed-bench

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev,bench]'
	touch $@ $(VENV)/.installed

run: install
	$(BIN)/casewise serve --host $(HOST) --port $(PORT) --rules rules

# pytest exits 5 when it collected no tests; that is not a failure here.
test: install
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy service

check: lint typecheck test

bench: install-bench
	$(BIN)/python -m bench.run

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
