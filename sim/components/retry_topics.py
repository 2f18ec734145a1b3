"""Uber-style retry topics: ``payment-orders-retry-1`` (delay 1 s), ``-retry-2`` (10 s), ...,
then the DLQ.

When the executor's in-process attempts for an order run out, it publishes the order to the next
retry topic and commits the main partition at once: a slow retry never blocks fresh orders. Each
retry topic has its own consumer group (``executor-retry-N``) that holds a record until it is
``delay`` old, then executes it (status query first when the outcome was indefinite). Records of
one topic share the delay, so waiting for the head never delays a record that is already due.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from sim.components.kafka import ConsumerGroup, Topic
from sim.config.topics import names

if TYPE_CHECKING:
    import simpy

    from sim.components.executor import Executor
    from sim.config.model import RetryTopicsConfig
    from sim.observe.metrics import Metrics


def build_retry_topics(
    env: "simpy.Environment", cfg: "RetryTopicsConfig", base: str, executor: "Executor", metrics: "Metrics",
    make_group: Callable[[Topic, str, int, Callable], ConsumerGroup],
) -> tuple[dict[str, Topic], dict[str, ConsumerGroup]]:
    """The retry topics and their consumer groups (not started), wired into ``executor``."""
    topics: dict[str, Topic] = {}
    groups: dict[str, ConsumerGroup] = {}
    stages = []
    for stage, ((topic, group), delay_s) in enumerate(zip(names(base, cfg), cfg.delays_s), start=1):
        topics[topic] = Topic(env, topic, cfg.partitions, metrics)
        groups[group] = make_group(topics[topic], group, cfg.instances, executor.retry_handler(stage, delay_s))
        stages.append(topics[topic])
    executor.use_retry_topics(stages)
    return topics, groups
