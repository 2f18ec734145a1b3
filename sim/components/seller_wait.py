"""The seller's wait: from the capture of a payment to its money in the seller's bank account (the
payout lag standing for the PSP's T+N settlement, the payout schedule, the payout provider's
latency and retries), where ``payouts.mean_delay_s`` is only a payout's request to its confirmed
transfer.

Payouts pay balances, not payments, so each seller's (and currency's) transfers are matched to
its payments first in, first out, by amount: a transfer of 1,500 after payments of 1,000 and
1,000 pays the first and half of the second. A payment counts what the seller is still owed for it at the end of
the run (its seller share, less what refunds and chargebacks took back); the wait is weighted by
amount. Computed once, after the run, from the ledger, the ground truth and the payout report, in
columns (no Python step per payment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.domain.orders import as_numpy, column_chunks

if TYPE_CHECKING:
    from sim.world import World


class SellerWait(NamedTuple):
    mean_s: float | None
    """Amount-weighted mean wait of the money paid out (None: nothing paid out)."""
    p95_s: float | None
    """The wait 95 % of the paid-out money was within."""
    paid_minor: int
    """Money matched to a payment (minor units, summed over currencies)."""
    unpaid_minor: int
    """Money sellers are still owed for payments at the end of the run."""


def fifo_waits(credit_at: np.ndarray, credits: np.ndarray, transfer_at: np.ndarray,
               transfers: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Match transfers (times, amounts) to credits (capture times, amounts), both in time order,
    first in first out: returns the waits and amounts of every part paid, and the amount left
    unpaid (money paid beyond what is owed is ignored). The money line is cut where either a credit
    or a transfer ends; each piece is paid by one transfer for one credit. A transfer made before
    the capture it is matched to (only a payout paid twice could) waits 0."""
    owed_end, paid_end = np.cumsum(credits), np.cumsum(transfers)
    owed_total = int(owed_end[-1]) if len(owed_end) else 0
    paid_total = min(owed_total, int(paid_end[-1]) if len(paid_end) else 0)
    cuts = np.unique(np.concatenate([[0], owed_end[owed_end < paid_total], paid_end[paid_end < paid_total], [paid_total]]))
    pieces = np.diff(cuts)
    ends = cuts[1:]
    credit = np.searchsorted(owed_end, ends, side="left")
    transfer = np.searchsorted(paid_end, ends, side="left")
    waits = np.maximum(transfer_at[transfer] - credit_at[credit], 0.0) if len(ends) else np.zeros(0)
    return waits, pieces, owed_total - paid_total


def fifo_waits_by_account(credit_at: np.ndarray, credits: np.ndarray, credit_bounds: np.ndarray,
                          transfer_at: np.ndarray, transfers: np.ndarray,
                          transfer_bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`fifo_waits` of many accounts in one pass, the same pieces in the same order as
    account after account: account ``k`` has the credits ``credit_bounds[k]:credit_bounds[k + 1]``
    (at least one) and the transfers ``transfer_bounds[k]:transfer_bounds[k + 1]`` (maybe none),
    both in time order. The accounts' money lines are laid end to end (account ``k``'s starts where
    the credits before it end); a piece of the line between what an account was paid and what it
    was owed is nobody's and is dropped. A numpy call per sweep, not a dozen per account."""
    if len(credit_bounds) < 2:
        return np.zeros(0), np.zeros(0, dtype=np.int64), 0
    credit_counts, transfer_counts = np.diff(credit_bounds), np.diff(transfer_bounds)
    owed_end = np.cumsum(credits)
    account_end = owed_end[credit_bounds[1:] - 1]
    offset = np.concatenate([[0], account_end[:-1]])
    paid_all = np.concatenate([[0], np.cumsum(transfers)])
    paid_total = np.minimum(account_end - offset, paid_all[transfer_bounds[1:]] - paid_all[transfer_bounds[:-1]])
    limit = offset + paid_total  # where each account's paid money ends on the line
    paid_end = np.repeat(offset, transfer_counts) + np.minimum(
        paid_all[1:] - np.repeat(paid_all[transfer_bounds[:-1]], transfer_counts), np.repeat(paid_total, transfer_counts))
    cuts = np.unique(np.concatenate([offset, owed_end[owed_end < np.repeat(limit, credit_counts)],
                                     paid_end[paid_end < np.repeat(limit, transfer_counts)], limit]))
    pieces, ends = np.diff(cuts), cuts[1:]
    paid = ends <= limit[np.searchsorted(account_end, ends, side="left")]  # not a gap between accounts
    pieces, ends = pieces[paid], ends[paid]
    credit = np.searchsorted(owed_end, ends, side="left")
    transfer = np.searchsorted(paid_end, ends, side="left")
    waits = np.maximum(transfer_at[transfer] - credit_at[credit], 0.0) if len(ends) else np.zeros(0)
    return waits, pieces, int((account_end - offset - paid_total).sum())


GROUP_CREDITS = 1 << 20
"""Credits matched per :func:`fifo_waits_by_account` call: its temporaries are a few arrays the
size of what it matches, ~100 bytes a credit, so a simulated day's ~12 M payments go in groups of
whole accounts instead of at once (the pieces and their order are the same)."""


