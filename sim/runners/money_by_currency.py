"""A run's money per currency: each amount the summary adds up over currencies, split by currency.

Minor units of two currencies added together are no amount of money (cents and pence summed
read "1,879,505"). With more than one currency in the workload the summary carries each
currency's part beside the sum (``summary.money_by_currency``), and the reports show money as
"11,704.95 EUR + 7,090.10 USD". The sums stay, unchanged, for what needs one number: expectations,
rankings, sweeps. Each part is read from the same source as its sum, so the parts add up to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.components.reconciliation import BUCKETS, ReconciliationReport
from sim.domain.orders import as_numpy

if TYPE_CHECKING:
    from sim.components.seller_wait import SellerWait
    from sim.world import World

AMOUNTS = ("money_at_risk_minor", "held_twice_minor", "double_charged_minor", "refunded_minor", "paid_back_minor",
           "charged_back_minor", "chargeback_fees_minor", "paid_out_minor", "seller_unpaid_minor")
"""The amounts split by currency, named as in the summary (``refunded_minor`` is
``summary.refunds.refunded_minor``, and so on)."""


def per_order(world: "World", amounts: dict) -> dict[int, int]:
    """An order-id-to-amount mapping (``keys()``, ``values()``) summed per currency index."""
    count = len(world.population.currencies)
    totals = np.zeros(count, np.int64)
    keys = np.fromiter(amounts.keys(), dtype=np.int64, count=len(amounts))
    if len(keys):
        values = np.fromiter(amounts.values(), dtype=np.int64, count=len(amounts))
        np.add.at(totals, as_numpy(world.orders.currency)[keys], values)
    return {index: int(total) for index, total in enumerate(totals.tolist()) if total}


def money_by_currency(world: "World", recon: ReconciliationReport | None, at_risk: dict[int, int],
                      twice: dict, wait: "SellerWait | None") -> dict[str, dict] | None:
    """Every amount of :data:`AMOUNTS` and the reconciliation's money per bucket, per currency code
    (every currency of the workload, zeros included); None with one currency (its amounts are the sums).
    ``at_risk``, ``twice`` and ``wait``: the summary's own money at risk per currency index,
    :func:`sim.oracles.money.doubled` and the seller's wait (None without payouts)."""
    codes = world.population.currencies
    if len(codes) < 2:
        return None
    ledger, truth = world.ledger, world.truth
    payouts = world.payouts
    paid_out: dict[int, int] = {}
    for payout in payouts.payouts.values() if payouts is not None else ():
        if payout.outcome == "paid":
            paid_out[payout.currency] = paid_out.get(payout.currency, 0) + payout.amount_minor
    parts = {
        "money_at_risk_minor": at_risk,
        "held_twice_minor": twice["held_twice_minor_by_currency"],
        "double_charged_minor": twice["captured_twice_minor_by_currency"],
        "refunded_minor": per_order(world, ledger.refunded_minor_of),
        "paid_back_minor": truth.refunded_minor_by_currency,
        "charged_back_minor": per_order(world, ledger.charged_back_minor_of),
        "chargeback_fees_minor": per_order(world, ledger.chargeback_fees_of),
        "paid_out_minor": paid_out,
        "seller_unpaid_minor": wait.unpaid_minor_by_currency if wait is not None else {},
    }
    recon_parts = recon_by_currency(world, recon) if recon is not None else None
    result: dict[str, dict] = {}
    for index, code in enumerate(codes):
        money: dict = {name: int(parts[name].get(index, 0)) for name in AMOUNTS}
        if recon_parts is not None:
            money["reconciliation_minor"] = recon_parts[code]
        result[code] = money
    return result


def recon_by_currency(world: "World", report: ReconciliationReport) -> dict[str, dict[str, int]] | None:
    """A reconciliation's money per bucket (``amounts()``) per currency code, every currency of the
    workload; None with one currency."""
    codes = world.population.currencies
    if len(codes) < 2:
        return None
    parts = report.amounts_by_currency(world.orders)
    return {code: dict(parts.get(index, dict.fromkeys(BUCKETS, 0))) for index, code in enumerate(codes)}
