"""``money_conserved`` allows for what the ledger cannot know yet (dispute notices and refund
answers in flight) per currency. Found by ``paychaos explore`` with disputes and refunds every few
minutes and a workload in EUR and USD, without a fault: a won dispute whose notice was still on
its way (a negative amount in flight) in one currency was subtracted from the other currency's
allowance, and a ledger that matched the PSP to the cent was reported as claiming too much."""

from __future__ import annotations

from helpers import scenario, verdict

from sim.oracles.money import unnoticed_minor_by_currency
from sim.runners.run import run_scenario

MONEY_EVERY_FEW_MINUTES = {
    "refunds.probability": 0.2, "refunds.delay": {"dist": "lognormal", "median": "30s", "p99": "5m"},
    "chargebacks.probability": 0.1, "chargebacks.delay": {"dist": "lognormal", "median": "1m", "p99": "10m"},
}


def test_notices_in_flight_are_allowed_for_in_their_own_currency(tmp_path):
    loaded = scenario(
        tmp_path, "async-kafka.yaml", seed=2460761410, duration="60s", drain="1h",
        overrides=MONEY_EVERY_FEW_MINUTES,
        workload={"rate": "20/s", "max_checkouts": 1134, "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"]},
    )
    result = run_scenario(loaded, explain=False)
    world = result.world
    in_flight = unnoticed_minor_by_currency(world)
    assert any(amount < 0 for amount in in_flight.values())  # a won dispute's notice on its way: the case
    assert sum(in_flight.values()) == (sum(world.chargebacks.unnoticed_of.values())
                                       + sum(world.refunds.unsettled_of().values()))
    assert verdict(result, "money_conserved")["passed"], verdict(result, "money_conserved")
    assert result.passed, [v for v in result.data["oracles"] if not v["passed"]]
