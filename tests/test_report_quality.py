"""What a person reads: numbers and durations, confidence intervals, Markdown, figures, the
command line's output (issue 19). Each test fails if its item broke."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, write_scenario
from markdown_it import MarkdownIt

from sim.cli import main
from sim.cli import progress as cli_progress
from sim.config.loader import load_scenario
from sim import format as fmt
from sim.reports import plots, tables
from sim.runners.compare import pareto_front
from sim.config.kpis import KPIS
from sim.runners.run import run_scenario
from sim.stats import mean_ci

SMALL = dict(duration="2m", drain="2m", seed=5, bin="1s", workload={"rate": "10/s", "buyers": 200, "sellers": 20},
             overrides={"psp.pending_probability": 0}, faults=[{"kind": "psp_outage", "at": "40s", "for": "20s"}],
             expect={"double_charges": 0, "stuck": 0})


@pytest.fixture(scope="module")
def piped_run(tmp_path_factory):
    """``paychaos run`` with its output captured (not a terminal), and its report folder."""
    tmp = tmp_path_factory.mktemp("quality")
    path = write_scenario(tmp, "async-kafka.yaml", name="quality", **SMALL)
    out = tmp / "report"
    result = subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, env=dict(os.environ, COLUMNS="80"),
                            umask=0o022)
    return path, out, result


# -- one formatter -------------------------------------------------------------------------------

@pytest.mark.parametrize("x, text", [(209261.3, "209,261"), (12010.0, "12,010"), (400.9, "401"), (3.254, "3.25"),
                                     (0.0123, "0.0123"), (1e-7, "0.0000001"), (0, "0"), (None, "–")])
def test_numbers_have_separators_and_never_scientific_notation(x, text):
    assert fmt.number(x) == text


@pytest.mark.parametrize("seconds, text", [(0.4009, "401 ms"), (3.2, "3.20 s"), (175.09991, "2.92 min"),
                                           (209.261, "3.49 min"), (5400, "1.50 h"), (0, "0 s"), (2e-5, "20.0 µs")])
def test_durations_step_up_from_ms_to_hours(seconds, text):
    assert fmt.duration(seconds) == text


def test_kpi_values_read_in_their_unit():
    assert fmt.value("p99_latency_ms", 209261.0) == "3.49 min"
    assert fmt.value("p95_latency_ms", 175099.91) == "2.92 min"
    assert fmt.value("time_to_recover_s", 0.0) == "0 s"
    assert fmt.value("peak_psp_rate_per_s", 1402.0) == "1,402 req/s"  # a rate, not a duration
    assert fmt.value("success_rate", 0.92771) == "92.77 %"
    assert fmt.value("dead_lettered", 1120) == "1,120"
    assert fmt.value("wasted_work_share", 0.0013) == "0.13 %"  # shares read in per cent, not 0.0013
    assert fmt.value("recovered", 0.6) == "60.00 %"  # of the replications
    assert fmt.value("wasted_work_share", 0.002, signed=True) == "+0.20 pp"
    assert fmt.setting(0.25, "s") == "250 ms" and fmt.setting(16.0, "s") == "16 s"


def test_console_summary_uses_the_formatter_and_does_not_wrap_when_piped(piped_run):
    _, _, result = piped_run
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert not re.search(r"\de[+-]\d", out), "no scientific notation"
    assert re.search(r"p50 / p99 latency\s+│\s+[\d.,]+ (ms|s|min) / [\d.,]+ (ms|s|min)", out)
    long_line = "nothing_lost: every accepted order ends SUCCESS, FAILED or DEAD_LETTERED (PENDING only while"
    assert long_line in out, "a piped console keeps long lines whole (no wrap at 80 columns)"


# -- one confidence interval, clipped ------------------------------------------------------------------

def test_there_is_one_student_t_implementation():
    import sim.reports.sweep_report as sweep_report
    import sim.runners.replicate as replicate
    import sim.stats as stats
    import sim.validation.stats as validation_stats

    assert replicate.t975 is stats.t975 and replicate.mean_ci is stats.mean_ci
    assert validation_stats.t_critical is stats.t_critical
    assert not hasattr(sweep_report, "_T975") and not hasattr(replicate, "_T975")
    assert round(stats.t975(4), 4) == 2.7764 and round(stats.t975(2), 4) == 4.3027


def test_intervals_are_clipped_to_the_kpis_physical_range():
    rates = [0.99, 1.0, 1.0]
    assert mean_ci(rates)["high"] > 1.0  # unclipped, a success rate above 100 %
    clipped = mean_ci(rates, (0.0, 1.0))
    assert clipped["high"] == 1.0 and clipped["low"] < clipped["mean"]
    assert mean_ci([0, 0, 3], (0.0, None))["low"] == 0.0  # a count is never below zero
    from sim.config.kpis import kpi_bounds

    assert kpi_bounds("success_rate") == (0.0, 1.0) and kpi_bounds("dead_lettered") == (0.0, None)
    assert kpi_bounds("recovered") == kpi_bounds("wasted_work_share") == (0.0, 1.0)  # shares, shown in per cent


# -- Markdown and KPI wording ----------------------------------------------------------------------

def _tables(markdown: str) -> list[list[str]]:
    """Each Markdown table as its rows' first cells (what a renderer would show)."""
    found, rows, cell = [], None, None
    for token in MarkdownIt().enable("table").parse(markdown):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            cell = None
        elif token.type == "inline" and rows is not None and cell is None:
            cell = token.content
            rows.append(cell)
        elif token.type == "table_close":
            found.append(rows)
            rows = None
    return found


