# Casewise developer commands. `make run` serves the example rules; `make test` runs every test,
# `make test-fast` the fast ones (no Neo4j, no server, no browser); `make check` lints,
# type-checks (service, tests and bench) and runs every test.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-bench browser run test test-fast check lint typecheck bench fmt screenshots

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

# Debian's headless Chromium for tests/browser (Playwright drives it; no browser is downloaded).
# Installed only when missing; `apt-get update` first only when the package lists are stale.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
browser:
	@[ -x $(CHROMIUM) ] || $(APT_INSTALL) || { $(SUDO) apt-get update && $(APT_INSTALL); }

# Starts the local Neo4j unless NEO4J_URI is set, loads the demo cases into an empty graph,
# adds a demo user of each role and two more experts, jordan and priya, who take hand-overs
# (password DEMO_PASSWORD) unless they exist, keeps a demo API key
# for every ruleset in DEMO_KEY_FILE (mode 600; made once, shown only then, reused while valid),
# then serves the example rules (Ctrl-C stops both). Existing users keep their passwords;
# `make run RESET_DEMO_PASSWORDS=1` sets the demo users' passwords to DEMO_PASSWORD again.
DEMO_PASSWORD ?= casewise-demo
DEMO_KEY_FILE ?= var/demo-key
RESET_DEMO_PASSWORDS ?=
run: install
	tools/neo4j/with-neo4j.sh sh -c '$(BIN)/casewise demo load --if-empty && \
	  for user in expert:expert author:author admin:admin jordan:expert priya:expert; do \
	    printf "%s\n" "$(DEMO_PASSWORD)" | $(BIN)/casewise users add $${user%%:*} --role $${user#*:} \
	      --password-stdin $(if $(RESET_DEMO_PASSWORDS),,--if-missing) || exit 1; \
	  done && \
	  $(BIN)/casewise keys create --rulesets "*" --name demo --save "$(DEMO_KEY_FILE)" && \
	  echo "Sign in at http://$(HOST):$(PORT)/signin as expert, author or admin" \
	    "(new demo users get the password $(DEMO_PASSWORD); existing ones keep theirs)." \
	    "The demo API key is in $(DEMO_KEY_FILE)." && \
	  exec $(BIN)/casewise serve --host $(HOST) --port $(PORT) --rules rules'

# Neo4j: tools/neo4j/with-neo4j.sh starts the local one unless NEO4J_URI is set, and stops it
# afterwards; tests get a server and data folder of their own, apart from `make run`'s.
# pytest exits 5 when it collected no tests; that is not a failure here.
TEST_NEO4J := CASEWISE_NEO4J_DATA_DIR=var/neo4j-test CASEWISE_NEO4J_PORT=7688
test: install browser
	@# the tests' own graph starts empty each run (they isolate by id prefix, never by wiping)
	@$(TEST_NEO4J) $(BIN)/casewise neo4j stop >/dev/null 2>&1; rm -rf var/neo4j-test
	$(TEST_NEO4J) tools/neo4j/with-neo4j.sh $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

# The fast tests: no Neo4j, no server process, no browser (the tests marked neo4j, integration
# or browser are left out), with NEO4J_URI unset so that none can reach a graph; tests/conftest.py
# refuses a test that uses Neo4j without the neo4j marker. Seconds, not minutes: run it while
# you work, and `make test` (every test) before you push.
FAST_TESTS := -m "not neo4j and not browser and not integration"
test-fast: install
	env -u NEO4J_URI $(BIN)/pytest $(FAST_TESTS) $(PYTEST_ARGS)

# lint-imports: the packages import in one direction only (the contracts in .importlinter).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy service tests bench

check: lint typecheck test

# The overload run's load generator: vegeta (Go, constant rate), built once into var/tools from
# the Go module proxy at the pinned version (bench/overload.py names the same one).
VEGETA_VERSION := v12.12.0
VEGETA := var/tools/vegeta-$(VEGETA_VERSION)
$(VEGETA):
	mkdir -p var/tools/go
	GOPATH=$(CURDIR)/var/tools/go GOFLAGS=-modcacherw GOBIN=$(CURDIR)/var/tools/bin \
	  go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)
	mv var/tools/bin/vegeta $@

bench: install-bench $(VEGETA)
	CASEWISE_BENCH_VEGETA=$(CURDIR)/$(VEGETA) $(BIN)/python -m bench.run

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The README's pictures, from the screenshot browser test on a fresh graph of its own.
SHOTS_NEO4J := CASEWISE_NEO4J_DATA_DIR=var/neo4j-shots CASEWISE_NEO4J_PORT=7686
screenshots: install browser
	@$(SHOTS_NEO4J) $(BIN)/casewise neo4j stop >/dev/null 2>&1; rm -rf var/neo4j-shots
	CASEWISE_SCREENSHOTS=docs/screenshots $(SHOTS_NEO4J) tools/neo4j/with-neo4j.sh \
	  $(BIN)/pytest -q tests/browser/test_screenshots.py tests/browser/test_author_pages.py \
	  tests/browser/test_admin_pages.py
