"""The payment service: validates, checks risk, persists before acting, then hands each order to
the executor — through the payment-orders topic (async) or by a direct call (sync).

The checkout's idempotency key is the unique constraint of the database: a retried or
double-clicked request finds the checkout already there and gets its status, no new orders.
"""

from __future__ import annotations

import math
from enum import IntEnum
from functools import partial
from typing import Any, Callable, Generator, NamedTuple, Sequence, Final

import simpy

from sim.components import risk
from sim.components.database import Database
from sim.components.executor import DONE, Executor
from sim.components.kafka import Topic
from sim.components.outbox import OutboxRelay
from sim.components.outcomes import DECLINES, Outcomes
from sim.components.producer import Producer
from sim.components.psp import ReplyCode
from sim.components.risk import RiskService
from sim.components.stations import REJECTED, SlotStation
from sim.config.capacity import QueueConfig
from sim.kernel.scheduling import Waitable, clock, sleep, until_fired, wake
from sim.config.distributions import make_sampler
from sim.config.model import PaymentServiceConfig
from sim.domain.orders import HANDED_ON, Checkouts, OrderState, Orders
from sim.observe.metrics import Metrics
from sim.policies.budget import RetryBudget
from sim.policies.retry import Retrier
from sim.policies.shedding import LoadShedder
from sim.rng import Streams


_NOT_STARTED: Final = int(OrderState.NOT_STARTED)
_SUCCESS: Final = int(OrderState.SUCCESS)
_FAILED: Final = int(OrderState.FAILED)


class Response(IntEnum):
    """What the buyer's request gets back."""

    ACCEPTED = 0  # async: persisted and queued
    SUCCEEDED = 1
    FAILED = 2
    IN_PROGRESS = 3
    REJECTED = 4  # risk said no
    UNAVAILABLE = 5  # a dependency is down: the client may retry with the same key
    THROTTLED = 6  # 429 with Retry-After (``retry_after``): shed, or the request queue was full


# The members, read once: an Enum class attribute is a Python call in 3.11 (+0.4 % instructions per payment without).
_ACCEPTED: Final = Response.ACCEPTED
_SUCCEEDED: Final = Response.SUCCEEDED
_FAILED_RESPONSE: Final = Response.FAILED
_IN_PROGRESS: Final = Response.IN_PROGRESS
_REJECTED: Final = Response.REJECTED
_UNAVAILABLE: Final = Response.UNAVAILABLE
_THROTTLED: Final = Response.THROTTLED


class OrderLine(NamedTuple):
    """One seller's part of a cart, as the client sends it (``line`` is ground truth)."""

    seller: int
    amount_minor: int
    currency: int
    line: int


new_order_line: Final[Callable[[tuple[int, int, int, int]], OrderLine]] = partial(tuple.__new__, OrderLine)
"""``OrderLine`` from a (seller, amount_minor, currency, line) tuple, in C: the clients make about
1.5 lines per checkout, and ``OrderLine(...)`` runs a Python ``__new__`` frame each time."""


