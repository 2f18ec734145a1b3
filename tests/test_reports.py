"""The report folder of a run: files, content, KPI definitions, replications and their CIs."""

from __future__ import annotations

import csv
import json
import re

import pytest
from helpers import write_scenario

from sim.cli import main
from sim.config.loader import load_scenario
from sim.domain.orders import OrderState
from sim.reports.bundle import RUN_FILES
from sim.runners.kpis import goodput_counts, time_to_recover
from sim.runners.replicate import mean_ci, replicate, replication_seeds, run_one, t975
from sim.runners.run import run_scenario

SMALL = dict(duration="2m", drain="2m", seed=5, bin="1s",
             workload={"rate": "10/s", "buyers": 200, "sellers": 20},
             overrides={"psp.pending_probability": 0},
             faults=[{"kind": "psp_outage", "at": "40s", "for": "20s"}],
             expect={"double_charges": 0})


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    path = write_scenario(tmp, "async-kafka.yaml", name="small-outage", **SMALL)
    out = tmp / "report"
    code = main(["run", str(path), "--out", str(out)])
    return path, out, code


def test_run_writes_the_whole_report_folder(run_report):
    _, out, code = run_report
    assert code == 0
    for name in RUN_FILES + ("sequence.png",):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.svg")), "each figure is rendered once (PNG), not a second time as SVG"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_html_is_self_contained_and_shows_the_verdict_kpis_and_command(run_report):
    path, out, _ = run_report
    html = (out / "report.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("data:") for s in sources), "every image and link is embedded"
    data = json.loads((out / "results.json").read_text())
    assert "PASS" in html and f"paychaos run {path} --seed 5" in html
    assert "time to recover" in html and "Resolved configuration" in html
    assert html.count("<img") >= 3  # time series, latency CDF, sequence diagram
    assert f"{data['kpis']['success_rate'] * 100:.2f} %" in html


def test_markdown_summary_has_the_verdict_table_and_reproduce_command(run_report):
    path, out, _ = run_report
    md = (out / "summary.md").read_text()
    assert md.startswith("# Reliability report: small-outage")
    assert "**PASS**" in md
    assert "| no_double_charge | ✓ |" in md
    assert "| success rate |" in md and "| #0 psp_outage (psp) | 40 s → 60 s |" in md
    assert f"Reproduce: `paychaos run {path} --seed 5`" in md


def test_metrics_csv_matches_the_series_in_results_json(run_report):
    _, out, _ = run_report
    data = json.loads((out / "results.json").read_text())
    rows = list(csv.reader((out / "metrics.csv").open()))
    header, body = rows[0], rows[1:]
    assert header[0] == "t_s" and "count.psp_requests" in header and "count.goodput" in header
    assert "gauge.dlq_depth" in header
    column = header.index("count.psp_requests")
    series = data["series"]["counts"]["psp_requests"]
    assert [int(r[column]) for r in body[: len(series)]] == series[: len(body)]
    assert float(body[1][0]) - float(body[0][0]) == data["series"]["bin_s"]


def test_goodput_counts_every_successful_order_once(tmp_path):
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", **SMALL))
    result = run_scenario(loaded)
    goodput = goodput_counts(result.world)
    assert sum(goodput) == result.data["summary"]["outcomes"]["SUCCESS"] > 0
    outage = goodput[41:60]  # bins fully inside the outage: nothing new can succeed
    assert sum(outage) == 0
    orders = result.world.orders
    late = [o for o in range(len(orders)) if orders.state[o] == OrderState.SUCCESS and orders.finished_at[o] >= 60.0]
    assert sum(goodput[60:]) == len(late)


def test_time_to_recover_definition():
    bin_s = 1.0
    level = [10] * 60
    # fault 60..80: goodput 0 until 85, 7/s for 5 s, then 10/s: the 10-s average first reaches
    # 9/s (90 %) in the window starting at 87 (3×7 + 7×10 = 91)
    series = level + [0] * 25 + [7] * 5 + [10] * 40
    assert time_to_recover(series, bin_s, 60.0, 80.0) == ("recovered", 7.0)
    assert time_to_recover(level + [0] * 20 + [10] * 30, bin_s, 60.0, 80.0) == ("recovered", 0.0)
    assert time_to_recover(level + [0] * 60, bin_s, 60.0, 80.0) == ("not_recovered", None)
    assert time_to_recover([0] * 60 + [10] * 60, bin_s, 60.0, 80.0) == ("no_baseline", None)


def test_mean_ci_uses_student_t():
    stat = mean_ci([1, 2, 3, 4, 5])
    assert stat["mean"] == 3.0 and stat["n"] == 5
    assert stat["half_width"] == pytest.approx(2.776445 * (2.5 ** 0.5) / 5 ** 0.5, abs=1e-5)
    assert stat["low"] == pytest.approx(3.0 - stat["half_width"]) and stat["high"] == pytest.approx(3 + stat["half_width"])
    assert mean_ci([7.0])["half_width"] is None and mean_ci([None, None])["mean"] is None
    assert round(t975(1), 3) == 12.706 and round(t975(30), 3) == 2.042 and round(t975(1000), 3) == 1.962


def test_replication_seeds_are_derived_deterministically_from_the_scenario_seed():
    seeds = replication_seeds(42, 4)
    assert seeds[0] == 42 and len(set(seeds)) == 4
    assert seeds == replication_seeds(42, 4) and replication_seeds(42, 2) == seeds[:2]
    assert replication_seeds(43, 4)[1:] != seeds[1:]


def test_replications_give_confidence_intervals_over_independent_runs(tmp_path):
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", **{**SMALL, "duration": "1m", "drain": "1m"}))
    replicated = replicate(loaded, 3, workers=1)
    data = replicated.to_dict()
    reps = data["replications"]
    assert reps["seeds"] == replication_seeds(5, 3)
    values = [run["kpis"]["psp_requests_per_order"] for run in replicated.runs]
    assert len(set(values)) > 1, "replications must differ"
    assert reps["kpis"]["psp_requests_per_order"] == mean_ci(values)
    assert data["kpis"] == replicated.runs[0]["kpis"]  # the pictures are replication 1
    single = run_one(loaded, 5)
    assert single["kpis"] == data["kpis"]


def test_run_cli_replications_put_cis_in_the_report(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", **{**SMALL, "duration": "1m", "drain": "1m", "replications": 2})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    md = (out / "summary.md").read_text()
    assert "2 replications" in md and "| KPI | mean | 95% CI |" in md
    assert re.search(r"\| success rate \| [0-9.]+ % \| \[[0-9.]+ %, [0-9.]+ %\] \|", md)


def test_run_cli_rejects_an_unknown_variant_with_exit_2(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["run", str(path), "--variant", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown variant 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
