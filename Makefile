# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## generate demo data, materialize the whole asset graph, print a summary
	$(BIN)/python -m pipelines.demo $(ARGS)

test: $(STAMP)  ## the full test suite (what CI runs)
	$(BIN)/python -m pytest -q

ui: $(STAMP)  ## Dagster UI on http://127.0.0.1:3000 (runs of make demo show up here)
	mkdir -p .dagster_home && cp -n deploy/local/dagster.yaml .dagster_home/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

docs: $(STAMP)  ## regenerate docs/LANDING_CONTRACT.md from config/landing_contract.yaml
	$(BIN)/python -m pipelines.contract_doc > docs/LANDING_CONTRACT.md

bench: $(STAMP)  ## benchmark: make bench ARGS="--customers 100000 --events-per-customer 100"
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf data/landing data/truth data/output
