"""Money invariants: no double charge (captured twice), a balanced ledger, wallet = ledger, money
conserved; and the held-twice / captured-twice counts and amounts the KPIs report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from sim.components.capture import WAITING as CAPTURE_WAITING
from sim.components.ledger import (
    CHARGEBACK_FEES, FX_CONVERSION, FX_GAINS_LOSSES, PSP_CLEARING, PSP_FEES, PSP_RECEIVABLE,
)

BUYER_MONEY_ACCOUNTS = frozenset({PSP_RECEIVABLE, PSP_CLEARING, PSP_FEES, CHARGEBACK_FEES, FX_CONVERSION, FX_GAINS_LOSSES})
"""Where the ledger keeps the buyers' money: with the PSP (settled, or in PSP clearing), or paid to
it as fees. With FX, the
conversion account holds in each presentment currency what the PSP holds for us in the settlement
currency (and there, with the FX result, nets the converted part out): each currency's sum stays
what buyers paid in it."""
from sim.domain.orders import COLUMN_CHUNK, as_numpy, column_chunks
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def no_double_charge(world: "World") -> list[Violation]:
    """Per cart line (what the buyer meant to buy once), successful captures at the bank <= 1: money
    taken twice. (Held twice, a hold released later, is temporary harm: see :func:`doubled`.)"""
    truth, orders = world.truth, world.orders
    by_line: dict[int, list[int]] = {}
    captures = truth.captures
    for order_id in orders_on_charged_lines(truth.captures, orders.line_column):
        by_line.setdefault(orders.line[order_id], []).extend([order_id] * captures[order_id])
    violations = []
    for line, charged in by_line.items():
        if len(charged) > 1:
            distinct = sorted(set(charged))
            times = [truth.first_capture_at[o] for o in distinct] + truth.extra_capture_times.get(distinct[0], [])
            how = "same order charged again" if len(distinct) == 1 else f"{len(distinct)} orders for one cart line"
            violations.append(Violation(
                "no_double_charge",
                f"buyer charged {len(charged)} times for cart line {line} ({how}): "
                f"orders {distinct}, captures at {', '.join(f'{t:.3f}s' for t in sorted(times))}",
                distinct, min(times),
            ))
    return violations


def doubled(world: "World") -> dict[str, int]:
    """Cart lines held more than once and captured more than once, with the extra amounts (minor
    units, summed over currencies, and per currency index): ``held_twice``, ``held_twice_minor``,
    ``held_twice_minor_by_currency``, and the same of ``captured_twice``. Captured at
    authorisation, every hold is a capture and both agree."""
    truth, orders = world.truth, world.orders
    result: dict = {}
    for name, counts in (("held_twice", truth.holds), ("captured_twice", truth.captures)):
        per_line = captures_per_line(counts, orders.line_column)
        doubled_lines = int(np.count_nonzero(per_line > 1))
        by_currency: dict[int, int] = {}
        if doubled_lines:  # rare: only the orders on those lines are read one by one
            on_doubled, their_lines = charged_on_doubled_lines(counts, orders.line_column, per_line)
            taken: dict[int, list[int]] = {}
            currency_of_line: dict[int, int] = {}
            for order_id, line in zip(on_doubled.tolist(), their_lines.tolist()):
                currency_of_line[line] = orders.currency[order_id]  # a cart line is in one currency
                if name == "captured_twice" and truth.holds_apart:
                    taken.setdefault(line, []).extend(truth.captured_minor_of.get(order_id, []))
                else:
                    taken.setdefault(line, []).extend([orders.amount_minor[order_id]] * counts[order_id])
            for line, values in taken.items():
                extra = sum(values) - max(values)
                if extra:
                    currency = currency_of_line[line]
                    by_currency[currency] = by_currency.get(currency, 0) + extra
        result[name] = doubled_lines
        result[f"{name}_minor"] = sum(by_currency.values())
        result[f"{name}_minor_by_currency"] = by_currency
    return result


LineReader = Callable[[int, int], np.ndarray]
"""``lines(start, stop)``: the cart lines of orders ``start:stop`` (``Orders.line_column``)."""


def captures_per_line(captures: bytearray, lines: LineReader, chunk: int | None = None) -> np.ndarray:
    """Captures summed per cart line (int32, indexed by line; empty when nothing was captured), from
    per-order counts ``captures`` (bank truth), ``chunk`` orders at a time: no full-size temporary.
    The last chunk (the highest lines) comes first, so the total is rarely grown."""
    caps = as_numpy(captures)
    total = np.zeros(0, np.int32)
    for start, stop in reversed(column_chunks(len(caps), chunk or COLUMN_CHUNK)):
        counts = caps[start:stop]
        charged = np.nonzero(counts)[0]
        if not len(charged):
            continue
        line_of = lines(start, stop)[charged]
        low = int(line_of.min())
        line_of -= low
        part = np.bincount(line_of)  # one per charged order: no float weights
        counts = counts[charged]
        again = np.nonzero(counts > 1)[0]  # orders captured more than once (rare): their extra captures
        if len(again):
            np.add.at(part, line_of[again], counts[again].astype(np.int64) - 1)
        if low + len(part) > len(total):
            grown = np.zeros(low + len(part), np.int32)
            grown[:len(total)] = total
            total = grown
        total[low:low + len(part)] += part.astype(np.int32)
    return total


def charged_on_doubled_lines(captures: bytearray, lines: LineReader, per_line: np.ndarray,
                             chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(order ids ascending, their cart lines) of the orders with a capture on a line whose
    ``per_line`` count exceeds one, ``chunk`` orders at a time."""
    caps = as_numpy(captures)
    ids, their_lines = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start, stop in column_chunks(len(caps), chunk or COLUMN_CHUNK):
        charged = np.nonzero(caps[start:stop])[0]
        line_of = lines(start, stop)[charged]
        hit = per_line[line_of] > 1
        ids.append(charged[hit] + start)
        their_lines.append(line_of[hit])
    return np.concatenate(ids), np.concatenate(their_lines)


