"""paychaos compare: common random numbers, paired differences, ranking, Pareto, recommendation,
and the retry-policy comparison showing what the literature says."""

from __future__ import annotations

import csv
import html as html_text
import json

import pytest
from helpers import SCENARIOS, write_scenario

from sim.cli import main
from sim.config.loader import load_scenario
from sim.runners.compare import (
    exemplar_fields,
    pareto_front,
    paired,
    ranking,
    recommend,
    resolve_variants,
    run_comparison,
    summarize_comparison,
)
from sim import format as fmt
from sim.config.kpis import KPIS
from sim.runners.replicate import Replicated, mean_ci

SMALL = dict(duration="1m", drain="1m", seed=3, bin="1s",
             workload={"rate": "8/s", "buyers": 200, "sellers": 20},
             overrides={"psp.pending_probability": 0},
             faults=[{"kind": "psp_outage", "at": "20s", "for": "15s"}],
             variants={"none": {"executor.retry": {"strategy": "none"}},
                       "fixed": {"executor.retry": {"strategy": "fixed", "max_attempts": 4, "base": "1s"}},
                       "fixed-again": {"executor.retry": {"strategy": "fixed", "max_attempts": 4, "base": "1s"}}})


def _fake(values_by_variant: dict[str, list[dict]]) -> dict[str, Replicated]:
    """Replicated runs whose KPIs are given (others None)."""
    out = {}
    for variant, runs in values_by_variant.items():
        out[variant] = Replicated([{"kpis": {k.key: run.get(k.key) for k in KPIS}} for run in runs])
    return out


def test_paired_differences_are_per_replication():
    results = _fake({"a": [{"success_rate": 0.5}, {"success_rate": 0.7}, {"success_rate": 0.9}],
                     "b": [{"success_rate": 0.6}, {"success_rate": 0.8}, {"success_rate": 1.0}]})
    diff = paired(results, "a")["b"]["success_rate"]
    # independent CIs would overlap widely; the paired difference is exactly 0.1 every time
    assert diff["mean"] == pytest.approx(0.1) and diff["half_width"] == pytest.approx(0.0, abs=1e-9)
    assert paired(results, "a")["a"]["success_rate"]["mean"] == 0.0


def test_ranking_orders_by_direction_and_shares_ties():
    stats = {v: {k.key: mean_ci([x.get(k.key)]) for k in KPIS} for v, x in {
        "a": {"success_rate": 0.9, "p99_latency_ms": 300.0},
        "b": {"success_rate": 0.95, "p99_latency_ms": 300.0},
        "c": {"success_rate": 0.8, "p99_latency_ms": 100.0}}.items()}
    ranks = ranking(stats)
    assert [(r["rank"], r["variant"]) for r in ranks["success_rate"]] == [(1, "b"), (2, "a"), (3, "c")]
    assert [(r["rank"], r["variant"]) for r in ranks["p99_latency_ms"]] == [(1, "c"), (2, "a"), (2, "b")]
    assert ranks["double_charges"] == []


def test_pareto_front_and_recommendation():
    def stat(success, load, p99, double=0):
        return {k.key: mean_ci([{"success_rate": success, "psp_requests_per_order": load, "p99_latency_ms": p99,
                                 "double_charges": double, "stuck": 0,
                                 "peak_psp_rate_per_s": load * 100,
                                 "peak_psp_rate_after_recovery_per_s": load * 50}.get(k.key)]) for k in KPIS}
    stats = {"slow": stat(0.90, 1.1, 900.0), "good": stat(0.95, 1.2, 500.0), "worse": stat(0.94, 1.3, 600.0),
             "hammer": stat(0.97, 3.0, 400.0, double=2)}
    assert pareto_front(stats) == ["slow", "good", "hammer"]  # worse is beaten by good on every axis
    diffs = {v: {k.key: mean_ci([0.0]) for k in KPIS} for v in stats}
    rec = recommend(stats, diffs, "slow", pareto_front(stats))
    assert rec["variant"] == "good"  # hammer succeeds more but charges twice: not safe
    assert rec["safe_variants"] == ["slow", "good", "worse"]
    assert "Recommend **good**: success rate 95.0 %" in rec["text"]
    assert "**hammer** puts the most load on the PSP: 3.00 requests per order" in rec["text"]


