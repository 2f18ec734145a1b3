"""The payout provider: the bank-transfer API sellers are paid through (an external dependency,
ground truth on its side).

Timeline of one call::

    send ──network──▶ outage: 503 | idempotency: a known key replays its answer (CONFLICT in flight)
         ──latency──▶ 5xx (key freed) | the transfer is made: a row of the payout report
         reply ──network──▶ (may be lost after the transfer: the reply-lost knob)

A call without a key is always executed. The payout report lists every transfer with the payout id
the platform put in its reference, so a transfer made twice for one payout shows there.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Iterator

import numpy as np

from sim.components.psp import OnReply, Reply, ReplyCode, ReplyEvent
from sim.kernel.scheduling import call_after, succeed_after
from sim.config.distributions import make_sampler
from sim.domain.intmap import IntMap

if TYPE_CHECKING:
    import simpy

    from sim.config.model import PayoutProviderConfig
    from sim.observe.metrics import Metrics
    from sim.rng import Streams

NETWORK_S = 0.02
"""One-way network time to the provider."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """One row of the payout report: money sent to a seller's bank account."""

    payout_id: int
    seller: int
    currency: int
    amount_minor: int
    at_s: float


class TransferReport:
    """The payout report: every :class:`Transfer`, in time order, kept as columns (a transfer is
    five numbers, not an object of ~160 bytes); reads back as ``Transfer`` rows."""

    __slots__ = ("_payout", "_seller", "_currency", "_amount", "_at")

    def __init__(self) -> None:
        self._payout = array("q")
        self._seller = array("q")
        self._currency = array("q")
        self._amount = array("q")
        self._at = array("d")

    def append(self, transfer: Transfer) -> None:
        self._payout.append(transfer.payout_id)
        self._seller.append(transfer.seller)
        self._currency.append(transfer.currency)
        self._amount.append(transfer.amount_minor)
        self._at.append(transfer.at_s)

    def __len__(self) -> int:
        return len(self._payout)

    def __getitem__(self, index: int) -> Transfer:
        return Transfer(self._payout[index], self._seller[index], self._currency[index], self._amount[index],
                        self._at[index])

    def __iter__(self) -> Iterator[Transfer]:
        for index in range(len(self._payout)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        """Equal to the same transfers, as a report or any sequence."""
        if isinstance(other, (TransferReport, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def by_account(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every transfer's account (``seller * 256 + currency``), time and amount, sorted by
        account and, within one, in time order (the order they were made): columns for the
        seller's wait, not a :class:`Transfer` per row."""
        accounts = np.frombuffer(self._seller, dtype=np.int64) * 256 + np.frombuffer(self._currency, dtype=np.int64)
        order = np.argsort(accounts, kind="stable")
        return (accounts[order], np.frombuffer(self._at, dtype=np.float64)[order],
                np.frombuffer(self._amount, dtype=np.int64)[order])

    def has_payout(self, payout_id: int) -> bool:
        """Whether a transfer carries ``payout_id`` (a scan of one column, in C)."""
        return payout_id in self._payout


class PayoutProvider:
    """Transfers to sellers' bank accounts, idempotent per key; a report of every transfer."""

    def __init__(self, env: "simpy.Environment", cfg: "PayoutProviderConfig", streams: "Streams", metrics: "Metrics") -> None:
        self.env = env
        self.cfg = cfg
        self._counters = metrics.counters
        self._latency = make_sampler(cfg.latency, streams.stream("payout_provider.latency"))
        self._rng = streams.stream("payout_provider.decisions")
        self.outage = 0
        """Fault knob: active outages (> 0: every call answered UNAVAILABLE)."""
        self._answers = IntMap()
        """Key -> the stored answer's code (IN_FLIGHT while processing)."""
        self.report = TransferReport()
        """Every transfer made, in time order (the payout report)."""

    def send(self, payout_id: int, key: int | None, seller: int, currency: int, amount_minor: int,
             on_reply: OnReply) -> None:
        """Pay ``amount_minor`` to the seller; the reference carries ``payout_id``."""
        self._counters["payout_provider.requests"] += 1
        call_after(self.env, NETWORK_S, partial(self._arrive, payout_id, key, seller, currency, amount_minor, on_reply))

    def _arrive(self, payout_id: int, key: int | None, seller: int, currency: int, amount_minor: int,
                on_reply: OnReply, _event: object) -> None:
        if self.outage > 0:
            self._counters["payout_provider.unavailable"] += 1
            self._reply(ReplyCode.UNAVAILABLE, on_reply)
            return
        if key is not None:
            stored = self._answers.get(key)
            if stored is not None:
                self._counters["payout_provider.replays" if stored != ReplyCode.IN_FLIGHT else "payout_provider.conflicts"] += 1
                self._reply(ReplyCode.CONFLICT if stored == ReplyCode.IN_FLIGHT else ReplyCode(stored), on_reply)
                return
            self._answers.put(key, int(ReplyCode.IN_FLIGHT))
        call_after(self.env, self._latency(), partial(self._process, payout_id, key, seller, currency, amount_minor, on_reply))

    def _process(self, payout_id: int, key: int | None, seller: int, currency: int, amount_minor: int,
                 on_reply: OnReply, _event: object) -> None:
        if self._rng.random() < self.cfg.error_probability:
            self._counters["payout_provider.errors"] += 1
            if key is not None:
                self._answers.discard(key)
            self._reply(ReplyCode.ERROR_5XX, on_reply)
            return
        self.report.append(Transfer(payout_id, seller, currency, amount_minor, self.env.now))
        self._counters["payout_provider.transfers"] += 1
        if key is not None:
            self._answers.put(key, int(ReplyCode.APPROVED))
        if self._rng.random() < self.cfg.reply_lost_probability:
            self._counters["payout_provider.reply_lost_after_transfer"] += 1
            return
        self._reply(ReplyCode.APPROVED, on_reply)

    def _reply(self, code: ReplyCode, on_reply: OnReply) -> None:
        reply = Reply(code)
        if type(on_reply) is ReplyEvent:
            succeed_after(self.env, on_reply, reply, NETWORK_S)
            return
        call_after(self.env, NETWORK_S, lambda _event: on_reply(reply))

    def transferred(self, payout_id: int) -> bool:
        """Whether the report has a transfer for ``payout_id`` (reconciliation asks)."""
        return self.report.has_payout(payout_id)
