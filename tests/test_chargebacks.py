"""Chargebacks: exact timelines of a dispute lost and a dispute won, and the money oracle through
them (a notice still on its way is not a violation; a dispute booked twice is).

Constant latencies (see ``test_timelines``): the bank captures at 0.163 s (authorisation, scheme 0,
bank 50 ms after the PSP's 100 ms and the 10 ms trip); here the dispute comes 1 h later, the PSP's
notice 1 min after that, the outcome 1 day after the dispute.
"""

from __future__ import annotations

from test_refunds import bank_matches_truth, buyer_balance, paid_order
from test_timelines import quiet_world

from sim.components.ledger import CHARGEBACK_FEES, PSP_RECEIVABLE
from sim.oracles.money import money_conserved
from sim.runners.summary import _chargebacks

HOUR, DAY = 3600.0, 86400.0


def disputing(win_probability: float):
    return quiet_world(chargebacks={"probability": 1.0, "delay": "1h", "notification_delay": "1m",
                                    "resolution_delay": "1d", "fee_minor": 1500, "win_probability": win_probability})


def test_a_lost_dispute_gives_the_buyer_the_money_back_and_costs_the_platform_a_fee():
    world = disputing(0.0)
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=HOUR + 0.162)
    assert buyer_balance(world) == start - 1000
    world.env.run(until=HOUR + 0.164)  # the dispute, at the bank
    assert buyer_balance(world) == start and world.truth.chargebacks == {order: [1000]}
    assert world.ledger.seller_payable(2, 0) == 1000  # the PSP has not told us yet
    assert money_conserved(world) == []  # a notice on its way is not a violation
    world.env.run(until=HOUR + 60.164)
    assert world.ledger.seller_payable(2, 0) == 0 and world.wallet.seller_balance(2, 0) == 0
    assert world.ledger.balances[(CHARGEBACK_FEES, 0)] == 1500
    assert world.ledger.balances[(PSP_RECEIVABLE, 0)] == 1000 - 40 - 1000 - 1500  # the PSP fee, 25 + 1.5 %, stays
    world.env.run(until=2 * DAY)
    assert _chargebacks(world) == {"disputed": 1, "won": 0, "lost": 1, "rate": 1.0, "charged_back_minor": 1000,
                                   "fees_minor": 1500, "losses_minor": 2500}
    assert money_conserved(world) == [] and bank_matches_truth(world)


def test_a_won_dispute_takes_the_money_from_the_buyer_again_and_gives_it_back_to_the_seller():
    world = disputing(1.0)
    order = paid_order(world)
    start = buyer_balance(world)
    world.env.run(until=HOUR + DAY + 0.164)  # the outcome, at the bank
    assert buyer_balance(world) == start - 1000 and world.truth.chargebacks == {order: [1000, -1000]}
    assert world.ledger.seller_payable(2, 0) == 0  # the notice of the outcome is on its way
    assert money_conserved(world) == []
    world.env.run(until=HOUR + DAY + 60.164)
    assert world.ledger.seller_payable(2, 0) == 1000 and world.wallet.seller_balance(2, 0) == 1000
    assert world.ledger.balances[(CHARGEBACK_FEES, 0)] == 1500  # the fee stays lost
    assert _chargebacks(world)["won"] == 1 and _chargebacks(world)["charged_back_minor"] == 0
    assert money_conserved(world) == [] and bank_matches_truth(world)


def test_a_dispute_booked_twice_breaks_money_conserved():
    world = disputing(0.0)
    order = paid_order(world)
    world.env.run(until=HOUR + 120)
    assert money_conserved(world) == []
    world.ledger.post_chargeback(order, -1000, 0)  # a second notice booked as a won dispute
    assert len(money_conserved(world)) == 2


def test_without_chargebacks_the_bank_is_not_told_of_captures():
    world = quiet_world()
    paid_order(world)
    world.env.run(until=1)
    assert world.banks.disputes is None and world.chargebacks is None