def test_common_random_numbers_same_customers_and_faults_across_variants(tmp_path):
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", **SMALL))
    results = run_comparison(loaded, ["none", "fixed", "fixed-again"], 2, workers=1)
    for index in range(2):
        runs = [results[v].runs[index] for v in results]
        assert len({r["seed"] for r in runs}) == 1
        assert len({r["summary"]["checkouts"] for r in runs}) == 1  # the same customers arrived
        assert len({json.dumps(r["fault_windows"]) for r in runs}) == 1  # the same fault timeline
    # identical policies under CRN give identical runs: every paired difference is exactly zero
    same = paired(results, "fixed")["fixed-again"]
    assert all(same[k.key]["mean"] in (0.0, None) for k in KPIS)
    assert results["none"].runs[0]["kpis"] != results["fixed"].runs[0]["kpis"]
    assert results["fixed"].runs[0]["kpis"]["success_rate"] > results["none"].runs[0]["kpis"]["success_rate"]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_exemplars_are_announced_once_every_variant_s_first_run_is_in(tmp_path, workers):
    """A report starts on the exemplars (its PSP-rate and latency figures) while later replications
    run: the hook hears of them once, with every variant's first run, before the last run ends."""
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", **SMALL))
    events: list = []
    results = run_comparison(loaded, ["none", "fixed"], 3, workers=workers,
                             progress=lambda n: events.append("run"),
                             on_exemplars=lambda first_runs: events.append(first_runs))
    announced = [e for e in events if e != "run"]
    assert len(announced) == 1 and list(announced[0]) == ["none", "fixed"]
    assert all(announced[0][v] is results[v].first for v in ("none", "fixed"))
    assert events.index(announced[0]) < len(events) - 1  # before the last run is in
    comp = summarize_comparison(loaded, results, "none", "test")
    assert exemplar_fields(announced[0]) == {key: comp[key] for key in ("fault_windows", "end_s", "load_end_s",
                                                                        "exemplars")}


