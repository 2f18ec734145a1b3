"""A run report's figures started before the run's results are in, on the drawing helpers.

Drawing a run's report figures after the run is most of what ``paychaos run`` adds to its
simulation. Their data is in earlier than the report: the time series when the event loop ends
(the oracles, the reconciliation and the summary still to come take a while), the sample orders
of the sequence diagrams often long before, once the orders picked are in a state they do not
leave. The other figures (services, latency CDF) are left to the report (:data:`FINAL`).
:class:`EarlyRunFigures`, called between the run's progress slices, builds those figures' arguments as the finished run gives them (the
report's own builders, ``sim.reports.run_figures``) and starts them on the helpers
(``Drawing.figure_early``). The report asks for its figures with the final arguments and gets an
early one only when those are equal: a guess that turned out wrong costs helper time, never a
different picture. It reads the world and changes nothing in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.domain.orders import TERMINAL_STATES, OrderState
from sim.observe.recovery import goodput_counts
from sim.observe.samples import LABELS, SampleTrace, pick_samples
from sim.reports import run_figures
from sim.reports.drawing import Drawing, same_arguments
from sim.runners.replicate import sample_order_data
from sim.runners.run import fault_window_data, series_data

if TYPE_CHECKING:
    from sim.world import World

TRIES = 2
"""Early starts of the sequence diagrams at most (a pick can still change: a failed order gives
way to a dead-lettered one)."""
EVERY = 20
"""Look at the sample orders every this many progress slices (a tenth of the run; a look costs
about a millisecond of the run's own process). The samples settle early; the load phase is most
of a run's time, the drain after it little."""
FINAL = ("timeseries",)
"""The figures started when the event loop ends: the largest only. The command's own process
holds one core from then on (the run's last checks, the summary, the report's tables), so the
helpers share the other until it is done: two figures started together would each draw at half
speed, and the largest would end later. The report starts the others when it gets to them
(measured on the baseline: its run ended ~30 ms sooner)."""
_SETTLED = frozenset(int(state) for state in TERMINAL_STATES) - {int(OrderState.DEAD_LETTERED)}
"""States a sample order does not leave again (a dead-lettered one may be replayed)."""


def services_at_end(world: World) -> dict[str, dict]:
    """What the services figure reads of each station (``summary.services``), as the run's summary
    gives it at ``world.end_s``: the stations' time integrals carried to the end as the summary
    carries them (``StationStats.view``). Read only: the stations are not advanced."""
    end = world.end_s
    view = {}
    for name, station in sorted(world.stations.items()):
        stats = station.stats
        if not stats.arrivals:
            continue
        at_end = stats.view(end)
        view[name] = {field: at_end[field] for field in _SERVICE_FIELDS}
    return view


_SERVICE_FIELDS = ("servers", "mean_queue", "utilisation", "wasted_work_share")
"""The fields of a station's stats the services figure reads."""


def report_series(world: World) -> dict:
    """The run's series as its results have them (``sim.runners.kpis.enrich`` adds goodput)."""
    series = series_data(world)
    series["counts"]["goodput"] = goodput_counts(world)
    series["counts"] = dict(sorted(series["counts"].items()))
    return series


class EarlyRunFigures:
    """``peek`` for :func:`sim.runners.run.simulate`: starts the sequence diagrams once every
    sample order picked so far is settled (and one of each kind is picked, or no order is to
    come; again if the pick changes, at most :data:`TRIES` times); after the last slice, the
    sequence diagrams and the :data:`FINAL` figures whose arguments differ from what was started.
    Does nothing when ``drawing`` draws in this process."""

    def __init__(self, drawing: Drawing, label: str, tries: int = TRIES, every: int = EVERY) -> None:
        self.drawing = drawing
        self.label = label
        """The run's name in the latency CDF's legend: its variant, else its scenario."""
        self.tries, self.every = tries, every
        self.started: dict[str, tuple] = {}
        """Each figure as last started: ``(target, *arguments)``."""
        self.starts: dict[str, int] = {}
        """How many times each figure was started."""
        self._looks = 0

    def __call__(self, world: World) -> None:
        now = world.env.now
        if not self.drawing.parallel:
            return
        final = now >= world.end_s
        self._looks += 1
        if not final and self._looks % self.every:
            return
        figures = {}
        if final:  # the largest only: see FINAL
            built = run_figures.series_figures(report_series(world), services_at_end(world),
                                               fault_window_data(world), world.end_s, world.load_end_s)
            figures = {name: built[name] for name in FINAL if name in built}
        trace = world.trace
        if isinstance(trace, SampleTrace) and trace.orders is not None:
            picked = pick_samples(trace.orders, sorted(trace.by_order))  # read only: no pruning
            complete = len(picked) == len(LABELS) or now >= world.load_end_s  # no kind still to come
            if picked and (final or complete and all(world.orders.state[order] in _SETTLED for order in picked)):
                figures["sequence"] = run_figures.sequence_figure(sample_order_data(world, picked))
        for name, figure in figures.items():
            self._start(name, figure, final)

    def _start(self, name: str, figure: tuple, final: bool) -> None:
        before = self.started.get(name)
        if before is not None and same_arguments(before, figure):
            return
        if not final and self.starts.get(name, 0) >= self.tries:
            return
        self.starts[name] = self.starts.get(name, 0) + 1
        self.started[name] = figure
        self.drawing.figure_early(*figure)
