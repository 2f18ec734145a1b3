"""Payouts: no seller paid twice for one payout, never more than the ledger paid out, and every
payout's clearing entry closed by its deadline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def no_double_payout(world: "World") -> list[Violation]:
    """The provider's payout report has at most one transfer per payout id, and pays each seller
    no more, per currency, than the ledger booked as requested payouts to it."""
    provider, payouts = world.payout_provider, world.payouts
    if provider is None or payouts is None:
        return []
    violations = []
    transfers: dict[int, list[float]] = {}
    for transfer in provider.report:
        transfers.setdefault(transfer.payout_id, []).append(transfer.at_s)
    for payout_id, times in sorted(transfers.items()):
        if len(times) > 1:
            payout = payouts.payouts.get(payout_id)
            who = f"seller {payout.seller}, {payout.amount_minor} minor units" if payout else "unknown payout"
            violations.append(Violation(
                "no_double_payout",
                f"payout {payout_id} ({who}) transferred {len(times)} times, at "
                + ", ".join(f"{t:.3f}s" for t in times), [], times[1],
            ))
    sent: dict[tuple[int, int], int] = {}
    for transfer in provider.report:
        sent[(transfer.seller, transfer.currency)] = sent.get((transfer.seller, transfer.currency), 0) + transfer.amount_minor
    requested: dict[tuple[int, int], int] = {}
    for payout in payouts.payouts.values():
        requested[(payout.seller, payout.currency)] = requested.get((payout.seller, payout.currency), 0) + payout.amount_minor
    codes = world.population.currencies
    for (seller, currency), amount in sorted(sent.items()):
        if amount > requested.get((seller, currency), 0):
            violations.append(Violation(
                "no_double_payout",
                f"seller {seller} received {amount} {codes[currency]} but the ledger paid out only "
                f"{requested.get((seller, currency), 0)}",
            ))
    return violations


def clearing_closed(world: "World") -> list[Violation]:
    """Every payout's clearing entry is closed (paid or returned to the seller) within the
    clearing deadline of its opening; one still open at the end counts once its deadline passed."""
    payouts = world.payouts
    if payouts is None:
        return []
    deadline = payouts.cfg.clearing_deadline_s
    now = world.env.now
    violations = []
    for payout in payouts.payouts.values():
        due = payout.opened_at_s + deadline
        closed = payout.closed_at_s
        if (closed is None and now > due) or (closed is not None and closed > due):
            state = "still open" if closed is None else f"closed at {closed:.3f}s"
            violations.append(Violation(
                "clearing_closed",
                f"payout {payout.payout_id} (seller {payout.seller}) opened at {payout.opened_at_s:.3f}s, "
                f"{state}: past its deadline {due:.3f}s", [], due,
            ))
    return violations
