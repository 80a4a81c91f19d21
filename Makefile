# callcenter: `make demo` runs the platform, `make test` runs every check.
# Both do their own set-up on a fresh Debian machine (virtual environment in .venv,
# pinned dependencies from requirements/lock.txt, Debian packages the tests need).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint check-format typecheck pytest system-packages lock clean

demo: $(STAMP)
	$(VENV)/bin/callcenter demo

test: $(STAMP) system-packages lint typecheck pytest

$(PY):
	scripts/ensure-python.sh $(PYTHON) $(VENV)

$(STAMP): $(PY) requirements/lock.txt pyproject.toml
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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
