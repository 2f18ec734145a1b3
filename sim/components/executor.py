"""The payment executor: one payment order → PSP calls under a timeout and a retry policy.

A timeout is an *indefinite* outcome: the PSP may have charged. The correct design retries with
the same idempotency key (the order id) and, optionally, asks the PSP for the key's status first.
The flawed ``fresh_per_attempt`` design sends a new key each time and can charge twice.
"""

from __future__ import annotations

import random
from typing import Generator

import simpy

from sim.components.database import Database
from sim.components.dlq import DeadLetterQueue
from sim.components.kafka import Message
from sim.components.outcomes import DECLINES, Outcomes
from sim.components.psp import ChargeRequest, Psp, Reply, ReplyCode
from sim.config.model import ExecutorConfig
from sim.domain.orders import TERMINAL_STATES, Checkouts, OrderState, Orders
from sim.observe.metrics import Metrics
from sim.observe.trace import Trace
from sim.policies.retry import Retrier

FRESH_KEY_BASE = 1 << 40
"""Fresh keys (flawed design) live above every order id."""

_CHARGE, _QUERY = 0, 1
_EXECUTING = OrderState.EXECUTING
_PENDING = OrderState.PENDING
_TERMINAL = frozenset(int(s) for s in TERMINAL_STATES)
_WAIT_AND_QUERY = frozenset({ReplyCode.IN_FLIGHT, ReplyCode.CONFLICT})


