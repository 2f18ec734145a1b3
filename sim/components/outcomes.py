"""How a PSP answer changes a payment order: the one place the state rules live.

Used by the executor (replies and status queries), the webhook handler, the in-flight monitor and
reconciliation, so every path obeys the same rules: SUCCESS is never left; a late decline or a
PENDING never overwrites a success; a success publishes one payment-success event for the wallet
and the ledger.
"""

from __future__ import annotations

from typing import Any, Generator, Final

import simpy

from sim.kernel.engine import Engine
from sim.kernel.scheduling import Waitable, clock, engine_of
from sim.components.kafka import Topic
from sim.components.producer import Producer
from sim.components.psp import ReplyCode
from sim.domain.orders import OrderState, Orders
from sim.observe.metrics import Count, Metrics
from sim.observe.trace import Trace

DECLINES: Final = frozenset({ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT, ReplyCode.INVALID})
# Plain ints: attribute access on an enum class costs a Python call on the hot path.
_SUCCESS: Final = int(OrderState.SUCCESS)
_FAILED: Final = int(OrderState.FAILED)
_PENDING: Final = int(OrderState.PENDING)
_APPROVED: Final = int(ReplyCode.APPROVED)
_R_PENDING: Final = int(ReplyCode.PENDING)
_MAY_BECOME_PENDING: Final = frozenset({int(OrderState.NOT_STARTED), int(OrderState.EXECUTING), int(OrderState.UNKNOWN)})


class Outcomes:
    def __init__(
        self, env: simpy.Environment, orders: Orders, producer: Producer, success_topic: Topic,
        metrics: Metrics, trace: Trace,
    ) -> None:
        self.env = env
        self._engine: Engine | None = engine_of(env)
        """The engine, to read the time from (see ``engine_of``); None on a plain SimPy environment."""
        self.orders = orders
        self.producer = producer
        self.success_topic = success_topic
        self.metrics = metrics
        self.trace = trace
        self._success_via: dict[str, Count] = {}
        """Source → its ``success_via.<source>`` counter, made at its first success."""

    def apply(self, order_id: int, code: int, source: str) -> bool:
        """Apply a definite or pending answer; True when the order just became SUCCESS
        (the caller must then publish the success event with :meth:`publish_success`)."""
        orders = self.orders
        state = orders.state[order_id]
        if self.trace.on:
            self.trace.add(clock(self.env), order_id, f"{source}:{ReplyCode(code).name}")
        if code == _APPROVED:
            if state == _SUCCESS:  # about half the calls (webhooks after the executor's reply)
                return False
            engine = self._engine
            orders.transition(order_id, _SUCCESS, engine.now if engine is not None else clock(self.env))
            success_via = self._success_via.get(source)
            if success_via is None:
                success_via = self._success_via[source] = self.metrics.count("success_via." + source)
            success_via.n += 1
            return True
        if code in DECLINES:
            if state == _SUCCESS:
                self.metrics.counters["late_decline_ignored"] += 1
            elif state != _FAILED:
                orders.transition(order_id, _FAILED, clock(self.env))
            return False
        if code == _R_PENDING and state in _MAY_BECOME_PENDING:
            orders.transition(order_id, _PENDING, clock(self.env))
        return False

    def publish_success(self, order_id: int) -> Generator[Waitable, Any, None]:
        """Tell the wallet and the ledger (at-least-once, through Kafka)."""
        sent = yield from self.producer.send_all(self.success_topic, ((order_id, order_id),))  # one call less than ``send``
        if not sent:
            self.metrics.counters["success_event_not_sent"] += 1

    def apply_and_publish(self, order_id: int, code: int, source: str) -> Generator[Waitable, Any, None]:
        if self.apply(order_id, code, source):
            yield from self.publish_success(order_id)
