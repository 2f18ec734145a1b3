# paychaos — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench validate notebooks install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The headline: six retry policies on the same PSP outage, five replications each (about a minute
# on two cores). Ends by printing the ranking and the report's path; exit 0 even if a variant fails
# an oracle, since the comparison itself is the point.
demo: $(STAMP)
	$(PY) -m sim run scenarios/baseline.yaml --out reports/demo/baseline || test $$? -eq 1
	$(PY) -m sim compare scenarios/compare-retry-policies.yaml --out reports/demo/compare-retry-policies || test $$? -eq 1

test: $(STAMP)
	$(PY) -m pytest -q

# Throughput and memory against a plain SimPy reference measured in the same run (several minutes).
bench: $(STAMP)
	$(PY) -m bench.run_bench

# Regenerates docs/validation.md (queueing theory and published retry results; several minutes).
validate: $(STAMP)
	$(PY) -m sim.validation --size full --out docs/validation.md

# Re-runs notebooks/*.ipynb in a real Jupyter kernel and saves them with their outputs and plots
# (commit the result; the tests re-run them and check what they print).
notebooks: $(STAMP)
	$(PY) notebooks/execute.py

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache .hypothesis
