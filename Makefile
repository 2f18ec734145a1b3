# paychaos — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-day validate notebooks install native clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) native

# The hot path compiled with mypyc into .native/ (sim/native), a C file per module on every core: a no-op while it matches the sources,
# rebuilt when one changed; a build that fails prints one line and the model runs as pure Python.
# The package's bytecode is compiled too (a no-op while it is current), so no command pays for it.
native: $(STAMP)
	$(PY) -m sim.native build
	$(PY) -m compileall -q sim bench

# The headline: six retry policies on the same PSP outage, five replications each (about a minute
# on two cores). Ends by printing the ranking and the report's path; exit 0 even if a variant fails
# an oracle, since the comparison itself is the point.
demo: $(STAMP) native
	$(PY) -m sim run scenarios/baseline.yaml --out reports/demo/baseline || test $$? -eq 1
	$(PY) -m sim compare scenarios/compare-retry-policies.yaml --out reports/demo/compare-retry-policies || test $$? -eq 1

# Both cores (pytest-xdist); tests write only to their own temporary folders. Work stealing: a worker
# that runs out takes pending tests from the other, so a few long explorations do not end the run alone.
test: $(STAMP) native
	$(PY) -m pytest -q -n auto --dist worksteal

# Throughput and memory against a plain SimPy reference measured in the same run, and what a user
# waits for: run, compare and sweep end to end against their own simulations (several minutes).
bench: $(STAMP) native
	$(PY) -m bench.run_bench

# A simulated day at 100 checkouts/s on one core: time, peak RSS, RSS growth per payment (long).
bench-day: $(STAMP) native
	$(PY) -m bench.day

# Regenerates docs/validation.md (queueing theory and published retry results; several minutes).
validate: $(STAMP)
	$(PY) -m sim.validation --size full --out docs/validation.md

# Re-runs notebooks/*.ipynb in a real Jupyter kernel and saves them with their outputs and plots
# (commit the result; the tests re-run them and check what they print).
notebooks: $(STAMP)
	$(PY) notebooks/execute.py

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache .hypothesis .native .native-build.log
