"""A ``paychaos`` process freezes the garbage collector's objects at exit (``sim.cli.quick_exit``):
its exit skips a last collection of everything it imported, and nothing before the exit changes."""

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