def _matched_in_groups(credit_at: np.ndarray, credits: np.ndarray, credit_bounds: np.ndarray,
                       transfer_at: np.ndarray, transfers: np.ndarray, transfer_bounds: np.ndarray,
                       group_credits: int = GROUP_CREDITS) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`fifo_waits_by_account` over consecutive groups of whole accounts of about
    ``group_credits`` credits each (an account larger than that is a group of its own),
    concatenated: the same result, with temporaries bounded by a group."""
    if len(credit_bounds) < 2:
        return fifo_waits_by_account(credit_at, credits, credit_bounds, transfer_at, transfers, transfer_bounds)
    waits, amounts, unpaid = [], [], 0
    first = 0
    accounts = len(credit_bounds) - 1
    while first < accounts:
        last = max(first + 1, int(np.searchsorted(credit_bounds, credit_bounds[first] + group_credits, side="right")) - 1)
        c0, c1 = int(credit_bounds[first]), int(credit_bounds[last])
        t0, t1 = int(transfer_bounds[first]), int(transfer_bounds[last])
        w, a, u = fifo_waits_by_account(credit_at[c0:c1], credits[c0:c1], credit_bounds[first:last + 1] - c0,
                                        transfer_at[t0:t1], transfers[t0:t1], transfer_bounds[first:last + 1] - t0)
        waits.append(w)
        amounts.append(a)
        unpaid += u
        first = last
    return np.concatenate(waits), np.concatenate(amounts), unpaid


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The value below which a share ``q`` of the total weight lies."""
    order = np.argsort(values, kind="stable")
    running = np.cumsum(weights[order])
    return float(values[order[np.searchsorted(running, q * running[-1], side="left")]])  # no sorted copy


def seller_wait(world: "World") -> SellerWait:
    """The seller's wait over every payment the ledger booked and the bank captured."""
    orders, ledger, truth, capture = world.orders, world.ledger, world.truth, world.capture
    count = min(len(orders), len(ledger.recorded), len(truth.captures))
    booked = (as_numpy(ledger.recorded)[:count] > 0) & (as_numpy(truth.captures)[:count] > 0)
    ids = np.nonzero(booked)[0]
    del booked
    captured = as_numpy(orders.amount_minor)[ids].astype(np.int64)
    if capture is not None:  # a partial capture took less than the order
        for order_id, amount in capture.amount_minor.items():
            at = int(np.searchsorted(ids, order_id))
            if at < len(ids) and ids[at] == order_id:
                captured[at] = amount
    taken_back = np.zeros(len(ids), dtype=np.int64)
    for given_back in (ledger.refunded_minor_of, ledger.charged_back_minor_of):
        if not given_back:
            continue
        back_ids = np.fromiter(given_back.keys(), dtype=np.int64, count=len(given_back))
        at = np.searchsorted(ids, back_ids)  # one search for all, not a numpy call per refund
        hit = at < len(ids)
        hit[hit] = ids[at[hit]] == back_ids[hit]
        np.add.at(taken_back, at[hit], np.fromiter(given_back.values(), dtype=np.int64, count=len(given_back))[hit])
    fees = ledger.fees
    if fees is not None:  # the seller's share (in place: no copies of the per-payment columns)
        captured -= (captured * fees.commission_rate).astype(np.int64)
        taken_back -= (taken_back * fees.commission_rate).astype(np.int64)
    captured -= taken_back
    owed = captured
    del captured, taken_back
    keep = owed > 0
    ids, owed = ids[keep], owed[keep]  # only what is still owed is matched: the rest is dropped now
    del keep
    captured_at = np.empty(len(ids), dtype=np.float64)
    after_s = np.frombuffer(truth.first_capture_after_s, dtype=np.float32)
    bounds = np.searchsorted(ids, [start for start, _ in column_chunks(count)] + [count])
    for (start, stop), first, last in zip(column_chunks(count), bounds[:-1], bounds[1:]):  # a chunk at a time
        chunk = ids[first:last]
        captured_at[first:last] = orders.created_at_column(start, stop)[chunk - start] + after_s[chunk]
    sellers, currencies = as_numpy(orders.seller)[ids], as_numpy(orders.currency)[ids]  # their own widths
    del ids
    transfers: dict[tuple[int, int], list[tuple[float, int]]] = {}
    provider = world.payout_provider
    for transfer in provider.report if provider is not None else ():
        transfers.setdefault((transfer.seller, transfer.currency), []).append((transfer.at_s, transfer.amount_minor))
    by_account = np.lexsort((captured_at, currencies, sellers))
    sellers, currencies = sellers[by_account], currencies[by_account]
    captured_at, owed = captured_at[by_account], owed[by_account]
    del by_account
    starts = np.flatnonzero(np.r_[True, (np.diff(sellers) != 0) | (np.diff(currencies) != 0)]) if len(owed) else []
    paid_at: list[float] = []
    paid_minor_each: list[int] = []
    transfer_bounds = [0]
    for seller, currency in zip(sellers[starts].tolist(), currencies[starts].tolist()):
        for at, minor in transfers.get((seller, currency), ()):
            paid_at.append(at)
            paid_minor_each.append(minor)
        transfer_bounds.append(len(paid_at))
    del sellers, currencies
    all_waits, all_amounts, unpaid = _matched_in_groups(
        captured_at, owed, np.append(np.asarray(starts, dtype=np.int64), len(owed)),
        np.array(paid_at, dtype=np.float64), np.array(paid_minor_each, dtype=np.int64),
        np.array(transfer_bounds, dtype=np.int64))
    del captured_at, owed  # matched: only the paid pieces are needed now
    paid_minor = int(all_amounts.sum())
    if not paid_minor:
        return SellerWait(None, None, 0, unpaid)
    mean = float((all_waits * all_amounts).sum() / paid_minor)
    return SellerWait(round(mean, 6), round(weighted_quantile(all_waits, all_amounts, 0.95), 6), paid_minor, unpaid)
