# Deblur Studio: two commands, `make run` and `make test`, each sets up .venv on first use.
#
# Dependencies are installed only when a requirements file is newer than its stamp in .venv,
# so repeated runs start at once. Delete .venv (or `make distclean`) to start from scratch.

PYTHON ?= python3
PORT ?= 8501
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-m 'not slow and not browser'"`.
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench clean distclean

help:
	@echo "make run        install the app into $(VENV) and serve it on http://localhost:$(PORT)"
	@echo "make test       lint, format check and the whole test suite"
	@echo "make bench      run the benchmark of the restoration methods (python -m deblur_core.bench)"
	@echo "make lint       ruff check and ruff format --check only"
	@echo "make format     apply ruff's fixes and formatting"
	@echo "make clean      remove caches; make distclean also removes $(VENV)"

# The interpreter is the marker for "the venv exists". The version check runs only when the venv is
# created, so a too-old Python fails with a sentence instead of a long pip resolver error.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else "Deblur Studio needs Python 3.11 to 3.13; $(PYTHON) is " + sys.version.split()[0] + ". Run e.g. make run PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PIP) install -r requirements-dev.txt
	@touch $@

run: $(RUNTIME_STAMP)
	$(BIN)/python -m studio.serve --server.port $(PORT)

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(RUNTIME_STAMP)
	$(BIN)/python -m deblur_core.bench

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
