# Two commands for a fresh machine (see README):
#   make book   set up .venv, install everything, build the HTML book (chapters executed, standard budget)
#   make test   set up .venv if needed, then lint + unit tests + every notebook under nbval
#               (tests/test_browser.py builds the book at the quick budget and checks every
#               page in headless Chromium; skipped where no chromium is installed)
#   make browser   only that browser check, on the book that `make book` built (_build/html)
VENV ?= .venv
PYTHON ?= python3
# The CPU wheel; elsewhere any torch>=2.2 works (override: make TORCH=torch book).
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BUDGET ?= standard
CHAPTER ?= mvmm

.PHONY: all setup book browser test lint unit notebooks vendor run benchmarks clean

all: book

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[book,dev]" "$(TORCH)"
	touch $(STAMP)

setup: $(STAMP)

vendor: $(STAMP)
	bash scripts/vendor_assets.sh

book: $(STAMP) vendor
	rm -rf _build
	ZMIC_PROGRESS=0 ZMIC_BUDGET=$(BUDGET) $(VENV)/bin/jupyter-book build --all .
	@echo "book built: open _build/html/index.html"

browser: $(STAMP)
	ZMIC_BOOK_HTML=$(CURDIR)/_build/html $(VENV)/bin/pytest -v tests/test_browser.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	ZMIC_BUDGET=standard $(VENV)/bin/pytest --nbval-lax --nbval-current-env --durations=15 tests book

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: $(STAMP)
	$(VENV)/bin/pytest tests

notebooks: $(STAMP)
	ZMIC_BUDGET=$(BUDGET) $(VENV)/bin/pytest --nbval-lax --nbval-current-env book

run: $(STAMP)
	$(VENV)/bin/zmic-lessons run $(CHAPTER) --budget $(BUDGET)

benchmarks: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf _build _vendor results
