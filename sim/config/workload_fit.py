"""A scenario's workload against its model's clients, checked at load (``paychaos run``, every variant
of ``paychaos compare``, every point of ``paychaos sweep``): the knobs that shape an open arrival rate
mean nothing to a closed population, and a closed population's size is bounded as an open rate is
(``MAX_CHECKOUTS_PER_RUN``, and over replications × variants ``MAX_CHECKOUTS_IN_TOTAL``). Also how many
checkouts a run makes, from whichever of the two plays."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sim.config.distributions import distribution_mean_s
from sim.config.scenario import MAX_CHECKOUTS_PER_RUN
from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config.model import SystemModel
    from sim.config.scenario import Scenario
    from sim.config.yaml_reader import YamlDocument


def expected_checkouts(scenario: "Scenario", model: "SystemModel", base_dir: Path | None = None) -> float:
    """Checkouts one run makes, at most: the open rate over the load phase (with its shape and
    spikes), or, with a closed population, each of its N buyers checking out at most once per mean
    think time (the workload's ``rate`` plays no part then; a response time only lowers the count);
    either capped by ``workload.max_checkouts``."""
    closed = model.client.closed_population
    if not closed.enabled:
        return scenario.workload.expected_checkouts(scenario.duration_s)
    mean_s = distribution_mean_s(closed.think_time, base_dir)
    bound = closed.size * scenario.duration_s / mean_s if mean_s > 0 else math.inf
    if scenario.workload.max_checkouts is not None:
        bound = min(bound, float(scenario.workload.max_checkouts))
    return bound


def closed_population_problem(scenario: "Scenario", model: "SystemModel",
                              base_dir: Path | None = None) -> tuple[str, str] | None:
    """(workload key, what is wrong and what would be right), or None when the workload fits."""
    closed = model.client.closed_population
    if not closed.enabled:
        return None
    workload = scenario.workload
    for key, present in (("spikes", bool(workload.spikes)), ("daily_shape", workload.daily_shape is not None)):
        if present:
            return key, ("this shapes an open arrival rate, but the model plays a closed population "
                         "(client.closed_population.enabled), whose buyers check out when they finish thinking: "
                         f"remove {key}, or turn the closed population off")
    mean_s = distribution_mean_s(closed.think_time, base_dir)
    bound = expected_checkouts(scenario, model, base_dir)
    if bound > MAX_CHECKOUTS_PER_RUN:
        return "max_checkouts", (
            f"a closed population of {closed.size} buyers with a mean think time of {mean_s:g} s can make up to "
            f"{bound:.3g} checkouts in this run; at most {MAX_CHECKOUTS_PER_RUN:.0e} can be simulated in reasonable "
            "time: fewer buyers, a longer think time, a shorter duration, or set workload.max_checkouts")
    return None


def check_workload_fits(scenario: "Scenario", model: "SystemModel", doc: "YamlDocument | None" = None,
                        where: str = "", base_dir: Path | None = None) -> None:
    """Raise ConfigError (file, line, key) when the workload does not fit the model's clients, or
    when ``replications`` × variants runs of it would be too many checkouts in total (each run sized
    by the clients that play: :func:`expected_checkouts`)."""
    found = closed_population_problem(scenario, model, base_dir)
    if found is None:
        too_many = scenario.total_size_problem(scenario.replications * max(1, len(scenario.variants)),
                                               "replications × variants", expected_checkouts(scenario, model, base_dir))
        if too_many is None:
            return
        _raise_at(("replications",), too_many + where, doc)
    key, problem = found
    _raise_at(("workload", key), problem + where, doc)


def _raise_at(loc: tuple, problem: str, doc: "YamlDocument | None") -> NoReturn:
    """ConfigError at ``loc`` of ``doc`` (at the workload when the key is not written there)."""
    from sim.config.loader import key_path, node_at

    node = node_at(doc.root, loc) if doc is not None else None
    if node is None and doc is not None:
        node = node_at(doc.root, ("workload",))
    raise ConfigError(
        problem, file=doc.path if doc is not None else None,
        line=node.start_mark.line + 1 if node is not None else None,
        column=node.start_mark.column + 1 if node is not None else None,
        key=key_path(loc),
    )
