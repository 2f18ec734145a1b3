"""The oracles every run checks, in report order, with one line each saying what they mean.

``ALL_ORACLES`` run on the world as the run left it, before reconciliation (so reconciliation
cannot hide a break); ``AFTER_RECONCILIATION`` run once reconciliation has corrected what it can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from sim.oracles import card_data, clearing, completeness, effects, flags, fraud, fx, liveness, money, payouts, reconciled, slo
from sim.oracles.base import MAX_KEPT, Verdict, Violation

if TYPE_CHECKING:
    from sim.components.reconciliation import ReconciliationReport
    from sim.world import World

Oracle = Callable[["World"], list[Violation]]
ReconciledOracle = Callable[["World", "ReconciliationReport | None"], list[Violation]]

ALL_ORACLES: dict[str, tuple[Oracle, str]] = {
    "no_double_charge": (money.no_double_charge, "per cart line, at most one successful capture at the bank"),
    "ledger_balanced": (money.ledger_balanced, "every transaction and the whole ledger sum to zero per currency"),
    "wallet_equals_ledger": (money.wallet_equals_ledger, "each seller's wallet equals the ledger's view"),
    "money_conserved": (money.money_conserved, "the ledger never claims more than buyers paid at their banks, "
                        "nor more than the PSP captured less refunds"),
    "flags_consistent": (flags.flags_consistent,
                         "wallet/ledger flags only on SUCCESS, is_payment_done iff all done, no exit from SUCCESS/FAILED"),
    "idempotent_replay": (effects.idempotent_replay,
                          "each capture and refund our idempotent APIs accepted took effect once at the PSP"),
    "exactly_once_effect": (effects.exactly_once_effect, "each success event credits the wallet and the ledger once"),
    "nothing_lost": (liveness.nothing_lost, "every accepted order ends SUCCESS, FAILED or DEAD_LETTERED (PENDING only while the PSP awaits its bank, or has answered and is being polled)"),
    "no_card_data": (card_data.no_card_data, "no card number in any internal store or message"),
    "no_double_payout": (payouts.no_double_payout,
                         "one transfer per payout, and no seller paid more than the ledger paid out"),
    "clearing_closed": (payouts.clearing_closed, "every payout's clearing entry closed within its deadline"),
    "psp_clearing_closed": (clearing.psp_clearing_closed,
                            "with PSP clearing on, every capture's clearing entry closed by its settlement within its deadline"),
    "fx_settled": (fx.fx_settled, "every converted capture the PSP settled is carried in the ledger at what the "
                   "PSP paid (FX gain or loss booked)"),
    "fraud_exposure": (fraud.fraud_exposure, "no payment above the risk fallback limit accepted without a risk decision"),
    "slo": (slo.slo_met, "the model's service-level objectives (slo:) held: amplification, p99 latency, goodput, "
                         "time to recover, success rate"),
}

AFTER_RECONCILIATION: dict[str, tuple[ReconciledOracle, str]] = {
    "ledger_complete": (completeness.ledger_complete,
                        "after reconciliation, every capture, refund, chargeback and payout outside has its ledger "
                        "event, and every ledger event its counterpart outside"),
    "charged_iff_succeeded": (reconciled.charged_iff_succeeded,
                              "after reconciliation, captured iff SUCCESS, except breaks left in a bucket; "
                              "none FAILED while its bank has not answered"),
}

ORACLE_NAMES: tuple[str, ...] = (*ALL_ORACLES, *AFTER_RECONCILIATION)


def check(world: "World", oracles: dict[str, tuple[Oracle, str]] = ALL_ORACLES) -> list[Verdict]:
    verdicts = []
    for name, (oracle, description) in oracles.items():
        violations = oracle(world)
        verdicts.append(Verdict(name, description, violations[:MAX_KEPT], len(violations)))
    return verdicts


def check_reconciled(world: "World", recon: "ReconciliationReport | None",
                     oracles: dict[str, tuple[ReconciledOracle, str]] = AFTER_RECONCILIATION) -> list[Verdict]:
    verdicts = []
    for name, (oracle, description) in oracles.items():
        violations = oracle(world, recon)
        verdicts.append(Verdict(name, description, violations[:MAX_KEPT], len(violations)))
    return verdicts
