# Two commands on a fresh machine (Python 3.11, gcc/g++, make, perl): `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

CONSTRAINTS := constraints.txt
LOCK_VENV := build/lock-venv

.PHONY: demo test typecheck lint install clean lock upgrade browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall when the project's dependency list or the lock changes; the lock pins every
# package to the version the suite passed with, so a fresh machine gets exactly those.
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# Re-resolve to the newest versions pyproject.toml allows, in a clean venv (nothing
# installed by hand leaks into the lock), and rewrite the lock keeping its header
# (setuptools included: torch needs it at run time; pip itself is left out).
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	grep '^#' $(CONSTRAINTS) > $(CONSTRAINTS).new
	$(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip==' \
		>> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

# The new lock, installed, then the whole suite; on a failure `git diff constraints.txt`
# shows what moved (`git checkout constraints.txt` goes back).
upgrade: lock
	$(MAKE) test

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vendor-sdk demo

# Headless Chromium from the distribution's packages: tests/report load the HTML report in
# a real browser (DOM after its script ran, a screenshot). We are root in CI and dev.
browser:
	command -v chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

# The type checker first: seconds, incremental (.mypy_cache), before minutes of tests.
test: typecheck browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 -q

# mypy over core/ and vendor_sdk/, configured in pyproject.toml [tool.mypy] (which modules
# are not yet checked, and why, is listed there).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Model fuzzer (tests/fuzz): N random models quantized by onnxruntime, compiled, run on
# fsim, compared with onnxruntime; a summary table, exit 1 on any failure.
.PHONY: fuzz
N ?= 100
START ?= 0
fuzz: $(STAMP)
	$(PY) tests/fuzz/run.py -n $(N) --start $(START)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache
