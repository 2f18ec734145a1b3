"""PSP clearing: exact timeline (constant latencies, see ``test_timelines``) of a capture booked to
PSP clearing at 0.178 s, paid by the PSP's settlement at the 30-minute cut-off (T+0), which closes
its clearing entry; the FLAW of never importing settlements leaves it open past its deadline.

With delayed captures the capture opens the entry: the authorisation (0.176 s) is booked to the
receivable, the capture at shipment (at the bank at 3600.336 s, its answer 10 ms later) moves the
captured amount to clearing, and the settlement of the capture's day (cut-off 30 min, T+0: the
next day at 00:30) closes it. The FLAW of opening it at authorisation leaves it open past its
deadline (the settlement of the authorisation's day pays nothing for it)."""

from __future__ import annotations

from test_fx import fx_world, usd_order
from test_refunds import paid_order
from test_timelines import CONSTANT_MODEL, quiet_world

from sim.components.capture import CAPTURED
from sim.components.ledger import FX_GAINS_LOSSES, PSP_CLEARING, PSP_RECEIVABLE
from sim.oracles.clearing import psp_clearing_closed
from sim.oracles.money import ledger_balanced, money_conserved

CLEARING = {"psp_clearing_deadline": "1h"}


def clearing_world(capture=None, **ledger):
    return quiet_world(psp={**CONSTANT_MODEL["psp"], "settlement_cutoff": "30m", "settlement_days": 0},
                       ledger={**CONSTANT_MODEL["ledger"], **CLEARING, **ledger}, **({"capture": capture} if capture else {}))


DELAYED = {"mode": "delayed", "delay": "1h", "hold_expiry": "7d"}
DAY = 86400.0


def balance(world, account, currency=0) -> int:
    return world.ledger.balances.get((account, currency), 0)


def test_a_capture_sits_in_psp_clearing_until_the_settlement_pays_it():
    world = clearing_world()
    order = paid_order(world)
    world.env.run(until=1)
    assert balance(world, PSP_CLEARING) == 1000 and balance(world, PSP_RECEIVABLE) == -40  # the PSP's fee
    assert world.ledger.clearing_open == {order: [1000, 1800.0 + 3600.0]}  # due at the cut-off, + the deadline
    world.env.run(until=1801)
    assert balance(world, PSP_CLEARING) == 0 and balance(world, PSP_RECEIVABLE) == 960
    assert world.ledger.clearing_open == {} and world.ledger.clearing_closed == 1
    world.env.run(until=6000)
    assert psp_clearing_closed(world) == [] and ledger_balanced(world) == [] and money_conserved(world) == []


def test_flaw_settlements_never_imported_leave_the_clearing_entry_open_past_its_deadline():
    world = clearing_world(import_settlements=False)
    order = paid_order(world)
    world.env.run(until=5399)
    assert psp_clearing_closed(world) == [] and balance(world, PSP_CLEARING) == 1000  # not due yet
    world.env.run(until=5401)
    [violation] = psp_clearing_closed(world)
    assert violation.orders == [order] and violation.at_s == 5400.0
    assert violation.message.startswith(f"order {order}: 1000 still in PSP clearing at 5401.000s, due closed by 5400.000s")


def test_with_fx_the_clearing_entry_is_in_the_settlement_currency_and_closes_at_the_booked_value():
    world = fx_world(ledger={**CONSTANT_MODEL["ledger"], **CLEARING})
    usd_order(world)
    world.env.run(until=1)
    assert balance(world, PSP_CLEARING, 0) == 900 and balance(world, PSP_CLEARING, 1) == 0
    world.env.run(until=1801)
    paid = world.settlements.batches[0].paid_minor
    assert balance(world, PSP_CLEARING, 0) == 0 and balance(world, PSP_RECEIVABLE, 0) == paid
    assert balance(world, FX_GAINS_LOSSES, 0) == 900 - paid and ledger_balanced(world) == []
    assert money_conserved(world) == [] and psp_clearing_closed(world) == []


