"""PSP clearing: exact timeline (constant latencies, see ``test_timelines``) of a capture booked to
PSP clearing at 0.178 s, paid by the PSP's settlement at the 30-minute cut-off (T+0), which closes
its clearing entry; the FLAW of never importing settlements leaves it open past its deadline."""

from __future__ import annotations

from test_fx import fx_world, usd_order
from test_refunds import paid_order
from test_timelines import CONSTANT_MODEL, quiet_world

from sim.components.ledger import FX_GAINS_LOSSES, PSP_CLEARING, PSP_RECEIVABLE
from sim.oracles.clearing import psp_clearing_closed
from sim.oracles.money import ledger_balanced, money_conserved

CLEARING = {"psp_clearing_deadline": "1h"}


def clearing_world(**ledger):
    return quiet_world(psp={**CONSTANT_MODEL["psp"], "settlement_cutoff": "30m", "settlement_days": 0},
                       ledger={**CONSTANT_MODEL["ledger"], **CLEARING, **ledger})


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
