"""Fraud exposure: no payment above the risk fallback limit is accepted without a risk decision.

While the risk service is down the payment service may let small amounts through unchecked (the
fallback limit, ``payment_service.risk.fallback_max_amount_minor``); anything larger must wait
for a decision. A design that fails open for any amount passes every other oracle: this one
names each unchecked payment above the limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def fraud_exposure(world: "World") -> list[Violation]:
    if world.risk is None:
        return []
    limit = world.model.payment_service.risk.fallback_max_amount_minor
    return [
        Violation(
            "fraud_exposure",
            f"a checkout of {amount_minor} minor units was let through without a risk decision at {at_s:.3f}s "
            f"(the fallback limit is {limit})",
            [], at_s,
        )
        for at_s, amount_minor in world.risk.unchecked
        if amount_minor > limit
    ]
