"""Structural performance budgets (no timings): SimPy events scheduled per payment order in the
fault-free baseline. A change that adds events to the hot path (a process or a timeout per
payment) fails here; ``make bench`` measures the timings."""

from __future__ import annotations

from bench.budgets import EVENTS_PER_PAYMENT_BUDGET
from bench.measure import THROUGHPUT, events_scheduled, sized
from sim.runners.run import run_scenario


def test_events_per_payment_stay_within_budget():
    result = run_scenario(sized(THROUGHPUT, 3000), explain=False)
    payments = len(result.world.orders)
    events = events_scheduled(result.world.env)
    assert payments > 2500
    assert result.data["summary"]["outcomes"]["SUCCESS"] > 0.9 * payments  # the flow really ran
    assert events / payments <= EVENTS_PER_PAYMENT_BUDGET, (
        f"{events / payments:.2f} SimPy events per payment, budget {EVENTS_PER_PAYMENT_BUDGET}"
    )


def test_event_counter_counts_scheduled_events():
    import simpy

    env = simpy.Environment()
    env.timeout(1)
    env.timeout(2)
    env.run()
    assert events_scheduled(env) == 2


def test_bench_sweep_goes_through_the_sweep_runner_with_identical_results(tmp_path):
    from bench.sweep import sweep_file, timed_sweep

    path = sweep_file(tmp_path, runs=2, payments=300)
    _, one = timed_sweep(path, workers=1)
    _, two = timed_sweep(path, workers=2)
    assert len(one) == 2 and one[0] != one[1]  # two seeds, two different runs
    assert one == two
