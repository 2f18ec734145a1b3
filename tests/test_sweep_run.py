"""Running sweeps: same numbers on every executor and worker count, streaming rows, resume."""

from __future__ import annotations

from sim import format as fmt

import re

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from helpers import ROOT, write_scenario
from sim.cli import main as cli_main
from sim.config.loader import LoadedScenario
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.config.sweep import load_sweep
from sim.runners.run import run_scenario
from sim.runners.sweep import run_sweep
from sim.runners.sweep_store import JSONL_FILE


def tiny_sweep(tmp_path, replications=2, timeouts=("300ms", "2s"), rates=("4/s", "8/s"), duration="1m"):
    """A 2 × 2 grid × ``replications`` seeds on a short async run with a lossy PSP (~0.1 s per run)."""
    write_scenario(
        tmp_path, "async-kafka.yaml", name="tiny", seed=5, duration=duration, drain="3m",
        overrides={"psp.pending_probability": 0},  # a pending tail longer than the short drain is not the point
        workload={"rate": "5/s", "buyers": 100, "sellers": 10},
        faults=[{"kind": "psp_reply_lost_after_commit", "at": "10s", "for": "30s", "probability": 0.3}],
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny-sweep", "scenario": "tiny.yaml", "replications": replications,
        "parameters": {"model.executor.psp_timeout": list(timeouts), "workload.rate": list(rates)},
        "kpis": ["false_timeouts", "psp_requests_per_order", "success_rate"],
    }, sort_keys=False))
    return path


def _csv(folder):
    return (folder / "results.csv").read_text()


def test_each_row_is_what_a_direct_run_of_that_point_gives(tmp_path):
    sweep = load_sweep(tiny_sweep(tmp_path))
    outcome = run_sweep(sweep, executor="serial")
    assert [(r["point"], r["replication"]) for r in outcome.rows] == [(p, r) for p in range(4) for r in range(2)]
    row = outcome.rows[5]  # point 2 (psp_timeout 2 s, rate 4/s), replication 1
    assert (row["model.executor.psp_timeout"], row["workload.rate"]) == (2.0, 4.0)
    point = sweep.points[2]
    loaded = LoadedScenario(Scenario.model_validate(point.scenario_data), SystemModel.model_validate(point.model_data),
                            sweep.base.scenario_path, point.model_path, point.model_data)
    assert loaded.model.executor.psp_timeout_s == 2.0 and loaded.scenario.workload.rate_per_s == 4.0
    direct = run_scenario(loaded, seed=sweep.seeds[1], explain=False)
    assert row["digest"] == direct.digest()
    assert row["seed"] == sweep.seeds[1]
    # common random numbers: every point uses the same seeds, one per replication
    assert {r["seed"] for r in outcome.rows if r["replication"] == 1} == {sweep.seeds[1]}


def test_a_local_pool_of_two_workers_gives_the_serial_numbers(tmp_path):
    path = tiny_sweep(tmp_path)
    serial = run_sweep(load_sweep(path), tmp_path / "serial", executor="serial")
    run_sweep(load_sweep(path), tmp_path / "two", executor="local", workers=2)
    assert serial.failed == 0
    assert _csv(tmp_path / "serial") == _csv(tmp_path / "two")
    digests = {r["digest"] for r in serial.rows}
    assert len(digests) == len(serial.rows)  # points and seeds really differ


