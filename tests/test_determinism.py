"""Same scenario and seed → byte-identical results, in separate processes, whatever PYTHONHASHSEED."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from helpers import ROOT, write_scenario


def _run(scenario_path, out_dir, hash_seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    completed = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(scenario_path), "--out", str(out_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return (out_dir / "results.json").read_bytes()


def test_two_processes_with_different_hash_seeds_give_identical_results(tmp_path):
    path = write_scenario(
        tmp_path, "async-kafka.yaml", duration="3m", drain="5m", seed=7,
        workload={"rate": "15/s", "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD", "GBP"]},
        faults=[{"kind": "psp_reply_lost_after_commit", "at": "30s", "for": "1m", "probability": 0.3},
                {"kind": "psp_errors", "at": "1m", "for": "1m", "probability": 0.2}],
    )
    first = _run(path, tmp_path / "a", "1")
    second = _run(path, tmp_path / "b", "987654")
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert b'"double_charges": 0' in first


def test_a_different_seed_gives_different_results(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="1m", drain="2m", seed=1,
                          workload={"rate": "10/s", "buyers": 100, "sellers": 10})
    from sim.config.loader import load_scenario
    from sim.runners.run import run_scenario

    loaded = load_scenario(path)
    assert run_scenario(loaded, seed=1).digest() != run_scenario(loaded, seed=2).digest()
