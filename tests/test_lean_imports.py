"""``sim.cli.lean_imports``: a command reaches its first simulation without importing
``importlib.metadata``, and SimPy, pydantic and ``importlib.metadata`` imported later work as
their own imports leave them; a piped command imports no ``rich.progress`` (``sim.cli.progress``),
a terminal's bar still draws. Each import check runs in a fresh interpreter (this one has them all)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

from rich.console import Console

from sim.cli.progress import counted, progress_bar, simulated_time

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_piped_command_reaches_its_first_simulation_without_importlib_metadata_or_a_bar(tmp_path):
    out = _python("""
        import os, sys
        from bench.when_loaded import when_loaded

        def first(*args, **kwargs):  # the command's first simulation: what is imported by now?
            print("metadata" if "importlib.metadata" in sys.modules else "none", "simpy" in sys.modules,
                  "rich.progress" in sys.modules, "rich.console" in sys.modules)
            sys.stdout.flush()
            os._exit(0)

        when_loaded("sim.runners.run", lambda module: setattr(module, "simulate", first))
        from sim.cli import main
        main(sys.argv[1:])
        """, "run", "scenarios/baseline.yaml", "--out", str(tmp_path / "run"))
    assert out.split() == ["none", "True", "False", "True"]


def test_a_terminal_still_gets_its_bars():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with progress_bar(console, "replications", 3) as advance:
        advance(3)
    with counted(console, "running", 2) as update:
        update(2)
    with simulated_time(console, "simulating") as on_time:
        on_time(30.0, 60.0)
    drawn = console.file.getvalue()
    assert "replications" in drawn and "3/3" in drawn and "running" in drawn and "2/2" in drawn


def test_simpy_and_pydantic_work_and_importlib_metadata_is_the_real_one_later():
    out = _python("""
        import sys
        from sim.cli.lean_imports import import_simpy, without_plugin_scan

        without_plugin_scan()
        import_simpy()
        from sim.config.loader import load_scenario

        loaded = load_scenario("scenarios/baseline.yaml")  # pydantic validators built: no plugin scan
        import simpy

        env = simpy.Environment()
        env.timeout(1.5)
        env.run()
        assert env.now == 1.5
        assert "importlib.metadata" not in sys.modules
        assert not hasattr(sys.modules["importlib"], "metadata")
        version = simpy.__version__  # looked up now, from the real importlib.metadata
        import importlib.metadata

        assert version == importlib.metadata.version("simpy") and simpy.__dict__["__version__"] == version
        assert hasattr(importlib.metadata, "distributions") and hasattr(importlib.metadata, "entry_points")
        try:
            simpy.no_such_name
        except AttributeError:
            print("ok")
        """)
    assert out.split() == ["ok"]


def test_libraries_imported_first_are_left_as_they_are():
    out = _python("""
        import sys
        import importlib.metadata
        import pydantic.plugin._loader as loader
        from sim.cli.lean_imports import PLUGIN_LOADER, import_simpy, without_plugin_scan

        without_plugin_scan()
        import_simpy()
        import simpy

        assert sys.modules[PLUGIN_LOADER] is loader
        assert "__getattr__" not in simpy.__dict__ and simpy.__version__ == importlib.metadata.version("simpy")
        print("ok")
        """)
    assert out.split() == ["ok"]


def test_the_end_to_end_bench_wraps_the_command_s_own_simulations(tmp_path):
    from bench.end_to_end import measure
    from helpers import write_scenario

    path = write_scenario(tmp_path, "async-kafka.yaml", duration="30s", drain="30s", seed=1,
                          workload={"rate": "5/s", "buyers": 50, "sellers": 5}, replications=2)
    row = measure(["run", str(path), "--workers", "1", "--out", str(tmp_path / "out")])
    assert row["simulations"] == 2 and 0 < row["simulation_cpu_s"] < row["cpu_s"]
    assert row["phases_s"]["before"] > 0 and row["phases_cpu_s"]["before"] > 0
