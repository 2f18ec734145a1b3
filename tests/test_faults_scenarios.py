"""The fault and resilience scenarios of the library load, and (slow) run with the outcome their
header promises."""

from __future__ import annotations

import pytest
from helpers import SCENARIOS

from sim.config.loader import load_scenario
from sim.runners.run import run_scenario

PASSING = [
    "webhook-chaos", "broker-outage", "poison-pills", "database-failover", "issuer-decline-surge", "pending-storm",
    "clock-skew", "forged-redirect", "consumer-stall", "network-partition", "dual-psp-outage", "retry-topics-outage",
    "retry-amplification", "capture-at-shipment", "chargeback-wave", "payout-provider-outage",
]
FAILING_BY_DESIGN = {"key-expiry-race": "no_double_charge", "refund-storm": "no_double_charge"}


@pytest.mark.parametrize("name", PASSING + list(FAILING_BY_DESIGN))
def test_scenario_loads_with_a_header_saying_what_it_teaches(name):
    path = SCENARIOS / f"{name}.yaml"
    assert "What an architect learns" in path.read_text()
    load_scenario(path)


@pytest.mark.slow
@pytest.mark.parametrize("name", PASSING)
def test_scenario_passes(name):
    result = run_scenario(load_scenario(SCENARIOS / f"{name}.yaml"), explain=False)
    assert result.passed, [v for v in result.data["oracles"] if not v["passed"]] + result.data["expectations"]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "oracle"), sorted(FAILING_BY_DESIGN.items()))
def test_scenario_fails_by_design(name, oracle):
    result = run_scenario(load_scenario(SCENARIOS / f"{name}.yaml"), explain=False)
    failing = [v["oracle"] for v in result.data["oracles"] if not v["passed"]]
    assert oracle in failing, failing


@pytest.mark.slow
@pytest.mark.parametrize(("name", "variant", "oracle"), [
    ("poison-pills", "crash", "nothing_lost"),
    ("broker-outage", "short_retries_no_outbox", "nothing_lost"),
    ("dual-psp-outage", "unsafe_fallback", "no_double_charge"),
    ("payout-provider-outage", "no-keys-short-timeout", "no_double_payout"),
])
def test_flawed_variant_is_caught(name, variant, oracle):
    result = run_scenario(load_scenario(SCENARIOS / f"{name}.yaml"), variant=variant, explain=False)
    assert oracle in [v["oracle"] for v in result.data["oracles"] if not v["passed"]]
