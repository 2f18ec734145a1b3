"""The dead-letter queue: orders a human must look at (exhausted retries, poison pills)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from sim.components.kafka import OrderIdHandler


@dataclass(frozen=True, slots=True)
class DeadLetter:
    order_id: int
    reason: str
    at_s: float


class DeadLetterQueue:
    """Listable and replayable; entries stay until replayed."""

    def __init__(self) -> None:
        self.entries: list[DeadLetter] = []
        self.replayed = 0

    def add(self, order_id: int, reason: str, now: float) -> None:
        self.entries.append(DeadLetter(order_id, reason, now))

    def take_all(self) -> list[DeadLetter]:
        """Remove and return every entry (for a replay after recovery)."""
        entries, self.entries = self.entries, []
        self.replayed += len(entries)
        return entries

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.reason] = counts.get(entry.reason, 0) + 1
        return dict(sorted(counts.items()))


class PoisonPillError(Exception):
    """A record a consumer cannot parse (raised only by the flawed ``poison_pills: crash``)."""


def is_poison(value: object) -> bool:
    """Every topic carries order ids; anything else can never be processed."""
    return type(value) is not int


def reject_poison(dlq: DeadLetterQueue, mode: str, consumer: str, message, now: float, counters) -> None:
    """Dead-letter an unparseable record, or (FLAW: ``crash``) let it escape and crash the consumer,
    which Kafka then redelivers for ever, blocking the partition."""
    counters[f"{consumer}.poison_pills"] += 1
    if mode == "crash":
        where = f"{message.topic}/{message.partition}@{message.offset}"
        raise PoisonPillError(f"{consumer} cannot parse record {where}")
    dlq.add(-1, "poison_pill", now)
    counters["dlq.poison_pill"] += 1


def consume_order_ids(
    process: Callable[[int], Generator[Any, Any, Any]], dlq: DeadLetterQueue, mode: str, consumer: str,
    env, counters,
) -> OrderIdHandler:
    """A Kafka handler for a topic of order ids: ``process(order_id)``'s generator itself (no
    wrapping generator: one frame less on every resume of the hot path), or, for anything that is
    not an order id, :func:`reject_poison` and nothing to wait for."""

    def reject(message) -> Iterator[Any]:
        reject_poison(dlq, mode, consumer, message, env.now, counters)
        return iter(())

    return OrderIdHandler(process, reject)
