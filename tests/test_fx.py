"""FX: a payment in another currency than the one the PSP settles in. Exact timeline (constant
latencies, see ``test_timelines``): a 10.00 USD order succeeds at 0.176 s, the ledger books it at
0.178 s converted at the USD rate of its 10 minutes, the PSP pays it at its settlement (the cut-off
ending its day, ``settlement_days`` later) at the rate of that moment, and the ledger books the
difference to FX gains/losses. A PSP clock skew across the cut-off moves the payment a day."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from test_timelines import CONSTANT_MODEL, place_order

from sim.components.fx import FxRates, convert_minor
from sim.components.ledger import FX_CONVERSION, FX_GAINS_LOSSES, PSP_RECEIVABLE
from sim.config.model import FxConfig, SystemModel
from sim.config.scenario import Scenario
from sim.observe.trace import Trace
from sim.oracles.fx import fx_settled
from sim.oracles.money import ledger_balanced, money_conserved
from sim.world import build_world

EUR, USD = 0, 1
FX = {"settlement_currency": "EUR", "rates": {"USD": 0.9}, "volatility_per_day": 0.2, "step": "10m"}
NO_FEES = {"psp_fixed_minor": 0, "psp_rate": 0.0}


def fx_world(fx=None, psp=None, fees=NO_FEES, currencies=("EUR", "USD"), **model):
    data = {**CONSTANT_MODEL, "fx": {**FX, **(fx or {})}, "fees": fees, **model}
    data["psp"] = {**CONSTANT_MODEL["psp"], "settlement_cutoff": "30m", "settlement_days": 0, **(psp or {})}
    scenario = Scenario.model_validate({"name": "t", "model": "unused.yaml", "duration": "3d", "drain": "0s",
                                        "workload": {"rate": 0, "buyers": 10, "sellers": 3, "currencies": list(currencies)}})
    return build_world(SystemModel.model_validate(data), scenario, seed=1, trace=Trace(enabled=True))


def usd_order(world, amount_minor=1000) -> int:
    order = place_order(world, amount_minor)
    world.orders.currency[order] = USD
    world.env.process(world.executor.execute(order))
    return order


def balance(world, account, currency) -> int:
    return world.ledger.balances.get((account, currency), 0)


def test_a_usd_payment_is_booked_at_the_rate_of_its_step_and_its_settlement_difference_is_an_fx_result():
    world = fx_world()
    order = usd_order(world)
    world.env.run(until=1)
    assert world.ledger.fx_booked[order] == [0.9, 1000]  # booked at 0.178 s: step 0, the starting rate
    assert balance(world, PSP_RECEIVABLE, EUR) == 900 and balance(world, FX_CONVERSION, EUR) == -900
    assert balance(world, FX_CONVERSION, USD) == 1000 and world.ledger.seller_payable(2, USD) == 1000
    world.env.run(until=1799.9)
    assert world.settlements.batches == []
    world.env.run(until=1801)  # the day ending at the 30-minute cut-off is paid at once (T+0)
    [batch] = world.settlements.batches
    assert (batch.last_day, batch.at_s, batch.rows) == (-1, 1800.0, 1)
    rate = world.ledger.fx.rate(USD, 1800.0)
    assert rate != 0.9  # three 10-minute steps later
    paid = convert_minor(1000, rate)
    assert batch.paid_minor == paid
    assert balance(world, PSP_RECEIVABLE, EUR) == paid and balance(world, FX_GAINS_LOSSES, EUR) == 900 - paid
    assert world.ledger.fx_result_minor == paid - 900
    assert ledger_balanced(world) == [] and money_conserved(world) == [] and fx_settled(world) == []


def test_a_psp_clock_ahead_across_the_cut_off_settles_the_payment_a_day_later_at_that_days_rate():
    world = fx_world()
    world.psp.faults.clock_skew_s = 3600.0  # the PSP's clock an hour ahead: 0.17 s is 01:00:00.17, past 00:30
    usd_order(world)
    world.env.run(until=1801)
    assert world.settlements.batches == [] and world.settlement_file().timing_differences() == 1
    world.env.run(until=86400 + 1801)
    [batch] = world.settlements.batches
    assert (batch.last_day, batch.at_s) == (0, 88200.0)
    paid = convert_minor(1000, world.ledger.fx.rate(USD, 88200.0))
    assert batch.paid_minor == paid != convert_minor(1000, world.ledger.fx.rate(USD, 1800.0))
    assert balance(world, FX_GAINS_LOSSES, EUR) == 900 - paid and fx_settled(world) == []


def test_flaw_a_ledger_that_never_books_the_settlement_difference_carries_what_the_psp_did_not_pay():
    world = fx_world(fx={"revalue_at_settlement": False})
    order = usd_order(world)
    world.env.run(until=1801)
    paid = world.settlements.batches[0].paid_minor
    assert paid != 900 and balance(world, PSP_RECEIVABLE, EUR) == 900 and balance(world, FX_GAINS_LOSSES, EUR) == 0
    [row, total] = fx_settled(world)
    assert row.orders == [order] and row.at_s == 1800.0
    assert row.message.startswith(f"order {order}: the PSP paid {paid / 100:,.2f} EUR at 1800.000s, the ledger carries 9.00 EUR")
    assert "1 settled line: " in total.message
    assert ledger_balanced(world) == []  # balanced per currency: only the amount is wrong


def test_with_fees_refunds_and_payouts_every_currency_balances_and_money_is_conserved():
    world = fx_world(fees={"psp_fixed_minor": 25, "psp_rate": 0.015, "commission_rate": 0.1},
                     refunds={"probability": 1.0, "partial_probability": 1.0, "partial_fraction": 0.5, "delay": "2h"},
                     payouts={"enabled": True, "interval": "1d", "first_run": "1d", "lag": "0s"})
    usd_order(world, 10_000)
    world.env.run(until=3 * 86400)
    ledger = world.ledger
    assert world.truth.refunds and world.payout_provider.report  # refunded half, then paid the seller out
    assert balance(world, FX_CONVERSION, USD) != 0 and ledger.fx_result_minor != 0
    assert ledger_balanced(world) == [] and money_conserved(world) == [] and fx_settled(world) == []
    assert world.wallet.seller_balance(2, USD) == ledger.seller_payable(2, USD) == 0  # all paid out


def test_fx_off_or_one_currency_adds_nothing():
    assert fx_world(currencies=("EUR",)).settlements is None
    assert fx_world(fx={"settlement_currency": None, "rates": {}}).settlements is None


def test_the_rate_walk_is_seeded_stepwise_and_has_the_configured_volatility():
    cfg = FxConfig.model_validate({"settlement_currency": "EUR", "rates": {"USD": 0.9, "GBP": 1.15},
                                   "volatility_per_day": 0.01, "step": "1h"})
    codes = ("EUR", "USD", "GBP")
    rates = FxRates(cfg, codes, random.Random(7))
    later_first = FxRates(cfg, codes, random.Random(7))
    assert later_first.rate(2, 5000 * 3600.0) == rates.rate(2, 5000 * 3600.0)  # whoever asks first
    assert rates.rate(1, 0.0) == 0.9 and rates.rate(0, 123.0) == 1.0
    assert rates.rate(1, 3600.0 * 10) == rates.rate(1, 3600.0 * 10 + 3599.0) != rates.rate(1, 3600.0 * 11)
    assert FxRates(cfg, codes, random.Random(8)).rate(1, 3600.0 * 10) != rates.rate(1, 3600.0 * 10)
    hourly = np.diff(np.log([rates.rate(1, k * 3600.0) for k in range(20_000)]))
    expected = 0.01 * math.sqrt(1 / 24)
    assert abs(hourly.std() / expected - 1) < 0.03 and abs(hourly.mean()) < 4 * expected / math.sqrt(len(hourly))


def test_conversion_rounds_half_away_from_zero_so_a_reversal_converts_to_the_negative():
    assert convert_minor(5, 0.5) == 3 and convert_minor(-5, 0.5) == -3 and convert_minor(4, 0.5) == 2


@pytest.mark.parametrize("fx, problem", [
    ({"settlement_currency": "GBP", "rates": {"USD": 0.9, "EUR": 0.8}}, "settlement currency 'GBP' is not one of"),
    ({"settlement_currency": "EUR", "rates": {}}, "no starting rate for the workload's currencies USD"),
])
def test_fx_settings_the_workload_does_not_fit_are_a_clear_error(tmp_path, fx, problem):
    from helpers import write_scenario

    from sim.config.loader import load_scenario
    from sim.errors import ConfigError

    path = write_scenario(tmp_path, "async-kafka.yaml", overrides={"fx": fx}, workload={"currencies": ["EUR", "USD"]})
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    assert problem in error.value.message and error.value.key.startswith("fx.") and error.value.line is not None


# The PSP's fee, refunds and chargebacks revalued at settlement, as the captured amount is. The
# day ending at the 30-minute cut-off is paid at 1,800 s, the next at 88,200 s (T+0).
FEES = {"psp_fixed_minor": 1000, "psp_rate": 0.015}
FIRST, SECOND = 1800.0, 86400.0 + 1800.0


def settled_as_booked(world) -> None:
    """After every settlement: the receivable moved by exactly what the PSP paid, every currency
    balances, money is conserved and every settled line is carried at what was paid for it."""
    paid = sum(batch.paid_minor for batch in world.settlements.batches)
    assert balance(world, PSP_RECEIVABLE, EUR) == paid
    assert balance(world, FX_GAINS_LOSSES, EUR) == -world.ledger.fx_result_minor
    assert world.ledger.fx_carried_minor == world.settlements.fx_paid_minor
    assert ledger_balanced(world) == [] and money_conserved(world) == [] and fx_settled(world) == []


def test_the_psp_fee_is_revalued_at_settlement_as_the_captured_amount_is():
    world = fx_world(fees=FEES)
    usd_order(world, 10_000)  # fee 10.00 + 1.5 % = 11.50 USD
    world.env.run(until=1)
    assert balance(world, PSP_RECEIVABLE, EUR) == 9000 - 1035  # booked at 0.9, the fee too
    world.env.run(until=FIRST + 1)
    rate = world.ledger.fx.rate(USD, FIRST)
    [batch] = world.settlements.batches
    assert (batch.captured_minor, batch.fees_minor) == (convert_minor(10_000, rate), convert_minor(1150, rate))
    assert convert_minor(1150, rate) != 1035  # the fee moved with the rate
    assert world.ledger.fx_result_minor == (convert_minor(10_000, rate) - 9000) - (convert_minor(1150, rate) - 1035)
    settled_as_booked(world)


def test_a_refund_is_settled_at_the_settlement_rate_and_its_difference_booked_against_the_ledgers_entry():
    world = fx_world(refunds={"probability": 1.0, "partial_probability": 1.0, "partial_fraction": 0.5, "delay": "15m"})
    order = usd_order(world, 10_000)
    world.env.run(until=FIRST - 1)
    booked_at = world.ledger.fx.rate(USD, 900.35)  # the refund confirmed at 900.35 s: step 1
    assert world.ledger.refunded_minor_of == {order: 5000} and booked_at != 0.9
    assert balance(world, PSP_RECEIVABLE, EUR) == 9000 - convert_minor(5000, booked_at)
    world.env.run(until=FIRST + 1)
    rate = world.ledger.fx.rate(USD, FIRST)
    [batch] = world.settlements.batches
    assert (batch.captured_minor, batch.refunded_minor) == (convert_minor(10_000, rate), -convert_minor(5000, rate))
    assert world.ledger.fx_result_minor == (convert_minor(10_000, rate) - 9000) \
        - (convert_minor(5000, rate) - convert_minor(5000, booked_at))
    settled_as_booked(world)
    assert len(world.ledger.fx_money_back) == 0  # the booking met its line


@pytest.mark.parametrize("notice", ["1m", "2d"])
def test_a_chargeback_and_its_fee_are_revalued_at_settlement_even_when_the_notice_comes_after_it(notice):
    """Disputed at 3,600.17 s (day 0, settled at 88,200 s): the notice a minute later books it
    before its settlement; two days later, after it (the booking then books the difference)."""
    world = fx_world(chargebacks={"probability": 1.0, "delay": "1h", "notification_delay": notice,
                                  "resolution_delay": "30d", "fee_minor": 1500, "win_probability": 0.0})
    order = usd_order(world, 10_000)
    world.env.run(until=SECOND + 1)
    rate = world.ledger.fx.rate(USD, SECOND)
    first, second = world.settlements.batches
    assert (second.charged_back_minor, second.fees_minor) == (-convert_minor(10_000, rate), convert_minor(1500, rate))
    if notice == "1m":
        booked_at = world.ledger.fx.rate(USD, 3660.17)
        assert world.ledger.charged_back_minor_of == {order: 10_000}
        settled_as_booked(world)
        assert world.ledger.fx_result_minor == first.paid_minor - 9000 \
            - (convert_minor(10_000, rate) - convert_minor(10_000, booked_at)) \
            - (convert_minor(1500, rate) - convert_minor(1500, booked_at))
        return
    assert world.ledger.charged_back_minor_of == {} and len(world.ledger.fx_money_back) == 1  # settled, not booked
    world.env.run(until=3 * 86400)
    booked_at = world.ledger.fx.rate(USD, 3600.17 + 2 * 86400)
    assert world.ledger.charged_back_minor_of == {order: 10_000} and len(world.ledger.fx_money_back) == 0
    paid = sum(batch.paid_minor for batch in world.settlements.batches)
    assert balance(world, PSP_RECEIVABLE, EUR) == paid  # the difference booked with the late notice
    assert world.ledger.fx_result_minor == first.paid_minor - 9000 \
        - (convert_minor(10_000, rate) - convert_minor(10_000, booked_at)) \
        - (convert_minor(1500, rate) - convert_minor(1500, booked_at))
    assert ledger_balanced(world) == [] and money_conserved(world) == []


def test_flaw_without_revaluation_a_refunds_difference_is_unbooked_and_reconciliation_books_it():
    world = fx_world(fx={"revalue_at_settlement": False},
                     refunds={"probability": 1.0, "partial_probability": 0.0, "delay": "15m"},
                     reconciliation={"every": "1d", "first_run": "1h"})
    order = usd_order(world, 10_000)
    world.env.run(until=FIRST + 1)
    assert world.ledger.fx_result_minor == 0 and len(world.settlements.mismatches) == 2  # the capture and its refund
    assert [v.orders for v in fx_settled(world)] == [[order], [order], []]  # each line, then the total
    world.env.run(until=3601)  # the scheduled run books both differences
    fixed = [b for b in world.nightly.runs[0].breaks if b.kind == "fx_difference_not_booked"]
    assert len(fixed) == 2 and fx_settled(world) == []
    settled_as_booked(world)
