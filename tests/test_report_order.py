"""What a report starts before it waits for its figures.

A sweep report starts its line plots with the points summary, on what the rows say the summary
will find (``sim.reports.sweep_report._varied_and_plotted``), and keeps them only if the summary
finds the same: the guess must agree with the summary, and a wrong one must cost time, never a
different report. A run's and a comparison's report call ``meanwhile`` (the command's terminal
summary) once all else is made, before they wait for a figure."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.sweep import sweep_file
from helpers import write_scenario
from sim.cli import main
from sim.config.kpis import KPI_NAMES
from sim.config.loader import load_scenario
from sim.config.sweep import load_sweep
from sim.reports import sweep_report
from sim.reports.bundle import write_compare_report, write_run_report
from sim.reports.drawing import Drawing, Drawn, call
from sim.reports.sweep_points import summary
from sim.runners.compare import run_comparison, summarize_comparison
from sim.runners.replicate import Replicated, run_one

KPIS = ["success_rate", "time_to_recover_s", "p99_latency_ms", "dead_lettered"]


def _rows(values: dict[str, list], seeds: int = 2) -> list[dict]:
    """Points over the product of ``values`` (a parameter's values, one per point: zipped), ``seeds``
    runs each; time_to_recover_s measured by no run, dead_lettered by one (the others None)."""
    rows = []
    names = list(values)
    for point, settings in enumerate(zip(*values.values())):
        for seed in range(seeds):
            rows.append({"point": point, "replication": seed, **dict(zip(names, settings)),
                         "success_rate": 0.9 + 0.01 * point, "time_to_recover_s": math.nan,
                         "p99_latency_ms": 100.0 + point + seed,
                         "dead_lettered": 3 if point == 1 and seed == 0 else None})
    return rows


CASES = {
    "numbers": {"a": [1.0, 2.0, 3.0], "b": ["x", "x", "x"]},
    "an int and the equal float are one value": {"a": [1, 1.0, 2], "b": [5, 5.0, 5]},
    "None is no value": {"a": [None, 2.0, 3.0], "b": [None, None, 7]},
    "NaN is no value": {"a": [math.nan, 1.0, 1.0], "b": ["p", "q", "r"]},
    "booleans": {"a": [True, False, True], "b": [0.5, 0.5, 0.5]},
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_guess_is_what_the_summary_finds(case):
    rows = _rows(CASES[case])
    made = summary(rows, ["a", "b"], KPIS, KPIS)
    assert sweep_report._varied_and_plotted(rows, ["a", "b"], KPIS) == (made["varied"], made["plotted"])


def test_no_guess_from_values_that_cannot_be_counted():
    rows = _rows({"a": [[1], [2], [3]]})
    assert sweep_report._varied_and_plotted(rows, ["a"], KPIS) is None


class _Recording(Drawing):
    """Draws in this process when a result is asked for, and notes what was started and asked for."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(workers=2)
        self.log = log

    def call(self, target: str, *args) -> Drawn:
        self.log.append(f"start {target.split(':')[1]}")
        log = self.log

        class Noted(Drawn):
            def result(self, wait: bool = True):
                log.append(f"result {target.split(':')[1]}")
                return call(target, *args)

        return Noted(None, target, args)


@pytest.fixture(scope="module")
def bench_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    sweep = load_sweep(sweep_file(folder, runs=4, payments=500))
    rows = []
    for point in sweep.points:
        for replication, seed in enumerate(sweep.seeds):
            row = {"point": point.index, "replication": replication, "seed": seed, **point.values}
            row.update({k: None for k in KPI_NAMES})
            row.update({"success_rate": 0.95 - 0.01 * point.index + 0.001 * replication,
                        "psp_requests_per_order": 1.1 + 0.1 * point.index, "p99_latency_ms": 900.0 + replication,
                        "dead_lettered": 0, "double_charges": 0})
            rows.append(row)
    return folder, sweep, rows


def _report(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_line_plots_start_before_the_summary_is_waited_for(bench_sweep):
    folder, sweep, rows = bench_sweep
    log: list[str] = []
    sweep_report.write_sweep_report(folder / "early", sweep, rows, _Recording(log))
    assert log[0] == "start summary"
    waited = log.index("result summary")
    assert "start line_plots" in log[:waited]  # started while the summary is made
    assert log.count("start line_plots") == 2  # one figure per helper, started once: the guess held
    assert log.count("result line_plots") == 2


def test_a_wrong_guess_gives_the_same_report(bench_sweep, monkeypatch):
    folder, sweep, rows = bench_sweep
    sweep_report.write_sweep_report(folder / "right", sweep, rows, _Recording([]))
    monkeypatch.setattr(sweep_report, "_varied_and_plotted", lambda *_: (["workload.max_checkouts"], ["double_charges"]))
    log: list[str] = []
    sweep_report.write_sweep_report(folder / "wrong", sweep, rows, _Recording(log))
    assert log.count("start line_plots") == 1 + 2  # the guess's one figure, then the summary's two
    assert log.count("result line_plots") == 2  # the guess's figure is never taken
    right, wrong = _report(folder / "right"), _report(folder / "wrong")
    assert len([name for name in right if name.endswith(".png")]) == 3  # DLQ and double charges: 0 in every run
    assert wrong == right


SMALL = dict(duration="1m", drain="1m", seed=3, bin="1s", workload={"rate": "8/s", "buyers": 200, "sellers": 20},
             faults=[{"kind": "psp_outage", "at": "20s", "for": "15s"}],
             variants={"none": {"executor.retry": {"strategy": "none"}},
                       "fixed": {"executor.retry": {"strategy": "fixed", "max_attempts": 4, "base": "1s"}}})


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return load_scenario(write_scenario(tmp_path_factory.mktemp("small"), "async-kafka.yaml", **SMALL))


def _meanwhile_before_the_figures(log: list[str]) -> None:
    waited = log.index("meanwhile")
    assert log.count("meanwhile") == 1 and not any(entry.startswith("result") for entry in log[:waited])
    assert log[:waited].count("start figure_png") == log.count("start figure_png") >= 3  # all started before


def test_a_run_report_prints_its_summary_before_it_waits_for_a_figure(small, tmp_path):
    data = Replicated([run_one(small, small.scenario.seed, None, samples=True)]).to_dict()
    log: list[str] = []
    write_run_report(tmp_path / "run", data, _Recording(log), lambda: log.append("meanwhile"))
    _meanwhile_before_the_figures(log)


def test_a_comparison_report_prints_its_ranking_before_it_waits_for_a_figure(small, tmp_path):
    variants = ["none", "fixed"]
    comp = summarize_comparison(small, run_comparison(small, variants, 1, workers=1), "none", "paychaos compare")
    log: list[str] = []
    write_compare_report(tmp_path / "compare", comp, _Recording(log), lambda: log.append("meanwhile"))
    _meanwhile_before_the_figures(log)


def test_the_terminal_summary_ends_with_where_the_report_is(small, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", small.scenario_path, "--out", str(out)]) in (0, 1)
    lines = capsys.readouterr().out.replace(str(out / "report.html"), "REPORT").splitlines()
    assert lines[-1] == "report: REPORT" and lines[-2].startswith(("PASS", "FAIL"))
    assert sum(line.startswith("report:") for line in lines) == 1
