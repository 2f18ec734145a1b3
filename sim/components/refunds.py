"""Our refund service: sellers refund captured payments (all of the amount, or part of it), through
the PSP's refund API, idempotent by refund id.

Timeline of one refund::

    payment captured ──one draw: refunded? how much?──▶ (most payments: nothing more, no event)
        wait ``refunds.delay`` ──▶ refund with key = refund id ──▶ APPROVED: ledger + wallet take it back
                                                              DECLINED_*: failed, left to a human
        no answer within ``refunds.timeout`` or a retryable answer ──▶ backoff, same refund id, again

:meth:`Refunds.request` is our idempotent refund API: a second request under a known refund id
does nothing (a seller's double click, a reconciliation re-run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

import simpy

from sim.components.psp import DEFINITE_FAILURE, DEFINITE_SUCCESS, ReplyCode, ReplyEvent
from sim.components.refund_table import RefundRequests
from sim.config.distributions import make_sampler
from sim.kernel.scheduling import Waitable, first_of, sleep
from sim.policies.retry import Retrier

if TYPE_CHECKING:
    from sim.components.capturing_psp import RefundsAtCapturingPsp
    from sim.components.ledger import Ledger
    from sim.components.psp_operations import PspOperations
    from sim.components.wallet import Wallet
    from sim.config.model import RefundsConfig
    from sim.domain.orders import Checkouts, Orders
    from sim.observe.metrics import Metrics
    from sim.observe.trace import Trace
    from sim.rng import Streams

WAITING, REFUNDED, FAILED, GAVE_UP = range(4)
STATUS_NAMES = ("waiting", "refunded", "failed", "gave_up")
RETRY_ID_BASE = 1 << 40
"""Refund ids made up for retries by the flawed ``new_id_on_retry`` start here (never a real id)."""


class Refunds:
    """Decides which captured payments are refunded, and carries each refund to the PSP."""

    def __init__(
        self, env: simpy.Environment, cfg: "RefundsConfig", orders: "Orders", checkouts: "Checkouts",
        api: "PspOperations | RefundsAtCapturingPsp", ledger: "Ledger", wallet: "Wallet", streams: "Streams", metrics: "Metrics",
        trace: "Trace",
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.orders = orders
        self.checkouts = checkouts
        self.api = api
        self.ledger = ledger
        self.wallet = wallet
        self.trace = trace
        self._counters = metrics.counters
        self._decisions = streams.stream("refunds.decisions")
        self._delay = make_sampler(cfg.delay, streams.stream("refunds.delay"))
        self._backoff = streams.stream("refunds.backoff")
        self.requests = RefundRequests()
        """Refund id -> (order id, amount): every refund our API accepted (columns, read as a dict)."""
        self.status = self.requests.status
        """Refund id -> WAITING, REFUNDED, FAILED or GAVE_UP."""
        self._next_id = 1
        self._next_retry_id = RETRY_ID_BASE

    def on_captured(self, order_id: int, captured_minor: int) -> None:
        """A payment was captured (told once per payment: by the ledger's first booking, or by the
        capture service): decide whether, and how much of it, will be refunded."""
        cfg = self.cfg
        if self._decisions.random() >= cfg.probability:
            return
        rng = self._decisions
        amount = captured_minor
        if cfg.partial_probability > 0.0 and rng.random() < cfg.partial_probability:
            amount = max(1, int(captured_minor * cfg.partial_fraction))
            self._counters["refunds.partial"] += 1
        self.request(order_id, amount, self._delay())

    def request(self, order_id: int, amount_minor: int, after_s: float = 0.0, refund_id: int | None = None) -> int:
        """Our refund API: refund ``amount_minor`` of the order ``after_s`` from now under
        ``refund_id`` (a new id when None); a known refund id is not refunded again. Returns the id."""
        if refund_id is None:
            refund_id = self._next_id
            self._next_id += 1
        elif refund_id in self.requests:
            self._counters["refunds.duplicate_requests"] += 1
            return refund_id
        self.requests.add(refund_id, order_id, amount_minor, WAITING)
        self._counters["refunds.requested"] += 1
        self.env.process(self._refund(refund_id, order_id, amount_minor, after_s))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
        return refund_id

    def _refund(self, refund_id: int, order_id: int, amount_minor: int, after_s: float) -> Generator[Waitable, None, None]:
        env, cfg, orders = self.env, self.cfg, self.orders
        if after_s > 0.0:
            yield sleep(env, after_s)
        card_token = self.checkouts.card_token[orders.checkout_of(order_id)]
        currency = orders.currency[order_id]
        key = refund_id
        booked_early = cfg.book_on == "request" and refund_id > 0
        if booked_early:  # FLAW: booked before the PSP said it happened
            self.ledger.post_reversal(order_id, amount_minor, "refund")
            self.wallet.take_back(order_id, amount_minor)
        retrier: Retrier | None = None
        while True:
            reply = ReplyEvent()
            self.api.refund(order_id, card_token, amount_minor, currency, key, reply)
            yield first_of(env, reply, cfg.timeout_s)
            answer = reply.value if reply.processed else None
            code = answer.code if answer is not None else None
            if self.trace.on:
                self.trace.add(env.now, order_id, f"refund:{'timeout' if code is None else code.name}")
            if code in DEFINITE_SUCCESS:
                self.status[refund_id] = REFUNDED
                self._counters["refunds.refunded"] += 1
                if refund_id > 0 and not booked_early:  # an extra capture was never booked, nor is its refund
                    self.ledger.post_reversal(order_id, amount_minor, "refund")
                    self.wallet.take_back(order_id, amount_minor)
                return
            if code in DEFINITE_FAILURE or code == ReplyCode.NOT_FOUND:
                self.status[refund_id] = FAILED
                self._counters["refunds.failed"] += 1
                return
            if retrier is None:
                retrier = Retrier(cfg.retry, self._backoff, env.now)
            delay = retrier.next_delay_s(env.now, answer.retry_after_s if answer is not None else 0.0)
            if delay is None:
                self.status[refund_id] = GAVE_UP
                self._counters["refunds.gave_up"] += 1
                return
            self._counters["refunds.retries"] += 1
            if cfg.new_id_on_retry:  # FLAW: the retry is a new refund to the PSP
                key = self._next_retry_id
                self._next_retry_id += 1
            yield sleep(env, delay)

    def start_sweeps(self, settlement) -> None:
        """Every ``extra_captures_every``, refund the extra captures ``settlement`` (the PSPs'
        settlement file) shows: a reconciliation auto-fix through our own refund API."""
        self._settlement = settlement
        self.env.process(self._sweep())

    def _sweep(self) -> Generator[simpy.Event, None, None]:
        env = self.env
        while True:
            yield env.timeout(self.cfg.extra_captures_every_s)
            self.refund_extra_captures()

    def refund_extra_captures(self) -> int:
        """Refund each capture of an order beyond its first, once (refund id ``-(order id) * 256 -
        n`` for its n-th extra capture: a sweep that runs again asks for the same ids, which our
        refund API ignores). Returns the refunds requested."""
        order_ids = self._settlement.order_ids()
        counts: dict[int, int] = {}
        for order_id in order_ids.tolist():
            counts[order_id] = counts.get(order_id, 0) + 1
        requested = 0
        orders = self.orders
        for order_id, times in sorted(counts.items()):
            if times < 2 or not 0 <= order_id < len(orders):
                continue
            for extra in range(1, min(times, 256)):
                refund_id = -order_id * 256 - extra
                if refund_id not in self.requests:
                    self._counters["refunds.extra_captures"] += 1
                    self.request(order_id, orders.amount_minor[order_id], refund_id=refund_id)
                    requested += 1
        return requested

    def unsettled_of(self) -> dict[int, int]:
        """Per order, refunds whose outcome we do not know yet (waiting, in flight, or given up on
        after retries): the bank may have paid them, the ledger cannot have booked them (orders
        with none left out)."""
        status = self.status
        per_order: dict[int, int] = {}
        for refund_id, (order_id, amount) in self.requests.items():
            if status[refund_id] in (WAITING, GAVE_UP):
                per_order[order_id] = per_order.get(order_id, 0) + amount
        return per_order

    def refunds_of(self) -> dict[int, int]:
        """Order id -> refunds our API accepted for it."""
        per_order: dict[int, int] = {}
        for order_id, _amount in self.requests.values():
            per_order[order_id] = per_order.get(order_id, 0) + 1
        return per_order
