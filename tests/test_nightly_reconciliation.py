"""Reconciliation on a schedule: exact timelines (constant latencies, see ``test_timelines``; the
order succeeds at 0.176 s) of a timing difference cleared by the next night's settlement rows,
a capture taken twice refunded by the nightly run, a payment the PSP never settled, and an FX
difference the ledger did not book, booked by the nightly run."""

from __future__ import annotations

from test_fx import fx_world, usd_order
from test_refunds import paid_order
from test_timelines import place_order, quiet_world

from sim.components.nightly_reconciliation import extra_capture_refund_id
from sim.components.reconciliation import AUTO, UNKNOWN
from sim.domain.orders import OrderState
from sim.oracles.fx import fx_settled
from sim.oracles.money import money_conserved

NIGHT_S = 7200.0  # the first scheduled run, 02:00
DAY_S = 86400.0


def nightly_world(**psp):
    return quiet_world(psp={**_constant_psp(), "settlement_cutoff": "30m", **psp})


def _constant_psp():
    from test_timelines import CONSTANT_MODEL
    return CONSTANT_MODEL["psp"]


def test_a_capture_dated_into_the_next_day_is_a_timing_difference_the_next_nights_rows_clear():
    world = nightly_world()
    world.psp.faults.clock_skew_s = 3600.0  # the PSP dates the 0.17 s capture 01:00: its day 0; ours is day -1
    order = paid_order(world)
    world.env.run(until=NIGHT_S + 1)
    [first] = world.nightly.runs
    assert (first.at_s, first.closed_day, first.matched, first.timing, first.breaks) == (NIGHT_S, -1, 0, 1, [])
    world.env.run(until=NIGHT_S + DAY_S + 1)
    second = world.nightly.runs[1]
    assert (second.at_s, second.closed_day, second.matched, second.timing, second.breaks) == (NIGHT_S + DAY_S, 0, 1, 0, [])
    assert world.nightly.report().matched == 1 and world.orders.amount_minor[order] == 1000


def test_without_skew_the_first_night_matches_the_payment():
    world = nightly_world()
    paid_order(world)
    world.env.run(until=NIGHT_S + 1)
    [run] = world.nightly.runs
    assert (run.matched, run.timing, run.breaks) == (1, 0, [])


def test_a_capture_taken_twice_is_refunded_by_the_nightly_run_under_an_id_from_the_order():
    world = quiet_world(executor={"psp_timeout": "1s", "idempotency_key": "fresh_per_attempt",
                                  "status_query_after_timeout": False,
                                  "retry": {"strategy": "fixed", "base": "500ms", "max_attempts": 3}},
                        psp={**_constant_psp(), "settlement_cutoff": "30m"})
    world.psp.faults.reply_lost_probability = 1.0
    world.env.timeout(0.5).callbacks.append(lambda _e: setattr(world.psp.faults, "reply_lost_probability", 0.0))
    order = paid_order(world)
    world.env.run(until=NIGHT_S - 1)
    assert world.truth.captures_of(order) == 2 and world.truth.refunds == {}
    world.env.run(until=NIGHT_S + 5)
    [run] = world.nightly.runs
    [refund_break] = run.breaks
    assert (refund_break.kind, refund_break.bucket, refund_break.amount_minor) == ("captured_more_than_once", AUTO, 1000)
    assert world.truth.refunds == {order: [1000]}  # the buyer has the extra capture back
    assert list(world.refunds.requests) == [extra_capture_refund_id(order, 1)]
    world.nightly.reconcile_now()  # a re-run asks for nothing more
    assert list(world.refunds.requests) == [extra_capture_refund_id(order, 1)] and money_conserved(world) == []


def test_our_payment_the_psp_never_settles_is_timing_for_one_night_then_unknown():
    world = nightly_world()
    order = place_order(world)
    world.orders.transition(order, OrderState.SUCCESS, 100.0)  # SUCCESS at 100 s by our books, never sent to the PSP
    world.env.run(until=NIGHT_S + 1)
    assert (world.nightly.runs[0].timing, world.nightly.runs[0].breaks) == (1, [])
    world.env.run(until=NIGHT_S + DAY_S + 1)
    [never] = world.nightly.runs[1].breaks
    assert (never.kind, never.bucket, never.order_id, never.amount_minor) == ("success_without_capture", UNKNOWN, order, 1000)


def test_an_fx_difference_the_ledger_did_not_book_is_booked_by_the_next_nightly_run():
    world = fx_world(fx={"revalue_at_settlement": False})
    order = usd_order(world)
    world.env.run(until=1801)
    assert len(fx_settled(world)) == 2  # settled at 1800 s, the difference not booked
    paid = world.settlements.batches[0].paid_minor
    world.env.run(until=NIGHT_S + 1)
    [fix] = world.nightly.runs[0].breaks[-1:]
    assert (fix.kind, fix.bucket, fix.order_id, fix.amount_minor) == ("fx_difference_not_booked", AUTO, order, abs(paid - 900))
    assert world.ledger.fx_result_minor == paid - 900 and fx_settled(world) == []


def test_the_ledger_logs_which_orders_money_back_changed_since_the_last_run():
    """The scheduled run's candidates: orders whose ledger refund or chargeback total differs from the
    last run's (a first booking counts, a change undone does not), without keeping every order."""
    world = nightly_world()
    ledger = world.ledger
    assert ledger.money_back_touched is not None  # the nightly run asked for the log
    a, b = paid_order(world), paid_order(world)
    ledger.post_chargeback(a, 300, 0)
    ledger.post_chargeback(b, 200, 0)
    assert ledger.take_money_back_touched("chargeback") == {a, b}
    assert ledger.take_money_back_touched("chargeback") == set()  # nothing since
    ledger.post_chargeback(a, -300, 0)  # a won dispute gives it back...
    ledger.post_chargeback(a, 300, 0)  # ...and a second dispute takes it again: no change since the last run
    ledger.post_chargeback(b, 50, 0)
    assert ledger.take_money_back_touched("chargeback") == {b}
    assert ledger.money_back_touched == {"refund": {}, "chargeback": {}}
