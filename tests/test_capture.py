"""Authorisation holds, delayed capture, void, partial capture and hold expiry: exact timelines.

Constant latencies (see ``test_timelines``): network 10 ms each way, PSP 100 ms, scheme 0, bank
50 ms, so a PSP call answers 170 ms after it is sent. The order succeeds at 0.176 s (authorisation
0.173 s, state written 3 ms later); Kafka delivers the success event at once (publish latency 0).
"""

from __future__ import annotations

import pytest
from test_timelines import buyer_balance, paid_order, place_order, quiet_world

from sim.components.capture import CAPTURED, REFUSED, VOIDED
from sim.oracles.money import doubled, money_conserved, no_double_charge
from sim.runners.summary import _capture


def delayed(**capture):
    return quiet_world(capture={"mode": "delayed", "delay": "10s", "hold_expiry": "1h", **capture})


def test_authorisation_holds_then_the_capture_at_shipment_takes_the_money():
    world = delayed()
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=1)
    assert world.truth.holds_of(order) == 1 and world.truth.captures_of(order) == 0  # a hold, not a capture
    assert buyer_balance(world) == start - 1000  # the hold takes the available balance
    assert world.psp.settlement_file() == []  # nothing settles before the capture
    world.env.run(until=60)
    assert world.trace.of(order) == [
        (0.173, "executor:charge:APPROVED"),
        (0.176, "executor:APPROVED"),
        (10.346, "capture:capture:APPROVED"),  # success + 10 s shipment + 170 ms
    ]
    assert world.truth.captures_of(order) == 1 and world.truth.first_capture_at[order] == pytest.approx(10.336)
    assert world.psp.settlement_file() == [(0, order, 1000, 0, pytest.approx(10.336))]
    assert buyer_balance(world) == start - 1000
    assert world.capture.status_of(order) == CAPTURED
    assert money_conserved(world) == []


def test_a_cancelled_order_is_voided_and_the_buyer_gets_the_hold_back():
    world = delayed(cancel_probability=1.0)
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=60)
    assert world.trace.of(order)[-1] == (10.346, "capture:void:APPROVED")
    assert world.truth.captures_of(order) == 0 and world.truth.releases["void"] == 1
    assert buyer_balance(world) == start  # released at 10.336 s
    assert world.capture.status_of(order) == VOIDED
    assert world.ledger.seller_payable(2, 0) == 0 and world.wallet.seller_balance(2, 0) == 0  # taken back
    assert money_conserved(world) == []


def test_an_uncaptured_hold_expires_and_a_later_capture_is_refused():
    world = delayed(hold_expiry="5s")
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=5.162)
    assert buyer_balance(world) == start - 1000  # still held just before 0.163 + 5 s (the bank decided 10 ms before the reply arrived)
    world.env.run(until=5.164)
    assert buyer_balance(world) == start and world.truth.releases["expiry"] == 1
    world.env.run(until=60)
    assert world.trace.of(order)[-1] == (10.346, "capture:capture:NOT_FOUND")
    assert world.truth.captures_of(order) == 0
    assert world.capture.status_of(order) == REFUSED
    assert world.ledger.seller_payable(2, 0) == 0  # what was never taken is not owed to the seller
    assert money_conserved(world) == []


def test_a_partial_capture_takes_part_and_the_rest_is_released_at_expiry():
    world = delayed(partial_probability=1.0, partial_fraction=0.4, hold_expiry="1m")
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=30)
    assert world.truth.captured_minor_of[order] == [400]
    assert buyer_balance(world) == start - 1000  # the rest stays held for a later shipment
    assert world.ledger.seller_payable(2, 0) == 400 and world.wallet.seller_balance(2, 0) == 400
    world.env.run(until=61)
    assert buyer_balance(world) == start - 400  # 600 released at 60.163 s
    assert money_conserved(world) == []


