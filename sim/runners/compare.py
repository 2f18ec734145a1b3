"""Compare variants of a scenario with common random numbers, paired differences and a ranking.

Every variant runs the same R seeds (``replication_seeds``); named random streams make customers,
amounts and the fault timeline identical across variants for a seed, so the difference between
two variants in one replication is the policy's alone. Differences are paired per replication
against a baseline variant; their mean gets a Student-t 95 % confidence interval, which is much
narrower than comparing two independent means.
"""

from __future__ import annotations

from typing import Callable

from sim.config.loader import LoadedScenario
from sim.config.messages import did_you_mean
from sim.errors import ConfigError
from sim.config.kpis import KPIS
from sim import format as fmt
from sim.runners.replicate import Progress, Replicated, mean_ci, replication_seeds, run_many

PARETO_AXES = (("success_rate", "higher"), ("psp_requests_per_order", "lower"), ("p99_latency_ms", "lower"))


def resolve_variants(loaded: LoadedScenario, names: list[str] | None) -> list[str]:
    """The variants to compare, checked against the scenario (bad name → ConfigError)."""
    defined = list(loaded.scenario.variants)
    if not defined:
        raise ConfigError("this scenario defines no variants to compare", file=loaded.scenario_path,
                          key="variants", hint="add e.g. variants: {a: {executor.retry.strategy: fixed}, b: {...}}")
    chosen = names or defined
    unknown = [n for n in chosen if n not in loaded.scenario.variants]
    if unknown:
        close = did_you_mean(unknown[0], defined)
        raise ConfigError(f"unknown variant(s) {', '.join(map(repr, unknown))}", file=loaded.scenario_path,
                          key="variants", hint=(f"{close} " if close else "") + f"variants in this scenario: "
                          f"{', '.join(defined)}")
    if len(set(chosen)) != len(chosen):
        raise ConfigError("a variant is named twice in --variants", file=loaded.scenario_path, key="variants")
    if len(chosen) < 2:
        raise ConfigError("a comparison needs at least two variants", file=loaded.scenario_path, key="variants",
                          hint=f"variants in this scenario: {', '.join(defined)}")
    return chosen


def run_comparison(loaded: LoadedScenario, variants: list[str], replications: int,
                   seed: int | None = None, workers: int | None = None,
                   progress: Progress | None = None,
                   on_exemplars: Callable[[dict[str, dict]], None] | None = None) -> dict[str, Replicated]:
    """R replications per variant, the same seeds for every variant (common random numbers).
    ``on_exemplars(first_runs)`` is called once every variant's first run is in (after the first
    seed's runs, as the others go), with ``{variant: its first run}``: what
    :func:`exemplar_fields` needs, so a report can start on it."""
    seeds = replication_seeds(loaded.scenario.seed if seed is None else seed, replications)
    # seed-major: consecutive jobs share a seed, so a worker reuses that seed's population; the
    # first len(variants) jobs are the variants' exemplars
    jobs = [(loaded, s, variant, False) for s in seeds for variant in variants]
    firsts: dict[int, dict] = {}

    def on_done(index: int, run: dict) -> None:
        if on_exemplars is None or index >= len(variants):
            return
        firsts[index] = run
        if len(firsts) == len(variants):
            on_exemplars({variant: firsts[i] for i, variant in enumerate(variants)})

    runs = run_many(jobs, workers, progress, on_done)
    return {variant: Replicated(runs[i::len(variants)]) for i, variant in enumerate(variants)}


def exemplar_fields(first_runs: dict[str, dict]) -> dict:
    """The part of a comparison's results that its variants' first runs alone decide: the fault
    windows, the end, and each variant's exemplar (its first run's series, latency CDF, recovery,
    KPIs and seed). The PSP-rate and latency figures are drawn from these alone."""
    first = next(iter(first_runs.values()))
    return {
        "fault_windows": first["fault_windows"],
        "end_s": first["end_s"],
        "load_end_s": first.get("load_end_s"),
        "exemplars": {v: {key: run[key] for key in ("series", "latency_cdf", "recovery", "kpis", "seed")}
                      for v, run in first_runs.items()},
    }


def paired(results: dict[str, Replicated], baseline: str) -> dict[str, dict[str, dict]]:
    """Per variant and KPI: mean and 95 % CI of (variant − baseline), paired by replication."""
    base = results[baseline]
    return {variant: {kpi.key: _difference(rep.kpi_values(kpi.key), base.kpi_values(kpi.key)) for kpi in KPIS}
            for variant, rep in results.items()}


