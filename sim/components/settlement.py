"""The PSPs paying their settlement days: each day's lines (by the PSP's clock, so a clock skew
moves a line across the cut-off) are paid ``settlement_days`` after the day closed, in one batch
per PSP and day, converted into the settlement currency, and the ledger books what it was paid.

A batch is net, as a real PSP pays: its captures less the refunds and chargebacks of the same
days (negative lines; a won dispute gives its amount back), less the fees of its lines (each
capture's PSP fee, each dispute's fee), every line converted at the rate of the settlement. The
ledger booked each line against the PSP receivable when it happened (captures and their fees at
the payment's booking, refunds at their confirmation, disputes at the PSP's notice), converted at
the rate of that moment; it books each converted line's difference to what was paid for it, net of
its fee, to FX gains and losses (and closes each capture's PSP clearing), so the net paid is what
the receivable moved by.

Runs only with FX on or PSP clearing on (one wake-up per day at the cut-off: no event per payment).
With PSP clearing, the ledger closes each capture's clearing entry against what was paid for it
(unless the FLAW ``ledger.import_settlements: false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generator

import numpy as np

from sim.components.fx import convert_minor
from sim.components.psp import DAY_S
from sim.components.psp_settlement import REFUND

if TYPE_CHECKING:
    import simpy

    from sim.components.fx import FxRates
    from sim.components.ledger import Ledger
    from sim.components.psp import Psp
    from sim.observe.metrics import Metrics

MAX_MISMATCHES_KEPT = 20
"""Settled lines whose ledger value differs from the payment, kept as examples."""


@dataclass(frozen=True)
class Batch:
    """One settlement: a PSP's days up to ``last_day`` paid at ``at_s``."""

    psp: str
    last_day: int
    at_s: float
    rows: int
    """Capture lines paid."""
    paid_minor: int
    """Net, in the settlement currency: ``captured_minor + refunded_minor + charged_back_minor − fees_minor``."""
    captured_minor: int = 0
    """The captures' gross amount."""
    refunded_minor: int = 0
    """The refund lines (negative)."""
    charged_back_minor: int = 0
    """The chargeback lines: disputes taken back (negative), won disputes given back (positive)."""
    fees_minor: int = 0
    """The PSP's fees on the lines (captures and disputes)."""
    lines: int = 0
    """Every line paid: captures, refunds, chargebacks."""


