"""``paychaos explore``: throw random fault schedules at a model, and when an oracle breaks,
shrink the failure to a minimal scenario that replays it deterministically.

Hypothesis drives both halves: it draws plans (workload, seed, faults from a swarm of kinds; see
``sim.runners.swarm``) and, after the first violation, shrinks the plan toward fewer faults, fewer
payments and simpler parameters, keeping only plans that break *the same* oracle. Every plan is a
YAML-ready scenario dict drawn before the simulation starts, so the minimal plan is written out
as-is (``counterexample.yaml``) and ``paychaos run`` replays it to the same violation, every time.

Deterministic given ``seed``: Hypothesis runs with that seed and without an example database,
and each simulation is a pure function of its plan.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.loader import LoadedScenario, read_yaml, validate
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.atomic import write_text_atomic
from sim.runners.run import canonical_json, simulate
from sim.runners.swarm import KindInfo, catalogue, fault_dicts, targets_in

LOAD_LEVELS_S = (60, 30, 120)
"""Load-phase lengths drawn (shrinks toward the first)."""
RATE_LEVELS_PER_S = (5, 20, 1)
MAX_CHECKOUTS = 300
DRAIN = "1h"
"""Fault-free drain after the load phase: long enough for pending payments, webhooks and the
in-flight monitor to settle, so anything still open is really stuck."""
DEFAULT_SHRINK_BUDGET = 400
SIMULATION_ERROR = "simulation_error"


@dataclass
class Progress:
    phase: str  # "explore" or "shrink"
    runs: int
    shrink_runs: int
    target: str | None
    best: str | None


@dataclass
class ExploreResult:
    model_path: str
    budget: int
    seed: int
    runs: int = 0
    shrink_runs: int = 0
    oracle: str | None = None
    failing: tuple[str, ...] = ()
    plan: dict | None = None
    messages: list[str] = field(default_factory=list)
    skipped_kinds: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.oracle is not None


class _Found(AssertionError):
    def __init__(self, plan: dict, oracle: str, failing: tuple[str, ...], messages: list[str]) -> None:
        super().__init__(f"{oracle} violated")
        self.plan, self.oracle, self.failing, self.messages = plan, oracle, failing, messages


@st.composite
def plans(draw, kinds: list[KindInfo], name: str) -> dict:
    """One scenario to run: a small workload, a seed, and 1..4 faults inside the load phase."""
    load_s = draw(st.sampled_from(LOAD_LEVELS_S))
    faults = draw(fault_dicts(kinds, load_s))
    checkouts = draw(st.integers(1, MAX_CHECKOUTS))
    rate = draw(st.sampled_from(RATE_LEVELS_PER_S))
    run_seed = draw(st.integers(0, 2**32 - 1))
    return {
        "name": name,
        "seed": run_seed,
        "duration": f"{load_s}s",
        "drain": DRAIN,
        "workload": {
            "rate": f"{rate}/s", "max_checkouts": checkouts, "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"],
        },
        "faults": faults,
    }


def load_model_file(model_path: str | Path) -> tuple[SystemModel, dict]:
    doc = read_yaml(model_path)
    model = validate(SystemModel, doc.data, doc)
    return model, doc.data


def run_plan(plan: dict, model: SystemModel, model_data: dict, model_path: str) -> tuple[tuple[str, ...], list[str]]:
    """Simulate one plan; the oracles it breaks (registry order) and their first messages."""
    scenario = Scenario.model_validate({**plan, "model": model_path})
    loaded = LoadedScenario(scenario, model, f"<explore {plan['name']}>", model_path, model_data)
    try:
        _world, verdicts, _recon = simulate(loaded)
    except Exception as exc:  # a crash of the simulator is a finding too, never an explore crash
        return (SIMULATION_ERROR,), [f"{type(exc).__name__}: {exc}"]
    failing = tuple(v.oracle for v in verdicts if not v.passed)
    messages = [v.violations[0].message for v in verdicts if not v.passed and v.violations]
    return failing, messages


def usable_kinds(kinds: list[KindInfo], model: SystemModel, model_data: dict, model_path: str) -> tuple[list[KindInfo], dict[str, str]]:
    """Keep each kind's targets that exist in this model (a sync model has no executor consumer
    group to crash): one tiny probe run per (kind, target)."""
    usable, dropped = [], {}
    for info in kinds:
        keep = []
        candidates = targets_in(info, model)
        if info.model_targets and not candidates:
            dropped[info.kind] = "no target for it in this model"
            continue
        for target in candidates or (None,):
            fault = {"kind": info.kind, "at": "0s", "for": "1s", **info.simplest(target)}
            probe = {"name": "probe", "seed": 0, "duration": "2s", "drain": "0s",
                     "workload": {"rate": "5/s", "max_checkouts": 1, "buyers": 5, "sellers": 2}, "faults": [fault]}
            try:
                failing, messages = run_plan(probe, model, model_data, model_path)
            except ValidationError as exc:
                failing, messages = (SIMULATION_ERROR,), [str(exc).splitlines()[0]]
            if SIMULATION_ERROR in failing:
                dropped[f"{info.kind}:{target}" if target else info.kind] = messages[0]
            else:
                keep.append(target)
        if keep and keep != [None]:
            usable.append(info.restricted_to(tuple(keep)))
        elif keep:
            usable.append(info)
    return usable, dropped


def explore(
    model_path: str | Path, budget: int, seed: int, shrink_budget: int = DEFAULT_SHRINK_BUDGET,
    on_progress: Callable[[Progress], None] | None = None,
) -> ExploreResult:
    """Up to ``budget`` random plans against the model; on a violation, the shrunk plan."""
    model_path = Path(model_path).as_posix()
    model, model_data = load_model_file(model_path)
    kinds, skipped = catalogue()
    kinds, dropped = usable_kinds(kinds, model, model_data, model_path)
    skipped.update(dropped)
    if not kinds:
        raise ConfigError("no fault kind of the catalogue applies to this model", file=model_path)
    result = ExploreResult(model_path, budget, seed, skipped_kinds=skipped)
    memo: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    state: dict[str, Any] = {"target": None, "best": None}

    def evaluate(plan: dict) -> tuple[tuple[str, ...], list[str]]:
        key = canonical_json(plan)
        if key in memo:
            return memo[key]
        if state["target"] is not None:
            if result.shrink_runs >= shrink_budget:
                memo[key] = ((), [])  # shrink budget spent: unseen plans count as passing
                return memo[key]
            result.shrink_runs += 1
        else:
            result.runs += 1
        memo[key] = run_plan(plan, model, model_data, model_path)
        return memo[key]

    def report() -> None:
        if on_progress is not None:
            phase = "explore" if state["target"] is None else "shrink"
            on_progress(Progress(phase, result.runs, result.shrink_runs, state["target"], state["best"]))

    @hypothesis_seed(seed)
    @settings(
        max_examples=budget, database=None, deadline=None, phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
        verbosity=Verbosity.quiet,
    )
    @given(st.data())
    def probe(data: st.DataObject) -> None:
        plan = data.draw(plans(kinds, f"counterexample-{model.name}"), label="plan")
        try:
            Scenario.model_validate({**plan, "model": model_path})
        except ValidationError:
            reject()
        failing, messages = evaluate(plan)
        if state["target"] is None and failing:
            state["target"] = failing[0]
        target = state["target"]
        if target is not None and target in failing:
            state["best"] = describe(plan)
            report()
            raise _Found(plan, target, failing, messages)
        report()

    try:
        probe()
    except _Found as found:
        result.oracle, result.failing, result.plan, result.messages = found.oracle, found.failing, found.plan, found.messages
    return result


def describe(plan: dict) -> str:
    """The plan in one line: its faults, its workload, its seed."""
    faults = []
    for fault in plan["faults"]:
        params = ", ".join(f"{k}={v}" for k, v in fault.items() if k not in ("kind", "at", "for"))
        faults.append(f"{fault['kind']}(at {fault['at']} for {fault['for']}{', ' + params if params else ''})")
    workload = plan["workload"]
    return (f"{' + '.join(faults) or 'no faults'} · {workload['max_checkouts']} checkouts at {workload['rate']} "
            f"over {plan['duration']} · seed {plan['seed']}")


def counterexample_document(result: ExploreResult, out_path: Path) -> str:
    """The minimal plan as a scenario file next to ``out_path``; its model path is relative to
    the file, as in every scenario."""
    assert result.plan is not None
    try:
        model_ref = os.path.relpath(Path(result.model_path).resolve(), out_path.resolve().parent)
    except ValueError:  # another drive: nothing relative exists
        model_ref = str(Path(result.model_path).resolve())
    plan = dict(result.plan)
    document = {
        "name": plan.pop("name"),
        "description": f"Found by paychaos explore (seed {result.seed}): breaks {result.oracle}.",
        "model": Path(model_ref).as_posix(),
        **plan,
    }
    header = (
        f"# Counterexample found by: paychaos explore {result.model_path} --budget {result.budget} --seed {result.seed}\n"
        f"# Breaks: {result.oracle}" + (f" (also: {', '.join(o for o in result.failing if o != result.oracle)})"
                                         if len(result.failing) > 1 else "") + "\n"
        f"# Minimal: {describe(result.plan)}\n"
        f"# Replay: paychaos run {out_path.as_posix()}\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_counterexample(result: ExploreResult, out_path: Path) -> None:
    write_text_atomic(out_path, counterexample_document(result, out_path))


def check_budget(budget: int) -> None:
    if budget < 1:
        raise ConfigError(f"--budget must be at least 1, got {budget}", hint="e.g. --budget 200")

