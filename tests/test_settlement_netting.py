"""Refunds and chargebacks netted from the PSP's settlement, and matched by reconciliation.

Exact timeline (constant latencies, see ``test_timelines``; PSP clearing on, so the settlement is
simulated): a 10.00 EUR order captured at 0.163 s (PSP fee 25 + 1.5 % = 0.40), a quarter of it
refunded at 10.338 s, the whole of it disputed at 3600.163 s (dispute fee 1.50). The PSP's day
closes at 02:00 and is paid a day later (T+1): all three lines belong to day -1 and are paid in
one net batch at 02:00 the next day (93,600 s).
"""

from __future__ import annotations

import pytest
from test_refunds import lose_replies
from test_timelines import CONSTANT_MODEL, paid_order, quiet_world

from sim.components.ledger import PSP_CLEARING, PSP_RECEIVABLE
from sim.components.money_back_matching import reconcile_money_back
from sim.components.psp_settlement import CAPTURE, CHARGEBACK, REFUND, Line
from sim.components.reconciliation import AUTO, HAND, UNKNOWN, ReconciliationReport
from sim.components.refunds import FAILED, GAVE_UP, REFUNDED

DAY = 86400.0
REFUNDS = {"probability": 1.0, "partial_probability": 1.0, "partial_fraction": 0.25, "delay": "10s", "timeout": "1s",
           "retry": {"strategy": "fixed", "base": "1s", "max_attempts": 3}}
DISPUTES = {"probability": 1.0, "delay": "1h", "notification_delay": "1m", "resolution_delay": "30d",
            "fee_minor": 150, "win_probability": 0.0}


def netting_world(refunds=None, chargebacks=None, psp=None, **model):
    return quiet_world(psp={**CONSTANT_MODEL["psp"], "settlement_cutoff": "2h", "settlement_days": 1, **(psp or {})},
                       ledger={**CONSTANT_MODEL["ledger"], "psp_clearing_deadline": "1h"},
                       refunds={**REFUNDS, **(refunds or {})}, chargebacks={**DISPUTES, **(chargebacks or {})}, **model)


def balance(world, account) -> int:
    return world.ledger.balances.get((account, 0), 0)


def end_of_run(world) -> ReconciliationReport:
    report = ReconciliationReport()
    reconcile_money_back(world.settlement_file().adjustments(), world.ledger, world.wallet, world.refunds,
                         world.chargebacks, True, report)
    return report


def test_the_file_lists_the_capture_the_refund_and_the_dispute_with_fee_type_and_settlement_date():
    world = netting_world()
    order = paid_order(world)
    world.env.run(until=3700)
    assert world.psp.settlement.lines() == [
        Line(-1, order, CAPTURE, 1000, 40, 0, 1, pytest.approx(0.163), order),
        Line(-1, order, REFUND, -250, 0, 0, 1, pytest.approx(10.338), 1),   # under its refund id
        Line(-1, order, CHARGEBACK, -1000, 150, 0, 1, pytest.approx(3600.163), order),
    ]


def test_a_refund_and_a_chargeback_are_netted_from_the_settlement_paying_the_capture_t_plus_1():
    world = netting_world()
    paid_order(world)
    world.env.run(until=7200 + DAY - 1)
    assert world.settlements.batches == [] and balance(world, PSP_CLEARING) == 1000
    world.env.run(until=7200 + DAY + 1)
    [batch] = world.settlements.batches
    assert (batch.last_day, batch.at_s, batch.rows, batch.lines) == (-1, 7200 + DAY, 1, 3)
    assert (batch.captured_minor, batch.refunded_minor, batch.charged_back_minor, batch.fees_minor) == (1000, -250, -1000, 190)
    assert batch.paid_minor == 1000 - 250 - 1000 - 190  # a net debit: the PSP takes it from us
    # what the PSP paid is what the ledger's receivable moved by, clearing closed
    assert balance(world, PSP_CLEARING) == 0 and balance(world, PSP_RECEIVABLE) == batch.paid_minor
    world.env.run(until=7200 + 2 * DAY + 1)
    assert len(world.settlements.batches) == 1  # nothing paid twice


def test_a_line_dated_a_day_later_by_a_skewed_psp_clock_waits_for_its_own_batch():
    world = netting_world(chargebacks={"probability": 0.0})
    paid_order(world)
    world.env.timeout(10.0).callbacks.append(lambda _e: setattr(world.psp.faults, "clock_skew_s", DAY))
    world.env.run(until=7200 + 2 * DAY + 1)
    first, second = world.settlements.batches
    assert (first.captured_minor, first.refunded_minor, first.lines) == (1000, 0, 1)
    assert (second.last_day, second.captured_minor, second.refunded_minor, second.lines) == (0, 0, -250, 1)


