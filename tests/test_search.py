"""Search strategies of ``paychaos explore`` (guided, exhaustive) and the delta-debugging shrink."""

from __future__ import annotations

import random

import pytest
from helpers import MODELS

from sim.cli import main as cli_main
from sim.errors import ConfigError
from sim.runners.explore import ExploreResult, Outcome, _exhaustive_search, explore
from sim.runners.shrink import minimize
from sim.runners.space import PlanSpace, fault_choices
from sim.runners.swarm import catalogue

WALLET_AT_MOST_ONCE = MODELS / "flawed" / "wallet-commit-before-processing.yaml"


def _kinds(*names: str, targets: tuple[str, ...] = ()):
    kinds, _ = catalogue()
    chosen = [k for k in kinds if k.kind in names]
    return [k.restricted_to(targets) if targets else k for k in chosen]


def test_the_exhaustive_space_is_enumerated_smallest_first_and_counted_exactly():
    space = PlanSpace(_kinds("psp_outage", "webhook_loss"), "t")
    plans = list(space.exhaustive())
    assert len(plans) == space.exhaustive_size()
    faults = len(space.exhaustive_faults())
    assert faults == len(space.choices) * len(PlanSpace.EXHAUSTIVE_TIMINGS)
    assert len(plans) == len(PlanSpace.EXHAUSTIVE_WORKLOADS) * (1 + faults + faults * (faults - 1) // 2)
    sizes = [len(p["faults"]) for p in plans]
    assert sizes == sorted(sizes) and sizes[0] == 0 and max(sizes) == 2
    keys = [repr(sorted(p.items())) for p in plans]
    assert len(set(keys)) == len(keys)  # no case twice


def test_exhaustive_search_says_whether_the_space_was_exhausted():
    space = PlanSpace(_kinds("psp_outage"), "t")
    size = space.exhaustive_size()
    seen = []

    def evaluate(plan):
        seen.append(plan)
        result.runs += 1
        return Outcome((), [])

    result = ExploreResult("m", size, 0)
    assert _exhaustive_search(space, size, evaluate, result, lambda: None) == (None, True)
    assert len(seen) == size
    seen.clear()
    result = ExploreResult("m", size - 1, 0)
    assert _exhaustive_search(space, size - 1, evaluate, result, lambda: None) == (None, False)
    assert len(seen) == size - 1


def test_guided_mutations_stay_valid_and_draw_every_fault_uniformly():
    space = PlanSpace(catalogue()[0], "t")
    rng = random.Random(0)
    seeds = space.seeds(rng, rounds=2)
    assert seeds[0]["faults"] == [] and len(seeds) == 1 + 2 * len(space.choices)
    assert [(s["faults"][0]["kind"], s["faults"][0].get("target")) for s in seeds[1:]] == \
        [(c.kind, c.target) for c in space.choices] * 2
    second = seeds[1 + len(space.choices):]  # the second round: every fault over the whole load phase
    assert all((s["faults"][0]["at"], s["faults"][0]["for"]) == ("0s", s["duration"]) for s in second)
    assert any(s["faults"][0]["at"] != "0s" for s in seeds[1:1 + len(space.choices)])
    plan = seeds[0]
    for _ in range(300):
        plan = space.mutate(plan, rng)
        load_s = int(plan["duration"][:-1])
        assert len(plan["faults"]) <= 4
        for fault in plan["faults"]:
            assert 0 <= int(fault["at"][:-1]) < load_s and int(fault["at"][:-1]) + int(fault["for"][:-1]) <= load_s


def test_delta_debugging_keeps_only_what_the_violation_needs():
    """A synthetic failure that needs one fault (a wallet crash) and at least 37 checkouts: every
    other fault, parameter and workload key goes, and the checkouts come down to 37."""
    plan = {
        "name": "t", "seed": 7, "duration": "120s", "drain": "1h",
        "workload": {"rate": "20/s", "max_checkouts": 300, "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"]},
        "faults": [
            {"kind": "dlq_replay", "at": "50s", "for": "5s", "target": "dlq"},
            {"kind": "consumer_crash", "at": "40s", "for": "30s", "target": "wallet"},
            {"kind": "webhook_loss", "at": "3s", "for": "9s", "target": "psp", "probability": 0.5},
            {"kind": "psp_latency", "at": "1s", "for": "2s", "added": "5s"},
        ],
    }
    calls = []

    def still_fails(candidate: dict) -> bool:
        calls.append(candidate)
        crash = [f for f in candidate["faults"] if f["kind"] == "consumer_crash" and f.get("target") == "wallet"]
        return bool(crash) and candidate["workload"]["max_checkouts"] >= 37

    minimal = minimize(plan, still_fails)
    assert [f["kind"] for f in minimal["faults"]] == ["consumer_crash"]
    assert minimal["faults"][0] == {"kind": "consumer_crash", "at": "0s", "for": "1s", "target": "wallet"}
    assert minimal["workload"] == {"rate": "1/s", "max_checkouts": 37}
    assert minimal["duration"] == "30s" and minimal["seed"] == 7
    assert still_fails(minimal) and len(calls) < 200


