"""The PSP paying its settlement days: each day's captures (by the PSP's clock, so a clock skew
moves a capture across the cut-off) are paid ``settlement_days`` after the day closed, converted
into the settlement currency at the rate of that moment, and the ledger books what it was paid.

Runs only with FX on (one wake-up per day at the cut-off: no event per payment). The PSP pays the
gross amount of each capture (its fees invoiced apart); a capture in the settlement currency is
paid as captured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generator

import numpy as np

from sim.components.psp import DAY_S

if TYPE_CHECKING:
    import simpy

    from sim.components.fx import FxRates
    from sim.components.ledger import Ledger
    from sim.components.psp import Psp
    from sim.observe.metrics import Metrics

MAX_MISMATCHES_KEPT = 20
"""Settled captures whose ledger value differs from the payment, kept as examples."""


@dataclass(frozen=True)
class Batch:
    """One settlement: the PSP's days up to ``last_day`` paid at ``at_s``."""

    last_day: int
    at_s: float
    rows: int
    paid_minor: int
    """In the settlement currency."""


class Settlements:
    """The PSP's daily settlement of captures, in the settlement currency."""

    def __init__(self, env: "simpy.Environment", psp: "Psp", fx: "FxRates", ledger: "Ledger",
                 metrics: "Metrics") -> None:
        self.env = env
        self.psp = psp
        self.fx = fx
        self.ledger = ledger
        self.metrics = metrics
        self.days = psp.cfg.settlement_days
        self.cutoff_s = psp.cfg.settlement_cutoff_s % DAY_S
        self._settled = np.zeros(0, dtype=bool)
        """Per settlement-file row: paid already."""
        self.batches: list[Batch] = []
        self.fx_paid_minor = 0
        """What the PSP paid for the converted captures the ledger had booked (settlement minor units)."""
        self.mismatches: list[tuple[int, int, int, float]] = []
        """(order, ledger carries, PSP paid, at) of settled captures valued differently (first few)."""
        self.mismatched = 0
        self.mismatched_minor = 0

    def start(self) -> None:
        self.env.process(self._run())

    def _run(self) -> Generator["simpy.Event", None, None]:
        """Wake at every cut-off: the PSP day ending there is closed; pay the days ``days`` older."""
        env = self.env
        wake = 0
        while True:
            at = self.cutoff_s + wake * DAY_S
            if at > env.now:
                yield env.timeout(at - env.now)
            self.settle(wake - 1 - self.days)
            wake += 1

    def settle(self, last_day: int) -> Batch:
        """Pay every row not paid yet dated ``last_day`` or earlier, at the rate of now."""
        psp, fx, ledger, now = self.psp, self.fx, self.ledger, self.env.now
        days = psp.settlement_column("day")
        if len(self._settled) < len(days):
            self._settled = np.concatenate([self._settled, np.zeros(len(days) - len(self._settled), dtype=bool)])
        due = np.nonzero(~self._settled & (days <= last_day))[0]
        self._settled[due] = True
        orders = psp.settlement_column("order_id")[due].tolist()
        amounts = psp.settlement_column("amount_minor")[due].tolist()
        currencies = psp.settlement_column("currency")[due].tolist()
        paid_total = 0
        counters = self.metrics.counters
        for order_id, amount, currency in zip(orders, amounts, currencies):
            if not fx.converts(currency):
                paid_total += amount
                continue
            rate = fx.rate(currency, now)
            counters["fx.settled_conversions"] += 1
            valued = ledger.post_fx_settlement(order_id, amount, currency, rate)
            if valued is None:
                paid_total += fx.convert(currency, amount, now)
                continue
            carried, paid = valued
            paid_total += paid
            self.fx_paid_minor += paid
            if carried != paid:
                self.mismatched += 1
                self.mismatched_minor += abs(paid - carried)
                if len(self.mismatches) < MAX_MISMATCHES_KEPT:
                    self.mismatches.append((order_id, carried, paid, now))
        batch = Batch(last_day, now, len(due), paid_total)
        if len(due):
            self.batches.append(batch)
        return batch
