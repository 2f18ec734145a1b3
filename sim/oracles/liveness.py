"""Nothing lost: after the fault-free drain, every accepted order is SUCCESS, FAILED or
DEAD_LETTERED (visible to a human). Anything else is stuck."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.domain.orders import OrderState
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def nothing_lost(world: "World") -> list[Violation]:
    orders, now = world.orders, world.env.now
    return [
        Violation(
            "nothing_lost",
            f"order {o} stuck in {OrderState(orders.state[o]).name} for {now - orders.created_at[o]:.1f}s "
            f"(created at {orders.created_at[o]:.3f}s)",
            [o], orders.created_at[o],
        )
        for o in orders.in_flight
    ]