def _difference(values: list, baseline: list) -> dict:
    """Mean and 95 % CI of ``values`` − ``baseline``, replication by replication (a missing value
    on either side leaves that replication out)."""
    return mean_ci([None if a is None or b is None else a - b for a, b in zip(values, baseline)])


def paired_by_currency(results: dict[str, Replicated], baseline: str) -> dict[str, dict[str, dict[str, dict]]] | None:
    """:func:`paired` of each money KPI's part per currency (variant → KPI → currency code), or
    None when the runs pay in one currency."""
    base = results[baseline]
    split = base.first.get("kpis_by_currency")
    if split is None:
        return None
    return {variant: {key: {code: _difference(rep.kpi_values_in(key, code), base.kpi_values_in(key, code))
                            for code in codes} for key, codes in split.items()}
            for variant, rep in results.items()}


def ranking(stats: dict[str, dict[str, dict]]) -> dict[str, list[dict]]:
    """Per KPI, the variants best first (ties share a rank); variants without a value last."""
    ranks: dict[str, list[dict]] = {}
    for kpi in KPIS:
        valued = [(v, s[kpi.key]["mean"]) for v, s in stats.items() if s[kpi.key]["mean"] is not None]
        sign = -1.0 if kpi.better == "higher" else 1.0
        valued.sort(key=lambda item: (sign * item[1], list(stats).index(item[0])))
        rows, previous, rank = [], None, 0
        for position, (variant, mean) in enumerate(valued, start=1):
            if mean != previous:
                rank, previous = position, mean
            rows.append({"rank": rank, "variant": variant, "mean": mean})
        ranks[kpi.key] = rows
    return ranks


def pareto_front(stats: dict[str, dict[str, dict]]) -> list[str]:
    """Variants no other variant dominates on the Pareto axes (success ↑, PSP load ↓, p99 ↓).

    A difference smaller than the noise (the larger of the two 95 % CI half-widths) is a tie, not
    a win: a variant 0.2 pp ahead on success within a ±1 pp interval, at 2.7× the PSP load, is
    dominated, not Pareto-optimal. Without intervals (one replication) every difference counts."""
    points = {}
    for variant, s in stats.items():
        values = [s[key]["mean"] for key, _ in PARETO_AXES]
        if None not in values:
            points[variant] = [(v if better == "lower" else -v, s[key]["half_width"] or 0.0)
                               for v, (key, better) in zip(values, PARETO_AXES)]

    def dominates(q: list, p: list) -> bool:
        better = worse = False
        for (a, noise_a), (b, noise_b) in zip(q, p):
            noise = max(noise_a, noise_b)
            better |= a < b - noise
            worse |= a > b + noise
        return better and not worse

    return [variant for variant, p in points.items()
            if not any(dominates(q, p) for other, q in points.items() if other != variant)]


def _fmt_ci(stat: dict, scale: float = 1.0, unit: str = "", digits: int = 1) -> str:
    mean = fmt.fixed(stat["mean"] * scale, digits)
    if stat["half_width"] is None:
        return f"{mean}{unit}"
    return f"{mean}{unit} (95% CI ±{stat['half_width'] * scale:.{digits}f})"