def orders_on_charged_lines(captures: bytearray, lines: LineReader, chunk: int | None = None) -> list[int]:
    """Order ids (ascending) with a capture, on a cart line captured more than once."""
    per_line = captures_per_line(captures, lines, chunk)
    if not (per_line > 1).any():
        return []
    return charged_on_doubled_lines(captures, lines, per_line, chunk)[0].tolist()


def ledger_balanced(world: "World") -> list[Violation]:
    """Every transaction sums to zero, and so does the ledger per currency."""
    ledger = world.ledger
    violations = [
        Violation("ledger_balanced", f"transaction of order {o} has only one entry (written at {t:.3f}s)", [o], t)
        for o, t in ledger.unbalanced
    ]
    totals: dict[int, int] = {}
    for (_account, currency), amount in ledger.balances.items():
        totals[currency] = totals.get(currency, 0) + amount
    for currency, total in sorted(totals.items()):
        if total != 0:
            code = world.population.currencies[currency]
            violations.append(Violation("ledger_balanced", f"ledger entries in {code} sum to {total}, not 0"))
    return violations


def wallet_equals_ledger(world: "World") -> list[Violation]:
    """Each seller's wallet balance equals what the ledger owes the seller, once quiescent."""
    wallet, ledger = world.wallet, world.ledger
    violations = []
    currencies = world.population.currencies
    for seller in range(world.population.sellers):
        for currency in range(len(currencies)):
            in_wallet = wallet.seller_balance(seller, currency)
            in_ledger = ledger.seller_payable(seller, currency)
            if in_wallet != in_ledger:
                violations.append(Violation(
                    "wallet_equals_ledger",
                    f"seller {seller} ({world.population.seller_names[seller]}): wallet {in_wallet} "
                    f"{currencies[currency]} but ledger {in_ledger}",
                ))
    return violations