def lost_capture_reply(world, until=2.0):
    """The PSP's replies are lost (after commit) from 10 s to ``10 + until`` s: the first capture."""
    psp, env = world.psp, world.env
    env.timeout(10.0).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 1.0))
    env.timeout(10.0 + until).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))


def test_a_capture_retried_with_its_key_is_replayed_not_captured_again():
    world = delayed(partial_probability=1.0, timeout="1s", retry={"strategy": "fixed", "base": "1s", "max_attempts": 3})
    order = paid_order(world)
    lost_capture_reply(world)
    world.env.run(until=60)
    assert world.trace.of(order)[2:] == [
        (11.176, "capture:capture:timeout"),      # committed at 10.336 s, the reply lost
        (12.196, "capture:capture:APPROVED"),     # 1 s later, same key: the stored answer, 10 + 10 ms
    ]
    assert world.truth.captures_of(order) == 1
    assert world.metrics.counters["psp.capture_replays"] == 1
    assert no_double_charge(world) == []


def test_a_capture_retried_without_a_key_captures_the_same_shipment_twice():
    world = delayed(partial_probability=1.0, timeout="1s", idempotency_key=False,
                    retry={"strategy": "fixed", "base": "1s", "max_attempts": 3})
    order = paid_order(world)
    lost_capture_reply(world)
    world.env.run(until=60)
    assert world.truth.captured_minor_of[order] == [500, 500]
    [violation] = no_double_charge(world)
    assert violation.orders == [order] and "2 times" in violation.message
    assert doubled(world) == {"held_twice": 0, "held_twice_minor": 0, "held_twice_minor_by_currency": {},
                              "captured_twice": 1, "captured_twice_minor": 500,
                              "captured_twice_minor_by_currency": {world.orders.currency[order]: 500}}


def test_a_double_authorisation_is_held_twice_but_captured_once_when_captures_are_delayed():
    world = quiet_world(capture={"mode": "delayed", "delay": "10s", "hold_expiry": "1m"},
                        executor={"psp_timeout": "1s", "idempotency_key": "fresh_per_attempt",
                                  "status_query_after_timeout": False,
                                  "retry": {"strategy": "fixed", "base": "500ms", "max_attempts": 3}})
    order = place_order(world)
    psp, env = world.psp, world.env
    psp.faults.reply_lost_probability = 1.0  # the first authorisation's reply is lost
    env.timeout(1.0).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))
    start = buyer_balance(world)
    env.process(world.executor.execute(order))
    env.run(until=30)
    assert world.truth.holds_of(order) == 2 and world.truth.captures_of(order) == 1
    assert doubled(world) == {"held_twice": 1, "held_twice_minor": 1000,
                              "held_twice_minor_by_currency": {world.orders.currency[order]: 1000},
                              "captured_twice": 0, "captured_twice_minor": 0, "captured_twice_minor_by_currency": {}}
    assert no_double_charge(world) == []  # held twice is temporary harm, not money taken twice
    assert buyer_balance(world) == start - 2000
    env.run(until=62)
    assert buyer_balance(world) == start - 1000  # the second hold expired
    assert _capture(world)["holds_expired"] == 1
    assert money_conserved(world) == []


def test_money_conserved_fails_when_a_hold_is_released_behind_the_ledgers_back():
    world = delayed()
    order = paid_order(world)
    world.env.run(until=1)
    assert money_conserved(world) == []
    world.banks.void(order)  # the hold goes back to the buyer, the ledger still expects the payment
    assert [v.message for v in money_conserved(world)] == [
        "the ledger says buyers paid 1000 net, but they lost only 0 at their banks",
        "ledger expects 1000 EUR from the PSP, which captured only 0 (holds 0 open)",
    ]


def test_captured_at_authorisation_the_holds_are_the_captures():
    world = quiet_world()
    order = paid_order(world)
    world.env.run(until=1)
    assert world.truth.holds is world.truth.captures and world.truth.holds_of(order) == 1
    assert world.capture is None and "capture" not in world.consumer_groups
