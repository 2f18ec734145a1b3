"""The payment executor: one payment order → PSP calls under a timeout and a retry policy.

A timeout is an *indefinite* outcome: the PSP may have charged. The correct design retries with
the same idempotency key (the order id) and, optionally, asks the PSP for the key's status first.
The flawed ``fresh_per_attempt`` design sends a new key each time and can charge twice.

Resilience policies around each PSP call (all off by default; a disabled one costs one attribute
check): a circuit breaker and adaptive throttling on calls to the primary PSP (a refused call is
not sent: a definite "nothing charged"), a retry budget shared by every retry of this executor,
fail-over to a secondary PSP (only while nothing may have been charged at the primary), and when
the in-process attempts run out: the next retry topic (Uber style), the caller (sync wiring with
payment-service retries), or the DLQ. An unparseable record (a poison pill) goes to the DLQ, or,
in the flawed ``poison_pills: crash`` design, escapes and crashes the consumer. An execution
claims its order with one conditional write; the flawed ``claim: check_then_act`` reads, then
writes one round trip later, so a zombie consumer paused between the two overwrites a settled order.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Callable, Generator, Final

import simpy

from sim.components.database import Database
from sim.components.dlq import DeadLetter, DeadLetterQueue, is_poison, reject_poison
from sim.components.kafka import ConsumerGroup, Message, OrderIdHandler
from sim.components.outcomes import DECLINES, Outcomes
from sim.components.deadlines import Deadlines
from sim.components.executor_replies import (
    ASK, CHARGE_AGAIN, CHARGE_SAME_KEY, FAIL_OVER, NEW_KEY, PEND, RETRY, SUCCEED, TIMED_OUT, TIMEOUT,
    TIMEOUT_FAIL_OVER, reply_table,
)
from sim.components.psp import ChargeRequest, Psp, Reply, ReplyCode, ReplyEvent
from sim.kernel.engine import Engine
from sim.kernel.scheduling import Waitable, active_process, clock, engine_of, sleep
from sim.config.model import ExecutorConfig
from sim.domain.orders import TERMINAL_STATES, Checkouts, OrderState, Orders
from sim.observe.metrics import Metrics
from sim.observe.trace import Trace
from sim.policies.breaker import CircuitBreaker
from sim.policies.budget import RetryBudget
from sim.policies.retry import Retrier
from sim.policies.throttle import AdaptiveThrottle

if TYPE_CHECKING:
    from sim.components.kafka import Topic
    from sim.components.producer import Producer

FRESH_KEY_BASE: Final = 1 << 40
"""Fresh keys (flawed design) live above every order id."""

DONE: Final = 0
EXHAUSTED: Final = 1
"""What :meth:`Executor.execute` returns: the order is settled (final, pending, handed to a retry
topic or dead-lettered), or (``defer_exhausted``) the attempts ran out and the caller decides."""

PRIMARY: Final = 0
SECONDARY: Final = 1

_CHARGE: Final = 0
_QUERY: Final = 1
_NOT_STARTED: Final = int(OrderState.NOT_STARTED)
_EXECUTING: Final = OrderState.EXECUTING
_PENDING: Final = OrderState.PENDING
_UNKNOWN: Final = OrderState.UNKNOWN
_TERMINAL: Final = frozenset(int(s) for s in TERMINAL_STATES)
_OVERLOADED: Final = frozenset({ReplyCode.ERROR_5XX, ReplyCode.RATE_LIMITED, ReplyCode.UNAVAILABLE})
"""Answers a breaker, a throttle and a retry budget count as failures of the PSP."""
_NOT_SENT: Final = Reply(ReplyCode.UNAVAILABLE)
"""A call refused locally (breaker open, throttled): never reached the PSP."""
PSP_TIMEOUT: Final = "psp timeout"
"""Cause of the interrupt that ends a PSP call at its timeout."""


def drops_exhausted(cfg: ExecutorConfig, stage: int) -> bool:
    """The last retry topic's attempts ran out (``stage`` > 0): drop the order (the
    ``retry_topics.exhausted: drop`` flaw) rather than dead-letter it?"""
    return stage > 0 and cfg.retry_topics.exhausted == "drop"


def _waiting(call: tuple[simpy.Process, ReplyEvent]) -> bool:
    """The caller still waits for this call's reply."""
    process = call[0]
    reply = call[1]
    return reply.callbacks is not None and process.target is reply


