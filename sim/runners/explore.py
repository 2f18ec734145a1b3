"""``paychaos explore``: search fault schedules against a model, and when an oracle breaks,
shrink the failure to a minimal scenario that replays it deterministically.

Three strategies pick the plans (workload, seed, faults; see ``sim.runners.space``):

- ``guided`` (default): every (kind, target) of the catalogue alone first, then mutations of a
  corpus of plans that reached new coverage features (counters at a log2 scale, order states,
  fault kinds);
- ``random``: Hypothesis draws swarm-style plans (``sim.runners.swarm``) and shrinks the first
  violation toward fewer faults, fewer payments and simpler parameters;
- ``exhaustive``: every plan of a bounded space, smallest first, saying how much of it ran.

After any strategy a delta-debugging pass (``sim.runners.shrink``) removes whatever the violation
does not need, keeping only plans that break *the same* oracle. Every plan is a YAML-ready
scenario dict drawn before the simulation starts, so the minimal plan is written out as-is
(``counterexample.yaml``) and ``paychaos run`` replays it to the same violation, every time.

Deterministic given ``seed``: Hypothesis runs with that seed and without an example database, the
guided search draws from ``random.Random(seed)``, and each simulation is a pure function of its plan.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.loader import LoadedScenario, read_yaml, validate
from sim.config.yaml_writer import yaml_text
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.errors import ConfigError
from sim.atomic import write_text_atomic
from sim.runners.run import canonical_json, simulate
from sim.domain.orders import OrderState
from sim.runners.shrink import minimize
from sim.runners.space import WORKLOAD_DEFAULTS, PlanSpace, workload_currencies
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
STRATEGIES = ("random", "guided", "exhaustive")
"""How ``explore`` picks plans: Hypothesis swarm draws, feedback-guided mutation of a corpus, or
enumeration of a bounded space (see ``sim.runners.space``)."""
DEFAULT_STRATEGY = "guided"
"""Guided search catches every shipped flawed model at budget 200 and seeds 0-4; the random
swarm's Hypothesis draws favour the first kinds and targets of the catalogue and miss rare ones."""
GUIDED_ATTEMPTS_PER_RUN = 20
"""Guided search gives up after this many mutations per budgeted run that were all seen before."""


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
    """The oracles the shrunk plan breaks."""
    found_failing: tuple[str, ...] = ()
    """The oracles the plan as the search found it broke, before shrinking."""
    plan: dict | None = None
    messages: list[str] = field(default_factory=list)
    skipped_kinds: dict[str, str] = field(default_factory=dict)
    strategy: str = "random"
    distinct_states: int = 0
    """Distinct abstract states the exploring runs reached (see :func:`abstract_state`)."""
    runs_to_violation: int | None = None
    cases_total: int | None = None
    """Exhaustive strategy: the size of the bounded space."""
    exhausted: bool = False
    """Exhaustive strategy: every case of the bounded space ran."""
    corpus_size: int = 0

    @property
    def found(self) -> bool:
        return self.oracle is not None


class _Found(AssertionError):
    def __init__(self, plan: dict, oracle: str, failing: tuple[str, ...], messages: list[str]) -> None:
        super().__init__(f"{oracle} violated")
        self.plan, self.oracle, self.failing, self.messages = plan, oracle, failing, messages


@st.composite
def plans(draw, kinds: list[KindInfo], name: str, currencies: list[str]) -> dict:
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
            "rate": f"{rate}/s", "max_checkouts": checkouts, **WORKLOAD_DEFAULTS, "currencies": list(currencies),
        },
        "faults": faults,
    }


def load_model_file(model_path: str | Path) -> tuple[SystemModel, dict]:
    doc = read_yaml(model_path)
    model = validate(SystemModel, doc.data, doc)
    return model, doc.data


@dataclass(frozen=True)
class Outcome:
    """What one plan's run showed: the oracles it broke (registry order) with their first
    messages, its abstract state, and its coverage features (for guided search)."""

    failing: tuple[str, ...]
    messages: list[str]
    state: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()


INVALID = Outcome((), ["not a valid scenario"])
PASSED = Outcome((), [])


