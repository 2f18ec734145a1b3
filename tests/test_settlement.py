"""The settlement file's day under a PSP clock skew: a capture the PSP dates across the daily
cut-off from our clock is a timing difference for reconciliation (it settles a day early or late),
not a break."""

from __future__ import annotations

from test_refunds import paid_order
from test_timelines import quiet_world


def test_a_psp_clock_behind_the_cut_off_dates_the_capture_a_day_early_a_timing_difference():
    world = quiet_world()
    world.psp.faults.clock_skew_s = -3600.0  # the PSP's clock an hour behind; cut-off at midnight (0 s)
    paid_order(world)
    world.env.run(until=5)
    [(day, _order, _amount, _currency, captured_at)] = world.psp.settlement_file()
    assert (day, round(captured_at, 3)) == (-1, 0.163)  # our clock: day 0
    assert world.settlement_file().timing_differences() == 1


def test_without_skew_the_settlement_day_is_ours():
    world = quiet_world()
    paid_order(world)
    world.env.run(until=5)
    assert world.psp.settlement_file()[0][0] == 0 and world.settlement_file().timing_differences() == 0
