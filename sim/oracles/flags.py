"""Flags and states are consistent (docs/design.md §9.6): ``wallet_updated``/``ledger_updated`` only on
SUCCESS orders, ``is_payment_done`` exactly when every order of the checkout is done (SUCCESS with
wallet and ledger updated), and no order ever leaves a definite outcome (SUCCESS, or FAILED: a
decline is final, so FAILED then SUCCESS means a buyer told "declined" was charged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.domain.orders import BOTH_UPDATED, LEDGER_UPDATED, WALLET_UPDATED, OrderState, as_numpy
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
    for o in np.nonzero((bits != 0) & (states != int(_SUCCESS)))[0].tolist():
        for bit, name in _NAMES.items():
            if flags[o] & bit:
                violations.append(Violation(
                    "flags_consistent", f"order {o} has {name} set but is {OrderState(state[o]).name}", [o]
                ))
    # Columnar first: a checkout is done when none of its orders (a contiguous id range) falls
    # short; only the checkouts whose flag says otherwise are looked at one by one.
    # int32 counts: a run holds far fewer than 2^31 orders (runs are capped at 2·10⁷ checkouts)
    short = np.zeros(len(states) + 1, dtype=np.int32)
    np.cumsum((states != int(_SUCCESS)) | ((bits & BOTH_UPDATED) != BOTH_UPDATED), out=short[1:])
    del states, bits
    first = as_numpy(checkouts.first_order)
    ends = first + as_numpy(checkouts.order_count)
    candidates = as_numpy(checkouts.done) != 0
    candidates ^= short[ends] == short[first]  # said done != is done
    del short, ends, first
    for c in np.nonzero(candidates)[0].tolist():
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
