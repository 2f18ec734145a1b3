"""Our capture service (delayed captures): consumes payment-success and, at shipment, captures
the authorised amount (all of it, or part of it when an item is out of stock), or voids the
authorisation of an order cancelled before shipment.

Timeline of one order::

    payment-success event ──(dedupe by order id)──▶ wait ``capture.delay`` (shipment or cancellation)
        capture (or void) with key = order id ──▶ APPROVED: done | NOT_FOUND, DECLINED_LIMIT: refused
        no answer within ``capture.timeout`` or a retryable answer ──▶ backoff, same key, again

Only SUCCESS orders reach it, and it is the only caller of the capture API, so a capture is never
sent for an order that did not succeed. Its cost is paid only by delayed-capture models (a process,
a timer and two PSP trips per order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Generator

import simpy

from sim.components.dlq import DeadLetterQueue, consume_order_ids
from sim.components.psp import DEFINITE_SUCCESS, ReplyCode, ReplyEvent
from sim.config.distributions import make_sampler
from sim.kernel.scheduling import Waitable, first_of
from sim.policies.retry import Retrier

if TYPE_CHECKING:
    from sim.components.psp_operations import PspOperations
    from sim.config.model import CaptureConfig
    from sim.domain.orders import Orders
    from sim.observe.metrics import Metrics
    from sim.observe.trace import Trace
    from sim.rng import Streams

NONE, WAITING, CAPTURED, VOIDED, REFUSED, GAVE_UP = range(6)
"""Capture status per order: not seen, waiting for shipment or in progress, captured, voided,
refused by the PSP (hold expired, voided or exceeded), given up after the retries."""
STATUS_NAMES = ("none", "waiting", "captured", "voided", "refused", "gave_up")

_REFUSED = frozenset({ReplyCode.NOT_FOUND, ReplyCode.DECLINED_LIMIT, ReplyCode.DECLINED_FUNDS, ReplyCode.INVALID})


class Capturer:
    """Captures or voids each successful order once, ``delay`` after its success event."""

    def __init__(
        self, env: simpy.Environment, cfg: "CaptureConfig", orders: "Orders", api: "PspOperations",
        dlq: DeadLetterQueue, streams: "Streams", metrics: "Metrics", trace: "Trace",
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.orders = orders
        self.api = api
        self.trace = trace
        self._counters = metrics.counters
        self.handle = consume_order_ids(self.on_success, dlq, "dead_letter", "capture", env, metrics.counters)
        """The Kafka handler of the payment-success topic."""
        self._delay = make_sampler(cfg.delay, streams.stream("capture.delay"))
        self._decisions = streams.stream("capture.decisions")
        self._backoff = streams.stream("capture.backoff")
        self.status = bytearray()
        """Capture status per order id (see ``NONE`` ... ``GAVE_UP``)."""
        self.amount_minor: dict[int, int] = {}
        """What we meant to capture per order id (less than the order's amount when partial)."""
        self.on_uncaptured: list[Callable[[int, int], None]] = []
        """Called with (order id, amount) for the part of a successful order never captured (void,
        partial capture, refused or abandoned capture): the ledger and the wallet take it back."""
        self.on_captured: list[Callable[[int, int], None]] = []
        """Called with (order id, amount captured) after a capture (the refund service)."""

    def status_of(self, order_id: int) -> int:
        return self.status[order_id] if order_id < len(self.status) else NONE

    def on_success(self, order_id: int) -> Generator[Waitable, None, None]:
        """A payment-success event: start the order's fulfilment once (duplicates are skipped)."""
        status = self.status
        if order_id >= len(status):
            status.extend(bytes(order_id + 1 - len(status) + 1024))
        if status[order_id] != NONE:
            self._counters["capture.deduplicated"] += 1
            return
        status[order_id] = WAITING
        self.env.process(self._fulfil(order_id))
        yield from ()

    def _fulfil(self, order_id: int) -> Generator[Waitable, None, None]:
        env, cfg, rng = self.env, self.cfg, self._decisions
        orders = self.orders
        cancelled = cfg.cancel_probability > 0.0 and rng.random() < cfg.cancel_probability
        amount = orders.amount_minor[order_id]
        if not cancelled and cfg.partial_probability > 0.0 and rng.random() < cfg.partial_probability:
            amount = max(1, int(amount * cfg.partial_fraction))
            self._counters["capture.partial"] += 1
        operation = "void" if cancelled else "capture"
        if not cancelled:
            self.amount_minor[order_id] = amount
        yield env.timeout(self._delay())
        key = order_id if cfg.idempotency_key else None
        retrier: Retrier | None = None
        while True:
            reply = ReplyEvent()
            if cancelled:
                self.api.void(order_id, key, reply)
            else:
                self.api.capture(order_id, amount, orders.currency[order_id], key, reply)
            yield first_of(env, reply, cfg.timeout_s)
            code = reply.value.code if reply.processed else None
            self._note(order_id, f"capture:{operation}:{'timeout' if code is None else code.name}")
            if code in DEFINITE_SUCCESS or code in _REFUSED:
                done = code in DEFINITE_SUCCESS
                self._finish(order_id, cancelled, amount, done,
                             f"capture.{'voided' if cancelled else 'captured'}" if done else f"capture.{operation}_refused")
                return
            if retrier is None:
                retrier = Retrier(cfg.retry, self._backoff, env.now)
            delay = retrier.next_delay_s(env.now, reply.value.retry_after_s if code is not None else 0.0)
            if delay is None:
                self._finish(order_id, cancelled, amount, False, f"capture.{operation}_gave_up")
                return
            self._counters[f"capture.{operation}_retries"] += 1
            yield env.timeout(delay)

    def _finish(self, order_id: int, cancelled: bool, amount_minor: int, done: bool, counter: str) -> None:
        """The order's last answer: its status, and the part never captured handed to the listeners.
        A cancelled order takes nothing whatever the void's answer (a hold not voided expires)."""
        self._counters[counter] += 1
        if cancelled:
            self.status[order_id] = VOIDED
        else:
            self.status[order_id] = CAPTURED if done else (REFUSED if counter.endswith("refused") else GAVE_UP)
        if done and not cancelled:
            for listener in self.on_captured:
                listener(order_id, amount_minor)
        uncaptured = self.orders.amount_minor[order_id] - (amount_minor if done and not cancelled else 0)
        if uncaptured > 0:
            for listener in self.on_uncaptured:
                listener(order_id, uncaptured)

    def _note(self, order_id: int, what: str) -> None:
        if self.trace.on:
            self.trace.add(self.env.now, order_id, what)
