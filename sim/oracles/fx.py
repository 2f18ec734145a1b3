"""FX: every converted line the PSP settled (a capture net of its fee, a refund, a chargeback with
its fee) is carried in the ledger at what the PSP paid for it (the ledger's conversion at booking
plus the FX gain or loss it booked at settlement, or a reconciliation booked since)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.format import money
from sim.oracles.base import Violation

if TYPE_CHECKING:
    from sim.world import World


def fx_settled(world: "World") -> list[Violation]:
    settlements = world.settlements
    if settlements is None or settlements.fx is None:
        return []
    code = world.population.currencies[settlements.fx.settlement]
    violations = [
        Violation("fx_settled", f"order {order}: the PSP paid {money(paid, code)} at {at:.3f}s, the ledger carries "
                  f"{money(carried, code)} (FX difference not booked)", [order], at)
        for order, carried, paid, at in settlements.mismatches if order not in settlements.fixed
    ]
    carried = world.ledger.fx_carried_minor
    if carried != settlements.fx_paid_minor:
        violations.append(Violation(
            "fx_settled", f"{settlements.mismatched} settled {'line' if settlements.mismatched == 1 else 'lines'}: the PSP paid {money(settlements.fx_paid_minor, code)}, "
            f"the ledger carries {money(carried, code)}"))
    return violations
