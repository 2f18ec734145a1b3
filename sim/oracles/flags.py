"""Flags and states are consistent (docs/design.md §9.6): ``wallet_updated``/``ledger_updated`` only on
SUCCESS orders, ``is_payment_done`` exactly when every order of the checkout is done (SUCCESS with
wallet and ledger updated), and no order ever leaves a definite outcome (SUCCESS, or FAILED: a
decline is final, so FAILED then SUCCESS means a buyer told "declined" was charged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.domain.orders import BOTH_UPDATED, LEDGER_UPDATED, WALLET_UPDATED, OrderState, as_numpy, column_chunks
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World

_SUCCESS = OrderState.SUCCESS
_NAMES = {WALLET_UPDATED: "wallet_updated", LEDGER_UPDATED: "ledger_updated"}


def flags_consistent(world: "World") -> list[Violation]:
    orders, checkouts = world.orders, world.checkouts
    violations = [
        Violation(
            "flags_consistent",
            f"order {o} moved from {OrderState(old).name} to {OrderState(new).name} at {t:.3f}s "
            "(a definite outcome must never change)",
            [o], t,
        )
        for o, t, old, new in orders.illegal_transitions
    ]
    state, flags = orders.state, orders.flags
    states, bits = as_numpy(state), as_numpy(flags)  # views: the tables no longer grow
    for start, stop in column_chunks(len(states)):  # a chunk at a time: bounded temporaries
        for o in (np.nonzero((bits[start:stop] != 0) & (states[start:stop] != int(_SUCCESS)))[0] + start).tolist():
            for bit, name in _NAMES.items():
                if flags[o] & bit:
                    violations.append(Violation(
                        "flags_consistent", f"order {o} has {name} set but is {OrderState(state[o]).name}", [o]
                    ))
    # Columnar first: a checkout is done when none of its orders (a contiguous id range) falls
    # short; only the checkouts whose flag says otherwise are looked at one by one.
    for c in _checkouts_said_wrong(checkouts, states, bits):
        members = checkouts.orders_of(c)
        all_done = all(state[o] == _SUCCESS and flags[o] & BOTH_UPDATED == BOTH_UPDATED for o in members)
        if bool(checkouts.done[c]) != all_done:
            said = "set" if checkouts.done[c] else "not set"
            violations.append(Violation(
                "flags_consistent",
                f"checkout {c}: is_payment_done {said} but its orders are "
                f"{'all' if all_done else 'not all'} done ({', '.join(OrderState(state[o]).name for o in members)})",
                list(members),
            ))
    return violations


def _checkouts_said_wrong(checkouts, states: np.ndarray, bits: np.ndarray) -> list[int]:
    """Checkouts whose ``done`` flag differs from whether all their orders are done (SUCCESS with
    both flags), ascending: a chunk of checkouts at a time, each with a running count of the orders
    that fall short over its orders' id range (int32: runs hold far fewer than 2^31 orders)."""
    first_all, counts_all, done_all = as_numpy(checkouts.first_order), as_numpy(checkouts.order_count), as_numpy(checkouts.done)
    found: list[int] = []
    for c0, c1 in column_chunks(len(first_all)):
        first = first_all[c0:c1].astype(np.int64)
        ends = first + counts_all[c0:c1]
        low, high = int(first.min()), int(ends.max())
        short = np.zeros(high - low + 1, dtype=np.int32)
        np.cumsum((states[low:high] != int(_SUCCESS)) | ((bits[low:high] & BOTH_UPDATED) != BOTH_UPDATED), out=short[1:])
        candidates = done_all[c0:c1] != 0
        candidates ^= short[ends - low] == short[first - low]  # said done != is done
        found += (np.nonzero(candidates)[0] + c0).tolist()
    return found