def test_summary_md_tables_are_separate_and_whole(piped_run):
    _, out, _ = piped_run
    md = (out / "summary.md").read_text()
    verdicts, kpis, money, recovery = _tables(md)
    assert verdicts[0] == "check" and "no_double_charge" in verdicts and "expect stuck == 0" in verdicts
    from sim.config.kpis import KPI_GROUPS

    assert kpis[0] == "KPI" and "success rate" in kpis and len(kpis) == 1 + len(KPI_GROUPS) + len(KPIS)
    assert kpis[1] == "**payments and safety**"  # grouped, what happened to the payments first
    assert money[0] == "money" and "captured twice (money taken twice)" in money
    assert recovery[0] == "fault" and recovery[1].startswith("#0 psp_outage")


def test_stuck_and_lost_are_told_apart_and_metrics_csv_has_the_bin_width(piped_run):
    _, out, result = piped_run
    assert "not final at the end (stuck)" in result.stdout and "of which lost" in result.stdout
    html = (out / "report.html").read_text()
    assert "orders not final at the end of the run, whoever is still working on them" in html
    header = (out / "metrics.csv").read_text().splitlines()[:2]
    assert header[0].startswith("t_s,bin_s,") and header[1].split(",")[1] == "1.0"


def test_recovery_kpis_say_why_they_read_zero_with_coarse_bins():
    data = {"series": {"bin_s": 30.0}, "recovery": [
        {"fault": 0, "kind": "psp_outage", "target": "psp", "start_s": 1200.0, "end_s": 1500.0,
         "recovery": "recovered", "time_to_recover_s": 0.0, "peak_psp_rate_after_per_s": None}]}
    note = tables.recovery_note(data)
    assert "Set bin: 1s" in note
    row = tables.recovery_rows(data)[0]
    assert row["ttr"].startswith("0 s (") and row["peak_after"].startswith("– (")
    assert row["window"] == "20 min → 25 min"
    data["series"]["bin_s"] = 1.0
    assert tables.recovery_note(data) == "" and tables.recovery_rows(data)[0]["peak_after"] == "–"


# -- compare: a correct Pareto set ------------------------------------------------------------------

