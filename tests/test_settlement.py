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


def test_order_ids_read_back_exactly_late_captures_and_far_ids_included():
    """Rows store order ids as int16 offsets from a per-4096-rows base: ids about in order, late
    captures far behind, ids far ahead and negative ones must all read back as appended."""
    import random

    from sim.components.psp_settlement import Settlement

    rng = random.Random(3)
    settlement = Settlement(0.0, None)
    appended = []
    front = 0
    for row in range(3 * 4096 + 17):
        front += rng.randint(0, 3)
        order_id = front - rng.randint(0, 200)
        if row % 997 == 0:
            order_id = front - 90_000  # a capture long after its order (a pending charge resolved late)
        if row == 5000:
            order_id = front + 10**12  # not one of our orders
        if row == 6000:
            order_id = -7
        settlement.append(0, order_id, 100, 0, float(row), order_id, float(row))
        appended.append(order_id)
    assert settlement.column("order_id").tolist() == appended == settlement.column("key").tolist()
    assert 0 < len(settlement._odd_order) < 40  # only the far ones are kept apart
