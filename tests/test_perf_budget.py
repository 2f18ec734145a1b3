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
    assert len(one) == 2 and one[0] != one[1]  # two points (PSP timeouts), two different runs
    assert one == two


def test_bench_pairs_every_model_run_with_the_references_measured_around_it():
    from bench.pairing import median_run, paired

    rates = iter([100.0, 120.0, 80.0, 90.0])  # references R0 R1 R2 R3 around three model runs
    order = []

    def reference(index):
        order.append(f"R{index}")
        return {"customers_per_s": next(rates)}

    def model(payments_per_s):
        def measure():
            order.append(f"m{payments_per_s:g}")
            return {"payments_per_s": payments_per_s}
        return measure

    references, measured = paired([("a", model(11.0)), ("b", model(15.0)), ("c", model(17.0))], reference,
                                   on_step=lambda label: None)
    assert order == ["R0", "m11", "R1", "m15", "R2", "m17", "R3"]
    assert [r["customers_per_s"] for r in references] == [100.0, 120.0, 80.0, 90.0]
    assert [(label, r["reference_customers_per_s"], r["ratio_to_reference"]) for label, r in measured] == [
        ("a", 110.0, 0.1), ("b", 100.0, 0.15), ("c", 85.0, 0.2)]
    median = median_run([r for _, r in measured][::-1])
    assert median["ratio_to_reference"] == 0.15 and median["ratios_of_repeats"] == [0.2, 0.15, 0.1]
