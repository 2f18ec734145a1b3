"""The PSP's fee and the platform's commission in the ledger and the wallet, through a payment,
a refund and a void; every transaction balanced."""

from __future__ import annotations

from test_refunds import paid_order
from test_timelines import quiet_world

from sim.components.fees import Fees
from sim.components.ledger import PLATFORM_REVENUE, PSP_FEES, PSP_RECEIVABLE
from sim.config.model import FeesConfig
from sim.oracles.money import ledger_balanced, money_conserved, wallet_equals_ledger


def balances(world) -> dict[str, int]:
    ledger = world.ledger
    return {"receivable": ledger.balances.get((PSP_RECEIVABLE, 0), 0), "fees": ledger.balances.get((PSP_FEES, 0), 0),
            "revenue": -ledger.balances.get((PLATFORM_REVENUE, 0), 0), "seller": ledger.seller_payable(2, 0),
            "wallet": world.wallet.seller_balance(2, 0)}


def test_default_fee_is_stripes_standard_eea_card_rate():
    fees = Fees(FeesConfig())
    assert fees.psp_fee_minor(10_000) == 25 + 150 and fees.commission_minor(10_000) == 0


def test_a_payment_pays_the_psp_its_fee_and_the_platform_its_commission():
    world = quiet_world(fees={"commission_rate": 0.1})
    paid_order(world)
    world.env.run(until=5)
    assert balances(world) == {"receivable": 1000 - 40, "fees": 40, "revenue": 100, "seller": 900, "wallet": 900}
    assert ledger_balanced(world) == [] and wallet_equals_ledger(world) == [] and money_conserved(world) == []


def test_a_refund_takes_back_the_sellers_share_and_the_commission_but_not_the_psp_fee():
    world = quiet_world(fees={"commission_rate": 0.1},
                        refunds={"probability": 1.0, "partial_probability": 1.0, "partial_fraction": 0.5, "delay": "10s"})
    paid_order(world)
    world.env.run(until=60)
    assert balances(world) == {"receivable": 960 - 500, "fees": 40, "revenue": 50, "seller": 450, "wallet": 450}
    assert ledger_balanced(world) == [] and wallet_equals_ledger(world) == [] and money_conserved(world) == []


def test_no_fee_on_an_authorisation_voided_before_capture():
    world = quiet_world(fees={"commission_rate": 0.1},
                        capture={"mode": "delayed", "delay": "10s", "cancel_probability": 1.0})
    paid_order(world)
    world.env.run(until=5)
    assert balances(world)["fees"] == 40  # booked at the payment's success
    world.env.run(until=60)
    assert balances(world) == {"receivable": 0, "fees": 0, "revenue": 0, "seller": 0, "wallet": 0}


def test_a_partial_capture_pays_the_fee_on_what_was_captured():
    world = quiet_world(capture={"mode": "delayed", "delay": "10s", "partial_probability": 1.0, "partial_fraction": 0.4})
    paid_order(world)
    world.env.run(until=60)
    assert balances(world)["fees"] == 25 + 6  # 1.5 % of the 400 captured
    assert balances(world)["receivable"] == 400 - 31 and money_conserved(world) == []


def test_without_fees_a_payment_is_two_entries():
    world = quiet_world(fees={"psp_fixed_minor": 0, "psp_rate": 0.0})
    paid_order(world)
    world.env.run(until=5)
    assert world.ledger.entries == 2 and world.ledger.fees is None
