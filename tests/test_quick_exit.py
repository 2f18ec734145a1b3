"""A ``paychaos`` process freezes the garbage collector's objects at exit (``sim.cli.quick_exit``):
its exit skips a last collection of everything it imported, and nothing before the exit changes;
the console script ends the process at once (``end_process``), its output flushed, its exit code
kept, unless a thread or child process it started is still running."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT

_PROBE = r"""
import atexit, gc, sys
atexit.register(lambda: print("at exit, frozen:", gc.get_freeze_count() > 0))  # runs after the CLI's own
from sim.cli import main
code = main(sys.argv[1:])
print("after main, frozen:", gc.get_freeze_count() > 0)
main(sys.argv[1:])  # registered once however often main runs
"""


def test_the_collector_is_frozen_at_exit_only():
    done = subprocess.run([sys.executable, "-c", _PROBE, "schema", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    lines = [line for line in done.stdout.splitlines() if "frozen:" in line]
    assert lines == ["after main, frozen: False", "at exit, frozen: True"]


def test_exit_quickly_registers_once(monkeypatch):
    from sim.cli import quick_exit

    registered = []
    monkeypatch.setattr(quick_exit, "_registered", False)
    monkeypatch.setattr(quick_exit.atexit, "register", registered.append)
    quick_exit.exit_quickly()
    quick_exit.exit_quickly()
    assert registered == [quick_exit.gc.freeze]


_ENDS = r"""
import atexit, sys, threading, time
from sim.cli.quick_exit import end_process
atexit.register(lambda: print("exit handlers ran", flush=True))
if sys.argv[1] == "thread":  # a thread still working: the ordinary exit waits for it
    threading.Thread(target=lambda: (time.sleep(0.2), print("thread finished", flush=True))).start()
print("x" * 200_000)  # buffered (a pipe): written before the process ends
print("to stderr", file=sys.stderr)
end_process(int(sys.argv[2]))
"""


def _end(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _ENDS, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_command_ends_at_once_with_its_exit_code_and_all_its_output():
    for code in (0, 1, 2):
        done = _end("alone", str(code))
        assert done.returncode == code
        assert done.stdout == "x" * 200_000 + "\n" and done.stderr == "to stderr\n"  # flushed, and nothing after:
        # the exit handlers (and module teardown) are skipped


def test_a_command_with_a_thread_still_running_gets_the_ordinary_exit():
    done = _end("thread", "1")
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:] == ["thread finished", "exit handlers ran"]


def test_the_console_script_and_python_dash_m_end_through_end_process():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["paychaos"] == "sim.cli:entry"
    assert "entry()" in (ROOT / "sim" / "__main__.py").read_text()
    done = subprocess.run([sys.executable, "-m", "sim", "validate", "scenarios/baseline.yaml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout
    done = subprocess.run([sys.executable, "-m", "sim", "validate", "no-such-file.yaml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "file not found" in done.stderr
