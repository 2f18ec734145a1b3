"""The seller's wait read in chunks, matched in groups of sellers and reduced from a spill (a
simulated day's bounded memory) against the one pass over full-length columns it replaced: the
same numbers, bit for bit, whatever the chunk, group and spill sizes; and the spill's exact
reductions against numpy's over the whole columns."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import scenario
from hypothesis import given, settings, strategies as st

import sim.components.seller_wait as seller_wait_module
from sim.components.seller_wait import SellerWait, _matched_in_groups, seller_wait
from sim.domain.orders import as_numpy, column_chunks
from sim.domain.spill import Spill, pairwise_sum
from sim.domain.spill import sorted_weighted_quantile as weighted_quantile
from sim.domain.spill import weighted_quantile as spilled_quantile
from sim.runners.run import run_scenario


def one_pass(world) -> SellerWait:
    """The seller's wait as computed before the chunks: every column full length, sorted by account
    at once, the pieces reduced in memory."""
    orders, ledger, truth, capture = world.orders, world.ledger, world.truth, world.capture
    count = min(len(orders), len(ledger.recorded), len(truth.captures))
    ids = np.nonzero((as_numpy(ledger.recorded)[:count] > 0) & (as_numpy(truth.captures)[:count] > 0))[0]
    captured = as_numpy(orders.amount_minor)[ids].astype(np.int64)
    for order_id, amount in (capture.amount_minor.items() if capture is not None else ()):
        at = int(np.searchsorted(ids, order_id))
        if at < len(ids) and ids[at] == order_id:
            captured[at] = amount
    taken_back = np.zeros(len(ids), dtype=np.int64)
    for given_back in (ledger.refunded_minor_of, ledger.charged_back_minor_of):
        for order_id, amount in given_back.items():
            at = int(np.searchsorted(ids, order_id))
            if at < len(ids) and ids[at] == order_id:
                taken_back[at] += amount
    if ledger.fees is not None:
        captured -= (captured * ledger.fees.commission_rate).astype(np.int64)
        taken_back -= (taken_back * ledger.fees.commission_rate).astype(np.int64)
    owed = captured - taken_back
    ids, owed = ids[owed > 0], owed[owed > 0]
    after_s = np.frombuffer(truth.first_capture_after_s, dtype=np.float32)
    captured_at = orders.created_at_column()[ids] + after_s[ids] if len(ids) else np.zeros(0)
    sellers, currencies = as_numpy(orders.seller)[ids], as_numpy(orders.currency)[ids]
    transfers: dict = {}
    for transfer in world.payout_provider.report if world.payout_provider is not None else ():
        transfers.setdefault((transfer.seller, transfer.currency), []).append((transfer.at_s, transfer.amount_minor))
    order = np.lexsort((captured_at, currencies, sellers))
    sellers, currencies, captured_at, owed = sellers[order], currencies[order], captured_at[order], owed[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(sellers) != 0) | (np.diff(currencies) != 0)]) if len(owed) else []
    paid_at, paid_each, bounds = [], [], [0]
    for seller, currency in zip(sellers[starts].tolist(), currencies[starts].tolist()):
        for at, minor in transfers.get((seller, currency), ()):
            paid_at.append(at)
            paid_each.append(minor)
        bounds.append(len(paid_at))
    waits, amounts, unpaid = _matched_in_groups(
        captured_at, owed, np.append(np.asarray(starts, dtype=np.int64), len(owed)), np.array(paid_at, dtype=np.float64),
        np.array(paid_each, dtype=np.int64), np.array(bounds, dtype=np.int64), 1 << 40)
    paid = int(amounts.sum())
    by_currency: dict[int, int] = {}  # each account owed less what it was sent, never below 0, by currency
    ends = list(starts[1:]) + [len(owed)] if len(owed) else []
    for start, end, low, high in zip(starts, ends, bounds, bounds[1:]):
        left = max(0, int(owed[start:end].sum()) - sum(paid_each[low:high]))
        if left:
            currency = int(currencies[start])
            by_currency[currency] = by_currency.get(currency, 0) + left
    if not paid:
        return SellerWait(None, None, 0, unpaid, by_currency)
    mean = float((waits * amounts).sum() / paid)
    return SellerWait(round(mean, 6), round(weighted_quantile(waits, amounts, 0.95), 6), paid, unpaid, by_currency)


_MONEY_BACK = {"refunds.probability": 0.3, "refunds.delay": "10s", "refunds.partial_probability": 0.5,
               "chargebacks.probability": 0.1, "chargebacks.delay": "20s", "fees.commission_rate": 0.029,
               "payouts": {"enabled": True, "interval": "30s", "first_run": "30s", "lag": "20s"}}
_PARTIAL_CAPTURES = {"capture.mode": "delayed", "capture.delay": "5s", "capture.partial_probability": 0.5}


@pytest.fixture(scope="module", params=["money back", "partial captures"])
def paid_world(tmp_path_factory, request):
    """Refunds, partial refunds, chargebacks, fees and payouts (and, in the second world, partial
    captures at shipment), over a few thousand orders of 40 sellers in two currencies."""
    overrides = {**_MONEY_BACK, **(_PARTIAL_CAPTURES if request.param == "partial captures" else {})}
    loaded = scenario(tmp_path_factory.mktemp("wait"), "async-kafka.yaml", duration="3m", drain="10m", seed=11,
                      overrides=overrides, workload={"rate": "20/s", "currencies": ["EUR", "USD"], "sellers": 40})
    world = run_scenario(loaded, explain=False).world
    assert len(world.orders) > 3000 and len(world.ledger.refunded_minor_of) and len(world.ledger.charged_back_minor_of)
    assert (request.param == "partial captures") == bool(world.capture is not None and world.capture.amount_minor)
    return world


@pytest.mark.parametrize("chunk, group_credits, spill_after", [
    (None, None, None), (97, 50, 0), (1000, 1, 10), (7, 333, 1 << 30), (4096, 1 << 30, 100)])
def test_chunked_grouped_spilled_wait_is_the_one_pass_wait(paid_world, monkeypatch, chunk, group_credits, spill_after):
    expected = one_pass(paid_world)
    assert expected.paid_minor > 0 and expected.unpaid_minor > 0  # both sides have work to do
    assert sorted(expected.unpaid_minor_by_currency) == [0, 1]  # owed in both currencies
    if chunk is not None:
        monkeypatch.setattr(seller_wait_module, "column_chunks", lambda count, size=None: column_chunks(count, chunk))
    kwargs = {k: v for k, v in (("group_credits", group_credits), ("spill_after", spill_after)) if v is not None}
    assert seller_wait(paid_world, **kwargs) == expected  # exact: the same floats


def test_a_dropped_chunk_changes_the_wait(paid_world, monkeypatch):
    """The comparison above can fail: reading every chunk but the last gives other numbers."""
    monkeypatch.setattr(seller_wait_module, "column_chunks", lambda count, size=None: column_chunks(count, 500)[:-1])
    assert seller_wait(paid_world, group_credits=100) != one_pass(paid_world)


def test_groups_cover_every_seller_once(paid_world):
    owed = seller_wait_module._Owed(paid_world)
    groups = seller_wait_module._seller_groups(owed, 100)
    assert len(groups) > 3 and groups[0][0] == 0
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(groups, groups[1:]))


_values = st.lists(st.floats(0, 1e7, allow_nan=False, allow_infinity=False), min_size=1, max_size=400)


@settings(max_examples=150, deadline=None)
@given(_values, st.data(), st.integers(1, 64), st.integers(0, 300))
def test_spilled_reductions_are_numpys_over_the_whole_columns(values, data, size, spill_after):
    """The pairwise sum and the weighted quantile read in slices of ``size`` rows (spilled to a
    file past ``spill_after`` rows, appended in uneven parts) give numpy's one-pass answers exactly."""
    weights = data.draw(st.lists(st.integers(1, 10**9), min_size=len(values), max_size=len(values)))
    values_, weights_ = np.array(values) + 0.0, np.array(weights, dtype=np.int64)  # + 0.0: no -0.0
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=5)))
    with Spill(spill_after) as spill:
        for low, high in zip([0, *cuts], [*cuts, len(values)]):
            spill.append(values_[low:high], weights_[low:high])
        assert spill.rows == len(values) and spill.spilled == (len(values) > spill_after)
        products = values_ * weights_
        assert pairwise_sum(lambda a, b: np.multiply(*spill.read(a, b)), spill.rows, size) == float(products.sum())
        for q in (0.0001, 0.5, 0.95, 1.0):  # counted digit by digit, and sorted in one piece
            assert spilled_quantile(spill, q, size, sort_below_rows=0) == weighted_quantile(values_, weights_, q)
            assert spilled_quantile(spill, q, size) == weighted_quantile(values_, weights_, q)


def test_pairwise_sum_follows_numpys_tree_on_long_columns():
    rng = np.random.default_rng(7)
    for rows in (129, 8193, 100_003, 3_000_001):
        column = rng.random(rows) * rng.integers(1, 10**6, rows)
        for size in (128, 1000, 65_536):
            assert pairwise_sum(lambda a, b: column[a:b], rows, size) == float(column.sum())


def test_spill_refuses_mismatched_columns_and_negative_values():
    with Spill() as spill:
        with pytest.raises(ValueError, match="differ in length"):
            spill.append(np.zeros(2), np.zeros(3, np.int64))
        spill.append(np.array([-1.0]), np.array([1]))
        with pytest.raises(ValueError, match=">= 0"):
            spilled_quantile(spill, 0.5)