def test_with_delayed_capture_the_capture_opens_the_clearing_entry_and_its_settlement_closes_it():
    world = clearing_world(capture=DELAYED)
    order = paid_order(world)
    world.env.run(until=1)
    assert world.ledger.clearing_open == {} and balance(world, PSP_CLEARING) == 0  # a hold: nothing captured yet
    assert balance(world, PSP_RECEIVABLE) == 1000 - 40  # the authorisation, booked to the receivable
    world.env.run(until=1800.5)
    assert world.settlements.batches == []  # nothing captured in the day closing at 00:30
    world.env.run(until=3600.34)
    assert world.truth.captures_of(order) == 1  # captured at the bank at 3600.336 s, its answer 10 ms away
    assert world.capture.status_of(order) != CAPTURED and world.ledger.clearing_open == {}
    world.env.run(until=3600.35)
    assert world.ledger.clearing_open == {order: [1000, 1800.0 + DAY + 3600.0]}  # its day is paid the next 00:30
    assert balance(world, PSP_CLEARING) == 1000 and balance(world, PSP_RECEIVABLE) == -40
    world.env.run(until=1801 + DAY)
    [batch] = world.settlements.batches
    assert (batch.at_s, batch.captured_minor, batch.paid_minor) == (1800.0 + DAY, 1000, 960)
    assert world.ledger.clearing_open == {} and world.ledger.clearing_closed == 1
    assert balance(world, PSP_CLEARING) == 0 and balance(world, PSP_RECEIVABLE) == 960
    world.env.run(until=2 * DAY)
    assert psp_clearing_closed(world) == [] and ledger_balanced(world) == [] and money_conserved(world) == []


def test_with_delayed_capture_a_partial_capture_opens_and_closes_only_what_it_took():
    world = clearing_world(capture={**DELAYED, "partial_probability": 1.0, "partial_fraction": 0.5})
    order = paid_order(world)
    world.env.run(until=3601)
    assert world.ledger.clearing_open == {order: [500, 1800.0 + DAY + 3600.0]}
    world.env.run(until=2 * DAY)
    assert world.ledger.clearing_open == {} and psp_clearing_closed(world) == [] and ledger_balanced(world) == []


def test_flaw_clearing_opened_at_authorisation_stays_open_with_delayed_capture():
    world = clearing_world(capture=DELAYED, psp_clearing_opens_at="authorisation")
    order = paid_order(world)
    world.env.run(until=1)
    assert world.ledger.clearing_open == {order: [1000, 1800.0 + 3600.0]}  # due with the authorisation's day
    world.env.run(until=5401)
    [violation] = psp_clearing_closed(world)  # the capture came later: its day is paid a day later
    assert violation.orders == [order] and violation.at_s == 5400.0
    assert ledger_balanced(world) == []


def test_flaw_clearing_opened_at_authorisation_never_closes_for_a_voided_order():
    world = clearing_world(capture={**DELAYED, "cancel_probability": 1.0}, psp_clearing_opens_at="authorisation")
    order = paid_order(world)
    world.env.run(until=3 * DAY)
    assert world.ledger.clearing_open == {order: [1000, 1800.0 + 3600.0]}  # nothing was captured, nothing paid
    assert [v.orders for v in psp_clearing_closed(world)] == [[order]]


def test_the_clearing_oracle_passes_a_voided_order_when_the_capture_opens_clearing():
    world = clearing_world(capture={**DELAYED, "cancel_probability": 1.0})
    paid_order(world)
    world.env.run(until=3 * DAY)
    assert world.ledger.clearing_open == {} and balance(world, PSP_CLEARING) == 0
    assert psp_clearing_closed(world) == [] and ledger_balanced(world) == [] and money_conserved(world) == []


def test_with_delayed_capture_a_settlement_paid_before_the_capture_answer_closes_the_entry_it_opens():
    world = quiet_world(psp={**CONSTANT_MODEL["psp"], "settlement_cutoff": "3600340ms", "settlement_days": 0},
                        ledger={**CONSTANT_MODEL["ledger"], **CLEARING}, capture=DELAYED)
    order = paid_order(world)
    world.env.run(until=3600.345)  # captured at 3600.336 s, paid at the 3600.34 s cut-off, answer at 3600.346 s
    assert world.settlements.batches[0].captured_minor == 1000 and world.ledger.clearing_open == {}
    world.env.run(until=3600.35)
    assert world.capture.status_of(order) == CAPTURED
    assert world.ledger.clearing_open == {} and world.ledger.clearing_closed == 1
    assert balance(world, PSP_CLEARING) == 0 and balance(world, PSP_RECEIVABLE) == 960
    assert psp_clearing_closed(world) == [] and ledger_balanced(world) == []
