"""Refunds: exact timelines of a refund, a partial refund, a refund retried after a lost reply
(same refund id: replayed; new id, the FLAW: the buyer is refunded twice), a refund the PSP
declines, and the oracles that see a refund executed twice.

Constant latencies (see ``test_timelines``): a PSP call answers 170 ms after it is sent (network
10 ms each way, PSP 100 ms, bank 50 ms). The order succeeds at 0.176 s; the ledger books it 2 ms
after Kafka delivers the success event; the refund is requested 10 s after the booking.
"""

from __future__ import annotations

from test_timelines import buyer_balance, paid_order, place_order, quiet_world

from sim.components.refunds import FAILED, REFUNDED
from sim.oracles.effects import idempotent_replay
from sim.oracles.money import money_conserved


def refunding(**refunds):
    return quiet_world(refunds={"probability": 1.0, "partial_probability": 0.0, "delay": "10s", "timeout": "1s",
                                "retry": {"strategy": "fixed", "base": "1s", "max_attempts": 3}, **refunds})


def bank_matches_truth(world) -> bool:
    """The simulator's own bookkeeping: what left buyers' accounts is what was captured, less
    refunds and chargebacks, plus open holds (not an oracle: no design can break it)."""
    banks, truth = world.banks, world.truth
    currencies = set(truth.captured_minor_by_currency) | set(truth.held_minor_by_currency)
    moved = (sum(truth.captured_minor_by_currency.values()) - sum(truth.refunded_minor_by_currency.values())
             - sum(truth.charged_back_minor_by_currency.values()) + sum(truth.open_held_minor(c) for c in currencies))
    return banks.initial_total_minor - sum(banks.balance_minor) == moved


def test_a_refund_gives_the_money_back_and_the_ledger_and_wallet_take_it_from_the_seller():
    world = refunding()
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=5)
    assert buyer_balance(world) == start - 1000 and world.ledger.seller_payable(2, 0) == 1000
    world.env.run(until=60)
    assert world.trace.of(order)[-1] == (10.348, "refund:APPROVED")  # booked at 0.178 s + 10 s + 170 ms
    assert buyer_balance(world) == start
    assert world.truth.refunds == {order: [1000]}
    assert world.ledger.seller_payable(2, 0) == 0 and world.wallet.seller_balance(2, 0) == 0
    assert list(world.refunds.status.values()) == [REFUNDED]
    assert money_conserved(world) == [] and idempotent_replay(world) == [] and bank_matches_truth(world)


def test_a_partial_refund_gives_back_part_of_the_amount():
    world = refunding(partial_probability=1.0, partial_fraction=0.25)
    order = paid_order(world)
    world.env.run(until=60)
    assert world.truth.refunds == {order: [250]}
    assert world.ledger.seller_payable(2, 0) == 750 and world.wallet.seller_balance(2, 0) == 750
    assert money_conserved(world) == []


def lose_replies(world, start_s: float, for_s: float) -> None:
    psp, env = world.psp, world.env
    env.timeout(start_s).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 1.0))
    env.timeout(start_s + for_s).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))


def test_a_refund_retried_under_its_id_is_replayed_not_refunded_again():
    world = refunding(partial_probability=1.0)
    order = paid_order(world)
    lose_replies(world, 10.0, 2.0)
    world.env.run(until=60)
    assert world.trace.of(order)[-2:] == [
        (11.178, "refund:timeout"),    # refunded at 10.338 s, the reply lost
        (12.198, "refund:APPROVED"),   # 1 s later, the same refund id: the stored answer (10 + 10 ms)
    ]
    assert world.truth.refunds == {order: [500]}
    assert world.metrics.counters["psp.refund_replays"] == 1
    assert idempotent_replay(world) == [] and money_conserved(world) == []


