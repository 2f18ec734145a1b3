"""What a command imports before its first simulation: a piped command imports no
``rich.progress`` (``sim.cli.progress``), a terminal's bar still draws; and the end-to-end bench
counts a command's own simulations. The import check runs in a fresh interpreter (this one has
them all)."""

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


def test_a_piped_command_reaches_its_first_simulation_without_a_bar(tmp_path):
    out = _python("""
        import os, sys
        from bench.when_loaded import when_loaded

        def first(*args, **kwargs):  # the command's first simulation: what is imported by now?
            print("simpy" in sys.modules, "rich.progress" in sys.modules, "rich.console" in sys.modules)
            sys.stdout.flush()
            os._exit(0)

        when_loaded("sim.runners.run", lambda module: setattr(module, "simulate", first))
        from sim.cli import main
        main(sys.argv[1:])
        """, "run", "scenarios/baseline.yaml", "--out", str(tmp_path / "run"))
    assert out.split() == ["True", "False", "True"]


def test_a_command_starts_no_blas_threads_unless_asked(tmp_path, monkeypatch):
    """numpy's OpenBLAS would start a spinning thread per core at import (about 0.1 s of CPU a
    command); at its first simulation a command's process has numpy and no thread beyond its own
    and the drawing pool's three Python threads. A number the user set is kept."""
    code = """
        import os, sys, threading
        from bench.when_loaded import when_loaded

        def first(*args, **kwargs):
            native = int(open("/proc/self/status").read().split("Threads:")[1].split()[0])
            print("numpy" in sys.modules, native - threading.active_count(), os.environ["OPENBLAS_NUM_THREADS"])
            sys.stdout.flush()
            os._exit(0)

        when_loaded("sim.runners.run", lambda module: setattr(module, "simulate", first))
        from sim.cli import main
        main(sys.argv[1:])
        """
    argv = ("run", "scenarios/baseline.yaml", "--out", str(tmp_path / "run"))
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert _python(code, *argv).split() == ["True", "0", "1"]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert _python(code, *argv).split() == ["True", "1", "2"]


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


def test_the_end_to_end_bench_wraps_the_command_s_own_simulations(tmp_path):
    from bench.end_to_end import measure
    from helpers import write_scenario

    path = write_scenario(tmp_path, "async-kafka.yaml", duration="30s", drain="30s", seed=1,
                          workload={"rate": "5/s", "buyers": 50, "sellers": 5}, replications=2)
    row = measure(["run", str(path), "--workers", "1", "--out", str(tmp_path / "out")])
    assert row["simulations"] == 2 and 0 < row["simulation_cpu_s"] < row["cpu_s"]
    assert row["phases_s"]["before"] > 0 and row["phases_cpu_s"]["before"] > 0