def test_exhaustive_and_guided_catch_a_narrow_flaw_within_a_small_budget():
    """The wallet that commits before processing needs a wallet consumer crash under load: rare in
    Hypothesis's swarm draws (early catalogue entries dominate), tried early by both others. Whether
    the random swarm finds it at one seed is luck (it missed at seed 0 before the capacity model and
    the speed work changed the draws, and finds it now), so only the two systematic strategies are
    held to the budget; docs/hunting.md compares all three over seeds."""
    budget = 60
    for strategy in ("guided", "exhaustive"):
        result = explore(WALLET_AT_MOST_ONCE, budget, seed=0, shrink_budget=1, strategy=strategy)
        assert result.found and result.oracle == "wallet_equals_ledger", strategy
        assert result.runs_to_violation <= budget
    assert result.cases_total is not None and result.cases_total > budget and not result.exhausted


def test_an_unknown_strategy_is_refused(capsys):
    with pytest.raises(ConfigError):
        explore(WALLET_AT_MOST_ONCE, 5, seed=0, strategy="clever")
    assert cli_main(["explore", WALLET_AT_MOST_ONCE.as_posix(), "--strategy", "clever"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_cli_reports_cases_of_the_bounded_space(tmp_path, capsys):
    out = tmp_path / "ce.yaml"
    assert cli_main(["explore", (MODELS / "async-kafka.yaml").as_posix(), "--strategy", "exhaustive",
                     "--budget", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "exhaustive search: 3 runs" in printed and "3 of " in printed and "cases remaining" in printed


def test_fault_choices_cover_every_kind_and_target():
    kinds = _kinds("consumer_crash", targets=("executor", "wallet", "ledger"))
    assert [(c.kind, c.target) for c in fault_choices(kinds)] == [
        ("consumer_crash", "executor"), ("consumer_crash", "wallet"), ("consumer_crash", "ledger")]


def test_plans_pay_in_currencies_the_models_fx_can_settle(tmp_path):
    """A model whose FX settles in USD refuses a workload in EUR alone: explore's probe runs paid in
    EUR (the default) and every fault kind was dropped ("no fault kind of the catalogue applies").
    Plans and probes pay in EUR and USD, or in what the model's FX can settle."""
    import yaml

    from helpers import MODELS
    from sim.runners.explore import explore
    from sim.runners.space import workload_currencies

    assert workload_currencies(None, []) == ["EUR", "USD"]
    assert workload_currencies("USD", ["EUR"]) == ["EUR", "USD"]
    assert workload_currencies("EUR", ["USD"]) == ["EUR", "USD"]
    assert workload_currencies("GBP", ["USD", "CHF"]) == ["USD", "GBP", "CHF"]  # no rate for EUR: left out
    model = yaml.safe_load((MODELS / "async-kafka.yaml").read_text())
    model["fx"] = {"settlement_currency": "USD", "rates": {"EUR": 1.08}}
    path = tmp_path / "settles-in-usd.yaml"
    path.write_text(yaml.safe_dump(model))
    result = explore(path, 3, seed=0)
    assert not result.found and result.runs == 3
    assert not any("settlement currency" in reason for reason in result.skipped_kinds.values())
    model["fx"] = {"settlement_currency": "GBP", "rates": {"USD": 0.79}}
    path.write_text(yaml.safe_dump(model))
    assert explore(path, 2, seed=0, strategy="random").runs == 2