def recommend(stats: dict[str, dict[str, dict]], diffs: dict[str, dict[str, dict]], baseline: str,
              front: list[str], results: dict[str, Replicated] | None = None) -> dict:
    """A short recommendation built from the numbers: the safe variant with the best success rate
    (variants whose paired difference to it is not significantly below zero count as ties, broken
    by less PSP load), and the variants that load the PSP the most and burst hardest after
    recovery. Without ``results`` (no pairing), ties are means within the best one's CI."""
    def mean(variant: str, key: str):
        return stats[variant][key]["mean"]

    safe = [v for v in stats if mean(v, "double_charges") == 0 and (mean(v, "stuck") or 0) == 0]
    pool = safe or list(stats)
    best_success = max(mean(v, "success_rate") or 0.0 for v in pool)
    best_stat = stats[max(pool, key=lambda v: mean(v, "success_rate") or 0.0)]["success_rate"]
    tolerance = best_stat["half_width"] or 0.0
    best = max(pool, key=lambda v: mean(v, "success_rate") or 0.0)
    if results is not None:
        versus = paired(results, best)
        contenders = [v for v in pool if v == best or versus[v]["success_rate"]["high"] is None
                      or versus[v]["success_rate"]["high"] >= 0.0]
    else:
        contenders = [v for v in pool if (mean(v, "success_rate") or 0.0) >= best_success - tolerance]
    chosen = min(contenders, key=lambda v: (mean(v, "psp_requests_per_order") or 0.0,
                                            mean(v, "peak_psp_rate_after_recovery_per_s") or 0.0,
                                            -(mean(v, "success_rate") or 0.0)))
    sentences = []
    lead = (f"Recommend **{chosen}**: success rate {_fmt_ci(stats[chosen]['success_rate'], 100, ' %')}, "
            f"{mean(chosen, 'psp_requests_per_order'):.2f} PSP requests per order")
    if chosen != baseline:
        d = diffs[chosen]["success_rate"]
        lead += f"; {_fmt_ci(d, 100, ' pp')} success against {baseline} (paired)"
    if not safe:
        lead += ". No variant was free of double charges and stuck payments: fix the design first"
    sentences.append(lead + ".")
    if len(contenders) > 1:
        others = [v for v in contenders if v != chosen]
        verb = "succeeds" if len(others) == 1 else "succeed"
        sentences.append(f"{', '.join(others)} {verb} about as often (the paired difference's 95% CI includes "
                         f"zero) but load the PSP more.")
    loudest = max(stats, key=lambda v: mean(v, "psp_requests_per_order") or 0.0)
    sentences.append(
        f"**{loudest}** puts the most load on the PSP: {mean(loudest, 'psp_requests_per_order'):.2f} requests "
        f"per order and a peak of {fmt.number(mean(loudest, 'peak_psp_rate_per_s'))} req/s.")
    after = [v for v in stats if mean(v, "peak_psp_rate_after_recovery_per_s") is not None]
    if len(after) > 1:
        worst = max(after, key=lambda v: mean(v, "peak_psp_rate_after_recovery_per_s"))
        calm = min(after, key=lambda v: mean(v, "peak_psp_rate_after_recovery_per_s"))
        sentences.append(
            f"Right after the PSP recovers, **{worst}** hits it hardest "
            f"({fmt.number(mean(worst, 'peak_psp_rate_after_recovery_per_s'))} req/s peak) and **{calm}** least "
            f"({fmt.number(mean(calm, 'peak_psp_rate_after_recovery_per_s'))} req/s).")
    if front:
        sentences.append(pareto_sentence(front, list(stats)))
    return {"variant": chosen, "text": " ".join(sentences), "safe_variants": safe}


def pareto_sentence(front: list[str], variants: list[str]) -> str:
    """Which variants are Pareto-optimal, said the short way: the front itself, or when most
    variants are on it, the few that are not (a list of eight of nine names says nothing at a glance)."""
    criteria = "success ↑, PSP load ↓, p99 ↓; differences inside the 95% CIs are ties"
    dominated = [v for v in variants if v not in front]
    if not dominated:
        return f"Every variant is Pareto-optimal ({criteria}): none is beaten on all three by another."
    if len(dominated) < len(front):
        return (f"Pareto-optimal ({criteria}): every variant but {', '.join(dominated)} (for each, another is "
                f"at least as good on all three and better on one).")
    return f"Pareto-optimal ({criteria}): {', '.join(front)}."


def summarize_comparison(loaded: LoadedScenario, results: dict[str, Replicated], baseline: str,
                         command: str) -> dict:
    """``results.json`` of a comparison (the first run of each variant kept as an exemplar)."""
    stats = {variant: rep.stats() for variant, rep in results.items()}
    diffs = paired(results, baseline)
    front = pareto_front(stats)
    first = next(iter(results.values())).first
    exemplar = exemplar_fields({variant: rep.first for variant, rep in results.items()})
    split = paired_by_currency(results, baseline)
    by_currency = {} if split is None else {  # several currencies: each money KPI's part in each
        "stats_by_currency": {variant: rep.stats_by_currency() for variant, rep in results.items()},
        "paired_differences_by_currency": split}
    return {
        "kind": "comparison",
        "scenario": loaded.scenario.name,
        "command": command,
        "seeds": [run["seed"] for run in next(iter(results.values())).runs],
        "replications": len(next(iter(results.values())).runs),
        "baseline": baseline,
        "variants": list(results),
        "variant_overrides": {v: loaded.scenario.variants[v] for v in results},
        "kpis": [{"key": k.key, "label": k.label, "better": k.better, "unit": k.unit} for k in KPIS],
        "stats": stats,
        "paired_differences": diffs,
        **by_currency,
        "ranking": ranking(stats),
        "pareto_front": front,
        "recommendation": recommend(stats, diffs, baseline, front, results),
        "per_replication": {v: [run["kpis"] for run in rep.runs] for v, rep in results.items()},
        "verdicts": {v: [run["verdict"] for run in rep.runs] for v, rep in results.items()},
        "fault_windows": exemplar["fault_windows"],
        "end_s": exemplar["end_s"],
        "load_end_s": exemplar["load_end_s"],
        "exemplars": exemplar["exemplars"],
        "config": first["config"]["scenario"],
    }
