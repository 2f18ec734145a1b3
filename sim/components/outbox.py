"""The transactional-outbox relay: hands on persisted orders whose publish never got an ack.

Persisting an order and publishing it are two writes; if the broker is down longer than the
producer and the buyer keep retrying, the order sits in the database, NOT_STARTED, for ever (the
dual-write problem). With an outbox the row is written in the same transaction as the order, and
the relay publishes every row still unacknowledged, every ``interval``. It never re-publishes a
record the broker acknowledged: a message lost after that (a consumer committing before
processing) stays lost. The relay polls only while unsent rows exist (an idle poll changes
nothing), so it costs no events in a healthy run.
"""

from __future__ import annotations

from typing import Generator, Iterable

import simpy

from sim.components.kafka import Topic
from sim.components.producer import Producer
from sim.config.model import OutboxConfig
from sim.domain.orders import HANDED_ON, OrderState, Orders
from sim.observe.metrics import Metrics

_NOT_STARTED = int(OrderState.NOT_STARTED)


class OutboxRelay:
    def __init__(self, env: simpy.Environment, cfg: OutboxConfig, orders: Orders, producer: Producer,
                 topic: Topic, metrics: Metrics) -> None:
        self.env = env
        self.cfg = cfg
        self.orders = orders
        self.producer = producer
        self.topic = topic
        self.metrics = metrics
        self._unsent: dict[int, None] = {}
        self._sending: set[int] = set()
        self._wake: simpy.Event | None = None

    def start(self) -> None:
        self.env.process(self._relay())

    def unsent(self, order_ids: Iterable[int]) -> None:
        """The payment service's publish of these orders failed: their outbox rows stay unsent."""
        for order_id in order_ids:
            self._unsent[order_id] = None
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _relay(self) -> Generator[simpy.Event, None, None]:
        env, orders = self.env, self.orders
        while True:
            if not self._unsent:
                self._wake = env.event()
                yield self._wake
            yield env.timeout(self.cfg.interval_s)
            for order_id in list(self._unsent):
                if orders.state[order_id] != _NOT_STARTED or orders.flags[order_id] & HANDED_ON:
                    del self._unsent[order_id]  # a buyer's retry handed it on, or it already ran
                elif order_id not in self._sending:
                    self._sending.add(order_id)
                    env.process(self._send(order_id))

    def _send(self, order_id: int) -> Generator[simpy.Event, None, None]:
        try:
            if (yield from self.producer.send(self.topic, order_id, order_id)):
                self.orders.flags[order_id] |= HANDED_ON
                self._unsent.pop(order_id, None)
                self.metrics.counters["outbox.relayed"] += 1
        finally:
            self._sending.discard(order_id)
