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

from sim.domain.distinct import distinct
from sim.domain.orders import as_numpy, column_chunks
from sim.domain.spill import SPILL_AFTER_ROWS, Spill, pairwise_sum
from sim.domain.spill import weighted_quantile as spilled_quantile

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
    unpaid_minor_by_currency: dict[int, int]
    """``unpaid_minor`` per currency (index into the population's currencies; only those owed)."""


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
    cuts = distinct(np.concatenate([[0], owed_end[owed_end < paid_total], paid_end[paid_end < paid_total], [paid_total]]))
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
    cuts = distinct(np.concatenate([offset, owed_end[owed_end < np.repeat(limit, credit_counts)],
                                     paid_end[paid_end < np.repeat(limit, transfer_counts)], limit]))
    pieces, ends = np.diff(cuts), cuts[1:]
    paid = ends <= limit[np.searchsorted(account_end, ends, side="left")]  # not a gap between accounts
    pieces, ends = pieces[paid], ends[paid]
    credit = np.searchsorted(owed_end, ends, side="left")
    transfer = np.searchsorted(paid_end, ends, side="left")
    waits = np.maximum(transfer_at[transfer] - credit_at[credit], 0.0) if len(ends) else np.zeros(0)
    return waits, pieces, int((account_end - offset - paid_total).sum())


GROUP_CREDITS = 1 << 18
"""Credits matched per :func:`fifo_waits_by_account` call: its temporaries are a few arrays the
size of what it matches, ~100 bytes a credit (~25 MiB a group), so a simulated day's ~12 M
payments go in groups of whole accounts instead of at once (the pieces and their order are the same)."""


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


