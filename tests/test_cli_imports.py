"""``paychaos --help`` and ``paychaos validate`` stay quick: the CLI imports what a subcommand needs
only when that subcommand runs, never the plotting, property-testing or dataframe libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import ROOT, SCENARIOS

HEAVY = ("hypothesis", "networkx", "matplotlib", "pandas", "dask")

_PROBE = """
import json, sys
from sim.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
"""


def _loaded_by(*argv: str) -> tuple[int, set[str]]:
    """Run ``paychaos ARGV`` in a fresh interpreter; its exit code and the heavy packages it imported."""
    proc = subprocess.run([sys.executable, "-c", _PROBE % (HEAVY,), *argv], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    return result["code"], {name.split(".")[0] for name in result["loaded"]}


@pytest.mark.parametrize("argv", [("--help",), ("run", "--help"), ("sweep", "--help"), ("explore", "--help"),
                                  ("compare", "--help"), ("catalog", "--help")])
def test_help_imports_no_heavy_library(argv):
    code, loaded = _loaded_by(*argv)
    assert code == 0
    assert loaded == set(), f"paychaos {' '.join(argv)} imported {sorted(loaded)}"


def test_validate_imports_no_heavy_library():
    """Validating checks the model's system graph on a small graph of its own (no networkx)."""
    code, loaded = _loaded_by("validate", "-q", str(SCENARIOS / "baseline.yaml"))
    assert code == 0
    assert loaded == set(), f"paychaos validate imported {sorted(loaded)}"


def test_probe_sees_heavy_imports(tmp_path):
    """The probe itself works: a command that draws does import matplotlib."""
    code, loaded = _loaded_by("graph", str(ROOT / "models" / "async-kafka.yaml"), "--out", str(tmp_path / "graph"))
    assert code == 0
    assert "matplotlib" in loaded and "networkx" in loaded


def test_cli_copies_of_runner_constants_agree():
    """The CLI keeps a few runner constants in its own modules so ``--help`` imports nothing heavy."""
    from sim.cli import explore as explore_cli, schema as schema_cli, sweep as sweep_cli
    from sim.config.json_schema import KINDS
    from sim.runners.explore import DEFAULT_SHRINK_BUDGET, DEFAULT_STRATEGY, STRATEGIES
    from sim.runners.sweep import EXECUTORS

    assert explore_cli.DEFAULT_SHRINK_BUDGET == DEFAULT_SHRINK_BUDGET
    assert (explore_cli.STRATEGIES, explore_cli.DEFAULT_STRATEGY) == (STRATEGIES, DEFAULT_STRATEGY)
    assert sweep_cli.EXECUTORS == EXECUTORS
    assert schema_cli.KINDS == tuple(KINDS)