def _time_out(call: tuple[simpy.Process, ReplyEvent]) -> None:
    call[0].interrupt(PSP_TIMEOUT)


def _timed_out(interrupt: simpy.Interrupt) -> Reply | None:
    """What a PSP call that was interrupted returns: None at its timeout; any other interrupt
    (a crash) goes on up: the caller goes away."""
    if interrupt.cause != PSP_TIMEOUT:
        raise interrupt
    return None


class Executor:
    def __init__(
        self, env: simpy.Environment, cfg: ExecutorConfig, psp: Psp, db: Database, orders: Orders,
        checkouts: Checkouts, outcomes: Outcomes, dlq: DeadLetterQueue, rng: random.Random, metrics: Metrics,
        trace: Trace, secondary: Psp | None = None, fallback_after_timeout: bool = False,
        producer: "Producer | None" = None, orders_topic: "Topic | None" = None, defer_exhausted: bool = False,
    ) -> None:
        """``producer`` and ``orders_topic`` (async wiring): where retry topics are published to and
        replayed orders go; ``defer_exhausted`` (sync wiring with payment-service retries): return
        EXHAUSTED instead of dead-lettering when the attempts run out."""
        self.env = env
        self._engine: Engine | None = engine_of(env)
        """The engine, to read the time from (see ``engine_of``); None on a plain SimPy environment."""
        self.cfg = cfg
        self._query_first = cfg.status_query_after_timeout
        """``cfg.status_query_after_timeout``, read per execution: a field, not a pydantic lookup."""
        self.psp = psp
        self.psps = (psp, secondary)
        self.secondary = secondary
        self.fallback_after_timeout = fallback_after_timeout
        self._reply_table = reply_table(cfg, secondary is not None, fallback_after_timeout)
        """What to do after each answer (see :mod:`sim.components.executor_replies`)."""
        self.db = db
        self.orders = orders
        self.checkouts = checkouts
        self.outcomes = outcomes
        self.dlq = dlq
        self.rng = rng
        self.metrics = metrics
        self.trace = trace
        self._fresh_keys = FRESH_KEY_BASE
        self._order_id_keys = cfg.idempotency_key == "order_id"
        """The key is the order id (the correct design): no key bookkeeping per attempt."""
        self.last_key: dict[int, int] = {}
        """Fresh-key design only: the last key used per order (what a status query can ask)."""
        self.breaker = CircuitBreaker(cfg.breaker)
        self.budget = RetryBudget(cfg.retry_budget)
        self.throttle = AdaptiveThrottle(cfg.throttle)
        self._guarded = cfg.breaker.enabled or cfg.throttle.enabled
        self._budgeted = cfg.retry_budget.enabled
        self.polling: set[int] = set()
        """PENDING orders whose status this executor is polling (it learns the outcome at the
        next poll after the PSP's bank answers)."""
        self.on_secondary: set[int] = set()
        """Orders routed to the secondary PSP (their status is asked there)."""
        self._clean: set[int] = set()
        """Orders whose last execution ended with definite failures only (nothing charged)."""
        self.cut_links = 0
        """Active network partitions between the executor and a PSP (fast check)."""
        self.cut = [0, 0]
        """Per PSP (primary, secondary): active partitions; requests get no answer."""
        self.defer_exhausted = defer_exhausted
        """Sync wiring with payment-service retries: return EXHAUSTED instead of dead-lettering."""
        self.retry_stages: list[Topic] = []
        """Retry topics in order (Uber style); empty = in-process retries only (see
        :meth:`use_retry_topics`)."""
        self.producer = producer
        """Publishes to the retry topics and replays to the payment-orders topic (async)."""
        self.orders_topic = orders_topic
        self._timeouts: Deadlines[tuple[simpy.Process, ReplyEvent]] = Deadlines(env, cfg.psp_timeout_s, _waiting, _time_out)
        """The per-call PSP timeout: one timer for every call (see ``sim.components.deadlines``)."""
        self._check_then_act = cfg.claim == "check_then_act"
        self.pause_groups: tuple[ConsumerGroup, ...] = ()
        """Consumer groups whose stalled instances hang inside an execution (see :meth:`pause_in`)."""
        self.handle = OrderIdHandler(self.execute, self._poison)
        """Kafka handler for the payment-orders topic: an order id is executed, anything else is
        a poison pill (the partition worker calls ``execute`` itself: no frame on the hot path)."""

    def pause_in(self, group: ConsumerGroup) -> None:
        """Let ``group``'s handler stalls (zombie consumers) hang an execution after its claim's
        check, before it acts on it and calls the PSP (no pause point is passed until then)."""
        if group not in self.pause_groups:
            self.pause_groups += (group,)
            group.handler_pauses = True

    def _pause(self) -> Generator[Waitable, Any, None]:
        for group in self.pause_groups:
            yield from group.pause_point()

    def use_retry_topics(self, stages: "list[Topic]") -> None:
        """Wire the retry topics, in order: built after the executor, since their consumer groups
        run its :meth:`retry_handler`."""
        self.retry_stages = stages

    # -- Kafka handlers ------------------------------------------------------------------------

    def retry_handler(self, stage: int, delay_s: float) -> Callable[[Message], Generator[Waitable, Any, None]]:
        """Handler of retry topic ``stage`` (1-based): wait until the record is ``delay_s`` old,
        then execute. Records of one topic share the delay, so the wait never reorders them."""
        env = self.env

        def handle(message: Message) -> Generator[Waitable, Any, None]:
            wait = message.produced_at + delay_s - clock(env)
            if wait > 0:
                yield sleep(env, wait)
            value = message.value
            if is_poison(value):
                yield from self._poison(message)
                return
            self.metrics.counters[f"executor.retry_topic.{stage}.consumed"] += 1
            yield from self.execute(value, stage)

        return handle

    def _poison(self, message: Message) -> Generator[Waitable, Any, None]:
        if self.cfg.poison_pills != "crash":
            yield self.db.write()
        reject_poison(self.dlq, self.cfg.poison_pills, "executor", message, clock(self.env), self.metrics.counters)

    # -- keys ----------------------------------------------------------------------------------
    def key_for(self, order_id: int) -> int:
        if self._order_id_keys:
            return order_id
        return self.last_key.get(order_id, order_id)

    def psp_for(self, order_id: int) -> Psp:
        """The PSP an order's charges went to, where its status is asked: the secondary once the
        order failed over to it (never back), else the primary."""
        secondary = self.secondary
        if secondary is not None and order_id in self.on_secondary:
            return secondary
        return self.psp

    def _new_key(self, order_id: int) -> int:
        if self._order_id_keys:
            return order_id
        self._fresh_keys += 1
        self.last_key[order_id] = self._fresh_keys
        return self._fresh_keys

    # -- one execution -------------------------------------------------------------------------
    def execute(self, order_id: int, stage: int = 0) -> Generator[Waitable, Any, int]:
        env, orders, metrics, cfg = self.env, self.orders, self.metrics, self.cfg
        # Claim the order with one conditional write (UPDATE ... SET state = EXECUTING WHERE
        # state = NOT_STARTED RETURNING state): the check and the claim are one atomic call.
        # FLAW (claim: check_then_act): read the state, write the claim one round trip later.
        check_then_act = self._check_then_act
        yield self.db.read() if check_then_act else self.db.write()
        state = orders.state[order_id]
        if state in _TERMINAL or state == _PENDING:
            metrics.counters["executor.already_done"] += 1
            return DONE
        if check_then_act:
            if self.pause_groups:  # a zombie hangs between the check and the act
                yield from self._pause()
            yield self.db.write()  # the act, on what was read a round trip (or a stall) ago
        resumed = state != _NOT_STARTED
        query_first = self._query_first
        action = _CHARGE
        engine = self._engine
        started = engine.now if engine is not None else clock(env)
        if resumed:
            metrics.counters["executor.resumed"] += 1
            if order_id in self._clean:
                self._clean.discard(order_id)  # every earlier attempt was refused: charge again
            elif query_first:
                action = _QUERY
        else:
            orders.transition(order_id, _EXECUTING, started)
        if self.pause_groups and not check_then_act:  # a zombie hangs after its claim, before the PSP call
            yield from self._pause()
        target = SECONDARY if (self.secondary is not None and order_id in self.on_secondary) else PRIMARY
        retrier: Retrier | None = None  # made at the first failure (most executions have none)
        fresh_keys = not self._order_id_keys  # with order-id keys, every attempt uses the order id
        key = self.key_for(order_id) if fresh_keys else order_id
        indefinite = False  # a charge may have been made: a timeout since the last answer proving nothing was
        ever_indefinite = resumed and action == _QUERY  # a timeout in this order's executions: failing over may charge twice
        budget, table = self.budget, self._reply_table
        while True:
            if action == _CHARGE and fresh_keys:
                key = self._new_key(order_id)
            query = action == _QUERY
            if target != PRIMARY or not self._guarded:
                # :meth:`_call` written out: a generator level less on every payment
                try:
                    reply = yield self._send(key, order_id, query, target)
                except simpy.Interrupt as interrupt:
                    reply = _timed_out(interrupt)
                if self.trace.on:
                    self._trace_reply(order_id, query, reply)
            else:
                reply = yield from self._guarded_call(key, order_id, query)
            if reply is None:
                metrics.counters["executor.timeouts"] += 1
                indefinite = ever_indefinite = True
                decision = table[TIMED_OUT]
                retry_after = 0.0
            else:
                code = reply.code
                if self._budgeted and code not in _OVERLOADED:
                    budget.record_success()
                decision = table[code]
                if decision <= PEND:  # final: settle the order from the answer
                    yield self.db.write()
                    applied = self.outcomes.apply(order_id, code, "executor")
                    if decision == SUCCEED:
                        if applied:
                            yield from self.outcomes.publish_success(order_id)
                    elif decision == PEND:
                        env.process(self._poll_pending(order_id, key, target))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
                    return DONE
                retry_after = reply.retry_after_s
            action, key, target, indefinite, back_off = self._next_attempt(
                decision, order_id, action, key, target, indefinite, ever_indefinite,
            )
            if not back_off:
                continue
            if retrier is None:
                retrier = Retrier(cfg.retry, self.rng, started)
            delay = retrier.next_delay_s(clock(env), retry_after)
            if delay is not None and self._budgeted and not budget.can_retry():
                metrics.counters["executor.retry_budget_denied"] += 1
                delay = None
            if delay is None:
                return (yield from self._exhausted(order_id, stage, indefinite))
            metrics.counters["executor.retries"] += 1
            yield sleep(env, delay)

    def _next_attempt(
        self, decision: int, order_id: int, action: int, key: int, target: int, indefinite: bool, ever_indefinite: bool,
    ) -> tuple[int, int, int, bool, bool]:
        """What a decision other than a final one does (see :mod:`sim.components.executor_replies`):
        the next attempt's (action, key, target PSP), whether the outcome is now indefinite, and
        whether to back off before it (False: at once)."""
        if decision == FAIL_OVER:
            if target == PRIMARY and (not ever_indefinite or self.fallback_after_timeout):
                return _CHARGE, key, self._fail_over(order_id), False, False
            decision = RETRY  # the order may have been charged at the primary: stay there
        elif decision == TIMEOUT_FAIL_OVER:
            if target == PRIMARY:
                return _CHARGE, key, self._fail_over(order_id), indefinite, False  # FLAW: the primary may have charged
            decision = TIMEOUT
        if decision == TIMEOUT:
            if action == _CHARGE and self.cfg.status_query_after_timeout:
                return _QUERY, key, target, indefinite, False  # ask before trying again
            return action, key, target, indefinite, True
        if decision == CHARGE_AGAIN:  # the PSP never saw (or forgot) the key, or a retried decline (FLAW)
            return _CHARGE, key, target, False, True
        if decision == ASK:
            return _QUERY, key, target, indefinite, True
        if decision == CHARGE_SAME_KEY:
            return _CHARGE, key, target, indefinite, True
        if decision == NEW_KEY:
            return _CHARGE, self._conflict_key(order_id), target, indefinite, True  # FLAW: the first may charge
        # RETRY: the same call again; an error answer to a charge means that attempt charged nothing
        return action, key, target, indefinite and action != _CHARGE, True

    def _exhausted(self, order_id: int, stage: int, indefinite: bool) -> Generator[Waitable, Any, int]:
        """In-process attempts ran out: next retry topic, the caller, or the DLQ."""
        env, orders = self.env, self.orders
        if stage < len(self.retry_stages) or self.defer_exhausted:
            yield self.db.write()  # conditional, as the claim: a webhook or the monitor may have settled it
            if orders.state[order_id] in _TERMINAL:
                self.metrics.counters["executor.already_done"] += 1
                return DONE
            if indefinite:
                orders.transition(order_id, _UNKNOWN, clock(env))
            else:
                self._clean.add(order_id)
            if stage < len(self.retry_stages):
                assert self.producer is not None
                sent = yield from self.producer.send(self.retry_stages[stage], order_id, order_id)
                if sent:
                    self.metrics.counters[f"executor.retry_topic.{stage + 1}.published"] += 1
                    return DONE
                self._clean.discard(order_id)
                yield from self._dead_letter(order_id, "unknown_outcome" if indefinite else "retries_exhausted")
                return DONE
            return EXHAUSTED
        if drops_exhausted(self.cfg, stage):
            self.metrics.counters["executor.retry_topic.dropped"] += 1  # FLAW: nobody is told
            return DONE
        yield from self._dead_letter(order_id, "unknown_outcome" if indefinite else "retries_exhausted")
        return DONE

    def _conflict_key(self, order_id: int) -> int:
        """FLAW (``on_conflict: new_key``): a 409 taken for a failure; the next charge gets a new key."""
        self.metrics.counters["executor.conflict_new_key"] += 1
        self._fresh_keys += 1
        self.last_key[order_id] = self._fresh_keys
        return self._fresh_keys

    def give_up(self, order_id: int) -> Generator[Waitable, Any, None]:
        """The caller's retries ran out too (sync wiring): dead-letter the order."""
        self._clean.discard(order_id)
        reason = "unknown_outcome" if self.orders.state[order_id] == _UNKNOWN else "retries_exhausted"
        yield from self._dead_letter(order_id, reason)

    def _fail_over(self, order_id: int) -> int:
        self.on_secondary.add(order_id)
        self.metrics.counters["executor.fallback_to_secondary"] += 1
        if self.trace.on:
            self.trace.add(clock(self.env), order_id, "executor:fallback_to_secondary")
        return SECONDARY

    # -- one PSP call --------------------------------------------------------------------------
    def _guarded_call(self, key: int, order_id: int, query: bool) -> Generator[Waitable, Any, Reply | None]:
        """One call to the primary PSP through the breaker and the throttle (when either is on;
        unguarded calls go straight to :meth:`_call`, without this frame on every resume)."""
        env, counters = self.env, self.metrics.counters
        now = clock(env)
        if not self.breaker.allow(now):
            counters["executor.breaker_rejected"] += 1
            return _NOT_SENT
        if not self.throttle.should_send(now, self.rng):
            counters["executor.throttled"] += 1
            return _NOT_SENT
        reply = yield from self._call(key, order_id, query, PRIMARY)
        failed = reply is None or reply.code in _OVERLOADED
        self.breaker.record(clock(env), not failed, clock(env) - now)
        self.throttle.record(clock(env), not failed)
        return reply

    def _call(self, key: int, order_id: int, query: bool, target: int = PRIMARY) -> Generator[Waitable, Any, Reply | None]:
        """One PSP request under the per-call timeout: the reply, or None on timeout."""
        try:
            reply = yield self._send(key, order_id, query, target)
        except simpy.Interrupt as interrupt:
            reply = _timed_out(interrupt)
        if self.trace.on:
            self._trace_reply(order_id, query, reply)
        return reply

    def _send(self, key: int, order_id: int, query: bool, target: int) -> ReplyEvent:
        """Send one PSP request and arm its timeout: the event to wait on (the reply, or the
        timeout's interrupt: see :func:`_timed_out`)."""
        env = self.env
        done = ReplyEvent()
        psp = self.psps[target]
        if self.trace.on and self.trace.requests:  # sequence diagrams draw each request when sent
            self.trace.add(clock(env), order_id, f"executor:{'query' if query else 'charge'}:sent")
        cut = self.cut_links and self.cut[target]
        engine = self._engine
        now = engine.now if engine is not None else clock(env)
        deadline_s = now + self._timeouts.delay_s
        if query:
            self.metrics.counters["executor.status_queries"] += 1
            if not cut:
                psp.query(key, done, deadline_s)  # type: ignore[union-attr]  # (never None here)
        else:
            orders = self.orders
            orders.count_attempt(order_id)
            if not cut:
                request = ChargeRequest(
                    key, order_id, orders.amount_minor[order_id], orders.currency[order_id],
                    self.checkouts.card_token[orders.checkout_of(order_id)], -1, deadline_s,
                )
                psp.charge(request, done)  # type: ignore[union-attr]  # (never None here)
        if cut:
            self.metrics.counters["executor.partitioned"] += 1
        self._timeouts.arm((active_process(env), done), now)  # type: ignore[arg-type]  # (never None here)
        return done

    def _trace_reply(self, order_id: int, query: bool, reply: Reply | None) -> None:
        what = "timeout" if reply is None else ReplyCode(reply.code).name
        self.trace.add(clock(self.env), order_id, f"executor:{'query' if query else 'charge'}:{what}")

    # -- dead letters and replay ---------------------------------------------------------------
    def _dead_letter(self, order_id: int, reason: str) -> Generator[Waitable, Any, None]:
        env = self.env
        yield self.db.write()
        if self.orders.state[order_id] in _TERMINAL:
            return
        if reason == "unknown_outcome":
            self.orders.transition(order_id, OrderState.UNKNOWN, clock(env))
        self.orders.transition(order_id, OrderState.DEAD_LETTERED, clock(env))
        self.dlq.add(order_id, reason, clock(env))
        self.metrics.counters[f"dlq.{reason}"] += 1
        if self.trace.on:
            self.trace.add(clock(env), order_id, f"executor:dead_lettered:{reason}")

    def replay(self, entries: list[DeadLetter]) -> int:
        """Hand dead-lettered orders back for execution, after an incident. Each becomes UNKNOWN
        (the charge may have happened) so the next execution asks the PSP before charging, with
        the same key: a replay never charges twice. Poison pills go back to the DLQ. Returns the
        number of orders replayed."""
        env, orders = self.env, self.orders
        replayed = 0
        for entry in entries:
            order_id = entry.order_id
            if order_id < 0:
                self.dlq.add(order_id, entry.reason, entry.at_s)  # unparseable: stays for a human
                continue
            if orders.state[order_id] != OrderState.DEAD_LETTERED:
                continue
            orders.transition(order_id, _UNKNOWN, clock(env))
            replayed += 1
            if self.orders_topic is not None and self.producer is not None:
                env.process(self.producer.send(self.orders_topic, order_id, order_id))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
            else:
                env.process(self.execute(order_id))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
        self.metrics.counters["dlq.replayed"] += replayed
        return replayed

    def _poll_pending(self, order_id: int, key: int, target: int = PRIMARY) -> Generator[Waitable, Any, None]:
        """Ask the PSP about a PENDING order until it is final (webhooks may be lost)."""
        self.polling.add(order_id)
        try:
            yield from self._poll_until_final(order_id, key, target)
        finally:
            self.polling.discard(order_id)

    def _poll_until_final(self, order_id: int, key: int, target: int) -> Generator[Waitable, Any, None]:
        env, orders = self.env, self.orders
        while orders.state[order_id] == _PENDING:
            yield sleep(env, self.cfg.pending_poll_s)
            if orders.state[order_id] != _PENDING:
                return
            reply = yield from self._call(key, order_id, True, target)
            if reply is None:
                continue
            if reply.code == ReplyCode.APPROVED or reply.code in DECLINES:
                yield self.db.write()
                yield from self.outcomes.apply_and_publish(order_id, reply.code, "status_poll")
            elif reply.code == ReplyCode.NOT_FOUND and orders.state[order_id] == _PENDING:
                # The PSP dropped the pending charge (a bank error) or forgot the key: charge again.
                self.metrics.counters["executor.pending_forgotten"] += 1
                orders.transition(order_id, _EXECUTING, clock(env))
                self._clean.add(order_id)
                if (yield from self.execute(order_id)) == EXHAUSTED:
                    # No caller retries this execution (it was the poll's, not a request's): the
                    # order would stay EXECUTING for ever, as the in-flight monitor cannot settle a
                    # key the PSP does not know. Dead-letter it.
                    yield from self.give_up(order_id)
                return
