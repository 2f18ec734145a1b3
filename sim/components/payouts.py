"""Our payout service: pays sellers what the ledger owes them, on a schedule, through the payout
provider.

Every ``payouts.interval`` (daily by default), one run, for each seller and currency:

    payable = min(balance now, balance ``lag`` ago) − reserve − nothing if that is ≤ 0
    ledger: seller payable → payout clearing (the wallet follows)   one payout id per payout
    provider call with key = payout id, retried after timeouts and retryable answers:
        APPROVED ──▶ clearing → PSP receivable (the money left)
        gave up  ──▶ left open: the next run reads the provider's payout report and closes it
                     (paid: as APPROVED; not paid: back to the seller)

A balance driven negative (refunds, chargebacks) is paid nothing until credits cover it. Each
payout's clearing entry must be closed within ``payouts.clearing_deadline``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping
from itertools import compress
from typing import TYPE_CHECKING, Generator

import simpy

from sim.components.psp import DEFINITE_SUCCESS, ReplyEvent
from sim.kernel.scheduling import Waitable, first_of
from sim.policies.retry import Retrier

if TYPE_CHECKING:
    from sim.components.ledger import Ledger
    from sim.components.payout_provider import PayoutProvider
    from sim.components.wallet import Wallet
    from sim.config.model import PayoutsConfig
    from sim.observe.metrics import Metrics
    from sim.rng import Streams


_OUTCOMES = ("open", "paid", "returned")
_PAID = _OUTCOMES.index("paid")


class Payout:
    """One payout: a view of its row in a :class:`PayoutBook` (reads and writes go to the columns)."""

    __slots__ = ("_book", "payout_id")

    def __init__(self, book: "PayoutBook", payout_id: int) -> None:
        self._book = book
        self.payout_id = payout_id

    @property
    def seller(self) -> int:
        return self._book._seller[self.payout_id - 1]

    @property
    def currency(self) -> int:
        return self._book._currency[self.payout_id - 1]

    @property
    def amount_minor(self) -> int:
        return self._book._amount[self.payout_id - 1]

    @property
    def opened_at_s(self) -> float:
        return self._book._opened[self.payout_id - 1]

    @property
    def closed_at_s(self) -> float | None:
        """When it was closed (paid or returned); None while open."""
        at = self._book._closed[self.payout_id - 1]
        return None if math.isnan(at) else at

    @closed_at_s.setter
    def closed_at_s(self, at_s: float | None) -> None:
        self._book._closed[self.payout_id - 1] = math.nan if at_s is None else at_s

    @property
    def outcome(self) -> str:
        """open, paid, returned (not paid: back to the seller's balance)."""
        return _OUTCOMES[self._book._outcome[self.payout_id - 1]]

    @outcome.setter
    def outcome(self, outcome: str) -> None:
        self._book._outcome[self.payout_id - 1] = _OUTCOMES.index(outcome)

    def __repr__(self) -> str:
        return (f"Payout(payout_id={self.payout_id}, seller={self.seller}, currency={self.currency}, "
                f"amount_minor={self.amount_minor}, opened_at_s={self.opened_at_s}, "
                f"closed_at_s={self.closed_at_s}, outcome={self.outcome!r})")


class PayoutBook(Mapping[int, Payout]):
    """Payout id (from 1, in request order) -> :class:`Payout`, kept as columns: a payout is six
    numbers, not an object, a dict entry and four number objects (~230 bytes)."""

    def __init__(self) -> None:
        self._seller = array("q")
        self._currency = array("q")
        self._amount = array("q")
        self._opened = array("d")
        self._closed = array("d")  # NaN while open
        self._outcome = bytearray()  # index into _OUTCOMES

    def open(self, seller: int, currency: int, amount_minor: int, now: float) -> Payout:
        """A new open payout (the next id)."""
        self._seller.append(seller)
        self._currency.append(currency)
        self._amount.append(amount_minor)
        self._opened.append(now)
        self._closed.append(math.nan)
        self._outcome.append(0)
        return Payout(self, len(self._outcome))

    def open_ids(self) -> list[int]:
        """The ids of the payouts still open, in id order (a scan of one byte column, in C)."""
        outcome, found, at = self._outcome, [], self._outcome.find(0)
        while at >= 0:
            found.append(at + 1)
            at = outcome.find(0, at + 1)
        return found

    def count(self, outcome: str) -> int:
        """How many payouts have ``outcome`` (a count over one byte column, in C)."""
        return self._outcome.count(_OUTCOMES.index(outcome))

    def paid(self) -> tuple[list[int], list[float]]:
        """The paid payouts' amounts and delays (request to transfer known), in id order: read
        from the columns, not through a :class:`Payout` view each (the run's summary)."""
        paid = [outcome == _PAID for outcome in self._outcome]
        return (list(compress(self._amount, paid)),
                [closed - opened for closed, opened in compress(zip(self._closed, self._opened), paid)])

    def __getitem__(self, payout_id: int) -> Payout:
        if not (type(payout_id) is int and 1 <= payout_id <= len(self._outcome)):
            raise KeyError(payout_id)
        return Payout(self, payout_id)

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, len(self._outcome) + 1))

    def __len__(self) -> int:
        return len(self._outcome)

    def __contains__(self, payout_id: object) -> bool:
        return type(payout_id) is int and 1 <= payout_id <= len(self._outcome)