def test_matched_refunds_and_chargebacks_are_no_break_and_a_notice_on_its_way_is_timing():
    world = netting_world()
    paid_order(world)
    world.env.run(until=3630)  # disputed at 3600.163 s, the PSP's notice comes a minute later
    report = end_of_run(world)
    assert (report.breaks, report.timing) == ([], 1)
    world.env.run(until=3700)
    report = end_of_run(world)
    assert (report.breaks, report.timing) == ([], 0)


def test_a_refund_the_psp_made_that_we_gave_up_on_is_booked_by_the_nightly_run_a_run_later():
    world = netting_world(chargebacks={"probability": 0.0}, psp={"settlement_cutoff": "0s", "settlement_days": 2})
    order = paid_order(world)
    lose_replies(world, 10.0, 100.0)  # every answer about the refund lost: we give up
    world.env.run(until=DAY + 7201)
    [refund_id] = world.refunds.requests
    assert world.refunds.status[refund_id] == GAVE_UP
    assert world.truth.refunds == {order: [250]} and world.ledger.refunded_minor_of == {}
    runs = world.nightly.runs
    assert runs[1].breaks == [] and runs[1].timing == 1  # day 0 closed: a difference, carried a run
    world.env.run(until=2 * DAY + 7201)
    assert [run.at_s for run in runs] == [7200, DAY + 7200, 2 * DAY + 7200]
    [fixed] = runs[2].breaks
    assert (fixed.kind, fixed.bucket, fixed.order_id, fixed.amount_minor) == ("refund_not_booked", AUTO, order, 250)
    assert world.refunds.status[refund_id] == REFUNDED and world.ledger.refunded_minor_of == {order: 250}
    assert world.ledger.seller_payable(2, 0) == world.wallet.seller_balance(2, 0) == 750
    world.env.run(until=3 * DAY + 7201)
    assert runs[3].breaks == []  # reported once


def test_a_refund_booked_that_the_psp_never_made_is_a_break_by_hand():
    world = netting_world(refunds={"book_on": "request", "failure_probability": 1.0}, chargebacks={"probability": 0.0})
    order = paid_order(world)
    world.env.run(until=2 * DAY + 7201)
    assert list(world.refunds.status.values()) == [FAILED] and world.ledger.refunded_minor_of == {order: 250}
    runs = world.nightly.runs  # booked before the first run; its day closed by the second: a difference, carried
    assert runs[1].breaks == [] and runs[1].timing == 1
    [broken] = runs[2].breaks  # a break a run later
    assert (broken.kind, broken.bucket, broken.amount_minor) == ("refund_booked_not_made", HAND, 250)
    [again] = end_of_run(world).breaks
    assert (again.kind, again.bucket, again.amount_minor) == ("refund_booked_not_made", HAND, 250)


def test_a_partial_refund_retried_under_a_new_id_is_paid_twice_a_break_nobody_can_explain():
    world = netting_world(refunds={"new_id_on_retry": True, "partial_fraction": 0.5}, chargebacks={"probability": 0.0})
    order = paid_order(world)
    lose_replies(world, 10.0, 2.0)
    world.env.run(until=60)
    assert world.truth.refunds == {order: [500, 500]}
    [broken] = end_of_run(world).breaks
    assert (broken.kind, broken.bucket, broken.order_id, broken.amount_minor) == ("refund_not_requested", UNKNOWN, order, 500)
    assert world.ledger.refunded_minor_of == {order: 500}  # not booked: nobody knows whose money it is


def test_without_a_psp_line_a_refund_we_gave_up_on_is_timing_never_booked():
    world = netting_world(refunds={"failure_probability": 0.0}, chargebacks={"probability": 0.0})
    world.psp_operations.refund_failure_probability = 0.0
    paid_order(world)
    world.psp.faults.no_reply_probability = 0.0
    world.env.timeout(10.0).callbacks.append(lambda _e: setattr(world.psp.faults, "no_reply_probability", 1.0))
    world.env.run(until=60)
    assert list(world.refunds.status.values()) == [GAVE_UP] and world.truth.refunds == {}
    report = end_of_run(world)
    assert (report.breaks, report.timing) == ([], 0)  # nothing moved anywhere: nothing to match


class _DroppedNotice:
    """Our dispute handler read the PSP's notice and lost it before booking anything (a consumer bug):
    the dispute is in the PSP's file, not in the ledger, and no notice is on its way any more."""

    def post_chargeback(self, order_id: int, amount_minor: int, fee_minor: int) -> None:
        pass

    def take_back(self, order_id: int, amount_minor: int) -> None:
        pass


