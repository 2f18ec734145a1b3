"""A run report's figures started before the report: started with the arguments the report asks
for, drawn the same from the cut series as from the whole series, and a run that is looked at
gives the same results."""

from __future__ import annotations

from helpers import ROOT
from sim.config.loader import load_scenario
from sim.reports import plots, run_figures
from sim.reports.drawing import Drawing, same_arguments
from sim.reports.figures import png
from sim.reports.series_view import cut_series
from sim.reports.early_figures import FINAL, EarlyRunFigures
from sim.runners.replicate import run_one
from sim.runners.run import result_digest


class _Recording(Drawing):
    """A drawing with helpers, as far as the caller can tell, that records what is started early."""

    def __init__(self) -> None:
        super().__init__()
        self.early: list[tuple[float, tuple]] = []
        self.now = 0.0

    @property
    def parallel(self) -> bool:
        return True

    def figure_early(self, target: str, *args) -> None:
        self.early.append((self.now, (target, *args)))


def _report_figures(data: dict, label: str) -> dict[str, tuple]:
    """The figures the run report asks for (``sim.reports.bundle.write_run_report``)."""
    figures = run_figures.series_figures(data["series"], data["summary"].get("services", {}), data["fault_windows"],
                                         data.get("end_s"), data.get("load_end_s"))
    figures["sequence"] = run_figures.sequence_figure(data["sample_orders"])
    figures["latency_cdf"] = run_figures.latency_cdf_figure({label: data["latency_cdf"]})
    return figures


def test_every_figure_of_a_run_report_is_started_before_the_report_with_the_arguments_it_asks_for():
    loaded = load_scenario(ROOT / "scenarios/poison-pills.yaml")
    recording = _Recording()
    peek = EarlyRunFigures(recording, loaded.scenario.name)

    def look(world) -> None:
        recording.now = world.env.now
        peek(world)

    looked_at = run_one(loaded, loaded.scenario.seed, samples=True, peek=look)
    plain = run_one(loaded, loaded.scenario.seed, samples=True)
    assert result_digest(looked_at) == result_digest(plain)  # looking changes nothing
    assert looked_at["sample_orders"] == plain["sample_orders"]
    wanted = _report_figures(looked_at, loaded.scenario.name)
    started = {figure[0]: (now, figure) for now, figure in recording.early}
    early = {"sequence", *FINAL}  # the sequence diagrams once settled; when the loop ends, the largest
    assert set(wanted) - early == {"latency_cdf"}  # left to the report (and no services figure: every service
    assert len(started) == len(recording.early) == len(early)  # had room in this run); each started once
    for name in early:
        figure = wanted[name]
        now, started_figure = started[figure[0]]
        assert same_arguments(started_figure, figure), name
        if name == "sequence":  # settled long before the end: drawn while the run goes on
            assert now < looked_at["end_s"]
        else:
            assert now == looked_at["end_s"]


def test_nothing_is_looked_at_without_helpers():
    loaded = load_scenario(ROOT / "scenarios/poison-pills.yaml")
    peek = EarlyRunFigures(Drawing(), loaded.scenario.name)  # draws in this process
    run_one(loaded, loaded.scenario.seed, samples=True, peek=peek)
    assert peek.starts == {} and peek.started == {}


def _series() -> dict:
    """Busy for 20 bins, a fault, then a long quiet drain the figures leave out."""
    busy = [5, 8, 7, 9, 6, 30, 2, 0, 4, 8, 9, 7, 5, 6, 8, 7, 6, 5, 4, 3]
    quiet = [0] * 40
    return {"bin_s": 10.0,
            "counts": {"goodput": busy + quiet, "psp_requests": [x + 1 for x in busy] + quiet},
            "gauges": {"in_flight_orders": [float(x) for x in busy] + [0.0] * 40,
                       "queue.psp": [float(x % 3) for x in busy] + [0.0] * 40,
                       "busy.psp": [float(x % 4) for x in busy] + [0.0] * 39}}


def test_the_cut_series_draw_the_figures_of_the_whole_series():
    series, windows = _series(), [{"fault": 0, "kind": "psp_outage", "target": "psp", "start_s": 50.0, "end_s": 70.0}]
    services = {"psp": {"servers": 4, "mean_queue": 0.2, "utilisation": 0.3, "wasted_work_share": 0.01,
                        "arrivals": 100}}
    cut, shown = cut_series(series, 600.0, 150.0)
    assert 150.0 < shown < 600.0 and len(cut["counts"]["goodput"]) < len(series["counts"]["goodput"])
    figures = run_figures.series_figures(series, services, windows, 600.0, 150.0)
    assert figures["services"][2] == {"psp": {"servers": 4, "mean_queue": 0.2, "utilisation": 0.3,
                                              "wasted_work_share": 0.01}}  # what the panel reads
    assert png(plots.timeseries_figure(*figures["timeseries"][1:])) == png(
        plots.timeseries_figure(series, windows, 600.0, 150.0))
    assert png(plots.services_figure(*figures["services"][1:])) == png(
        plots.services_figure(series, services, windows, 600.0, 150.0))
