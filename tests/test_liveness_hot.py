"""Liveness as hot/cold monitors: an order not final is hot; one still hot when the run ends, long
after the faults stopped, fails ``nothing_lost`` with how long it stayed hot and its trace."""

from __future__ import annotations

from helpers import scenario, verdict

from sim.runners.run import run_scenario


def test_an_order_hot_after_the_faults_stopped_is_reported_with_its_hot_time_and_trace(tmp_path):
    loaded = scenario(tmp_path, "flawed/retry-topic-drops-exhausted.yaml", seed=2, duration="40s", drain="10m",
                      workload={"rate": "2/s", "max_checkouts": 10, "buyers": 20, "sellers": 4},
                      faults=[{"kind": "psp_outage", "at": "0s", "for": "30s"}])
    result = run_scenario(loaded)  # explains violations: the order's trace
    lost = verdict(result, "nothing_lost")
    assert not lost["passed"]
    violation = lost["violations"][0]
    created = float(violation["message"].split("created at ")[1].split("s;")[0])
    end = 40 + 600
    assert f"hot {end - max(30.0, created):.1f}s after the faults stopped at 30.0s" in violation["message"]
    assert violation["events"], "the order's trace"
    assert all("dead_lettered" not in what for _t, what in violation["events"])  # dropped, never dead-lettered
