"""``money_conserved`` allows for what the ledger cannot know yet (dispute notices and refund
answers in flight) per currency. Found by ``paychaos explore`` with disputes and refunds every few
minutes and a workload in EUR and USD, without a fault: a won dispute whose notice was still on
its way (a negative amount in flight) in one currency was subtracted from the other currency's
allowance, and a ledger that matched the PSP to the cent was reported as claiming too much."""

from __future__ import annotations

from helpers import scenario, verdict

from sim.oracles.money import expired_before_capture, unnoticed_minor_by_currency
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


def test_a_hold_that_expired_before_its_capture_is_allowed_for_until_the_capture_is_refused(tmp_path):
    """Delayed captures whose shipment comes after the issuer's hold expired: the bank gives the
    money back at the expiry, the ledger carries the authorisation until our capture service tries
    and is refused. A run that ends in between is not a ledger claiming money buyers never paid
    (found by explore, a delayed-capture model whose capture delay's tail ran past the hold's
    validity and the run's end); once the captures are refused, the ledger has taken it back."""
    fields = dict(
        seed=5, duration="30s",
        overrides={"capture.mode": "delayed", "capture.delay": "2h", "capture.hold_expiry": "20m"},
        workload={"rate": "5/s", "max_checkouts": 100, "currencies": ["EUR", "USD"]},
    )
    waiting = run_scenario(scenario(tmp_path, "async-kafka.yaml", name="waiting", drain="1h", **fields), explain=False)
    expired = expired_before_capture(waiting.world)
    succeeded = waiting.data["summary"]["outcomes"]["SUCCESS"]
    assert succeeded > 50 and len(expired) == succeeded  # every hold expired, no capture tried yet
    assert waiting.world.metrics.counters["banks.holds_expired"] == succeeded
    assert verdict(waiting, "money_conserved")["passed"], verdict(waiting, "money_conserved")
    refused = run_scenario(scenario(tmp_path, "async-kafka.yaml", name="refused", drain="3h", **fields), explain=False)
    assert refused.world.metrics.counters["capture.capture_refused"] == succeeded
    assert expired_before_capture(refused.world) == {}  # nothing waits: the ledger knows
    assert verdict(refused, "money_conserved")["passed"], verdict(refused, "money_conserved")