def test_dask_local_cluster_gives_the_same_numbers_as_the_local_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = tiny_sweep(tmp_path)
    run_sweep(load_sweep(path), tmp_path / "local", executor="local", workers=2)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        run_sweep(load_sweep(path), tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    assert _csv(tmp_path / "dask") == _csv(tmp_path / "local")
    rows = [json.loads(line) for line in (tmp_path / "dask" / JSONL_FILE).read_text().splitlines()]
    assert len(rows) == 8


def test_a_killed_sweep_resumed_ends_with_the_uninterrupted_results(tmp_path):
    path = tiny_sweep(tmp_path, replications=3, duration="3m")  # 12 runs, ~0.3 s each
    run_sweep(load_sweep(path), tmp_path / "whole", executor="serial")
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--executor", "serial", "--no-report"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    jsonl = out / JSONL_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(jsonl.read_text().splitlines())
    assert 3 <= kept < 12
    assert not (out / "results.csv").exists()
    resumed = run_sweep(load_sweep(path), out, executor="local", workers=2, resume=True)
    assert resumed.ran == 12 - kept
    assert _csv(out) == _csv(tmp_path / "whole")


def test_a_torn_last_line_is_redone_on_resume(tmp_path):
    path = tiny_sweep(tmp_path)
    out = tmp_path / "out"
    whole = run_sweep(load_sweep(path), out, executor="serial")
    lines = (out / JSONL_FILE).read_text().splitlines(keepends=True)
    (out / JSONL_FILE).write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])  # crash mid-line
    (out / "results.csv").unlink()
    resumed = run_sweep(load_sweep(path), out, executor="serial", resume=True)
    assert resumed.ran == 3
    assert resumed.rows == whole.rows
    assert len((out / JSONL_FILE).read_text().splitlines()) == 8
    assert (out / "runs.csv").read_text().count("\n") == 9  # header + 8 rows, rebuilt from the JSON lines


def test_the_csv_is_not_the_commit_point_a_lost_tail_is_rebuilt_on_resume(tmp_path):
    """Only the JSON lines are fsynced; a crash that loses the CSV's last lines (never flushed to
    disk) loses no run: resuming rebuilds the CSV from the JSON lines and reruns nothing."""
    path = tiny_sweep(tmp_path)
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, executor="serial")
    whole = (out / "runs.csv").read_text()
    (out / "runs.csv").write_text("".join(whole.splitlines(keepends=True)[:3]))  # header + 2 of 8 rows
    (out / "results.csv").unlink()
    resumed = run_sweep(load_sweep(path), out, executor="serial", resume=True)
    assert resumed.ran == 0
    assert (out / "runs.csv").read_text() == whole


def test_an_existing_sweep_folder_needs_resume_or_fresh_and_a_changed_sweep_cannot_resume(tmp_path, capsys):
    path = tiny_sweep(tmp_path, replications=1)
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--no-report"]) == 0
    assert cli_main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--no-report"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli_main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--resume", "--no-report"]) == 0
    changed = tiny_sweep(tmp_path, replications=1, timeouts=("300ms", "5s"))
    assert cli_main(["sweep", str(changed), "--out", str(out), "--executor", "serial", "--resume"]) == 2
    assert "different sweep" in capsys.readouterr().err
    assert cli_main(["sweep", str(changed), "--out", str(out), "--executor", "serial", "--fresh", "--no-report"]) == 0
    assert "5.0" in _csv(out)


def test_the_report_has_points_with_confidence_intervals_plots_and_heatmaps(tmp_path):
    import pandas as pd

    path = tiny_sweep(tmp_path, replications=3)
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 0
    rows = pd.read_csv(out / "results.csv")
    points = pd.read_csv(out / "points.csv")
    first = rows[rows["point"] == 0]["psp_requests_per_order"]
    mean, sd = first.mean(), first.std(ddof=1)
    half = 4.302653 * sd / 3 ** 0.5  # Student t, 2 degrees of freedom
    assert points.loc[0, "psp_requests_per_order"] == pytest.approx(mean)
    assert points.loc[0, "psp_requests_per_order_ci_high"] == pytest.approx(mean + half)
    report = out / "report"
    for kpi in ("false_timeouts", "psp_requests_per_order", "success_rate"):
        assert (report / f"{kpi}--model_executor_psp_timeout.png").stat().st_size > 1000
        assert not (report / f"{kpi}--workload_rate.png").exists()  # the heatmap shows it
        assert (report / f"{kpi}--heatmap.png").exists()
    assert "false_timeouts" in (report / "index.md").read_text()
    best = points.loc[points["psp_requests_per_order"].idxmin()]  # the findings name the points the numbers say
    [found] = [line for line in (report / "index.md").read_text().splitlines()
               if line.startswith("- **PSP requests per order (amplification) (lower is better)**")]
    assert f"best {fmt.value('psp_requests_per_order', best['psp_requests_per_order'])} at " in found
    assert f"executor › PSP timeout {fmt.setting(float(best['model.executor.psp_timeout']), 's')}" in found
    html = (report / "index.html").read_text()
    assert "<h2>Findings</h2>" in html
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(sources) == 6 and all(s.startswith("data:image/png;base64,") for s in sources), "self-contained"
    assert "executor › PSP timeout" in html and "model.executor.psp_timeout</th>" not in html  # human labels
    assert 'href="' not in html.replace('href="data:', "")  # no links to sibling files
    low = points["success_rate_ci_low"].dropna()
    high = points["success_rate_ci_high"].dropna()
    assert (low >= 0).all() and (high <= 1).all(), "CIs are clipped to the KPI's physical range"


