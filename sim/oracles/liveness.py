"""Nothing lost: after the fault-free drain, every accepted order is SUCCESS, FAILED or
DEAD_LETTERED (visible to a human), or PENDING while in flight at the PSP (see ``lost_orders``:
the pending resolution's tail may outlast any drain). Anything else is stuck."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.components.psp import ReplyCode
from sim.domain.orders import OrderState
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def lost_orders(world: "World") -> list[int]:
    """Orders not final at the end of the run, except PENDING ones still in flight: the PSP still
    waits for the bank, or it has an answer and the executor is polling for it (it learns it at
    the next poll). PENDING while the PSP has decided and nobody asks, or while the executor polls
    a key the PSP no longer knows, is lost."""
    orders, executor, pending = world.orders, world.executor, int(OrderState.PENDING)
    waiting = int(ReplyCode.PENDING)

    def in_flight(order_id: int) -> bool:
        on_secondary = world.secondary_psp is not None and order_id in executor.on_secondary
        psp = world.secondary_psp if on_secondary else world.psp
        code = psp.stored_code(executor.key_for(order_id))
        return code == waiting or (code is not None and order_id in executor.polling)

    return [o for o in orders.in_flight if not (orders.state[o] == pending and in_flight(o))]


def faults_stopped_s(world: "World") -> float:
    """When the last fault window ended (0 without faults): from then on an order that is not
    final is "hot" (Coyote's liveness monitors), and it must cool down before the run ends."""
    return max((w.end_s for w in world.fault_windows), default=0.0)


def nothing_lost(world: "World") -> list[Violation]:
    """Every order still hot at the end of the run, with how long it stayed hot after the faults
    stopped (the explain re-run of ``paychaos run`` attaches its trace)."""
    orders, now = world.orders, world.env.now
    stopped = faults_stopped_s(world)
    return [
        Violation(
            "nothing_lost",
            f"order {o} stuck in {OrderState(orders.state[o]).name} for {now - orders.created_at[o]:.1f}s "
            f"(created at {orders.created_at[o]:.3f}s; hot {now - max(stopped, orders.created_at[o]):.1f}s "
            f"after the faults stopped at {stopped:.1f}s)",
            [o], orders.created_at[o],
        )
        for o in lost_orders(world)
    ]
