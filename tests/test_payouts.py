"""Payouts: exact timelines of a payout run, T+2 lag, a payout retried with and without its key,
a payout left open and closed from the provider's report, a negative balance, and the oracles.

Constant latencies (see ``test_timelines``): the order succeeds at 0.176 s and the ledger books it
2 ms after. Payout runs every 60 s from 60 s; the provider answers 20 + 100 + 20 ms after a call.
"""

from __future__ import annotations

from test_refunds import paid_order
from test_timelines import place_order, quiet_world

from sim.components.ledger import PAYOUT_CLEARING, PSP_RECEIVABLE
from sim.oracles.money import money_conserved
from sim.oracles.payouts import clearing_closed, no_double_payout


def paying(provider=None, **payouts):
    settings = {"enabled": True, "interval": "60s", "first_run": "60s", "lag": "0s", "timeout": "1s",
                "retry": {"strategy": "fixed", "base": "1s", "max_attempts": 3}, "clearing_deadline": "90s",
                "provider": {"latency": "100ms", "error_probability": 0, **(provider or {})}, **payouts}
    return quiet_world(payouts=settings)


def test_a_payout_run_pays_the_seller_what_the_ledger_owes_and_the_clearing_closes():
    world = paying()
    paid_order(world)
    world.env.run(until=60.1)
    assert world.ledger.seller_payable(2, 0) == 0 and world.wallet.seller_balance(2, 0) == 0
    assert world.ledger.balances[(PAYOUT_CLEARING, 0)] == -1000  # requested, not known paid yet
    world.env.run(until=61)
    [transfer] = world.payout_provider.report
    assert (transfer.seller, transfer.amount_minor, round(transfer.at_s, 3)) == (2, 1000, 60.12)
    payout = world.payouts.payouts[1]
    assert (payout.outcome, round(payout.closed_at_s, 3)) == ("paid", 60.14)
    assert world.ledger.balances[(PAYOUT_CLEARING, 0)] == 0
    assert world.ledger.balances[(PSP_RECEIVABLE, 0)] == -40  # 1000 captured, 40 PSP fee, 1000 paid out
    assert no_double_payout(world) == [] and clearing_closed(world) == [] and money_conserved(world) == []


def test_t_plus_lag_pays_only_what_was_credited_lag_ago():
    world = paying(lag="120s")
    paid_order(world)
    late = place_order(world, 700)
    world.env.timeout(100).callbacks.append(lambda _e: world.env.process(world.executor.execute(late)))
    world.env.run(until=179)
    assert world.payout_provider.report == []  # runs at 60 and 120 s: nothing credited 120 s before
    world.env.run(until=181)
    assert [t.amount_minor for t in world.payout_provider.report] == [1000]  # the balance the 60 s run saw
    world.env.run(until=241)
    assert [t.amount_minor for t in world.payout_provider.report] == [1000, 700]  # what the 120 s run saw



def test_payout_runs_keep_only_the_snapshots_from_the_lagged_one_on():
    """A long run's memory stays flat: a snapshot older than the one a run pays from is never read
    again, so it is dropped (what is paid is unchanged: the test above)."""
    world = paying(lag="120s")
    paid_order(world)
    world.env.run(until=60 * 20 + 1)  # 20 runs, one a minute
    assert world.payouts.runs == 20
    assert [at for at, _ in world.payouts._snapshots] == [1080.0, 1140.0, 1200.0]  # lagged (1200 − 120 s) on

def slow_provider_then_normal(world):
    provider = world.payout_provider
    world.env.timeout(60).callbacks.append(lambda _e: setattr(provider, "_latency", lambda: 1.5))
    world.env.timeout(61).callbacks.append(lambda _e: setattr(provider, "_latency", lambda: 0.1))


def test_a_payout_retried_with_its_key_is_replayed_not_paid_again():
    world = paying()
    paid_order(world)
    slow_provider_then_normal(world)  # the first call outlives the 1 s timeout
    world.env.run(until=70)
    assert len(world.payout_provider.report) == 1
    assert world.metrics.counters["payout_provider.replays"] == 1
    assert no_double_payout(world) == [] and world.payouts.payouts[1].outcome == "paid"


def test_a_payout_retried_without_its_key_pays_the_seller_twice():
    world = paying(idempotency_key=False)
    paid_order(world)
    slow_provider_then_normal(world)
    world.env.run(until=70)
    assert [round(t.at_s, 3) for t in world.payout_provider.report] == [61.52, 62.12]  # sent at 60 s (1.5 s to process), again at 62 s (timeout at 61 s, 1 s backoff)
    [double] = [v for v in no_double_payout(world) if "transferred" in v.message]
    assert double.message == "payout 1 (seller 2, 1000 minor units) transferred 2 times, at 61.520s, 62.120s"
    assert any("received 2000 EUR but the ledger paid out only 1000" in v.message for v in no_double_payout(world))


def test_a_payout_given_up_during_an_outage_is_returned_to_the_seller_at_the_next_run():
    world = paying()
    paid_order(world)
    world.payout_provider.outage = 1
    world.env.timeout(100).callbacks.append(lambda _e: setattr(world.payout_provider, "outage", 0))
    world.env.run(until=119)
    assert world.payouts.payouts[1].outcome == "open" and world.wallet.seller_balance(2, 0) == 0
    world.env.run(until=121)
    first = world.payouts.payouts[1]
    assert (first.outcome, first.closed_at_s) == ("returned", 120.0)  # not in the provider's report
    assert world.payouts.payouts[2].amount_minor == 1000  # paid again by this run, under a new id
    assert clearing_closed(world) == []  # closed 60 s after it opened: within the 90 s deadline
    world.env.run(until=122)
    assert no_double_payout(world) == [] and money_conserved(world) == []


def test_a_clearing_left_open_past_its_deadline_is_a_violation():
    world = paying(clearing_deadline="30s")
    paid_order(world)
    world.payout_provider.outage = 1
    world.env.run(until=95)
    [late] = clearing_closed(world)
    assert late.message == "payout 1 (seller 2) opened at 60.000s, still open: past its deadline 90.000s"


def test_a_negative_balance_is_not_paid_out():
    world = paying()
    paid_order(world)
    world.env.run(until=30)
    for amount in (1000, 500):  # two notices: the seller owes 500
        world.ledger.post_chargeback(0, amount, 0)
        world.wallet.take_back(0, amount)
    world.env.run(until=61)
    assert world.payout_provider.report == [] and world.metrics.counters["payouts.negative_balances"] == 1
