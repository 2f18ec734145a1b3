"""With dual-PSP routing, what follows a charge goes to the PSP that made it.

The in-flight monitor asks the PSP an order's charges went to. Found by ``paychaos explore`` on
the shipped dual-PSP design (guided, seed 10, with a 10 s ``max_poll_interval``): two orders fail
over to the secondary PSP under a rate limit and succeed there; a database failover then loses
both SUCCESS writes (they were within its replication lag), so the orders are back in EXECUTING.
The monitor asked the primary, which has never seen them, and they stayed stuck for the hour's
drain (``nothing_lost``).

A refund is asked of the PSP that captured the payment (it was always asked of the primary, which
had never captured a failed-over payment)."""

from __future__ import annotations

from helpers import scenario, verdict

from sim.runners.run import run_scenario


def _failover_after_fallback(tmp_path):
    return scenario(
        tmp_path, "dual-psp.yaml", seed=2274144015, duration="30s", drain="1h",
        overrides={"kafka.max_poll_interval": "10s"},
        workload={"rate": "5/s", "max_checkouts": 130},
        faults=[{"kind": "db_failover", "at": "29s", "for": "1s", "replication_lag": "5s"},
                {"kind": "psp_rate_limit", "at": "26s", "for": "1s", "rate": "5/s"}],
    )


def test_the_monitor_resolves_an_order_that_failed_over_from_the_psp_that_charged_it(tmp_path):
    result = run_scenario(_failover_after_fallback(tmp_path), explain=False)
    counters = result.world.metrics.counters
    executor = result.world.executor
    assert counters["executor.fallback_to_secondary"] >= 2 and counters["monitor.alerts"] >= 2  # the story happened
    assert verdict(result, "nothing_lost")["passed"], verdict(result, "nothing_lost")
    assert counters["monitor.resolved"] >= 2
    on_secondary = sorted(executor.on_secondary)
    assert all(executor.psp_for(order) is result.world.secondary_psp for order in on_secondary)
    assert executor.psp_for(max(on_secondary) + 1) is result.world.psp  # never failed over: the primary
    assert result.passed, [v for v in result.data["oracles"] if not v["passed"]]


def test_a_refund_is_asked_of_the_psp_that_captured_the_payment(tmp_path):
    loaded = scenario(
        tmp_path, "dual-psp.yaml", seed=7, duration="4m", drain="1h",
        overrides={"refunds.probability": 0.5},
        workload={"rate": "5/s"},
        faults=[{"kind": "psp_outage", "at": "1m", "for": "2m"}],  # the primary down: payments fail over
    )
    result = run_scenario(loaded, explain=False)
    counters = result.world.metrics.counters
    failed_over = counters["executor.fallback_to_secondary"]
    assert failed_over > 50 and counters["refunds.refunded"] > 50
    assert counters["secondary_psp.refund_requests"] > 0 and counters["secondary_psp.refunds_committed"] > 0
    assert counters["psp.refunds_committed"] + counters["secondary_psp.refunds_committed"] == counters["refunds.refunded"]
    assert counters["secondary_psp.refunds_committed"] <= counters["secondary_psp.charges_committed"]
    assert result.passed, [v for v in result.data["oracles"] if not v["passed"]]


def test_a_clearing_entry_is_due_by_the_settlement_of_the_psp_that_captured_it(tmp_path):
    """With PSP clearing, a capture's clearing entry is due closed by its PSP's settlement plus the
    deadline. The due date came from the primary's schedule for every payment: a payment captured
    at a secondary that settles days later was overdue after 20 minutes (``psp_clearing_closed``;
    found by explore on a dual-PSP design with PSP clearing, guided, seed 20)."""
    loaded = scenario(
        tmp_path, "dual-psp.yaml", seed=1769448475, duration="30s", drain="1h",
        overrides={"psp.settlement_cutoff": "10m", "psp.settlement_days": 0, "ledger.psp_clearing_deadline": "10m"},
        workload={"rate": "1/s", "max_checkouts": 1, "currencies": ["EUR", "USD"]},
        faults=[{"kind": "psp_outage", "at": "0s", "for": "1s"}],  # the only payment fails over
    )
    result = run_scenario(loaded, explain=False)
    world = result.world
    assert world.executor.on_secondary == {0} and world.metrics.counters["secondary_psp.charges_committed"] == 1
    secondary = world.model.secondary_psp
    (amount, due), = world.ledger.clearing_open.values()  # still open: the secondary settles days later
    assert secondary.settlement_days >= 1 and due > world.env.now
    assert due == secondary.settlement_cutoff_s + (1 + secondary.settlement_days) * 86_400 + 600
    assert verdict(result, "psp_clearing_closed")["passed"], verdict(result, "psp_clearing_closed")
    assert result.passed, [v for v in result.data["oracles"] if not v["passed"]]
