# callcenter: `make demo` runs the platform, `make test` runs every check.
# Both do their own set-up on a fresh Debian machine (virtual environment in .venv,
# pinned dependencies from requirements/lock.txt, Debian packages the tests need).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Two pytest-xdist workers; tests/conftest.py says which tests keep to one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=20

# The browser UI (web/, Vite): dependencies from the committed lock file, built into the
# Python package, where the platform serves it.
WEB_DEPS := web/node_modules/.package-lock.json
UI_BUILT := src/callcenter/web/ui_dist/index.html
UI_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

.PHONY: demo demo-packages test lint check-format typecheck pytest web-check ui system-packages lock clean

demo: $(STAMP) demo-packages ui
	$(VENV)/bin/callcenter demo

demo-packages:
	scripts/ensure-system-packages.sh demo

test: $(STAMP) system-packages lint typecheck ui web-check pytest

$(WEB_DEPS): web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_DEPS)

$(UI_BUILT): $(WEB_DEPS) $(UI_SOURCES)
	cd web && npm run build --silent

ui: $(UI_BUILT)

web-check: $(WEB_DEPS)
	cd web && npm run typecheck --silent && npm test --silent

$(PY):
	scripts/ensure-python.sh $(PYTHON) $(VENV)

$(STAMP): $(PY) requirements/lock.txt pyproject.toml setup.py src/callcenter/media/_fastpath.c
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

system-packages:
	scripts/ensure-system-packages.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Re-pin every dependency after changing pyproject.toml (needs network to the registry).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check '.[dev]' setuptools
	.lock-venv/bin/pip freeze --exclude callcenter > requirements/lock.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis web/node_modules \
		src/callcenter/web/ui_dist test-artifacts