class PaymentService:
    def __init__(
        self, env: simpy.Environment, cfg: PaymentServiceConfig, wiring: str, db: Database,
        risk_service: RiskService, orders: Orders, checkouts: Checkouts, producer: Producer,
        orders_topic: Topic | None, executor: Executor, executor_threads: int, outcomes: Outcomes,
        streams: Streams, metrics: Metrics, executor_queue: QueueConfig = QueueConfig(),
        outbox: OutboxRelay | None = None, card_number_of: Callable[[int], str] | None = None,
    ) -> None:
        """``outbox`` (async wiring with an outbox): hands on orders whose publish failed. The
        executor must defer exhausted orders to this service when it retries it
        (:func:`retries_executor`)."""
        self.env = env
        self.cfg = cfg
        self.sync = wiring == "sync"
        self.db = db
        self.risk = risk_service
        self.orders = orders
        self.checkouts = checkouts
        self.producer = producer
        self.orders_topic = orders_topic
        self.executor = executor
        self.request_threads = SlotStation(env, "payment_service", cfg.instances * cfg.threads, cfg.queue)
        """Request threads (instances × threads): a request holds one from arrival to answer."""
        self.threads = SlotStation(env, "executor", executor_threads, executor_queue) if self.sync else None
        """Sync wiring: the executor's threads (instances × threads), one per order being executed."""
        self.outcomes = outcomes
        self.metrics = metrics
        self._checkouts_accepted = metrics.count("checkouts_accepted")
        self._orders_created = metrics.count("orders_created")
        """Counters every accepted checkout increments, as fields (Metrics.count)."""
        self._latency_s = make_sampler(cfg.latency, streams.stream("payment_service.latency"))
        self.available = True
        self.outbox = outbox
        """Async wiring with an outbox: hands on orders whose publish failed."""
        self._dispatching: set[int] = set()
        """Sync wiring: orders a request is executing now (a double click must not run them twice)."""
        self.shedder = LoadShedder(cfg.shedding)
        self._shedding = cfg.shedding.enabled
        self.executor_budget = RetryBudget(cfg.retry_budget)
        self._layer_retries = retries_executor(cfg, wiring)
        if self._layer_retries and not executor.defer_exhausted:
            raise ValueError("wiring: the payment service retries the executor, which must defer exhausted orders")
        self._retry_rng = streams.stream("payment_service.executor_retry") if self._layer_retries else None
        self.request_log: list[str] = []
        """Raw checkout requests, kept only by the flawed ``log_card_numbers`` design."""
        self.card_number_of = card_number_of
        """``log_card_numbers`` only: what the buyer typed into the store's own card form."""
        self._overwrite = cfg.webhook_handler == "overwrite"
        self.retry_after_s = cfg.retry_after_s or 0.0
        self._refused = _UNAVAILABLE if cfg.retry_after_s is None else _THROTTLED
        """What a request refused for overload gets: a 503, or a 429 with Retry-After."""

    # -- checkout -------------------------------------------------------------------------------
    def handle_checkout(
        self, key: int, buyer: int, card_token: int, lines: Sequence[OrderLine], deadline_s: float = math.inf,
    ) -> Generator[Waitable, Any, Response]:
        """The request's handling, for the caller to ``yield from``. Not a generator itself but a
        function returning one, so the usual request runs :meth:`_checkout` with no wrapping
        frame (it is resumed at each of the request's waits)."""
        if self.card_number_of is not None:  # FLAW: the raw request, card number included
            self.request_log.append(f"checkout key={key} buyer={buyer} card={self.card_number_of(card_token)}")
        if self._shedding:
            return self._shed_or_checkout(key, buyer, card_token, lines, deadline_s)
        return self._checkout(key, buyer, card_token, lines, deadline_s)

    def _shed_or_checkout(
        self, key: int, buyer: int, card_token: int, lines: Sequence[OrderLine], deadline_s: float,
    ) -> Generator[Waitable, Any, Response]:
        """Load shedding on: refuse the request beyond the concurrency limit, else handle it."""
        if not self.shedder.try_enter(clock(self.env)):
            self.metrics.counters["payment_service.shed"] += 1
            return self._refused
        try:
            return (yield from self._checkout(key, buyer, card_token, lines, deadline_s))
        finally:
            self.shedder.leave()

    def _checkout(
        self, key: int, buyer: int, card_token: int, lines: Sequence[OrderLine], deadline_s: float,
    ) -> Generator[Waitable, Any, Response]:
        """One request on one of the service's threads (it waits for one, or gets a 503)."""
        threads = self.request_threads
        started = clock(self.env)
        if not threads.try_start():
            admitted = yield from _wait_for(threads, deadline_s, self.env)
            if not admitted:
                self.metrics.counters["payment_service.overloaded"] += 1
                return self._refused
            started = clock(self.env)
        try:
            env, checkouts, counters = self.env, self.checkouts, self.metrics.raw_counters
            work_s = self._latency_s() * (threads.contention(threads.stats.busy) if threads.contended else 1.0)
            yield sleep(env, threads.stretched_s(work_s, started))
            if not self.available:
                return _UNAVAILABLE
            existing = checkouts.find(key)
            if existing >= 0:
                yield self.db.read()
                counters["payment_service.duplicate_requests"] += 1
                return (yield from self._status_and_redispatch(existing, deadline_s))
            total = 0
            for _seller, amount_minor, _currency, _line in lines:  # unpacking: no attribute lookups
                total += amount_minor
            decision = yield from self.risk.check(total)
            if decision == risk.REJECT:
                return _REJECTED
            if decision == risk.UNAVAILABLE:
                return _UNAVAILABLE
            yield self.db.write()
            existing = checkouts.find(key)  # the unique constraint, checked at insert time
            if existing >= 0:
                counters["payment_service.unique_violations"] += 1
                return (yield from self._status_and_redispatch(existing, deadline_s))
            orders, now, count = self.orders, clock(env), len(lines)
            # the column's length: no __len__ frame
            checkout_id = checkouts.add(key, buyer, card_token, len(orders.state), count, now)
            order_ids = orders.add_all(checkout_id, lines, now)
            self._checkouts_accepted.n += 1
            self._orders_created.n += count  # a checkout has at least one line
            if self.sync:
                return (yield from self._execute(checkout_id, False, deadline_s))
            return (yield from self._publish(order_ids))
        finally:
            threads.release(clock(self.env) - started, deadline_s)

    def _dispatch(self, checkout_id: int, redispatch: bool = False,
                  deadline_s: float = math.inf) -> Generator[Waitable, Any, Response]:
        """Hand the checkout's orders on, for the caller to ``yield from`` (like
        :meth:`handle_checkout`, a function returning the wiring's generator: no wrapping frame)."""
        if self.sync:
            return self._execute(checkout_id, redispatch, deadline_s)
        return self._publish(self.checkouts.orders_of(checkout_id))

    def _execute(self, checkout_id: int, redispatch: bool,
                 deadline_s: float = math.inf) -> Generator[Waitable, Any, Response]:
        """Sync wiring: run each order through the executor on one of its threads; the call carries the
        buyer's ``deadline_s`` (an executor queue with ``drop_expired`` drops it once that passed)."""
        order_ids = self.checkouts.orders_of(checkout_id)
        dispatching, state = self._dispatching, self.orders.state
        mine = [o for o in order_ids if o not in dispatching and (not redispatch or state[o] == _NOT_STARTED)]
        dispatching.update(mine)  # another request of this checkout (a double click) skips them
        threads = self.threads
        for order_id in mine:
            try:
                started = clock(self.env)
                taken = threads.try_start()  # type: ignore[union-attr]  # (never None here)
                if not taken:
                    # refused: the order stays NOT_STARTED until a retry hands it on
                    taken = yield from _wait_for(threads, deadline_s, self.env)  # type: ignore[arg-type]  # (never None here)
                    started = clock(self.env)
                if taken:
                    try:
                        result = yield from self.executor.execute(order_id)
                    finally:
                        threads.release(clock(self.env) - started)  # type: ignore[union-attr]  # (never None here)
                    if result != DONE:
                        yield from self._retry_executor(order_id)
                    elif self._layer_retries:
                        self.executor_budget.record_success()
            finally:
                dispatching.discard(order_id)
        return self._status(checkout_id)

    def _publish(self, order_ids: range) -> Generator[Waitable, Any, Response]:
        """Async wiring: publish a checkout's orders to the payment-orders topic as one producer batch."""
        sent = yield from self.producer.send_all(self.orders_topic, list(zip(order_ids, order_ids)))  # type: ignore[arg-type]  # (never None here)
        if not sent:  # persisted, not queued: a retry, or the outbox relay, hands them on
            if self.outbox is not None:
                self.outbox.unsent(order_ids)
            return _UNAVAILABLE
        flags = self.orders.flags
        for order_id in order_ids:
            flags[order_id] |= HANDED_ON
        return _ACCEPTED

    def _retry_executor(self, order_id: int) -> Generator[Waitable, Any, None]:
        """Sync wiring: the executor's attempts ran out; call it again per ``executor_retry``
        (each call makes the executor's own attempts: retries multiply across layers)."""
        env, metrics, budget = self.env, self.metrics, self.executor_budget
        retrier = Retrier(self.cfg.executor_retry, self._retry_rng, clock(env))
        while True:
            delay = retrier.next_delay_s(clock(env))
            if delay is not None and not budget.can_retry():
                metrics.counters["payment_service.retry_budget_denied"] += 1
                delay = None
            if delay is None:
                yield from self.executor.give_up(order_id)
                return
            metrics.counters["payment_service.executor_retries"] += 1
            yield sleep(env, delay)
            threads = self.threads
            started = clock(env)
            if not threads.try_start():  # type: ignore[union-attr]  # (never None here)
                if not (yield from _wait_for(threads, math.inf, env)):  # type: ignore[arg-type]  # (never None here)
                    continue
                started = clock(env)
            try:
                result = yield from self.executor.execute(order_id)
            finally:
                threads.release(clock(env) - started)  # type: ignore[union-attr]  # (never None here)
            if result == DONE:
                budget.record_success()
                return

    def _status_and_redispatch(self, checkout_id: int,
                               deadline_s: float = math.inf) -> Generator[Waitable, Any, Response]:
        """A repeated request: answer the status; orders never handed on are handed on now."""
        state = self.orders.state
        if any(state[o] == _NOT_STARTED for o in self.checkouts.orders_of(checkout_id)):
            self.metrics.counters["payment_service.redispatched"] += 1
            return (yield from self._dispatch(checkout_id, True, deadline_s))
        return self._status(checkout_id)

    def _status(self, checkout_id: int) -> Response:
        state = self.orders.state
        states = [state[o] for o in self.checkouts.orders_of(checkout_id)]
        if all(s == _SUCCESS for s in states):
            return _SUCCEEDED
        if any(s == _FAILED for s in states):
            return _FAILED_RESPONSE
        return _ACCEPTED if not self.sync else _IN_PROGRESS

    # -- the buyer's redirect back from the PSP's page -------------------------------------------
    def on_redirect(self, order_id: int, claims_paid: bool) -> None:
        """The buyer's browser comes back saying "paid" (or not). It proves nothing: only a
        webhook or a PSP query may change the order (``trust_redirect`` is the flaw)."""
        self.metrics.counters["payment_service.redirects"] += 1
        if self.cfg.trust_redirect and claims_paid:
            self.env.process(self.outcomes.apply_and_publish(order_id, ReplyCode.APPROVED, "redirect"))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
        else:
            self.metrics.counters["payment_service.redirect_ignored"] += 1

    # -- webhooks from the PSP ------------------------------------------------------------------
    def on_webhook(self, order_id: int, code: int) -> None:
        """The PSP's notification arrives (maybe late, twice, or out of order): stored after one
        database write. No process unless a success must be published (most webhooks confirm
        what the executor already applied)."""
        self.metrics.raw_counters["webhooks_received"] += 1
        self.db.write_then(partial(self._webhook_stored, order_id, code))

    def _webhook_stored(self, order_id: int, code: int, _event: simpy.Event) -> None:
        if order_id >= len(self.orders.state):  # the column's length: no __len__ frame per webhook
            self.metrics.counters["webhooks_unknown_order"] += 1
            return
        if self._overwrite:
            self._overwrite_state(order_id, code)
        elif self.outcomes.apply(order_id, code, "webhook"):
            self.env.process(self.outcomes.publish_success(order_id))  # type: ignore[arg-type]  # (SimPy's types know no Wait)

    def _overwrite_state(self, order_id: int, code: int) -> None:
        """FLAW (``webhook_handler: overwrite``): the order takes the state the webhook carries,
        whatever it is now (a late PENDING or decline overwrites SUCCESS), and every APPROVED
        delivery publishes a success event again (no idempotency)."""
        self.metrics.counters["payment_service.webhook_overwrites"] += 1
        new_state = webhook_state(code)
        self.orders.transition(order_id, new_state, clock(self.env))
        if new_state == _SUCCESS:
            self.env.process(self.outcomes.publish_success(order_id))  # type: ignore[arg-type]  # (SimPy's types know no Wait)


def retries_executor(cfg: PaymentServiceConfig, wiring: str) -> bool:
    """Sync wiring with ``executor_retry``: the service calls the executor again when its attempts
    run out (so the executor returns EXHAUSTED instead of dead-lettering)."""
    return wiring == "sync" and cfg.executor_retry.max_attempts > 1


def webhook_state(code: int) -> int:
    """The order state a webhook's code stands for (what the flawed overwriting handler writes)."""
    if code == ReplyCode.APPROVED:
        return _SUCCESS
    if code in DECLINES:
        return _FAILED
    return int(OrderState.PENDING)

def _wait_for(station: SlotStation, deadline_s: float, env: simpy.Environment) -> Generator[Waitable, Any, bool]:
    """After ``station.try_start()`` said no: queue, and wait until a server takes the request
    (True) or it is refused or dropped (False)."""
    waiter = until_fired()
    outcome = station.enqueue(waiter, partial(wake, env, value=True), deadline_s, partial(wake, env, value=False))
    if outcome == REJECTED:
        return False
    return (yield waiter)
