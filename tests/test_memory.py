"""The allocator setting every simulation makes (``sim.observe.memory``)."""

from __future__ import annotations

import ctypes.util
import sys

import pytest
from helpers import scenario

import sim.runners.run as run_module
from sim.observe.memory import fix_mmap_threshold


@pytest.mark.skipif(not sys.platform.startswith("linux") or "libc" not in (ctypes.util.find_library("c") or ""),
                    reason="glibc only")
def test_the_mmap_threshold_is_fixed_on_glibc():
    assert fix_mmap_threshold() is True


def test_every_simulation_fixes_the_threshold(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(run_module, "fix_mmap_threshold", lambda: calls.append(1))
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="10s", drain="10s", workload={"rate": "2/s"})
    run_module.simulate(loaded)
    assert calls == [1]