class _Owed:
    """What sellers are owed per payment, read from the world's columns a chunk of orders at a time:
    every payment the ledger booked and the bank captured, its captured amount (a partial capture
    took less), less what refunds and chargebacks took back, each net of the commission."""

    def __init__(self, world: "World") -> None:
        orders, ledger, truth, capture = world.orders, world.ledger, world.truth, world.capture
        self.orders, self.count = orders, min(len(orders), len(ledger.recorded), len(truth.captures))
        self.recorded, self.captures = as_numpy(ledger.recorded), as_numpy(truth.captures)
        self.amount = as_numpy(orders.amount_minor)
        self.seller, self.currency = as_numpy(orders.seller), as_numpy(orders.currency)
        self.after_s = np.frombuffer(truth.first_capture_after_s, dtype=np.float32)
        self.partial = _sorted_items(capture.amount_minor if capture is not None else {})
        self.given_back = [_sorted_items(m) for m in (ledger.refunded_minor_of, ledger.charged_back_minor_of) if m]
        self.rate = ledger.fees.commission_rate if ledger.fees is not None else None

    def rows(self, start: int, stop: int, sellers: tuple[int, int] | None = None,
             times: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(order ids ascending, amounts owed > 0, capture times, accounts) of orders ``start:stop``
        (of sellers ``sellers[0]:sellers[1]`` only, when given; no times unless ``times``). An
        account is ``seller * 256 + currency``: accounts sort as (seller, currency)."""
        stop = min(stop, self.count)
        seller = self.seller[start:stop]
        booked = (self.recorded[start:stop] > 0) & (self.captures[start:stop] > 0)
        if sellers is not None:
            booked &= (seller >= sellers[0]) & (seller < sellers[1])
        ids = np.nonzero(booked)[0] + start
        del booked
        owed = self.amount[ids].astype(np.int64)
        _put(owed, ids, self.partial, add=False)
        taken_back = np.zeros(len(ids), dtype=np.int64)
        for items in self.given_back:
            _put(taken_back, ids, items, add=True)
        if self.rate is not None:  # the seller's share
            owed -= (owed * self.rate).astype(np.int64)
            taken_back -= (taken_back * self.rate).astype(np.int64)
        owed -= taken_back
        keep = owed > 0
        ids, owed = ids[keep], owed[keep]
        accounts = self.seller[ids].astype(np.int64) * 256 + self.currency[ids]
        if not times or not len(ids):
            return ids, owed, np.zeros(len(ids)), accounts
        captured_at = self.orders.created_at_column(start, stop)[ids - start] + self.after_s[ids]
        return ids, owed, captured_at, accounts


def _sorted_items(mapping) -> tuple[np.ndarray, np.ndarray]:
    """(keys ascending, their values) of an int-to-int mapping, as int64 columns."""
    keys = np.fromiter(mapping.keys(), dtype=np.int64, count=len(mapping))
    values = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]


def _put(column: np.ndarray, ids: np.ndarray, items: tuple[np.ndarray, np.ndarray], add: bool) -> None:
    """Set (or add) ``items``' values at the rows of ``column`` whose order id (``ids``, ascending)
    is an item's key; keys not among ``ids`` are skipped."""
    keys, values = items
    if not len(ids) or not len(keys):
        return
    low, high = int(np.searchsorted(keys, ids[0], side="left")), int(np.searchsorted(keys, ids[-1], side="right"))
    keys, values = keys[low:high], values[low:high]
    at = np.searchsorted(ids, keys)
    hit = at < len(ids)
    hit[hit] = ids[at[hit]] == keys[hit]
    if add:
        np.add.at(column, at[hit], values[hit])
    else:
        column[at[hit]] = values[hit]


def _add_unpaid(unpaid: dict[int, int], accounts: np.ndarray, amounts: np.ndarray, starts: np.ndarray,
                transfers: np.ndarray, transfer_bounds: np.ndarray) -> None:
    """Add each account's money still owed (what it was owed less what was transferred to it, never
    below 0: the part of the line :func:`fifo_waits_by_account` leaves unpaid) to its currency's
    total in ``unpaid``. Accounts (``seller * 256 + currency``) start at ``starts`` of ``amounts``."""
    if not len(starts):
        return
    owed = np.add.reduceat(amounts, starts)
    paid_all = np.concatenate([[0], np.cumsum(transfers)])
    left = owed - np.minimum(owed, paid_all[transfer_bounds[1:]] - paid_all[transfer_bounds[:-1]])
    for currency, minor in zip((accounts & 0xFF).tolist(), left.tolist()):
        if minor:
            unpaid[currency] = unpaid.get(currency, 0) + minor


def _transfers_of(transfers: tuple[np.ndarray, np.ndarray, np.ndarray],
                  accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The transfers to ``accounts`` (ascending), account after account and each account's in time
    order: their times, amounts and bounds (account ``k``'s are ``bounds[k]:bounds[k + 1]``), from
    every transfer's (account, time, amount) sorted by account (:meth:`TransferReport.by_account`)."""
    by_account, at, amount = transfers
    first = np.searchsorted(by_account, accounts, side="left")
    counts = np.searchsorted(by_account, accounts, side="right") - first
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = np.repeat(first - bounds[:-1], counts) + np.arange(bounds[-1])
    return at[rows], amount[rows], bounds


def _seller_groups(owed: _Owed, group_credits: int) -> list[tuple[int, int]]:
    """Consecutive ranges of sellers of about ``group_credits`` credits each (a seller with more is a
    range of its own), from a count of every seller's credits."""
    per_seller = np.zeros(0, np.int64)
    for start, stop in column_chunks(owed.count):
        counts = np.bincount(owed.rows(start, stop, times=False)[3] >> 8)
        if len(counts) > len(per_seller):
            per_seller = np.concatenate([per_seller, np.zeros(len(counts) - len(per_seller), np.int64)])
        per_seller[:len(counts)] += counts
    ends = np.cumsum(per_seller)
    groups, first = [], 0
    while first < len(per_seller):
        before = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(ends, before + group_credits, side="right")))
        groups.append((first, last))
        first = last
    return groups


def seller_wait(world: "World", group_credits: int = GROUP_CREDITS, spill_after: int = SPILL_AFTER_ROWS) -> SellerWait:
    """The seller's wait over every payment the ledger booked and the bank captured. Sellers are
    matched in groups of about ``group_credits`` credits, each group's payments read from the
    columns a chunk at a time; the paid pieces go to a :class:`Spill` (a temporary file past
    ``spill_after``) and are reduced from it: the numbers of one pass over every account at once,
    with memory bounded by a group at any run size."""
    owed = _Owed(world)
    provider = world.payout_provider
    transfers = provider.report.by_account() if provider is not None else \
        (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    unpaid, paid_minor = 0, 0
    unpaid_by_currency: dict[int, int] = {}
    with Spill(spill_after) as pieces:
        for sellers in _seller_groups(owed, group_credits):
            parts = [owed.rows(start, stop, sellers) for start, stop in column_chunks(owed.count)]
            amounts = np.concatenate([p[1] for p in parts])
            captured_at = np.concatenate([p[2] for p in parts])
            accounts = np.concatenate([p[3] for p in parts])
            del parts
            by_account = np.lexsort((captured_at, accounts))
            accounts, captured_at, amounts = accounts[by_account], captured_at[by_account], amounts[by_account]
            del by_account
            starts = np.flatnonzero(np.r_[True, np.diff(accounts) != 0]) if len(accounts) else np.zeros(0, np.int64)
            paid_at, paid_minor_each, transfer_bounds = _transfers_of(transfers, accounts[starts])
            _add_unpaid(unpaid_by_currency, accounts[starts], amounts, starts, paid_minor_each, transfer_bounds)
            del accounts
            waits, paid, left = _matched_in_groups(
                captured_at, amounts, np.append(starts.astype(np.int64), len(amounts)),
                paid_at, paid_minor_each, transfer_bounds, group_credits)
            del captured_at, amounts
            unpaid += left
            paid_minor += int(paid.sum())
            pieces.append(waits, paid)
            del waits, paid
        if not paid_minor:
            return SellerWait(None, None, 0, unpaid, unpaid_by_currency)

        def weighted(start: int, stop: int) -> np.ndarray:
            waits, paid = pieces.read(start, stop)
            return waits * paid

        mean = pairwise_sum(weighted, pieces.rows) / paid_minor
        return SellerWait(round(mean, 6), round(spilled_quantile(pieces, 0.95), 6), paid_minor, unpaid, unpaid_by_currency)