def test_compare_cli_writes_the_report_and_prints_the_ranking(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    out = tmp_path / "cmp"
    code = main(["compare", str(path), "--variants", "none,fixed", "--replications", "2", "--workers", "1",
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    for name in ("report.html", "summary.md", "results.json", "metrics.csv", "kpis.csv", "pareto.png",
                 "psp_rate.png", "latency_cdf.png"):
        assert (out / name).stat().st_size > 0, name
    comp = json.loads((out / "results.json").read_text())
    assert comp["variants"] == ["none", "fixed"] and comp["baseline"] == "none" and comp["replications"] == 2
    assert f"Recommend {comp['recommendation']['variant']}" in printed.replace("\n", " ")
    assert f"report: {out / 'report.html'}" in printed.replace("\n", "")
    rows = list(csv.DictReader((out / "kpis.csv").open()))
    assert [(r["variant"], r["replication"]) for r in rows] == [("none", "1"), ("none", "2"), ("fixed", "1"), ("fixed", "2")]
    assert float(rows[2]["success_rate"]) == comp["per_replication"]["fixed"][0]["success_rate"]
    md = (out / "summary.md").read_text()
    assert "# Comparison:" in md and "| success rate (higher is better) |" in md
    html = (out / "report.html").read_text()
    unmeasured = [kpi.label for kpi in KPIS if not comp["ranking"][kpi.key]]
    assert unmeasured, "a short run measures no payout: its KPIs have no value in any variant"
    constant = [kpi for kpi in KPIS if kpi.label not in unmeasured and len(
        {run[kpi.key] for runs in comp["per_replication"].values() for run in runs}) == 1]
    assert constant and "double charges" in [kpi.label for kpi in constant]  # nobody was charged twice
    assert "success rate" not in [kpi.label for kpi in constant]
    for kpi in KPIS:  # a KPI no run measured, or one value everywhere, is said once, not a row of equal cells
        row = f"| {kpi.label} ({kpi.better} is better) |"
        assert (row in md) == (kpi.label not in unmeasured and kpi not in constant), kpi.key
    sentence = "Not measured in this scenario (the mechanism is off): " + "; ".join(unmeasured) + "."
    assert sentence in md and html_text.unescape(html).count(sentence) == 1
    same = ("The same in every variant and every replication (not ranked below): "
            + "; ".join(f"{kpi.label} {fmt.value(kpi.key, comp['per_replication']['none'][0][kpi.key], currency='EUR')}"
                        for kpi in constant) + ".")
    assert same in md and html_text.unescape(html).count(same) == 1


@pytest.mark.parametrize("argv, message", [
    (["--variants", "none,bogus"], "unknown variant(s) 'bogus'"),
    (["--variants", "none"], "at least two variants"),
    (["--baseline", "bogus"], "baseline 'bogus' is not among"),
])
def test_compare_cli_bad_input_exits_2(tmp_path, capsys, argv, message):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["compare", str(path), *argv, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_a_scenario_without_variants_cannot_be_compared(tmp_path):
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", duration="1m"))
    with pytest.raises(Exception, match="defines no variants"):
        resolve_variants(loaded, None)


@pytest.mark.slow
def test_retry_policies_on_the_shipped_scenario():
    """What the capacity model says about a one-minute PSP outage (computed, two replications of every
    variant of scenarios/compare-retry-policies.yaml): immediate retries put the most requests on
    the PSP and save nothing (their six attempts end within milliseconds of each other); what saves
    orders is a retry horizon that outlasts the outage, so un-jittered exponential backoff (the
    longest waits) dead-letters fewer orders than full jitter (half the wait on average); a circuit
    breaker keeps the PSP's load at one request per order."""
    loaded = load_scenario(SCENARIOS / "compare-retry-policies.yaml")
    variants = resolve_variants(loaded, None)
    assert {"none", "immediate", "fixed", "exponential", "full-jitter", "equal-jitter", "decorrelated-jitter",
            "retry-budget", "circuit-breaker"} <= set(variants)
    results = run_comparison(loaded, variants, 2, workers=2)
    comp = summarize_comparison(loaded, results, "none", "test")
    mean = {v: {k: s["mean"] for k, s in comp["stats"][v].items()} for v in variants}
    for other in variants:
        assert mean["immediate"]["psp_requests_per_order"] >= mean[other]["psp_requests_per_order"]
    assert abs(mean["immediate"]["dead_lettered"] - mean["none"]["dead_lettered"]) < 0.1 * mean["none"]["dead_lettered"]
    for replication in range(2):  # in each replication, not only on average
        exp_run, jitter_run = results["exponential"].runs[replication], results["full-jitter"].runs[replication]
        assert exp_run["kpis"]["dead_lettered"] < jitter_run["kpis"]["dead_lettered"]
    assert mean["circuit-breaker"]["psp_requests_per_order"] < 1.05
    assert mean["circuit-breaker"]["success_rate"] > mean["none"]["success_rate"]
    assert all(v == "pass" for verdicts in comp["verdicts"].values() for v in verdicts)
    assert comp["ranking"]["psp_requests_per_order"][-1]["variant"] == "immediate"


def test_the_pareto_sentence_names_the_few_variants_off_the_front():
    from sim.runners.compare import pareto_sentence

    variants = ["none", "immediate", "fixed", "exponential"]
    assert pareto_sentence(["none", "fixed", "exponential"], variants).endswith(
        ": every variant but immediate (for each, another is at least as good on all three and better on one).")
    assert pareto_sentence(["exponential"], variants).endswith(": exponential.")  # a short front is named
    assert pareto_sentence(["none", "fixed"], variants).endswith(": none, fixed.")  # half: the front itself
    assert pareto_sentence(variants, variants).startswith("Every variant is Pareto-optimal")


def test_a_kpi_is_said_once_only_when_every_variant_and_replication_has_the_same_value():
    from sim.reports.tables import constant_kpis

    def comp(values: dict[str, list[int]]) -> dict:
        return {"config": {"workload": {"currencies": ["EUR"]}}, "baseline": "a",
                "per_replication": {v: [{k.key: (xs[i] if k.key == "double_charges" else None) for k in KPIS}
                                        for i in range(len(xs))] for v, xs in values.items()}}

    assert constant_kpis(comp({"a": [0, 0], "b": [0, 0]})) == {"double_charges": "double charges 0"}
    assert constant_kpis(comp({"a": [0, 0], "b": [0, 1]})) == {}  # one replication of one variant differs
    assert constant_kpis(comp({"a": [2, 2], "b": [0, 0]})) == {}