@pytest.mark.parametrize("auto_fix", [True, False])
def test_a_dispute_the_psp_made_that_nobody_booked_is_booked_from_its_file_a_run_later(auto_fix):
    from sim.oracles.completeness import ledger_complete

    world = netting_world(refunds={"probability": 0.0}, reconciliation={"auto_fix": auto_fix})
    order = paid_order(world)
    world.chargebacks.ledger = world.chargebacks.wallet = _DroppedNotice()
    world.env.run(until=7201)  # disputed at 3,600.163 s, notice lost at 3,660.163 s; day -1 closed at 02:00
    runs = world.nightly.runs
    assert runs[0].breaks == [] and runs[0].timing == 1  # a difference, carried a run
    assert world.chargebacks.unnoticed_of == {} and len(ledger_complete(world)) == 1
    world.env.run(until=DAY + 7201)
    [found] = runs[1].breaks
    assert (found.kind, found.order_id, found.amount_minor) == ("chargeback_not_booked", order, 1000)
    if not auto_fix:
        assert found.bucket == HAND and world.ledger.charged_back_minor_of == {}
        assert len(ledger_complete(world)) == 1
        return
    assert found.bucket == AUTO and "1000 and a fee of 150 booked" in found.detail
    ledger = world.ledger
    assert ledger.charged_back_minor_of == {order: 1000} and ledger.chargeback_fees_of == {order: 150}
    assert ledger.seller_payable(2, 0) == world.wallet.seller_balance(2, 0) == 0  # taken back from the seller
    assert ledger_complete(world) == []  # the oracle sees the fix
    world.env.run(until=2 * DAY + 7201)
    assert runs[2].breaks == [] and end_of_run(world).breaks == []  # fixed once


def test_a_dispute_booked_that_the_psp_never_made_is_left_to_a_human_and_counted():
    world = netting_world(refunds={"probability": 0.0}, chargebacks={"probability": 0.0})
    order = paid_order(world)
    world.env.run(until=60)
    world.ledger.post_chargeback(order, 1000, 150)  # a notice booked twice, or for another merchant
    world.env.run(until=2 * DAY + 7201)
    runs = world.nightly.runs  # booked before the first run; its day closed by the second: carried a run
    assert runs[1].breaks == [] and runs[1].timing == 1
    [found] = runs[2].breaks
    assert (found.kind, found.bucket, found.amount_minor) == ("chargeback_booked_not_made", HAND, 1000)
    assert world.ledger.charged_back_minor_of == {order: 1000}  # nothing reversed
    [again] = end_of_run(world).breaks
    assert (again.kind, again.bucket) == ("chargeback_booked_not_made", HAND)


def test_refund_and_dispute_lines_of_a_payment_the_secondary_psp_captured_are_in_its_file_and_reconciled():
    """The primary is down when the order is charged: the executor fails over and the secondary PSP
    captures it. Its refund and its dispute are listed, netted and reconciled at the secondary."""
    psp = {**CONSTANT_MODEL["psp"], "settlement_cutoff": "2h", "settlement_days": 1}
    world = netting_world(secondary_psp=psp)
    world.psp.faults.outage = 1
    world.env.timeout(5.0).callbacks.append(lambda _e: setattr(world.psp.faults, "outage", 0))
    order = paid_order(world)
    world.env.run(until=3700)
    assert world.metrics.counters["secondary_psp.charges_committed"] == 1 and len(world.psp.settlement) == 0
    assert world.psp.settlement.adjustments == []  # nothing listed at the PSP that captured nothing
    assert [(line.type, line.amount_minor) for line in world.secondary_psp.settlement.lines()] == [
        (CAPTURE, 1000), (REFUND, -250), (CHARGEBACK, -1000)]
    world.env.run(until=7200 + DAY + 1)
    [batch] = world.settlements.batches
    assert (batch.psp, batch.captured_minor, batch.refunded_minor, batch.charged_back_minor) == \
        ("secondary_psp", 1000, -250, -1000)
    assert balance(world, PSP_RECEIVABLE) == batch.paid_minor and balance(world, PSP_CLEARING) == 0
    assert all(run.breaks == [] for run in world.nightly.runs) and world.nightly.runs[-1].timing == 0
    assert (end_of_run(world).breaks, end_of_run(world).timing) == ([], 0)
    assert world.ledger.refunded_minor_of == {order: 250} and world.ledger.charged_back_minor_of == {order: 1000}
