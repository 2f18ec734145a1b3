"""The garbage collector's pace during a run (``sim.observe.collector``): the young generation is
collected every ``RUN_YOUNG_THRESHOLD`` net allocations while a world is built, run and checked,
and the thresholds the process had are back afterwards, also when the run fails."""

from __future__ import annotations

import gc

import pytest
from helpers import scenario

from sim.observe.collector import RUN_YOUNG_THRESHOLD, run_pace
import sim.runners.run as run_module
from sim.runners.run import simulate


@pytest.fixture
def default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def _busy(tmp_path):
    return scenario(tmp_path, "async-kafka.yaml", duration="120s", drain="30s", workload={"rate": "100/s"})


def test_a_run_keeps_the_run_pace_and_gives_the_thresholds_back(tmp_path, default_thresholds):
    seen = []
    world, _, _ = simulate(_busy(tmp_path), watch=lambda _world: seen.append(gc.get_threshold()))
    assert len(world.orders) > 10_000
    assert seen and set(seen) == {(RUN_YOUNG_THRESHOLD, 10, 10)}
    assert gc.get_threshold() == (700, 10, 10)


def test_the_thresholds_come_back_when_a_run_fails(tmp_path, default_thresholds):
    def fail(_world):
        raise RuntimeError("probe failed")

    with pytest.raises(RuntimeError, match="probe failed"):
        simulate(_busy(tmp_path), watch=fail)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_run_collects_its_young_generation_far_less_often(tmp_path, default_thresholds, monkeypatch):
    """The point of the pace: a run of ~12k payments makes over a hundred young collections
    at CPython's default, and a handful at the run's pace (same run, same results)."""
    loaded = _busy(tmp_path)
    collections = []

    def count(phase, info):
        if phase == "stop" and info["generation"] == 0:
            collections[-1] += 1

    gc.callbacks.append(count)
    try:
        collections.append(0)
        with monkeypatch.context() as patched:
            patched.setattr(run_module, "run_pace", lambda: run_pace(700))  # CPython's default pace
            default_world, _, _ = simulate(loaded)
        collections.append(0)
        paced_world, _, _ = simulate(loaded)
    finally:
        gc.callbacks.remove(count)
    at_default, paced = collections
    assert len(default_world.orders) == len(paced_world.orders) > 10_000
    assert at_default > 10 * paced, (at_default, paced)  # measured: 129 against 5