class Settlements:
    """The PSPs' daily settlement of captures, in the settlement currency (each PSP by its own
    cut-off and ``settlement_days``)."""

    def __init__(self, env: "simpy.Environment", psps: "list[Psp]", fx: "FxRates | None", ledger: "Ledger",
                 metrics: "Metrics", book: bool = True) -> None:
        self.env = env
        self.psps = psps
        self.fx = fx
        self.ledger = ledger
        self.metrics = metrics
        self.book = book
        """The ledger is told of each settlement (False: the FLAW ``ledger.import_settlements: false``)."""
        self._settled = {psp.slots.name: np.zeros(0, dtype=bool) for psp in psps}
        """Per PSP, per capture row of its settlement file: paid already."""
        self._adjusted = {psp.slots.name: 0 for psp in psps}
        """Per PSP: its refund and chargeback lines before this index are all paid."""
        self._adjusted_later: dict[str, set[int]] = {psp.slots.name: set() for psp in psps}
        """Per PSP: refund and chargeback lines from that index on paid already (dated before a skewed one)."""
        self.batches: list[Batch] = []
        self.fx_paid_minor = 0
        """What the PSP paid for the converted lines the ledger had booked (captures net of their
        fees, refunds, chargebacks; settlement minor units)."""
        self.mismatches: list[tuple[int, int, int, float]] = []
        """(order, ledger carries, PSP paid, at) of settled lines valued differently (first few)."""
        self.mismatched = 0
        self.mismatched_minor = 0
        self._unbooked: list[tuple[int, int]] = []
        """(order, PSP paid − ledger carries) of differences nobody has booked yet."""
        self.fixed: set[int] = set()
        """Orders whose unbooked difference a reconciliation booked since."""

    def start(self) -> None:
        for psp in self.psps:
            self.env.process(self._run(psp))

    def _run(self, psp: "Psp") -> Generator["simpy.Event", None, None]:
        """Wake at every cut-off: the PSP day ending there is closed; pay the days
        ``settlement_days`` older."""
        env = self.env
        cutoff_s, days = psp.cfg.settlement_cutoff_s % DAY_S, psp.cfg.settlement_days
        wake = 0
        while True:
            at = cutoff_s + wake * DAY_S
            if at > env.now:
                yield env.timeout(at - env.now)
            self.settle(psp, wake - 1 - days)
            wake += 1

    def settle(self, psp: "Psp", last_day: int) -> Batch:
        """Pay every line of ``psp`` not paid yet dated ``last_day`` or earlier, net, at the rate of now."""
        fx, ledger, now = self.fx, self.ledger, self.env.now
        days = psp.settlement_column("day")
        settled = self._settled[psp.slots.name]
        if len(settled) < len(days):
            settled = self._settled[psp.slots.name] = np.concatenate([settled, np.zeros(len(days) - len(settled), dtype=bool)])
        due = np.nonzero(~settled & (days <= last_day))[0]
        settled[due] = True
        orders = psp.settlement_column("order_id")[due].tolist()
        amounts = psp.settlement_column("amount_minor")[due].tolist()
        currencies = psp.settlement_column("currency")[due].tolist()
        fees = psp.settlement_column("fee_minor")[due].tolist()
        paid_total = fees_total = 0
        counters = self.metrics.counters
        clearing, book = ledger.clearing_open is not None, self.book
        for order_id, amount, currency, fee in zip(orders, amounts, currencies, fees):
            if fx is None or not fx.converts(currency):
                paid_total += amount
                fees_total += fee
                if clearing and book:
                    ledger.post_settlement(order_id, amount, currency, 1.0)
                continue
            rate = fx.rate(currency, now)
            counters["fx.settled_conversions"] += 1
            fees_total += convert_minor(fee, rate)
            paid_total += convert_minor(amount, rate)
            if book:
                self._valued(order_id, ledger.post_settlement(order_id, amount, currency, rate, fee), now)
        refunded, charged_back, adjustment_fees, netted = self._net(psp, last_day)
        fees_total += adjustment_fees
        batch = Batch(psp.slots.name, last_day, now, len(due), paid_total + refunded + charged_back - fees_total,
                      paid_total, refunded, charged_back, fees_total, len(due) + netted)
        if batch.lines:
            self.batches.append(batch)
        return batch

    def _valued(self, order_id: int, valued: tuple[int, int] | None, now: float) -> None:
        """A converted line the ledger valued at settlement: (what it carries, what the PSP paid),
        None when it had not booked it. Count what was paid; keep a difference it did not book."""
        if valued is None:
            return
        carried, paid = valued
        self.fx_paid_minor += paid
        if carried != paid:
            self.mismatched += 1
            self.mismatched_minor += abs(paid - carried)
            self._unbooked.append((order_id, paid - carried))
            if len(self.mismatches) < MAX_MISMATCHES_KEPT:
                self.mismatches.append((order_id, carried, paid, now))

    def _net(self, psp: "Psp", last_day: int) -> tuple[int, int, int, int]:
        """The refund and chargeback lines of ``psp`` dated ``last_day`` or earlier not paid yet, in
        the settlement currency at the rate of now, each converted line valued by the ledger against
        its booking: (refunds, chargebacks, their fees, lines). A line dated later (a clock skew)
        waits for its own day's batch. Refunds of extra captures (negative keys) the ledger never
        booked, nor does it value them."""
        fx, name, ledger, now = self.fx, psp.slots.name, self.ledger, self.env.now
        lines, paid = psp.settlement.adjustments, self._adjusted_later[name]
        refunded = charged_back = fees = count = 0
        start = self._adjusted[name]
        for index in range(start, len(lines)):
            line = lines[index]
            if index in paid or line.day > last_day:
                continue
            paid.add(index)
            amount, fee = line.amount_minor, line.fee_minor
            if fx is not None and fx.converts(line.currency):
                rate = fx.rate(line.currency, now)
                if self.book and (line.type != REFUND or line.key >= 0):
                    self._valued(line.order_id, ledger.post_money_back_settlement(
                        line.type, line.order_id, amount, fee, rate), now)
                amount, fee = convert_minor(amount, rate), convert_minor(fee, rate)
            if line.type == REFUND:
                refunded += amount
            else:
                charged_back += amount
            fees += fee
            count += 1
        while start in paid:
            paid.discard(start)
            start += 1
        self._adjusted[name] = start
        return refunded, charged_back, fees, count

    def take_unbooked(self) -> list[tuple[int, int]]:
        """(order, difference) of the settled lines the ledger carries at another value than the
        PSP paid, not handed out before: a reconciliation books them (they count as fixed)."""
        unbooked, self._unbooked = self._unbooked, []
        self.fixed.update(order for order, _difference in unbooked)
        return unbooked
