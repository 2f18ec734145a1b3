"""A run killed while it writes its report leaves nothing partial once the next run has written.

The report folder is written under a temporary name beside the output and renamed into place
(``sim.reports.output``); a SIGKILL mid-write leaves that temporary folder, which the next write of
the same output removes (and a temporary folder of a process still running is left alone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from helpers import ROOT, write_scenario
from sim.cli import main
from sim.reports.output import default_out_dir, remove_leftovers, write_text_atomic

SMALL = {"duration": "20s", "drain": "20s", "workload": {"rate": "5/s", "buyers": 20, "sellers": 4}}


def _siblings(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name and p.name.startswith(f".{out.name}."))


def test_a_run_killed_while_writing_its_report_leaves_nothing_after_the_next_run(tmp_path):
    scenario = write_scenario(tmp_path, "async-kafka.yaml", name="crash", **SMALL)
    out = tmp_path / "reports" / "crash"
    process = subprocess.Popen([sys.executable, "-m", "sim", "run", str(scenario), "--out", str(out)],
                               cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    partial = []
    while time.monotonic() < deadline and process.poll() is None and not partial:
        if out.parent.is_dir():
            partial = [p for p in out.parent.iterdir() if p.name.startswith(".crash.tmp-") and any(p.iterdir())]
        time.sleep(0.005)
    assert process.poll() is None and partial, "the run finished before its report could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists() and _siblings(out), "the kill left a partial temporary folder (what the fix cleans up)"

    assert main(["run", str(scenario), "--out", str(out)]) == 0
    assert _siblings(out) == []
    assert {"report.html", "results.json", "summary.md", "metrics.csv"} <= {p.name for p in out.iterdir()}


def test_leftovers_of_a_live_process_are_kept_and_those_of_a_dead_one_removed(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    target = tmp_path / "results.csv"
    for name in (f".results.csv.tmp-{dead}-abc", f".results.csv.old-{dead}", f".results.csv.tmp-{os.getpid()}-xyz",
                 f".other.csv.tmp-{dead}-abc", ".results.csv.keep"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "part").write_text("half")
    write_text_atomic(target, "a,b\n")
    assert target.read_text() == "a,b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".other.csv.tmp-%d-abc" % dead, ".results.csv.keep", f".results.csv.tmp-{os.getpid()}-xyz", "results.csv"])
    assert remove_leftovers(target) == []


def test_a_scenario_name_never_gives_a_hidden_output_folder():
    assert default_out_dir(".crash.tmp-1-x").name == "crash.tmp-1-x"
