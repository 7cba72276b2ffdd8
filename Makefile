# Two entry points on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each creates .venv and installs what it needs; reruns reuse it until pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "antiquant needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,convert,dask]' torch==2.13.0
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/antiquant demo

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[plot]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m antiquant.bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
