"""Where a report's figures are drawn: in two helper processes started before the simulation, or
in this process.

A report's figures cost more than the rest of the report together (matplotlib's import, then
building and laying out each figure), and the simulation before them uses one core. The CLI starts
:func:`drawing` right after the input is read: two forked processes import matplotlib and the
plotting code on the idle core while the simulation runs, then draw the report's figures side by
side. The PNG bytes are the same as drawn here (same code, same matplotlib, no global state).

Figures are named by ``"module:function"`` so this process never imports matplotlib for them. Any
trouble with the helpers (no ``fork`` on this platform, threads already running, a helper that
died or took longer than :data:`WAIT_S`) falls back to drawing the figure here: slower, never
different and never stuck. ``PAYCHAOS_DRAW_WORKERS=0`` draws everything here (the test suite's
default, where many short commands would each pay for two helpers).
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

WORKERS = 2
"""Helper processes: the machines this targets have two cores, and the simulation is over when
they draw."""
WAIT_S = 120.0
"""The longest wait for one figure from a helper before drawing it here instead (a report's
largest figure takes about a second)."""
PLOTS = ("sim.reports.plots", "sim.reports.pages", "jinja2")
"""What a helper imports while the simulation runs: the plotting code (matplotlib), and the
report's templates' renderer (jinja2: the pages are rendered on a helper, ``sim.reports.pages``)."""
HELPER_NICENESS = 10
"""How much lower a helper's CPU priority is than the command's: two helpers importing matplotlib
(about 0.45 s of CPU each) while the simulation runs would otherwise take a share of the
simulation's core on a two-core machine. Measured: a comparison 3.43 → 3.19 s wall, a run
2.55 → 2.42 s, a sweep 2.92 → 2.65 s (the `bench.end_to_end` commands). Once the simulations
are over the command mostly waits for the helpers, and a priority is only felt against other work."""
SWITCH_INTERVAL_S = 0.0005
"""How soon this process's thread hands Python's interpreter lock to another thread that waits for
it while helpers are in use (Python's default: 5 ms). A figure asked for goes to its helper from
the pool's feeder thread, which needs the lock to send it while the command goes on with its own
work (the run's last checks, the report's tables): a wait per figure of up to the interval, 5 ms
each in a queue. Measured: a comparison's Pareto plot reached its helper 24 ms after it was asked
for, then 1 ms, and the command ended 25-30 ms sooner. Threads that wait for nothing (the
simulation's own) are not slowed: the interval matters only when another thread asks for the lock."""
SWEEP = PLOTS + ("sim.reports.sweep_points",)
"""What a sweep's helpers import: the plotting code and the per-point frame (pandas, about 0.2 s
a helper that a run or a comparison never needs)."""


def call(target: str, *args: Any) -> Any:
    """``target(*args)``, the function named ``"module:function"``."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)(*args)


def figure_png(target: str, *args: Any) -> bytes | None:
    """Call ``target`` (``"module:function"``, a function returning a matplotlib Figure or None)
    with ``args`` and render the figure as PNG bytes (None when there is no figure)."""
    from sim.reports.figures import png

    figure = call(target, *args)
    return None if figure is None else png(figure)


class Drawn:
    """Something being drawn: :meth:`result` waits for it (drawing it here if the helper fails)."""

    def __init__(self, pending: Any, target: str, args: tuple) -> None:
        self._pending, self._function, self._args = pending, target, args

    def result(self, wait: bool = True) -> Any:
        """The result; without ``wait``, made here unless a helper has it ready (for work this
        process would otherwise wait on a busy helper for)."""
        if self._pending is not None and (wait or self._pending.ready()):
            try:
                return self._pending.get(WAIT_S)
            except Exception:  # a helper that died, hung or failed: draw it here, where an error shows
                pass
        return call(self._function, *self._args)


class Drawing:
    """Draws on helper processes when it has them, else in this process (lazily, when the result
    is asked for).

    With helpers, a figure can be started before its report asks for it (:meth:`figure_early`: a
    comparison's exemplar figures while later replications run); the report, asking for the same
    figure with equal arguments, gets the one already started. Equal arguments give the same
    bytes, so this changes no output, only when the figure is drawn."""

    def __init__(self, pool: Any = None, workers: int = 1) -> None:
        self._pool = pool
        self.workers = workers
        """How many things are drawn at once (1 in this process): callers split work into this many parts."""
        self._early: list[tuple[str, tuple, Drawn]] = []

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def call(self, target: str, *args: Any) -> Drawn:
        """Start ``target(*args)`` (``"module:function"``, returning something picklable), unless
        it was started early."""
        for early_target, early_args, drawn in self._early:
            if early_target == target and same_arguments(early_args, args):
                return drawn
        pending = self._pool.apply_async(call, (target, *args)) if self._pool is not None else None
        return Drawn(pending, target, args)

    def figure(self, target: str, *args: Any) -> Drawn:
        """Start drawing the figure ``target(*args)`` returns; ``.result()`` gives its PNG bytes."""
        return self.call(f"{__name__}:figure_png", target, *args)

    def figure_early(self, target: str, *args: Any) -> None:
        """Start drawing a figure a report will ask for with these arguments (with helpers only:
        in this process a figure is drawn when asked for anyway)."""
        if self._pool is not None:
            drawn = self.figure(target, *args)
            self._early.append((f"{__name__}:figure_png", (target, *args), drawn))

    def close(self) -> None:
        self._early.clear()
        if self._pool is not None:
            self._pool.terminate()  # nothing is left to draw; never wait for a helper
            self._pool.join()
            self._pool = None


def same_arguments(a: Any, b: Any) -> bool:
    """``a`` and ``b`` equal and of the same types all the way down (1 and 1.0, or True and 1, are
    equal but may be drawn differently). Arguments built from the same objects are compared
    mostly by identity, so this is cheap for the figures' large series."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_arguments(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_arguments(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and frames have no one truth value: not the same
        return False


IN_PROCESS = Drawing()
"""Draws every figure in this process (the reports' default: the API, tests, notebooks)."""


def _helper_start(preload: tuple[str, ...]) -> None:
    """A helper's start: leave Ctrl-C to the command, step back in priority
    (:data:`HELPER_NICENESS`), and import the plotting code now, while the simulation runs.

    Everything a helper holds before its first figure (the command's objects it was forked with,
    matplotlib, the warm-up) is frozen out of the garbage collector: a full collection would
    otherwise scan all of it again during a report figure (about 0.1 s, and writing to every
    shared page forces the operating system to copy it)."""
    gc.freeze()  # the forked command's objects: never scanned (nor their pages copied) here
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        os.nice(HELPER_NICENESS)  # the simulation keeps its core while the helpers warm up
    except OSError:  # a sandbox without setpriority: the same figures, only sooner in contention
        pass
    try:
        for module in preload:
            importlib.import_module(module)
        _first_draw()
    except Exception:  # a helper that cannot warm up still starts (a pool restarts a helper whose start
        pass  # fails, again and again, and each figure would wait WAIT_S): a figure it is given then
        # fails there and is drawn in the command, where the error shows
    gc.collect()  # the warm-up's garbage, then what the imports left is frozen too
    gc.freeze()


def _first_draw() -> None:
    """Draw a small throwaway figure: a process's first draw loads fonts and fills caches (about a
    fifth of a report figure's cost), better paid while the simulation runs."""
    from sim.reports.figures import new_figure, png

    figure = new_figure(2, 1)
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1])
    axes.set_title("warm-up")
    axes.set_xlabel("x")
    png(figure)


def _helpers_wanted() -> int:
    text = os.environ.get("PAYCHAOS_DRAW_WORKERS", str(WORKERS))
    try:
        return max(0, int(text))
    except ValueError:
        return WORKERS


@contextmanager
def drawing(preload: tuple[str, ...] = PLOTS) -> Iterator[Drawing]:
    """Helpers for one command's report, importing the modules ``preload`` while the simulation
    runs, stopped when the block ends; in-process drawing when they cannot be had safely (forking
    a process that runs threads can deadlock the child)."""
    workers = _helpers_wanted()
    if workers == 0 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield IN_PROCESS
        return
    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_helper_start, initargs=(preload,))
    except OSError:
        yield IN_PROCESS
        return
    helpers = Drawing(pool, workers)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield helpers
    finally:
        sys.setswitchinterval(switch_interval)
        helpers.close()