class Executor:
    def __init__(
        self, env: simpy.Environment, cfg: ExecutorConfig, psp: Psp, db: Database, orders: Orders,
        checkouts: Checkouts,        outcomes: Outcomes, dlq: DeadLetterQueue, rng: random.Random, metrics: Metrics, trace: Trace,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.psp = psp
        self.db = db
        self.orders = orders
        self.checkouts = checkouts
        self.outcomes = outcomes
        self.dlq = dlq
        self.rng = rng
        self.metrics = metrics
        self.trace = trace
        self._fresh_keys = FRESH_KEY_BASE
        self.last_key: dict[int, int] = {}
        """Fresh-key design only: the last key used per order (what a status query can ask)."""

    def handle(self, message: Message) -> Generator[simpy.Event, None, None]:
        """Kafka handler for the payment-orders topic."""
        yield from self.execute(message.value)

    def key_for(self, order_id: int) -> int:
        if self.cfg.idempotency_key == "order_id":
            return order_id
        return self.last_key.get(order_id, order_id)

    def _new_key(self, order_id: int) -> int:
        if self.cfg.idempotency_key == "order_id":
            return order_id
        self._fresh_keys += 1
        self.last_key[order_id] = self._fresh_keys
        return self._fresh_keys

    def execute(self, order_id: int) -> Generator[simpy.Event, None, None]:
        env, orders, metrics, cfg = self.env, self.orders, self.metrics, self.cfg
        yield self.db.read()
        state = orders.state[order_id]
        if state in _TERMINAL or state == _PENDING:
            metrics.counters["executor.already_done"] += 1
            return
        resumed = state != OrderState.NOT_STARTED
        if resumed:
            metrics.counters["executor.resumed"] += 1
        else:
            orders.transition(order_id, _EXECUTING, env.now)
            yield self.db.write()
        query_first = cfg.status_query_after_timeout
        action = _QUERY if (resumed and query_first) else _CHARGE
        retrier = Retrier(cfg.retry, self.rng, env.now)
        key = self.key_for(order_id)
        indefinite = False
        while True:
            if action == _CHARGE:
                key = self._new_key(order_id)
                orders.count_attempt(order_id)
                reply = yield from self._call(key, order_id, query=False)
            else:
                reply = yield from self._call(key, order_id, query=True)
            if reply is None:
                metrics.counters["executor.timeouts"] += 1
                indefinite = True
                if query_first and action == _CHARGE:
                    action = _QUERY  # ask before trying again
                    continue
                retry_after = 0.0
            else:
                code = reply.code
                if code == ReplyCode.APPROVED:
                    yield self.db.write()
                    yield from self.outcomes.apply_and_publish(order_id, code, "executor")
                    return
                if code in DECLINES and not cfg.retry.retry_non_retryable:
                    yield self.db.write()
                    self.outcomes.apply(order_id, code, "executor")
                    return
                if code == ReplyCode.PENDING:
                    yield self.db.write()
                    self.outcomes.apply(order_id, code, "executor")
                    env.process(self._poll_pending(order_id, key))
                    return
                if code == ReplyCode.NOT_FOUND:
                    action = _CHARGE  # the PSP never saw (or forgot) the key: charging again is safe
                    indefinite = False
                elif code in _WAIT_AND_QUERY:
                    action = _QUERY if query_first else _CHARGE
                elif code in DECLINES:
                    action = _CHARGE  # FLAW path: retrying a definite decline
                    indefinite = False
                elif action == _CHARGE:
                    indefinite = False  # an error reply to a charge: that attempt charged nothing
                retry_after = reply.retry_after_s
            delay = retrier.next_delay_s(env.now, retry_after)
            if delay is None:
                yield from self._dead_letter(order_id, "unknown_outcome" if indefinite else "retries_exhausted")
                return
            metrics.counters["executor.retries"] += 1
            yield env.timeout(delay)

    def _call(self, key: int, order_id: int, query: bool) -> Generator[simpy.Event, None, Reply | None]:
        """One PSP request under the per-call timeout: the reply, or None on timeout."""
        env = self.env
        done = env.event()

        def on_reply(reply: Reply) -> None:
            if not done.triggered:
                done.succeed(reply)

        def on_timeout(_event: simpy.Event) -> None:
            if not done.triggered:
                done.succeed(None)

        if query:
            self.metrics.counters["executor.status_queries"] += 1
            self.psp.query(key, on_reply)
        else:
            orders = self.orders
            request = ChargeRequest(
                key, order_id, orders.amount_minor[order_id], orders.currency[order_id],
                self.checkouts.card_token[orders.checkout[order_id]],
            )
            self.psp.charge(request, on_reply)
        env.timeout(self.cfg.psp_timeout_s).callbacks.append(on_timeout)
        reply = yield done
        if self.trace.on:
            what = "timeout" if reply is None else ReplyCode(reply.code).name
            self.trace.add(env.now, order_id, f"executor:{'query' if query else 'charge'}:{what}")
        return reply

    def _dead_letter(self, order_id: int, reason: str) -> Generator[simpy.Event, None, None]:
        env = self.env
        yield self.db.write()
        if self.orders.state[order_id] in _TERMINAL:
            return
        if reason == "unknown_outcome":
            self.orders.transition(order_id, OrderState.UNKNOWN, env.now)
        self.orders.transition(order_id, OrderState.DEAD_LETTERED, env.now)
        self.dlq.add(order_id, reason, env.now)
        self.metrics.counters[f"dlq.{reason}"] += 1
        if self.trace.on:
            self.trace.add(env.now, order_id, f"executor:dead_lettered:{reason}")

    def _poll_pending(self, order_id: int, key: int) -> Generator[simpy.Event, None, None]:
        """Ask the PSP about a PENDING order until it is final (webhooks may be lost)."""
        env, orders = self.env, self.orders
        while orders.state[order_id] == _PENDING:
            yield env.timeout(self.cfg.pending_poll_s)
            if orders.state[order_id] != _PENDING:
                return
            reply = yield from self._call(key, order_id, query=True)
            if reply is not None and reply.code == ReplyCode.NOT_FOUND and orders.state[order_id] == _PENDING:
                # The PSP dropped the pending payment (the bank errored; no webhook follows): nothing
                # was charged under this key, so executing the order again with it is safe.
                self.metrics.counters["executor.pending_dropped"] += 1
                orders.transition(order_id, _EXECUTING, env.now)
                yield from self.execute(order_id)
                return
            if reply is not None and (reply.code == ReplyCode.APPROVED or reply.code in DECLINES):
                yield self.db.write()
                yield from self.outcomes.apply_and_publish(order_id, reply.code, "status_poll")
