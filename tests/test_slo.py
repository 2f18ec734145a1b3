"""Service-level objectives (``slo:``): the ``slo`` oracle in ``run`` and in ``explore``."""

from __future__ import annotations

import pytest
import yaml
from helpers import MODELS, scenario, verdict

from sim.runners.explore import explore
from sim.runners.run import run_scenario

SMALL = {"rate": "5/s", "max_checkouts": 100, "buyers": 100, "sellers": 10}
OUTAGE = [{"kind": "psp_outage", "at": "5s", "for": "10s"}]


def _run(tmp_path, slo: dict, faults=OUTAGE, name="slo"):
    overrides = {f"slo.{key}": value for key, value in slo.items()}
    loaded = scenario(tmp_path, "async-kafka.yaml", name=name, seed=3, duration="30s", drain="10m",
                      workload=SMALL, faults=faults, overrides=overrides)
    return run_scenario(loaded, explain=False)


def test_without_slo_the_oracle_passes_and_a_tight_one_fails_with_the_observed_value(tmp_path):
    free = _run(tmp_path, {}, name="free")
    assert verdict(free, "slo")["passed"] and free.passed
    requests = free.data["summary"]["psp_requests_per_order"]
    assert requests > 1.2  # the outage makes retries

    tight = _run(tmp_path, {"psp_requests_per_order": "<= 1.2"}, name="tight")
    slo = verdict(tight, "slo")
    assert not slo["passed"] and not tight.passed
    assert f"psp_requests_per_order = {requests:g}" in slo["violations"][0]["message"]
    loose = _run(tmp_path, {"psp_requests_per_order": f"<= {requests + 0.01}"}, name="loose")
    assert verdict(loose, "slo")["passed"]


@pytest.mark.parametrize("key, bound, holds", [
    ("p99_latency_ms", "<= 1", False), ("p99_latency_ms", "<= 3600000", True),
    ("success_rate", ">= 0.999999", False), ("success_rate", ">= 0.5", True),
    ("goodput_per_s", ">= 1000", False), ("goodput_per_s", ">= 1", True),
    ("time_to_recover_s", "<= 0", False), ("time_to_recover_s", "<= 3600", True),
])
def test_each_slo_is_measured(tmp_path, key, bound, holds):
    # traffic stops at 20 s: after an outage from 25 s goodput never comes back (the rest of the run)
    late_outage = [{"kind": "psp_outage", "at": "25s", "for": "5s"}]
    result = _run(tmp_path, {key: bound}, faults=late_outage, name=f"{key}-{holds}")
    assert verdict(result, "slo")["passed"] is holds, verdict(result, "slo")


def test_explore_hunts_for_slo_breaks(tmp_path):
    """A design that meets its amplification SLO without faults: explore finds the schedule that
    breaks it (the correct model otherwise passes every oracle)."""
    model = yaml.safe_load((MODELS / "async-kafka.yaml").read_text())
    model["name"] = "bounded-amplification"
    model["slo"] = {"psp_requests_per_order": "<= 1.1"}
    path = tmp_path / "bounded.yaml"
    path.write_text(yaml.safe_dump(model))
    result = explore(path, budget=80, seed=0, shrink_budget=30, strategy="guided")
    assert result.found and result.oracle == "slo", (result.failing, result.messages)
    assert "psp_requests_per_order" in result.messages[0]
    assert result.runs > 1  # the first plan (no fault, 300 checkouts) met the SLO
