# paychaos — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench validate install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sim run scenarios/baseline.yaml --out reports/demo

test: $(STAMP)
	$(PY) -m pytest -q

# Regenerates docs/validation.md (queueing theory and published retry results; several minutes).
validate: $(STAMP)
	$(PY) -m sim.validation --size full --out docs/validation.md

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache .hypothesis
