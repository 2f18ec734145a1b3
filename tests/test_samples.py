"""Sample orders for the sequence diagrams are traced during the run itself (no second simulation),
and they are the same orders and events a full trace of the whole run gives."""

from __future__ import annotations

import pytest
from helpers import SCENARIOS, scenario

import sim.runners.run as run_module
from sim.config.loader import load_scenario
from sim.domain.orders import OrderState
from sim.observe.samples import LABELS, SampleTrace, pick_samples
from sim.runners.replicate import run_one
from sim.runners.run import simulate

# an outage (retried, dead-lettered orders) and declines (failed orders), then a DLQ replay
SMALL = dict(duration="3m", drain="3m", seed=7, workload={"rate": "10/s", "buyers": 300, "sellers": 20},
             faults=[{"kind": "psp_outage", "at": "40s", "for": "40s"}, {"kind": "dlq_replay", "at": "150s"}])


def _fully_traced(loaded, seed):
    """What the old way gave: pick over every order, then the events of a traced re-run."""
    world, _, _ = simulate(loaded, seed)
    picked = pick_samples(world.orders, range(len(world.orders)))
    traced, _, _ = simulate(loaded, seed, trace_orders=frozenset(picked), trace_requests=True)
    return {o: (label, [[t, what] for t, what in traced.trace.of(o)]) for o, label in picked.items()}


@pytest.mark.parametrize("source", ["small", "retry-topics-outage"])
def test_samples_traced_in_the_run_match_a_full_trace(tmp_path, source):
    loaded = (scenario(tmp_path, "async-kafka.yaml", **SMALL) if source == "small"
              else load_scenario(SCENARIOS / f"{source}.yaml"))
    seed = loaded.scenario.seed
    data = run_one(loaded, seed, samples=True)
    got = {s["order"]: (s["label"], s["events"]) for s in data["sample_orders"]}
    assert got == _fully_traced(loaded, seed)
    assert {label for label, _ in got.values()} == set(LABELS)
    assert all(events for _, events in got.values())
    assert all(any(what.endswith(":sent") for _, what in events) for _, events in got.values()), \
        "the sequence diagrams draw each request when it was sent"


def test_samples_cost_one_simulation(tmp_path, monkeypatch):
    loaded = scenario(tmp_path, "async-kafka.yaml", **SMALL)
    built = []
    real = run_module.build_world
    monkeypatch.setattr(run_module, "build_world", lambda *a, **k: built.append(1) or real(*a, **k))
    data = run_one(loaded, 7, samples=True)
    assert data["sample_orders"] and data["verdict"] == "pass"
    assert len(built) == 1


def test_sample_trace_stays_bounded_and_picks_what_its_labels_say(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", **SMALL)
    kept_sizes = []

    class Recording(SampleTrace):
        def prune(self):
            super().prune()
            kept_sizes.append(len(self.by_order))

    trace = Recording(prune_every=64, max_kept=40)
    world = run_module.build_world(run_module.variant_model(loaded, None), loaded.scenario, 7, trace)
    trace.bind(world.orders)
    world.env.run(until=world.end_s)
    picks = trace.samples()
    assert len(world.orders) > 1000 and len(kept_sizes) > 10
    assert max(kept_sizes) <= 40
    assert sum(trace.dropped) > 900  # finished orders were let go
    state, attempts = world.orders.state, world.orders.psp_attempts
    for order_id, label in picks.items():
        if label == "succeeded first time":
            assert state[order_id] == OrderState.SUCCESS and attempts[order_id] == 1
        elif label == "retried":
            assert attempts[order_id] > 1
        else:
            assert state[order_id] in (OrderState.FAILED, OrderState.DEAD_LETTERED)
        assert trace.of(order_id)
