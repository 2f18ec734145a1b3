"""Publishing to a Kafka topic: wait for the broker's ack, retry while the broker is down; records
sent together share one batch (one ack)."""

from __future__ import annotations

import random
from functools import partial
from typing import Any, Generator, Sequence

import simpy

from sim.components.kafka import Topic
from sim.kernel.scheduling import Wait, Waitable, clock, resume_with, sleep
from sim.config.distributions import make_sampler
from sim.config.model import KafkaConfig, ProducerConfig
from sim.observe.metrics import Metrics
from sim.policies.retry import Retrier


class Producer:
    """A service's Kafka producer with retries; may duplicate under the producer-duplicates fault."""

    def __init__(
        self, env: simpy.Environment, name: str, kafka: KafkaConfig, cfg: ProducerConfig,
        rng: random.Random, metrics: Metrics,
    ) -> None:
        self.env = env
        self.name = name
        self.cfg = cfg
        self.rng = rng
        self.metrics = metrics
        self._latency_s = make_sampler(kafka.publish_latency, rng)
        self.duplicate_probability = 0.0
        """Producer-duplicates fault: the ack is lost and the producer sends the record again."""

    def send(self, topic: Topic, key: int, value: object) -> Generator[Waitable, Any, bool]:
        """Publish one record and wait for the ack; False when the retries ran out (not sent)."""
        return self.send_all(topic, ((key, value),))

    def _reach_broker(self, topic: Topic, records: Sequence[tuple[int, object]], ack: Wait) -> None:
        """The batch reaches the broker: a callback of the ack's timeout, run before the producer
        resumes, so idle consumers wake at once (no extra event); the ack's value tells the
        producer whether the broker took the batch (it is up or down for all of it). A sender that
        crashes while the batch is on its way does not stop it: the request had left (its ack is
        lost with it, the at-least-once case)."""
        taken = topic.publish_all(records) is not None
        resume_with(ack, taken)
        if taken and self.duplicate_probability:
            for key, value in records:
                if self.rng.random() < self.duplicate_probability:
                    topic.publish(key, value)
                    self.metrics.counters["producer.duplicates"] += 1

    def send_all(self, topic: Topic, records: Sequence[tuple[int, object]]) -> Generator[Waitable, Any, bool]:
        """Publish records together (one producer batch: one ack latency for all) and wait for the
        ack; False when the retries ran out (none is sent: an outage refuses the whole batch)."""
        env = self.env
        retrier: Retrier | None = None
        while True:
            ack = sleep(env, self._latency_s())
            ack.callbacks.append(partial(self._reach_broker, topic, records))
            if (yield ack):
                return True
            if retrier is None:
                retrier = Retrier(self.cfg.retry, self.rng, clock(env))
            delay = retrier.next_delay_s(clock(env))
            if delay is None:
                self.metrics.counters[f"producer.{self.name}.gave_up"] += 1
                return False
            self.metrics.counters[f"producer.{self.name}.retries"] += 1
            yield sleep(env, delay)
