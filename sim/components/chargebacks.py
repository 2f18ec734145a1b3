"""Chargebacks: a buyer disputes a captured payment at the issuing bank.

Timeline of one dispute (only disputed payments cost events; the bank draws once per capture)::

    capture ──chargebacks.delay──▶ dispute: the bank gives the buyer the amount back
        ──notification_delay──▶ the PSP tells us: the ledger takes the amount back from the seller
                                and books the PSP's fee (the wallet follows)
    dispute ──resolution_delay──▶ won: the bank takes the amount from the buyer again, and after
        ──notification_delay──▶ the ledger gives it back to the seller (the fee stays lost) | lost

The outside half (dispute, outcome at the bank) is ground truth; the inside half (the notices and
what the ledger books) is the platform's. The PSP lists the dispute in its settlement file when it
happens (the amount taken back and the fee, netted from the settlement of its day) and a won
dispute when it is won (the amount given back): reconciliation matches them against the ledger.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Protocol

from sim.components.psp_settlement import CHARGEBACK
from sim.kernel.scheduling import call_after
from sim.config.distributions import make_sampler

if TYPE_CHECKING:
    import simpy

    from sim.components.psp import Psp
    from sim.config.model import ChargebacksConfig
    from sim.domain.truth import GroundTruth
    from sim.observe.metrics import Metrics
    from sim.rng import Streams


class DisputeBooks(Protocol):
    """Where a dispute notice is booked: the ledger, or the wallet that follows it. A protocol rather
    than their classes: compiled, a parameter typed ``Ledger`` accepts only that class (a test
    stands in a handler that loses the notice)."""

    def post_chargeback(self, order_id: int, amount_minor: int, fee_minor: int) -> None: ...


class DisputeBalances(Protocol):
    """The wallet as a dispute notice moves it (see :class:`DisputeBooks`)."""

    def take_back(self, order_id: int, amount_minor: int) -> None: ...


class Chargebacks:
    """Disputes: decided by the bank at capture, booked by the platform when the PSP tells it."""

    def __init__(
        self, env: "simpy.Environment", cfg: "ChargebacksConfig", balances, truth: "GroundTruth",
        ledger: DisputeBooks, wallet: DisputeBalances, streams: "Streams", metrics: "Metrics",
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.balances = balances
        """The banks' buyer balances (the bank's half of a dispute moves money there)."""
        self.truth = truth
        self.ledger = ledger
        self.wallet = wallet
        self._counters = metrics.counters
        self._decisions = streams.stream("chargebacks.decisions")
        self._delay = make_sampler(cfg.delay, streams.stream("chargebacks.delay"))
        self._notice = make_sampler(cfg.notification_delay, streams.stream("chargebacks.notice"))
        self._resolution = make_sampler(cfg.resolution_delay, streams.stream("chargebacks.resolution"))
        self.booked: dict[int, int] = {}
        """Order id -> chargebacks the ledger booked (a won dispute is booked back as -1)."""
        self.unnoticed_of: dict[int, int] = {}
        """Per order, moved at the bank, not yet told to the platform (notices in flight; a won
        dispute negative): the ledger cannot know it yet, and the money and completeness oracles
        allow for it (entries at 0 removed)."""
        self.unnoticed_fees_of: dict[int, int] = {}
        """Per order, the dispute fees of the notices in flight (entries at 0 removed)."""
        self.psp_of: "Callable[[int], Psp] | None" = None
        """The PSP whose settlement file lists an order's disputes (see :meth:`settle_through`)."""

    def settle_through(self, psp_of: "Callable[[int], Psp]") -> None:
        """List each dispute and won dispute in the settlement file of ``psp_of(order)``: the PSP
        that captured the payment (:class:`~sim.components.capturing_psp.CapturingPsp`)."""
        self.psp_of = psp_of

    def _line(self, order_id: int, amount_minor: int, fee_minor: int, currency: int) -> None:
        if self.psp_of is None:
            return
        psp = self.psp_of(order_id)
        now, settlement = self.env.now, psp.settlement
        settlement.adjust(CHARGEBACK, settlement.day_of(now, psp.faults.clock_skew_s), order_id, amount_minor,
                          fee_minor, currency, now, order_id)

    def on_capture(self, order_id: int, buyer: int, amount_minor: int, currency: int) -> None:
        """The bank captured ``amount_minor`` from ``buyer``: one draw says whether it is disputed."""
        if self._decisions.random() >= self.cfg.probability:
            return
        call_after(self.env, self._delay(), partial(self._dispute, order_id, buyer, amount_minor, currency))

    def _dispute(self, order_id: int, buyer: int, amount_minor: int, currency: int, _event: object) -> None:
        self.balances[buyer] += amount_minor
        self.truth.record_chargeback(order_id, amount_minor, currency)
        self._line(order_id, -amount_minor, self.cfg.fee_minor, currency)
        self._counters["chargebacks.disputed"] += 1
        self._unnoticed(order_id, amount_minor, self.cfg.fee_minor)
        call_after(self.env, self._notice(), partial(self._book, order_id, amount_minor, self.cfg.fee_minor))
        won = self._decisions.random() < self.cfg.win_probability
        call_after(self.env, self._resolution(), partial(self._resolve, order_id, buyer, amount_minor, currency, won))

    def _resolve(self, order_id: int, buyer: int, amount_minor: int, currency: int, won: bool, _event: object) -> None:
        if not won:
            self._counters["chargebacks.lost"] += 1
            return
        self._counters["chargebacks.won"] += 1
        self.balances[buyer] -= amount_minor
        self.truth.record_chargeback(order_id, -amount_minor, currency)
        self._line(order_id, amount_minor, 0, currency)
        self._unnoticed(order_id, -amount_minor)
        call_after(self.env, self._notice(), partial(self._book, order_id, -amount_minor, 0))

    def _book(self, order_id: int, amount_minor: int, fee_minor: int, _event: object) -> None:
        """The PSP's notice: take the amount back from the seller (give it back when negative, a won
        dispute) and book the fee."""
        self.booked[order_id] = self.booked.get(order_id, 0) + (1 if amount_minor > 0 else -1)
        self._unnoticed(order_id, -amount_minor, -fee_minor)
        self.ledger.post_chargeback(order_id, amount_minor, fee_minor)
        self.wallet.take_back(order_id, amount_minor)

    def _unnoticed(self, order_id: int, amount_minor: int, fee_minor: int = 0) -> None:
        _add(self.unnoticed_of, order_id, amount_minor)
        if fee_minor:
            _add(self.unnoticed_fees_of, order_id, fee_minor)


def _add(totals: dict[int, int], order_id: int, amount_minor: int) -> None:
    """Add to an order's total, dropping it at zero."""
    left = totals.get(order_id, 0) + amount_minor
    if left:
        totals[order_id] = left
    else:
        totals.pop(order_id, None)