def observe_plan(plan: dict, model: SystemModel, model_data: dict, model_path: str) -> Outcome:
    """Simulate one plan and check the oracles."""
    scenario = Scenario.model_validate({**plan, "model": model_path})
    loaded = LoadedScenario(scenario, model, f"<explore {plan['name']}>", model_path, model_data)
    try:
        world, verdicts, _recon = simulate(loaded)
    except Exception as exc:  # a crash of the simulator is a finding too, never an explore crash
        return Outcome((SIMULATION_ERROR,), [f"{type(exc).__name__}: {exc}"])
    failing = tuple(v.oracle for v in verdicts if not v.passed)
    messages = [v.violations[0].message for v in verdicts if not v.passed and v.violations]
    return Outcome(failing, messages, *abstract_state(world, plan))


def abstract_state(world, plan: dict) -> tuple[frozenset[str], frozenset[str]]:
    """A run's abstract state: the component events that happened (every counter that moved),
    the order states reached and the fault kinds played; and its coverage features, the same
    with each counter's magnitude (log2 bucket)."""
    counters = {name: int(value) for name, value in world.metrics.counters.items() if value}
    order_states = {f"state:{OrderState(s).name}" for s in set(world.orders.state)}
    faults = {f"fault:{fault['kind']}" for fault in plan["faults"]}
    state = frozenset(set(counters) | order_states | faults)
    features = frozenset({f"{name}:{value.bit_length()}" for name, value in counters.items()} | order_states | faults)
    return state, features


def run_plan(plan: dict, model: SystemModel, model_data: dict, model_path: str) -> tuple[tuple[str, ...], list[str]]:
    """Simulate one plan; the oracles it breaks (registry order) and their first messages."""
    outcome = observe_plan(plan, model, model_data, model_path)
    return outcome.failing, outcome.messages


def model_currencies(model: SystemModel) -> list[str]:
    """The currencies explored plans pay in against ``model`` (see ``sim.runners.space.workload_currencies``)."""
    return workload_currencies(model.fx.settlement_currency, list(model.fx.rates))


