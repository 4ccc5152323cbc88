# kechuang — the quick start is `make run`, then `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO   ?= 2000
PYTEST_ARGS ?=

.PHONY: install install-dev run test test-sqlite test-postgres chromium bench lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# the base: what `make run` needs, pinned by requirements/base.lock
$(VENV)/.base-installed: requirements/base.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# everything: the extras (spark, semantic) and the test and lint tools, requirements/dev.lock
$(VENV)/.dev-installed: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(VENV)/.base-installed $@

install: $(VENV)/.base-installed

install-dev: $(VENV)/.dev-installed

run: install
	$(BIN)/kechuang init --demo $(DEMO) --if-empty
	$(BIN)/kechuang serve --host $(HOST) --port $(PORT)

# Debian's chromium drives the browser tests; installed when missing (needs root or sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: install-dev chromium
	KECHUANG_TEST_SPARK=1 $(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)
	KECHUANG_TEST_DB=postgres $(BIN)/pytest -n 2 --dist loadgroup -m "not browser" $(PYTEST_ARGS)

test-sqlite: install-dev chromium
	KECHUANG_TEST_SPARK=1 $(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-postgres: install-dev
	KECHUANG_TEST_DB=postgres $(BIN)/pytest -n 2 --dist loadgroup -m "not browser" $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python bench/run_all.py

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --config .importlinter

# re-pin the lock files after changing pyproject.toml (needs `uv`: pip install uv)
lock:
	uv pip compile pyproject.toml -o requirements/base.lock --python-version 3.11 -q
	uv pip compile pyproject.toml --all-extras -o requirements/dev.lock --python-version 3.11 -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
