"""The names of the Kafka topics and consumer groups a design uses: the two main topics and the
retry topics' (``payment-orders-retry-1`` read by ``executor-retry-1``, ...). One place for the
world that builds them, the system graph and the fault-target checks that name them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config.model import RetryTopicsConfig

ORDERS_TOPIC = "payment-orders"
SUCCESS_TOPIC = "payment-success"


def topic_name(base: str, stage: int) -> str:
    return f"{base}-retry-{stage}"


def group_name(stage: int) -> str:
    return f"executor-retry-{stage}"


def names(base: str, cfg: "RetryTopicsConfig") -> list[tuple[str, str]]:
    """(topic, consumer group) of each stage, in order; empty when retry topics are off."""
    if not cfg.enabled:
        return []
    return [(topic_name(base, i), group_name(i)) for i in range(1, len(cfg.delays_s) + 1)]