def test_a_refund_retried_under_a_new_id_refunds_the_buyer_twice_and_the_oracles_see_it():
    world = refunding(partial_probability=1.0, new_id_on_retry=True)
    order = paid_order(world)
    start = buyer_balance(world)
    lose_replies(world, 10.0, 2.0)
    world.env.run(until=60)
    assert world.truth.refunds == {order: [500, 500]}
    assert buyer_balance(world) == start  # 1000 back for a 500 refund
    assert world.ledger.seller_payable(2, 0) == 500  # the ledger booked one refund
    [replay] = idempotent_replay(world)
    assert replay.orders == [order] and "refunded 2 times at the bank" in replay.message
    assert [v.message for v in money_conserved(world)] == [
        "the ledger says buyers paid 500 net, but they lost only 0 at their banks",
        "ledger expects 500 EUR from the PSP, which captured only 1000 and gave back 1000",
    ]


def test_a_full_refund_retried_under_a_new_id_is_refused_by_the_psp_and_never_booked():
    world = refunding(new_id_on_retry=True)
    order = paid_order(world)
    lose_replies(world, 10.0, 2.0)
    world.env.run(until=60)
    assert world.trace.of(order)[-1] == (12.348, "refund:DECLINED_LIMIT")  # nothing left to refund
    assert world.truth.refunds == {order: [1000]}
    assert list(world.refunds.status.values()) == [FAILED]
    assert money_conserved(world)  # the buyer has the money back, the ledger still owes the seller


def test_a_refund_the_psp_declines_is_failed_and_moves_nothing():
    world = refunding()
    world.psp_operations.refund_failure_probability = 1.0
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=60)
    assert world.trace.of(order)[-1] == (10.348, "refund:DECLINED_FUNDS")
    assert buyer_balance(world) == start - 1000 and world.truth.refunds == {}  # still paid
    assert world.metrics.counters["refunds.failed"] == 1
    assert money_conserved(world) == []


def test_our_refund_api_is_idempotent_by_refund_id():
    world = refunding(probability=0.0)
    order = paid_order(world)
    world.env.run(until=1)
    first = world.refunds.request(order, 300, refund_id=77)
    again = world.refunds.request(order, 300, refund_id=77)  # a seller's double click
    world.env.run(until=10)
    assert first == again == 77 and world.truth.refunds == {order: [300]}
    assert world.metrics.counters["refunds.duplicate_requests"] == 1


def test_money_conserved_fails_for_a_refund_the_ledger_never_booked():
    world = refunding(probability=0.0)
    order = paid_order(world)
    world.env.run(until=1)
    assert money_conserved(world) == []
    world.banks.refund(order, 1, 400, 0)  # the bank refunds behind the ledger's back
    assert len(money_conserved(world)) == 2 and bank_matches_truth(world)


def test_without_refunds_no_payment_costs_a_decision():
    world = quiet_world()
    paid_order(world)
    world.env.run(until=5)
    assert world.ledger.on_booked is None and world.refunds.requests == {}


def test_a_sweep_refunds_the_extra_capture_of_a_double_charge_once():
    world = quiet_world(refunds={"extra_captures_every": "30s"},
                        executor={"psp_timeout": "1s", "idempotency_key": "fresh_per_attempt",
                                  "status_query_after_timeout": False,
                                  "retry": {"strategy": "fixed", "base": "500ms", "max_attempts": 3}})
    order = place_order(world)
    psp, env = world.psp, world.env
    psp.faults.reply_lost_probability = 1.0  # the first charge's reply is lost: the retry charges again
    env.timeout(1.0).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))
    start = buyer_balance(world)
    env.process(world.executor.execute(order))
    env.run(until=29)
    assert world.truth.captures_of(order) == 2 and buyer_balance(world) == start - 2000
    env.run(until=95)  # sweeps at 30, 60 and 90 s: one refund
    assert world.truth.refunds == {order: [1000]} and buyer_balance(world) == start - 1000
    assert world.metrics.counters["refunds.extra_captures"] == 1
    assert world.ledger.seller_payable(2, 0) == 1000  # the seller keeps the payment it was owed once
    assert money_conserved(world) == [] and idempotent_replay(world) == []
