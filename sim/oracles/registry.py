"""The oracles every run checks, in report order, with one line each saying what they mean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from sim.oracles import liveness, money
from sim.oracles.base import MAX_KEPT, Verdict, Violation

if TYPE_CHECKING:
    from sim.world import World

Oracle = Callable[["World"], list[Violation]]

ALL_ORACLES: dict[str, tuple[Oracle, str]] = {
    "no_double_charge": (money.no_double_charge, "per cart line, at most one successful capture at the bank"),
    "ledger_balanced": (money.ledger_balanced, "every transaction and the whole ledger sum to zero per currency"),
    "wallet_equals_ledger": (money.wallet_equals_ledger, "each seller's wallet equals the ledger's view"),
    "money_conserved": (money.money_conserved, "buyers' debits equal PSP captures; the ledger claims no more"),
    "nothing_lost": (liveness.nothing_lost, "every accepted order ends SUCCESS, FAILED or DEAD_LETTERED"),
}


def check(world: "World", oracles: dict[str, tuple[Oracle, str]] = ALL_ORACLES) -> list[Verdict]:
    verdicts = []
    for name, (oracle, description) in oracles.items():
        violations = oracle(world)
        verdicts.append(Verdict(name, description, violations[:MAX_KEPT], len(violations)))
    return verdicts