class Payouts:
    """The payout runs, and every payout's clearing entry."""

    def __init__(
        self, env: simpy.Environment, cfg: "PayoutsConfig", ledger: "Ledger", wallet: "Wallet",
        provider: "PayoutProvider", sellers: int, currencies: int, streams: "Streams", metrics: "Metrics",
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.ledger = ledger
        self.wallet = wallet
        self.provider = provider
        self.sellers = sellers
        self.currencies = currencies
        self._counters = metrics.counters
        self._backoff = streams.stream("payouts.backoff")
        self.payouts = PayoutBook()
        """Payout id -> the payout (ids from 1, in request order)."""
        self._snapshots: list[tuple[float, list[int]]] = []
        """(time, ledger seller payables) seen by each run from the lagged one on, to apply the lag."""
        self.runs = 0
        self._in_flight: set[int] = set()
        """Payout ids whose provider call is still being retried."""

    def start(self) -> None:
        self.env.process(self._schedule())

    def _schedule(self) -> Generator[Waitable, None, None]:
        env, cfg = self.env, self.cfg
        yield env.timeout(cfg.first_run_s)
        while True:
            self.run()
            yield env.timeout(cfg.interval_s)

    def run(self) -> None:
        """One payout run: settle what the provider's report says about payouts left open, then
        pay every seller its lagged balance."""
        env, cfg, ledger = self.env, self.cfg, self.ledger
        now = env.now
        self.runs += 1
        self._counters["payouts.runs"] += 1
        for payout_id in self.payouts.open_ids() if cfg.check_report else ():
            if payout_id not in self._in_flight:
                self._close(self.payouts[payout_id], self.provider.transferred(payout_id), "payout_report")
        balances = [ledger.seller_payable(seller, currency)
                    for seller in range(self.sellers) for currency in range(self.currencies)]
        self._snapshots.append((now, balances))
        lagged, first = None, 0
        for index, (at, seen) in enumerate(self._snapshots):  # the latest snapshot at least ``lag`` old
            if at <= now - cfg.lag_s + 1e-9:
                lagged, first = seen, index
        if lagged is None:
            return
        del self._snapshots[:first]  # older ones can never be the lagged one again: memory stays flat
        for row, balance in enumerate(balances):
            payable = min(balance, lagged[row])
            payable -= int(payable * cfg.reserve_fraction)
            if payable <= 0:
                if balance < 0:
                    self._counters["payouts.negative_balances"] += 1
                continue
            for _, seen in self._snapshots:  # what is paid now is no longer in the lagged balances
                seen[row] -= payable
            seller, currency = divmod(row, self.currencies)
            self._open(seller, currency, payable)

    def _open(self, seller: int, currency: int, amount_minor: int) -> None:
        payout = self.payouts.open(seller, currency, amount_minor, self.env.now)
        self.ledger.post_payout(seller, currency, amount_minor, "requested")
        self.wallet.adjust(seller, currency, -amount_minor)
        self._counters["payouts.requested"] += 1
        self._in_flight.add(payout.payout_id)
        self.env.process(self._pay(payout))

    def _pay(self, payout: Payout) -> Generator[Waitable, None, None]:
        env, cfg = self.env, self.cfg
        key = payout.payout_id if cfg.idempotency_key else None
        retrier: Retrier | None = None
        while True:
            reply = ReplyEvent()
            self.provider.send(payout.payout_id, key, payout.seller, payout.currency, payout.amount_minor, reply)
            yield first_of(env, reply, cfg.timeout_s)
            code = reply.value.code if reply.processed else None
            if code in DEFINITE_SUCCESS:
                self._in_flight.discard(payout.payout_id)
                self._close(payout, True, "reply")
                return
            if retrier is None:
                retrier = Retrier(cfg.retry, self._backoff, env.now)
            delay = retrier.next_delay_s(env.now)
            if delay is None:  # outcome unknown: the next run's report check closes it
                self._counters["payouts.gave_up"] += 1
                self._in_flight.discard(payout.payout_id)
                return
            self._counters["payouts.retries"] += 1
            yield env.timeout(delay)

    def _close(self, payout: Payout, paid: bool, how: str) -> None:
        payout.closed_at_s = self.env.now
        payout.outcome = "paid" if paid else "returned"
        self.ledger.post_payout(payout.seller, payout.currency, payout.amount_minor, payout.outcome)
        if not paid:
            self.wallet.adjust(payout.seller, payout.currency, payout.amount_minor)
        self._counters[f"payouts.{payout.outcome}_by_{how}"] += 1
