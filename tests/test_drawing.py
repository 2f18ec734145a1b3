"""Report figures drawn by helper processes: the same bytes as drawn in-process, no matplotlib in
the command's own process, and a helper that fails or hangs costs time, never the figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from helpers import ROOT
from sim.reports import drawing
from sim.reports.drawing import Drawing, drawing as start_drawing

_CLI = r"""
import json, sys
from sim.cli import main
code = main(sys.argv[1:])
print("PARENT " + json.dumps({"code": code, "matplotlib": "matplotlib" in sys.modules, "pandas": "pandas" in sys.modules,
                             "jinja2": "jinja2" in sys.modules}))
"""


def _cli(argv: list[str], workers: str) -> dict:
    env = {**os.environ, "PAYCHAOS_DRAW_WORKERS": workers}
    done = subprocess.run([sys.executable, "-c", _CLI, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PARENT "))
    return json.loads(line.removeprefix("PARENT "))


def test_a_run_report_drawn_by_helpers_is_byte_identical_and_the_command_never_imports_matplotlib(tmp_path):
    # a run with every figure of a run report (its overloaded risk check gives a services figure); drawn
    # here first, which also caches its model's system graph (a fresh clone has none: drawn here, once)
    here = _cli(["run", "scenarios/metastable-retry-storm.yaml", "--out", str(tmp_path / "here")], "0")
    helped = _cli(["run", "scenarios/metastable-retry-storm.yaml", "--out", str(tmp_path / "helped")], "2")
    # every figure came from a helper, and the pages too (rendered there: sim.reports.pages)
    assert helped == {"code": 1, "matplotlib": False, "pandas": False, "jinja2": False}
    assert here == {"code": 1, "matplotlib": True, "pandas": False, "jinja2": True}  # (1: the storm fails its expectations)
    files = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert {"timeseries.png", "latency_cdf.png", "services.png", "sequence.png", "report.html"} <= set(files)
    assert files == sorted(p.name for p in (tmp_path / "helped").iterdir())
    for name in files:
        assert (tmp_path / "helped" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def _slow_in_a_helper(parent_pid: int):
    """A small figure; in any process but ``parent_pid`` it first sleeps far past the wait."""
    from sim.reports.figures import new_figure

    if os.getpid() != parent_pid:
        time.sleep(60)
    figure = new_figure(2, 1)
    figure.subplots().plot([0, 1], [1, 0])
    return figure


def _fails_in_a_helper(parent_pid: int):
    if os.getpid() != parent_pid:
        raise MemoryError("a helper out of memory")
    return _slow_in_a_helper(parent_pid)


def test_a_helper_that_hangs_or_fails_costs_the_wait_and_the_figure_is_drawn_here(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(drawing, "WAIT_S", 1.0)
    expected = drawing.figure_png(f"{__name__}:_slow_in_a_helper", os.getpid())
    # one helper made directly (this test process may run threads that an earlier test left, and
    # then ``drawing()`` rightly draws in-process)
    figures = Drawing(multiprocessing.get_context("fork").Pool(1), 1)
    try:
        started = time.monotonic()
        hung = figures.figure(f"{__name__}:_slow_in_a_helper", os.getpid()).result()
        failed = figures.figure(f"{__name__}:_fails_in_a_helper", os.getpid()).result()
        waited = time.monotonic() - started
    finally:
        figures.close()
    assert hung == expected and failed == expected
    assert 1.0 <= waited < 30  # the hung helper's wait, then drawn here


def test_a_sweep_report_drawn_by_helpers_is_byte_identical(tmp_path, monkeypatch):
    from test_sweep_run import tiny_sweep

    path = tiny_sweep(tmp_path, replications=2)
    helped = _cli(["sweep", str(path), "--executor", "serial", "--out", str(tmp_path / "helped")], "2")
    here = _cli(["sweep", str(path), "--executor", "serial", "--out", str(tmp_path / "here")], "0")
    assert helped["code"] == here["code"] == 0 and not helped["matplotlib"] and here["matplotlib"]
    assert not helped["pandas"] and here["pandas"]  # the points frame is made where the figures are drawn
    files = sorted(p.name for p in (tmp_path / "here" / "report").iterdir())
    assert len([f for f in files if f.endswith(".png")]) == 6  # 3 KPIs: a line plot and a heatmap each
    assert files == sorted(p.name for p in (tmp_path / "helped" / "report").iterdir())
    for name in files:
        assert (tmp_path / "helped" / "report" / name).read_bytes() == (tmp_path / "here" / "report" / name).read_bytes()


def test_a_compare_report_drawn_by_helpers_is_byte_identical(tmp_path):
    """With helpers, a comparison's exemplar figures are drawn while the later replications run."""
    from test_compare import SMALL

    from helpers import write_scenario

    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    argv = ["compare", str(path), "--variants", "none,fixed", "--replications", "2", "--workers", "1"]
    helped = _cli([*argv, "--out", str(tmp_path / "helped")], "2")
    here = _cli([*argv, "--out", str(tmp_path / "here")], "0")
    assert helped == {"code": 0, "matplotlib": False, "pandas": False, "jinja2": False}
    assert here == {"code": 0, "matplotlib": True, "pandas": False, "jinja2": True}
    files = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert {"psp_rate.png", "latency_cdf.png", "pareto.png", "report.html"} <= set(files)
    assert files == sorted(p.name for p in (tmp_path / "helped").iterdir())
    for name in files:
        assert (tmp_path / "helped" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def _line_figure(values: list):
    from sim.reports.figures import new_figure

    figure = new_figure(2, 1)
    figure.subplots().plot(range(len(values)), values)
    return figure


def test_a_figure_started_early_is_the_one_the_report_gets_when_the_arguments_are_the_same():
    import multiprocessing

    figures = Drawing(multiprocessing.get_context("fork").Pool(1), 1)
    try:
        values = [0, 1, 3]
        figures.figure_early(f"{__name__}:_line_figure", values)
        early = figures._early[0][2]
        assert figures.figure(f"{__name__}:_line_figure", list(values)) is early  # equal, not the same list
        assert figures.figure(f"{__name__}:_line_figure", [0, 1, 2]) is not early
        assert figures.figure(f"{__name__}:_line_figure", [0.0, 1, 3]) is not early  # equal, another type
        assert early.result() == drawing.figure_png(f"{__name__}:_line_figure", values)
    finally:
        figures.close()
    in_process = Drawing()
    in_process.figure_early(f"{__name__}:_line_figure", [0, 1])  # nothing to start: drawn when asked for
    assert in_process._early == []


def test_no_helpers_when_asked_for_none_or_when_threads_run(monkeypatch):
    import threading

    monkeypatch.setenv("PAYCHAOS_DRAW_WORKERS", "0")
    with start_drawing() as figures:
        assert not figures.parallel
    monkeypatch.setenv("PAYCHAOS_DRAW_WORKERS", "2")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with start_drawing() as figures:
            assert not figures.parallel  # forking a process that runs threads could deadlock the child
    finally:
        stop.set()
        thread.join()
    assert isinstance(figures, Drawing)


def _collector_state() -> tuple[int, bool]:
    import gc

    return gc.get_freeze_count(), "matplotlib" in sys.modules


_FREEZE_CHECK = r"""
import gc, json, os, sys
os.environ["PAYCHAOS_DRAW_WORKERS"] = "1"
from sim.reports.drawing import drawing
before, interval = gc.get_freeze_count(), sys.getswitchinterval()
with drawing() as figures:
    parallel = figures.parallel
    interval_with_helpers = sys.getswitchinterval()
    state = figures.call("test_drawing:_collector_state").result() if parallel else None
    niceness = figures.call("os:nice", 0).result() if parallel else None
print("STATE " + json.dumps({"parallel": parallel, "state": state, "same": gc.get_freeze_count() == before,
                             "niceness": niceness, "own_niceness": os.nice(0),
                             "intervals": [interval, interval_with_helpers, sys.getswitchinterval()]}))
"""


def test_a_helper_freezes_what_it_holds_before_its_first_figure_and_runs_at_a_lower_priority():
    """The objects a helper was forked with, matplotlib and the warm-up are out of the garbage
    collector's reach (a full collection would scan them again during a report figure); the
    command's own collector is left as it was. A helper runs at a lower CPU priority than the
    command, which keeps its own. In a fresh process: this one may run threads an earlier test
    left (a kept sweep pool), and then helpers are rightly not forked."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _FREEZE_CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("STATE ")), None)
    assert line is not None, done.stderr
    result = json.loads(line.removeprefix("STATE "))
    assert result["parallel"], "no drawing helper was forked in a fresh process"
    frozen, warmed = result["state"]
    assert warmed and frozen > 10_000
    assert result["same"]
    assert result["niceness"] == min(19, result["own_niceness"] + drawing.HELPER_NICENESS) > result["own_niceness"]
    # while helpers are in use, a thread waiting for the interpreter lock (the pool's feeder, sending a
    # figure) gets it within SWITCH_INTERVAL_S, not Python's 5 ms; as it was once they are stopped
    assert result["intervals"] == [0.005, drawing.SWITCH_INTERVAL_S, 0.005]


def _process_id(sleep_s: float = 0.0) -> int:
    time.sleep(sleep_s)
    return os.getpid()


def test_without_waiting_a_result_a_busy_helper_has_not_made_is_made_here():
    import multiprocessing

    figures = Drawing(multiprocessing.get_context("fork").Pool(1), 1)
    try:
        done = figures.call(f"{__name__}:_process_id")
        helper = done.result()  # waited for: the helper made it
        assert helper != os.getpid()
        assert done.result(wait=False) == helper  # ready: taken from the helper
        figures.call(f"{__name__}:_process_id", 30.0)  # the only helper is busy for long
        queued = figures.call(f"{__name__}:_process_id")
        started = time.monotonic()
        assert queued.result(wait=False) == os.getpid() and time.monotonic() - started < 5  # made here at once
    finally:
        figures.close()


_NO_SETPRIORITY = r"""
import os
os.environ["PAYCHAOS_DRAW_WORKERS"] = "1"

def refused(increment):
    raise PermissionError("setpriority is not allowed here")

os.nice = refused  # a sandbox without setpriority; the forked helper inherits it
from sim.reports import drawing
drawing.WAIT_S = 10.0
with drawing.drawing(preload=()) as figures:
    helper = figures.call("os:getpid").result() if figures.parallel else None
print("HELPER", helper is not None and helper != os.getpid())
"""


def test_a_helper_that_may_not_lower_its_priority_still_draws():
    done = subprocess.run([sys.executable, "-c", _NO_SETPRIORITY], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert "HELPER True" in done.stdout, done.stderr[-2000:]


_BROKEN_WARM_UP = r"""
import os
os.environ["PAYCHAOS_DRAW_WORKERS"] = "1"
from sim.reports import drawing
drawing.WAIT_S = 10.0
with drawing.drawing(preload=("sim.no_such_module",)) as figures:
    helper = figures.call("os:getpid").result() if figures.parallel else None
    try:
        figures.call("sim.no_such_module:draw").result()
    except ModuleNotFoundError as error:
        print("ERROR", error.name)
print("HELPER", helper is not None and helper != os.getpid())
"""


def test_a_helper_whose_warm_up_fails_still_starts_and_a_failing_figure_fails_here():
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _BROKEN_WARM_UP], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert "HELPER True" in done.stdout and "ERROR sim.no_such_module" in done.stdout, done.stderr[-2000:]
    assert time.monotonic() - started < 10.0  # no helper restarted over and over, no figure waited WAIT_S