def usable_kinds(kinds: list[KindInfo], model: SystemModel, model_data: dict, model_path: str) -> tuple[list[KindInfo], dict[str, str]]:
    """Keep each kind's targets that exist in this model (a sync model has no executor consumer
    group to crash): one tiny probe run per (kind, target), in the currencies the plans use (a
    model that settles in USD refuses a workload in EUR alone)."""
    usable, dropped = [], {}
    currencies = model_currencies(model)
    for info in kinds:
        keep = []
        candidates = targets_in(info, model)
        if info.model_targets and not candidates:
            dropped[info.kind] = "no target for it in this model"
            continue
        for target in candidates or (None,):
            fault = {"kind": info.kind, "at": "0s", "for": "1s", **info.simplest(target)}
            probe = {"name": "probe", "seed": 0, "duration": "2s", "drain": "0s",
                     "workload": {"rate": "5/s", "max_checkouts": 1, "buyers": 5, "sellers": 2, "currencies": currencies},
                     "faults": [fault]}
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
    on_progress: Callable[[Progress], None] | None = None, strategy: str = DEFAULT_STRATEGY,
) -> ExploreResult:
    """Up to ``budget`` plans against the model, chosen by ``strategy`` (see :data:`STRATEGIES`);
    on a violation, the plan shrunk (Hypothesis for random plans, then delta debugging)."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    model_path = Path(model_path).as_posix()
    model, model_data = load_model_file(model_path)
    kinds, skipped = catalogue()
    kinds, dropped = usable_kinds(kinds, model, model_data, model_path)
    skipped.update(dropped)
    if not kinds:
        raise ConfigError("no fault kind of the catalogue applies to this model", file=model_path)
    result = ExploreResult(model_path, budget, seed, skipped_kinds=skipped, strategy=strategy)
    memo: dict[str, Outcome] = {}
    states: set[frozenset[str]] = set()
    state: dict[str, Any] = {"target": None, "best": None}

    def report() -> None:
        if on_progress is not None:
            phase = "explore" if state["target"] is None else "shrink"
            on_progress(Progress(phase, result.runs, result.shrink_runs, state["target"], state["best"]))

    def evaluate(plan: dict) -> Outcome:
        key = canonical_json(plan)
        if key in memo:
            return memo[key]
        try:
            Scenario.model_validate({**plan, "model": model_path})
        except ValidationError:
            memo[key] = INVALID
            return INVALID
        if state["target"] is not None:
            if result.shrink_runs >= shrink_budget:
                memo[key] = PASSED  # shrink budget spent: unseen plans count as passing
                return PASSED
            result.shrink_runs += 1
        else:
            result.runs += 1
        memo[key] = outcome = observe_plan(plan, model, model_data, model_path)
        if state["target"] is None:
            states.add(outcome.state)
        return outcome

    name = f"counterexample-{model.name}"
    currencies = model_currencies(model)
    space = PlanSpace(kinds, name, currencies)
    if strategy == "random":
        found = _random_search(kinds, name, currencies, budget, seed, evaluate, state, report)
    elif strategy == "guided":
        found = _guided_search(space, budget, random.Random(seed), evaluate, result, report)
    else:
        result.cases_total = space.exhaustive_size()
        found, result.exhausted = _exhaustive_search(space, budget, evaluate, result, report)
    result.distinct_states = len(states)
    if found is None:
        return result
    result.runs_to_violation = result.runs
    result.found_failing = evaluate(found).failing  # (already run: the memo has it)
    target = state["target"] = state["target"] or result.found_failing[0]

    def still_fails(plan: dict) -> bool:
        failing = target in evaluate(plan).failing
        if failing:
            state["best"] = describe(plan)
        report()
        return failing

    result.plan = minimize(found, still_fails)
    final = evaluate(result.plan)
    result.oracle, result.failing, result.messages = target, final.failing, final.messages
    return result


def _random_search(kinds, name, currencies, budget, seed, evaluate, state, report) -> dict | None:
    """Swarm-random plans drawn by Hypothesis; the first violation shrunk by Hypothesis."""

    @hypothesis_seed(seed)
    @settings(
        max_examples=budget, database=None, deadline=None, phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
        verbosity=Verbosity.quiet,
    )
    @given(st.data())
    def probe(data: st.DataObject) -> None:
        plan = data.draw(plans(kinds, name, currencies), label="plan")
        outcome = evaluate(plan)
        if outcome is INVALID:
            reject()
        failing = outcome.failing
        if state["target"] is None and failing:
            state["target"] = failing[0]
        target = state["target"]
        if target is not None and target in failing:
            state["best"] = describe(plan)
            report()
            raise _Found(plan, target, failing, outcome.messages)
        report()

    try:
        probe()
    except _Found as found:
        return found.plan
    return None


def _guided_search(space: PlanSpace, budget: int, rng: random.Random, evaluate, result: ExploreResult,
                   report) -> dict | None:
    """Feedback-guided: first each fault alone (``PlanSpace.seeds``), then mutations of a corpus
    member drawn uniformly; a plan joins the corpus when it reached a coverage feature no earlier
    plan reached (counter names at a log2 scale, order states, fault kinds)."""
    corpus: list[dict] = []
    seen: set[str] = set()
    seeds = space.seeds(rng)
    attempts = 0
    while result.runs < budget and attempts < GUIDED_ATTEMPTS_PER_RUN * budget:
        attempts += 1
        plan = seeds.pop(0) if seeds else space.mutate(rng.choice(corpus), rng)
        outcome = evaluate(plan)
        if outcome is INVALID:
            continue
        report()
        if outcome.failing:
            return plan
        if not corpus or outcome.features - seen:
            corpus.append(plan)
            seen |= outcome.features
    result.corpus_size = len(corpus)
    return None


def _exhaustive_search(space: PlanSpace, budget: int, evaluate, result: ExploreResult, report) -> tuple[dict | None, bool]:
    """Every plan of the bounded space in order (see ``PlanSpace.exhaustive``) until the budget
    is spent; the first violation, and whether the space was exhausted."""
    for plan in space.exhaustive():
        if result.runs >= budget:
            return None, False
        outcome = evaluate(plan)
        report()
        if outcome.failing:
            return plan, False
    return None, True


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
        "description": f"Found by paychaos explore ({result.strategy}, seed {result.seed}): breaks {result.oracle}.",
        "model": Path(model_ref).as_posix(),
        **plan,
    }
    header = (
        f"# Counterexample found by: paychaos explore {result.model_path} --budget {result.budget} --seed {result.seed}"
        f" --strategy {result.strategy}\n"
        f"# Breaks: {result.oracle}" + (f" (also: {', '.join(o for o in result.failing if o != result.oracle)})"
                                         if len(result.failing) > 1 else "") + "\n"
        f"# Minimal: {describe(result.plan)}\n"
        f"# Replay: paychaos run {out_path.as_posix()}\n"
    )
    return header + yaml_text(document)


def write_counterexample(result: ExploreResult, out_path: Path) -> None:
    write_text_atomic(out_path, counterexample_document(result, out_path))


def check_budget(budget: int) -> None:
    if budget < 1:
        raise ConfigError(f"--budget must be at least 1, got {budget}", hint="e.g. --budget 200")