def unnoticed_minor_by_currency(world: "World") -> dict[int, int]:
    """Money moved at the banks that the ledger cannot know of yet, per currency: disputes and won
    disputes whose notice is on its way (a won one counts negative), refunds whose answer we have
    not had, and holds that expired while our capture service still waits to capture them (it
    learns at its capture, refused; the ledger then takes the payment back). Per currency: one
    currency's notices in flight say nothing of another's ledger."""
    currency_of = world.orders.currency
    per_currency: dict[int, int] = {}
    pending: list[dict[int, int]] = []
    if world.chargebacks is not None:
        pending.append(world.chargebacks.unnoticed_of)
    if world.refunds is not None:
        pending.append(world.refunds.unsettled_of())
    if world.capture is not None:
        pending.append(expired_before_capture(world))
    for per_order in pending:
        for order_id, amount in per_order.items():
            currency = currency_of[order_id]
            per_currency[currency] = per_currency.get(currency, 0) + amount
    return per_currency


def expired_before_capture(world: "World") -> dict[int, int]:
    """Per order our capture service has not yet captured or voided (its shipment still to come, or
    its capture being retried), what its expired holds gave back to the buyer: the bank released
    it, the ledger still carries the authorisation until the capture is refused."""
    capture, expired = world.capture, {}
    for order_id, holds in (world.banks.holds or {}).items():
        if capture.status_of(order_id) == CAPTURE_WAITING:
            released = sum(hold.rest_minor for hold in holds if hold.expired)
            if released:
                expired[order_id] = released
    return expired


def money_conserved(world: "World") -> list[Violation]:
    """The ledger never claims more than buyers paid. (1) What buyers lost at their banks (net of
    refunds; holds count, the ledger books a payment at its success) is at least what the ledger says the PSP holds for us (its
    PSP receivable: captures booked − refunds booked), over all currencies: a refund the PSP made
    twice but the ledger booked once, or a capture booked twice, breaks it. (2) Per currency, the
    PSP receivable is at most what the PSP captured less what it refunded and charged back (plus
    open holds). Disputes whose notice is still on its way, and refunds whose answer we have not
    had (in flight, or given up on: a by-hand item), are allowed for in both.
    Both allowances are per currency (:func:`unnoticed_minor_by_currency`). A capture the ledger
    has not booked yet is reconciliation's business, not a violation here."""
    banks, truth, ledger = world.banks, world.truth, world.ledger
    violations = []
    currencies = set(truth.captured_minor_by_currency) | set(truth.held_minor_by_currency)
    open_holds = sum(truth.open_held_minor(currency) for currency in currencies)
    buyers_paid = banks.initial_total_minor - sum(banks.balance_minor)  # holds included: booked at success
    unnoticed_by_currency = unnoticed_minor_by_currency(world)
    buyers_paid += sum(unnoticed_by_currency.values())
    receivables: dict[int, int] = {}  # what the ledger says buyers paid: held by the PSP, or paid to it as fees
    for (account, currency), amount in ledger.balances.items():
        if account in BUYER_MONEY_ACCOUNTS:
            receivables[currency] = receivables.get(currency, 0) + amount
    for currency, amount in ledger.paid_out_minor.items():  # paid to sellers out of the PSP receivable
        receivables[currency] = receivables.get(currency, 0) + amount
    booked = sum(receivables.values())
    if booked > buyers_paid:
        violations.append(Violation(
            "money_conserved", f"the ledger says buyers paid {booked} net, but they lost only {buyers_paid} at their banks"
            + (f" (of which {open_holds} on hold)" if open_holds else "")
        ))
    for currency in sorted(set(receivables) | currencies):
        receivable = receivables.get(currency, 0)
        captured = truth.captured_minor_by_currency.get(currency, 0)
        refunded = truth.refunded_minor_by_currency.get(currency, 0)
        refunded += truth.charged_back_minor_by_currency.get(currency, 0)
        open_hold = truth.open_held_minor(currency)  # to be captured at shipment (delayed captures)
        if receivable > captured - refunded + open_hold + unnoticed_by_currency.get(currency, 0):
            code = world.population.currencies[currency]
            more = f" and gave back {refunded}" if refunded else ""
            more += f" (holds {open_hold} open)" if truth.holds_apart else ""
            violations.append(Violation(
                "money_conserved", f"ledger expects {receivable} {code} from the PSP, which captured only {captured}{more}"
            ))
    return violations
