"""How a service queues the work it cannot start at once (docs/design.md, capacity section).

Each service of the flow has a number of servers (threads, connections, a concurrency limit) set
in its own section, and a ``queue`` made of these knobs. The numbers of the shipped defaults are
said where they are set (``sim/config/model.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sim.config.base import Frozen, NonNegativeInt, Seconds


class QueueConfig(Frozen):
    """The queue in front of a service's servers, and what the service does under overload."""

    discipline: Literal["fifo", "lifo"] = Field(
        "fifo", description="which waiting request a free server takes: the oldest (fifo) or the newest (lifo: "
        "under overload it serves callers who are still waiting)"
    )
    max_queue: NonNegativeInt | None = Field(
        None, le=10_000_000, description="requests that may wait; beyond it the service rejects at once (503, or 429 "
        "with Retry-After where it sends one); null = unbounded"
    )
    max_queue_wait_s: Seconds | None = Field(
        None, alias="max_queue_wait", description="a request waiting longer leaves the queue unserved (bounded "
        "queueing time); null = no bound"
    )
    drop_expired: bool = Field(
        False, description="deadline propagation: a request whose caller's deadline has passed when a server would "
        "take it is dropped instead of served (false: abandoned work is still done)"
    )
    contention: float = Field(
        0.0, ge=0.0, le=1.0, description="universal scalability law σ: service time × (1 + σ(n−1) + κn(n−1)) "
        "with n requests in service (lock contention)"
    )
    coherency: float = Field(
        0.0, ge=0.0, le=1.0, description="universal scalability law κ (coherency cost, e.g. cache or GC thrash)"
    )


class HarnessQueueConfig(QueueConfig):
    """A queue for a station built outside a model (a validation harness), which may also serve in
    random order: a free server takes a uniformly random waiting request, drawn from the random
    stream the harness gives the station. A model's services are not given one, so their
    ``queue`` keeps fifo and lifo."""

    discipline: Literal["fifo", "lifo", "random"] = "fifo"  # type: ignore[assignment]


class QueuedService(Frozen):
    """A service config with a ``queue``: a partial ``queue:`` in a model file or an override keeps the
    service's own queue defaults for the keys it does not name (the PSP's ``max_queue: 500`` stays
    when a scenario sets only ``psp.queue.drop_expired``)."""

    @model_validator(mode="before")
    @classmethod
    def _queue_over_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("queue"), dict):
            default = cls.model_fields["queue"].get_default(call_default_factory=True)
            if isinstance(default, QueueConfig):
                merged = default.model_dump(by_alias=True, exclude_defaults=True)
                merged.update(data["queue"])
                data = {**data, "queue": merged}
        return data
