"""The seller's wait, capture to money in the seller's bank: exact timelines (constant latencies,
see ``test_timelines`` and ``test_payouts``): a payment is captured at the bank at 0.163 s; the
payout provider makes a transfer 20 + 100 ms after a payout run asks for it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from test_payouts import paying
from test_timelines import paid_order, place_order, quiet_world

from sim.components.payout_provider import Transfer, TransferReport
from sim.components.seller_wait import _matched_in_groups, _transfers_of, fifo_waits, fifo_waits_by_account, seller_wait
from sim.runners.summary import _payouts


def test_fifo_pays_the_oldest_payment_first_and_splits_a_transfer_across_payments():
    waits, amounts, unpaid = fifo_waits(np.array([0.0, 10.0]), np.array([1000, 1000]),
                                        np.array([100.0, 200.0]), np.array([1500, 100]))
    assert waits.tolist() == [100.0, 90.0, 190.0] and amounts.tolist() == [1000, 500, 100] and unpaid == 400


def test_fifo_ignores_money_paid_beyond_what_is_owed():
    waits, amounts, unpaid = fifo_waits(np.array([5.0]), np.array([300]), np.array([50.0, 60.0]), np.array([300, 300]))
    assert waits.tolist() == [45.0] and amounts.tolist() == [300] and unpaid == 0


def test_the_wait_runs_from_the_capture_through_the_t_plus_lag_to_the_transfer():
    world = paying(lag="120s")
    paid_order(world)
    late = place_order(world, 700)
    world.env.timeout(100).callbacks.append(lambda _e: world.env.process(world.executor.execute(late)))
    world.env.run(until=181)
    assert seller_wait(world).mean_s == pytest.approx(180.12 - 0.163)  # paid by the 180 s run
    assert seller_wait(world).unpaid_minor == 700
    world.env.run(until=241)
    wait = seller_wait(world)  # the 700 captured at 100.163 s, paid by the 240 s run
    assert wait.mean_s == pytest.approx((1000 * (180.12 - 0.163) + 700 * (240.12 - 100.163)) / 1700)
    assert wait.p95_s == pytest.approx(180.12 - 0.163) and (wait.paid_minor, wait.unpaid_minor) == (1700, 0)
    summary = _payouts(world, wait)
    assert summary["seller_wait_mean_s"] == wait.mean_s and summary["seller_wait_p95_s"] == wait.p95_s
    assert summary["mean_delay_s"] == pytest.approx(0.14)  # the payout's own delay: request to confirmed transfer


def test_a_reserve_pays_part_of_a_payment_at_each_run_and_the_rest_waits():
    world = paying(reserve_fraction=0.5)
    paid_order(world)
    world.env.run(until=121)
    assert [t.amount_minor for t in world.payout_provider.report] == [500, 250]
    wait = seller_wait(world)
    assert wait.mean_s == pytest.approx((500 * (60.12 - 0.163) + 250 * (120.12 - 0.163)) / 750)
    assert (wait.paid_minor, wait.unpaid_minor) == (750, 250)


def test_a_refund_takes_its_part_out_of_what_the_seller_is_owed():
    settings = paying(lag="120s").model.payouts.model_dump(by_alias=True)
    world = quiet_world(payouts=settings, refunds={"probability": 1.0, "partial_probability": 1.0,
                                                   "partial_fraction": 0.4, "delay": "10s"})
    paid_order(world)
    world.env.run(until=20)  # refunded at 10.338 s
    assert world.truth.refunds == {0: [400]} and seller_wait(world) == (None, None, 0, 600, {0: 600})
    world.env.run(until=181)
    assert seller_wait(world) == (pytest.approx(180.12 - 0.163), pytest.approx(180.12 - 0.163), 600, 0, {})


def test_without_payouts_the_summary_has_no_wait():
    world = paying(enabled=False)
    paid_order(world)
    world.env.run(until=100)
    assert _payouts(world, None) is None


def _accounts(draw_accounts):
    """Per account: credits (capture time, amount > 0) and transfers (time, amount ≥ 0), in time order."""
    accounts = []
    for credits, transfers in draw_accounts:
        accounts.append((sorted(credits), sorted(transfers)))
    return accounts


_money = st.lists(st.tuples(st.floats(0, 1e4, allow_nan=False), st.integers(1, 5_000)), min_size=1, max_size=8)
_paid = st.lists(st.tuples(st.floats(0, 1e4, allow_nan=False), st.integers(0, 9_000)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_money, _paid), max_size=6))
def test_matching_every_account_at_once_gives_the_pieces_of_matching_them_one_by_one(drawn):
    """``fifo_waits_by_account`` (one numpy pass) against ``fifo_waits`` account after account:
    the same waits and amounts in the same order, and the same money left unpaid."""
    accounts = _accounts(drawn)
    waits, amounts, unpaid = [], [], 0
    for credits, transfers in accounts:
        wait, amount, left = fifo_waits(np.array([t for t, _ in credits]), np.array([a for _, a in credits], dtype=np.int64),
                                        np.array([t for t, _ in transfers], dtype=np.float64),
                                        np.array([a for _, a in transfers], dtype=np.int64))
        waits.append(wait)
        amounts.append(amount)
        unpaid += left
    credit_bounds = np.cumsum([0] + [len(c) for c, _ in accounts])
    transfer_bounds = np.cumsum([0] + [len(t) for _, t in accounts])
    got = fifo_waits_by_account(
        np.array([t for c, _ in accounts for t, _ in c], dtype=np.float64),
        np.array([a for c, _ in accounts for _, a in c], dtype=np.int64), credit_bounds,
        np.array([t for _, p in accounts for t, _ in p], dtype=np.float64),
        np.array([a for _, p in accounts for _, a in p], dtype=np.int64), transfer_bounds)
    expected_waits = np.concatenate(waits) if waits else np.zeros(0)
    expected_amounts = np.concatenate(amounts) if amounts else np.zeros(0, dtype=np.int64)
    assert got[1].dtype == np.int64 and got[1].tolist() == expected_amounts.tolist()
    assert got[0].tolist() == expected_waits.tolist()
    assert got[2] == unpaid


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_money, _paid), min_size=1, max_size=6), st.integers(1, 20))
def test_matching_in_groups_of_accounts_gives_the_one_pass_result(drawn, group_credits):
    """Groups of whole accounts (a simulated day's memory bound) give the one-pass pieces, in the
    same order, and the same money unpaid, whatever the group size (one credit: an account a group)."""
    accounts = _accounts(drawn)
    args = (np.array([t for c, _ in accounts for t, _ in c], dtype=np.float64),
            np.array([a for c, _ in accounts for _, a in c], dtype=np.int64),
            np.cumsum([0] + [len(c) for c, _ in accounts]),
            np.array([t for _, p in accounts for t, _ in p], dtype=np.float64),
            np.array([a for _, p in accounts for _, a in p], dtype=np.int64),
            np.cumsum([0] + [len(t) for _, t in accounts]))
    whole = fifo_waits_by_account(*args)
    grouped = _matched_in_groups(*args, group_credits=group_credits)
    assert grouped[0].tolist() == whole[0].tolist() and grouped[1].tolist() == whole[1].tolist()
    assert grouped[1].dtype == np.int64 and grouped[2] == whole[2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(1, 9_000)), max_size=12),
       st.sets(st.tuples(st.integers(0, 4), st.integers(0, 2))))
def test_each_accounts_transfers_are_read_from_the_report_in_the_order_they_were_made(made, asked):
    """The report's columns sorted by account (:meth:`TransferReport.by_account`) give each asked
    account's transfers in time order, account after account, as a loop over the report's rows
    collecting them per account does (accounts with none get an empty range)."""
    report = TransferReport()
    for index, (seller, currency, amount) in enumerate(made):
        report.append(Transfer(index + 1, seller, currency, amount, float(index)))
    accounts = sorted(seller * 256 + currency for seller, currency in asked)
    at, amount, bounds = _transfers_of(report.by_account(), np.array(accounts, dtype=np.int64))
    per_account: dict[int, list[tuple[float, int]]] = {}
    for transfer in report:
        per_account.setdefault(transfer.seller * 256 + transfer.currency, []).append((transfer.at_s, transfer.amount_minor))
    expected = [per_account.get(account, []) for account in accounts]
    assert bounds.tolist() == np.cumsum([0] + [len(rows) for rows in expected]).tolist()
    assert list(zip(at.tolist(), amount.tolist())) == [row for rows in expected for row in rows]
    assert amount.dtype == np.int64 and bounds.dtype == np.int64