def _stat(mean, half):
    return {"mean": mean, "half_width": half}


def test_a_variant_ahead_only_within_the_noise_is_not_pareto_optimal():
    stats = {  # immediate: 0.25 pp more success than none (±1 pp), 2.7x the PSP load, worse p99
        "none": {"success_rate": _stat(0.6528, 0.0096), "psp_requests_per_order": _stat(1.0, 0.0002),
                 "p99_latency_ms": _stat(6139, 1067)},
        "immediate": {"success_rate": _stat(0.6552, 0.0092), "psp_requests_per_order": _stat(2.68, 0.046),
                      "p99_latency_ms": _stat(7426, 946)},
        "exponential": {"success_rate": _stat(0.963, 0.0026), "psp_requests_per_order": _stat(1.17, 0.005),
                        "p99_latency_ms": _stat(60882, 3778)},
    }
    assert pareto_front(stats) == ["none", "exponential"]
    stats["immediate"]["success_rate"] = _stat(0.70, 0.0092)  # clearly better on success: a real trade-off
    assert pareto_front(stats) == ["none", "immediate", "exponential"]


# -- figures --------------------------------------------------------------------------------------

def test_importing_the_api_and_reports_switches_no_matplotlib_backend():
    code = ("import matplotlib, sys; matplotlib.use('svg'); "
            "from sim import api; import sim.reports.plots, sim.reports.sweep_report, sim.reports.system_graph; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def _series(bins: int, busy: int) -> dict:
    counts = [3] * busy + [0] * (bins - busy)
    return {"bin_s": 30.0, "counts": {"goodput": counts, "psp_requests": counts},
            "gauges": {"lag.executor": [0.0, 1.0, 2.0] * (busy // 3) + [0.0] * (bins - busy // 3 * 3)}}


WINDOWS = [{"fault": 0, "kind": "psp_outage", "target": "psp", "start_s": 1200.0, "end_s": 1500.0},
           {"fault": 1, "kind": "consumer_crash", "target": "executor", "start_s": 1300.0, "end_s": 1330.0}]


def test_timeseries_names_each_fault_draws_nothing_at_zero_and_reads_in_minutes():
    fig = plots.timeseries_figure(_series(180, 125), WINDOWS, end_s=5400.0, load_end_s=3600.0)
    fig.canvas.draw()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert labels == ["fault: psp_outage (psp)", "fault: consumer_crash (executor)"]
    for ax in fig.axes:
        for patch in ax.patches:  # the shaded windows: every one has a width (no axvspan(0, 0))
            assert patch.get_width() > 0 if hasattr(patch, "get_width") else True
        spans = [p for p in ax.patches]
        assert len(spans) == 2
    assert fig.axes[-1].get_xlabel() == "simulated time (min)"
    right = fig.axes[-1].get_xlim()[1]
    assert 3750 / 60 <= right < 90, "the quiet rest of the drain is cut off"
    lag = next(ax for ax in fig.axes if "consumer lag" in ax.get_ylabel())
    ticks = [t for t in lag.get_yticks() if lag.get_ylim()[0] <= t <= lag.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), "whole messages on lag plots"


def test_an_expectation_says_its_threshold_in_the_kpi_s_unit_when_that_reads_differently():
    assert fmt.observed("time_to_recover_s", 400.0, "<= 60") == "observed 6.67 min, wanted ≤ 1 min"
    assert fmt.observed("success_rate", 0.9812, ">= 0.95") == "observed 98.12 %, wanted ≥ 95.00 %"
    assert fmt.observed("double_charges", 0, "== 0") == "observed 0"  # the same number: said once


def test_a_difference_that_rounds_to_nothing_reads_zero_not_minus_zero():
    from sim.runners.compare import _fmt_ci

    assert fmt.value("success_rate", -1e-7, signed=True) == "0.00 pp"
    assert fmt.value("success_rate", -0.0012, signed=True) == "-0.12 pp"
    assert fmt.value("success_rate", 0.0012, signed=True) == "+0.12 pp"
    assert _fmt_ci({"mean": -2e-5, "half_width": 0.002}, 100, " pp") == "0.0 pp (95% CI ±0.2)"


def test_every_counted_series_has_a_label_a_person_reads():
    """Each per-second series the model counts is named in words on the time-series figure, not
    by its key (``psp_wasted (per s)``)."""
    counted = set()
    for path in (ROOT / "sim").rglob("*.py"):
        counted |= set(re.findall(r'series\.count\("([^"]+)"', path.read_text()))
    assert {"psp_requests", "psp_wasted", "kafka.rebalances"} <= counted  # the search finds them
    for name in counted:
        label = plots._label(name, "count")
        assert name in plots.SERIES_LABELS and name not in label and "_" not in label, name


def test_the_consumer_groups_lags_share_one_panel_with_a_line_each():
    series = _series(180, 125)
    lag = series["gauges"]["lag.executor"]
    series["gauges"].update({"lag.ledger": [0.0] * len(lag), "dlq_depth": [0.0] * len(lag), "lag.wallet": lag})
    fig = plots.timeseries_figure(series, WINDOWS, end_s=5400.0, load_end_s=3600.0)
    fig.canvas.draw()
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["per second", "consumer lag\n(messages)"]  # the rates, the lags; DLQ depth never above 0
    [panel] = [ax for ax in fig.axes if ax.get_ylabel() == "consumer lag\n(messages)"]
    assert [t.get_text() for t in panel.get_legend().get_texts()] == ["executor", "ledger", "wallet"]
    assert len({line.get_color() for line in panel.get_lines() if line.get_label() in ("executor", "ledger", "wallet")}) == 3
    bottom, inner = fig.axes[-1], fig.axes[0]
    assert len(bottom.get_xticks()) > 2 and len(inner.get_xticks()) == 0  # ticked at the bottom only
    assert len(inner.collections) >= 1  # the bottom's gridlines, drawn as lines


def test_the_psp_s_load_and_the_goodput_share_a_panel_and_a_series_never_above_zero_is_named_not_drawn():
    series = _series(180, 125)
    busy = series["counts"]["goodput"]
    series["counts"].update({"psp_requests": [9] * 125, "psp_wasted": [0] * 60 + [6] * 5, "kafka.rebalances": [0] * 180})
    series["gauges"].update({"dlq_depth": [0.0] * 180, "in_flight_orders": [float(x) for x in busy]})
    fig = plots.timeseries_figure(series, WINDOWS, end_s=5400.0, load_end_s=3600.0)
    fig.canvas.draw()
    assert [ax.get_ylabel() for ax in fig.axes] == ["per second", "orders in flight", "consumer lag,\nexecutor (messages)"]
    rates = fig.axes[0]
    assert [t.get_text() for t in rates.get_legend().get_texts()] == [
        "PSP requests", "answered after the caller left", "goodput (successful orders)"]
    peaks = [float(line.get_ydata().max()) for line in rates.get_lines()[:3]]
    assert peaks == [9 / 30.0, 6 / 30.0, 3 / 30.0]  # per second, each its own series
    ends = {round(float(line.get_xdata()[-1]), 6) for line in rates.get_lines()[:3]}
    assert len(ends) == 1, "every rate runs to the end of the axis (a count's missing bins are zeros)"
    title = fig._suptitle.get_text()
    assert title.endswith("; never above 0: DLQ depth (messages), Kafka consumer rebalances (/s)")


def _services_series(bins: int = 20) -> dict:
    return {"bin_s": 30.0, "counts": {}, "gauges": {
        "queue.risk": [0.0] * 10 + [5.0] * 10, "busy.risk": [2.0] * bins,            # queued: drawn
        "queue.psp": [0.0] * bins, "busy.psp": [10.0] * 5 + [30.0] + [10.0] * 14,   # 30 % busy once: drawn
        "queue.ledger_db": [0.0] * bins, "busy.ledger_db": [2.0] * bins,            # 20 % at most: named
        "queue.wallet_db": [0.0] * bins, "busy.wallet_db": [1.0] * bins,            # but wasted work: drawn
        "queue.database": [0.0] * bins, "busy.database": [1.5] * bins}}             # wasted, but under 1 %: named


def test_the_services_figure_draws_the_services_that_did_something_and_names_the_idle_ones():
    series = _services_series()
    services = {"risk": {"servers": 2, "mean_queue": 2.5}, "psp": {"servers": 100}, "ledger_db": {"servers": 10},
                "wallet_db": {"servers": 10, "wasted_work_share": 0.01},
                "database": {"servers": 10, "wasted_work_share": 0.004}}
    fig = plots.services_figure(series, services, [], end_s=600.0, load_end_s=600.0)
    drawn = [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel() != "% busy"]
    assert drawn == ["risk", "psp", "wallet_db"]
    assert fig._suptitle.get_text().endswith(
        "not shown (never queued, at most 20% busy, under 1% of its work wasted): database, ledger_db")


def test_a_run_whose_services_all_had_room_has_no_services_figure_and_says_how_busy_the_busiest_got():
    from sim.reports import run_figures, tables

    series = _services_series()
    quiet = {"ledger_db": {"servers": 10}, "database": {"servers": 10, "wasted_work_share": 0.004}}
    assert plots.services_figure(series, quiet, [], end_s=600.0, load_end_s=600.0) is None
    assert "services" not in run_figures.series_figures(series, quiet, [], 600.0, 600.0)
    data = {"series": series, "summary": {"services": quiet}, "end_s": 600.0, "load_end_s": 600.0}
    assert tables.services_note(data) == (
        "Every service with finite capacity had room, so none is drawn: database and ledger_db never had a request "
        "waiting for a server, were never more than 20 % busy in a 30 s bin and wasted under 1 % of their work. "
        "The busiest, ledger_db, had at most 20 % of its 10 servers busy.")
    busy = {"ledger_db": {"servers": 10}, "psp": {"servers": 100}}
    assert "services" in run_figures.series_figures(series, busy, [], 600.0, 600.0)
    assert tables.services_note({**data, "summary": {"services": busy}}) == ""  # the figure shows them


def test_time_axis_units_follow_the_run_length():
    from sim.reports.figures import time_unit

    assert time_unit(120.0)[0] == "s" and time_unit(1800.0)[0] == "min" and time_unit(6 * 3600.0)[0] == "h"


def test_sequence_steps_have_request_and_reply_times_and_bank_and_scheme_lanes():
    sample = {"order": 7, "created_at_s": 1.0, "label": "retried", "state": "SUCCESS", "psp_attempts": 2, "events": [
        [1.01, "executor:charge:sent"], [4.01, "executor:charge:timeout"],
        [4.02, "executor:query:sent"], [4.04, "executor:query:NOT_FOUND"],
        [4.6, "executor:charge:sent"], [4.9, "executor:charge:APPROVED"], [4.91, "executor:APPROVED"]]}
    steps = plots.sequence_steps(sample)
    request, timeout = steps[1], steps[2]
    assert request[:3] == (1.01, "executor", "PSP") and timeout[:3] == (4.01, "PSP", "executor")
    assert timeout[3] == "timeout: no reply"  # a 3 s timeout is drawn as 3 s, not as an instant
    lanes = {lane for step in steps for lane in step[1:3]}
    assert {"card scheme", "issuing bank"} <= lanes <= set(plots.LANES)
    fig = plots.sequence_figure([sample])
    texts = {t.get_text() for t in fig.axes[0].texts}
    # the first message at its time to the ms, later ones as time since it (a 10 ms hop stays visible)
    assert {"card scheme", "issuing bank", "1.000 s", "+10.0 ms", "+3.01 s"} <= texts


def test_each_figure_is_rendered_once_as_png(piped_run):
    _, out, _ = piped_run
    assert not list(out.glob("*.svg"))
    assert {p.name for p in out.glob("*.png")} >= {"timeseries.png", "latency_cdf.png", "sequence.png",
                                                   "system_graph.png"}


# -- command line --------------------------------------------------------------------------------

def test_a_single_run_reports_progress_in_simulated_time_when_piped(piped_run):
    _, _, result = piped_run
    lines = [l for l in result.stdout.splitlines() if l.startswith("simulating quality (simulated time): ")]
    assert len(lines) == 10 and lines[-1].endswith("4 min of 4 min (100 %)")


def test_a_run_stopped_for_progress_gives_the_same_results(tmp_path):
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", **SMALL))
    seen = []
    assert run_scenario(loaded, on_time=lambda now, end: seen.append(now)).digest() == run_scenario(loaded).digest()
    assert len(seen) == 200 and seen[-1] == 240.0


@pytest.mark.parametrize("argv0, expected", [
    ("/somewhere/sim/__main__.py", "-m sim"), ("/nowhere/on/path/paychaos", "/nowhere/on/path/paychaos"),
    ("/usr/lib/python3/pytest", "paychaos")])
def test_reproduce_uses_the_command_that_was_run(monkeypatch, argv0, expected):
    monkeypatch.setattr(sys, "argv", [argv0])
    assert cli_progress.program().endswith(expected)
    assert cli_progress.as_run("paychaos run s.yaml --seed 1").endswith(f"{expected} run s.yaml --seed 1")


def test_reproduce_line_printed_for_python_m_sim(piped_run):
    path, _, result = piped_run
    assert f"-m sim run {path} --seed 5" in result.stdout and "reproduce: paychaos run" not in result.stdout


def test_catalog_names_the_retry_strategies_and_estimate_help_reads_95_percent(capsys):
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    assert "RetryStrategy" not in out and "none / immediate / fixed" in out
    assert main(["estimate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "95% Wilson" in text and "%%" not in text


def test_an_exact_did_you_mean_does_not_list_every_fault_kind(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", faults=[{"kind": "psp_outtage", "at": "1s"}])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'psp_outage'?" in err and "'dlq_replay'" not in err
    path = write_scenario(tmp_path, "async-kafka.yaml", faults=[{"kind": "zzzz", "at": "1s"}])
    assert main(["validate", str(path)]) == 2
    assert "'dlq_replay'" in capsys.readouterr().err  # no close match: the whole list


def test_a_piped_sweep_prints_progress_lines(tmp_path):
    import yaml

    write_scenario(tmp_path, "async-kafka.yaml", name="tiny", seed=5, duration="20s", drain="20s",
                   workload={"rate": "2/s", "buyers": 20, "sellers": 5})
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "t", "scenario": "tiny.yaml", "replications": 2,
                                     "parameters": {"model.executor.psp_timeout": ["1s", "2s"]},
                                     "kpis": ["success_rate"]}))
    result = subprocess.run([sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(tmp_path / "o"),
                             "--executor", "serial", "--no-report"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "running: 4 of 4 (100 %)" in result.stdout and "running: 1 of 4 (25 %)" in result.stdout


def test_graph_files_respect_the_umask(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    old = os.umask(0o022)
    try:
        assert main(["graph", "models/async-kafka.yaml", "--out", str(tmp_path / "g")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes and all(mode == 0o644 for mode in modes.values()), modes


def test_a_run_report_folder_and_its_files_respect_the_umask(piped_run):
    """mkdtemp/mkstemp create 0700/0600 whatever the umask; a report must be readable like any file."""
    _, out, result = piped_run
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o755
    modes = {str(p.relative_to(out)): p.stat().st_mode & 0o777 for p in out.rglob("*")}
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != (0o755 if (out / name).is_dir() else 0o644)}
    assert modes and not wrong, wrong


def test_the_results_of_a_run_do_not_depend_on_how_it_was_started(piped_run):
    path, out, _ = piped_run
    data = json.loads((out / "results.json").read_text())
    assert data["command"] == f"paychaos run {path} --seed 5"  # canonical in results.json (digests)
    assert np.isfinite(data["kpis"]["success_rate"])


def test_show_says_which_units_its_numbers_are_in(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["show", "scenarios/baseline.yaml"]) == 0
    first, *_ = capsys.readouterr().out.splitlines()
    assert first.startswith("#") and "durations in seconds" in first and "per second" in first


def test_a_failed_run_says_what_failed_first(tmp_path, capsys):
    """The banner names what failed, the verdict table lists it first, and the key indicator an
    expectation failed on is marked, so a reader finds the failure without scanning every row."""
    path = write_scenario(tmp_path, "async-kafka.yaml", name="failing",
                          **{**SMALL, "expect": {"double_charges": 0, "success_rate": ">= 0.999", "stuck": 0}})
    out = tmp_path / "report"
    assert main(["run", str(path), "--out", str(out)]) == 1
    data = json.loads((out / "results.json").read_text())
    observed = fmt.value("success_rate", data["summary"]["success_rate"])
    printed = capsys.readouterr().out.splitlines()  # the terminal says it above its last lines too
    assert printed[-3] == f"failed: expect success_rate >= 0.999 (observed {observed}, wanted ≥ 99.90 %)" and printed[-2].startswith("FAIL")
    md = (out / "summary.md").read_text()
    assert "**FAIL**: " in md and f"· failed: expect success_rate >= 0.999 (observed {observed}, wanted ≥ 99.90 %) ·" in md
    checks = [line.split(" | ")[0] for line in md.split("| check | | detail |")[1].splitlines()[2:] if line.startswith("| ")]
    assert checks[0] == "| expect success_rate >= 0.999" and len(checks) > 10
    assert f"| success rate ✗ | {observed} |" in md and "| double charges ✗" not in md
    html = (out / "report.html").read_text()
    assert html.count('class="kpi failed"') == 1 and "failed: expect success_rate &gt;= 0.999" in html


def test_the_cards_of_what_a_failed_oracle_counts_are_marked(tmp_path):
    from helpers import money_taken_twice

    from sim.runners.kpis import enrich

    result = run_scenario(money_taken_twice(tmp_path), explain=False)
    data = enrich(result.data, result.world)
    failed = {v["oracle"] for v in data["oracles"] if not v["passed"]}
    assert "no_double_charge" in failed and "nothing_lost" not in failed
    cards = {row["key"]: row for row in tables.kpi_rows(data)}
    assert cards["double_charges"]["failed"] and cards["captured_twice_minor"]["failed"]
    assert not cards["stuck"]["failed"] and not cards["success_rate"]["failed"]
    count = next(v["count"] for v in data["oracles"] if v["oracle"] == "no_double_charge")
    assert tables.failed_names(data).startswith(f"no_double_charge ({count:,} violations)")


def test_every_ranked_kpi_is_in_exactly_one_report_group():
    """The reports show the key indicators by group: a KPI in no group would vanish from them."""
    from sim.config.kpis import KPI_GROUPS

    grouped = [key for _name, keys in KPI_GROUPS for key in keys]
    assert sorted(grouped) == sorted(kpi.key for kpi in KPIS) and len(set(grouped)) == len(grouped)
    rows = [{"key": kpi.key} for kpi in KPIS]
    assert [name for name, _ in tables.grouped(rows)] == [name for name, _ in KPI_GROUPS]
    assert tables.grouped([{"key": "stuck"}]) == [("payments and safety", [{"key": "stuck"}])]  # empty groups left out