def test_by_default_the_report_shows_the_headline_kpis_and_no_plot_against_a_single_value(tmp_path):
    import pandas as pd

    from sim.config.kpis import HEADLINE_KPIS, KPI_NAMES

    path = tiny_sweep(tmp_path, replications=2, timeouts=("2s",), rates=("4/s", "8/s"))
    spec = yaml.safe_load(path.read_text())
    del spec["kpis"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 0
    report = out / "report"
    plotted = sorted(p.name for p in report.glob("*.png"))
    # none against the one timeout, none for the peak PSP rate after recovery (no fault, so no recovery),
    # none for a KPI with one value in every run (no double charge, nothing dead-lettered: a flat line)
    unmeasured, constant = "peak_psp_rate_after_recovery_per_s", {"double_charges", "dead_lettered"}
    assert plotted == sorted(f"{kpi}--workload_rate.png" for kpi in HEADLINE_KPIS
                             if kpi != unmeasured and kpi not in constant)
    html = (report / "index.html").read_text()
    assert "No plot against executor › PSP timeout: one value each" in html
    assert "Not measured by any run, so not plotted: peak PSP request rate after recovery." in html
    assert "The same in every run, so not plotted: DLQ count 0, double charges 0." in html
    assert "No plot against executor › PSP timeout" in (report / "index.md").read_text()
    header = (report / "index.md").read_text().split("| point |")[1].splitlines()[0]
    assert header.count("|") == 2 + len(HEADLINE_KPIS)  # the table: two parameters and the headline KPIs
    points = pd.read_csv(out / "points.csv")
    assert set(KPI_NAMES) <= set(points.columns)  # the data keeps every KPI


def test_the_local_pool_is_kept_for_the_next_sweep_and_dropped_after_an_error(tmp_path):
    """Workers are started (and import paychaos) once per process, not once per sweep; a sweep that
    stops half-way leaves no pool behind."""
    from sim.runners import sweep as sweep_runner

    path = tiny_sweep(tmp_path)
    first = run_sweep(load_sweep(path), executor="local", workers=2)
    pool = sweep_runner._pool[1]
    pids = set(pool._processes)
    second = run_sweep(load_sweep(path), executor="local", workers=2)
    assert sweep_runner._pool[1] is pool and set(pool._processes) == pids
    assert [r["digest"] for r in first.rows] == [r["digest"] for r in second.rows]
    rows = sweep_runner.execute(sweep_runner.tasks_of(load_sweep(path)), "local", workers=2)
    next(rows)
    rows.close()  # the consumer stopped after one row
    assert sweep_runner._pool is None


def test_the_dask_executor_keeps_its_local_cluster_for_the_next_sweep(tmp_path):
    pytest.importorskip("distributed")
    from sim.runners import sweep as sweep_runner

    path = tiny_sweep(tmp_path)
    try:
        run_sweep(load_sweep(path), tmp_path / "first", executor="dask", workers=2)
        client = sweep_runner._cluster[2]
        run_sweep(load_sweep(path), tmp_path / "second", executor="dask", workers=2)
        assert sweep_runner._cluster[2] is client
    finally:
        sweep_runner.close_local_cluster()
    assert sweep_runner._cluster is None
    run_sweep(load_sweep(path), tmp_path / "serial", executor="serial")
    assert _csv(tmp_path / "first") == _csv(tmp_path / "second") == _csv(tmp_path / "serial")
