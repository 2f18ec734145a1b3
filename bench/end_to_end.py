"""What a user waits for: a whole command (imports, runs, report) against its own simulations.

Each command runs as the real CLI (``sim.cli.main``, the process ended as the console script ends
it) in a fresh process, with ``sim.runners.run.simulate`` wrapped to add up the time spent in it
(build the world, simulate, oracles, reconcile).
The ratio is the command's time over that: 1.0 would be a command that costs nothing beyond its
simulations. Runs are in-process (``run`` with one replication, ``compare --workers 1``, ``sweep
--executor serial``) so the simulations' time is measured where it is spent. Wall time (seen from
the parent, interpreter start-up included) and CPU time (the child's own, children included) are
both reported: on a shared machine the CPU ratio is the steadier one.

The commands with a target are the README's, at the sizes they ship with: the baseline run, the
retry-policy comparison (its five replications) and the PSP-timeout sweep (28 runs). Two shorter
ones (``compare-short``: two replications; ``sweep-short``: four runs of 20,000 payments) have no
target: they show the fixed part of a command (imports before the first simulation, the last
figures after the last) against simulations of about two seconds, where it weighs most.

    python -m bench.end_to_end [--quick] [--profile]

``--profile`` also splits each command's time beyond its simulations into where it goes: before
the first simulation (interpreter, imports, input), inside the loop (the figures a run starts
from there: ``EarlyRunFigures``, the report's work, so not counted as simulation), between
simulations, after the last one (the report), and the process's exit (seen from the parent); and
the CPU time of the command's own process in the same phases, with its drawing helpers' (on a
shared machine the steadier numbers).

The package's bytecode is compiled first, as an install compiles it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sweep import sweep_file

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"run": 1.3, "compare": 1.15, "sweep": 1.15}
"""Wall time over the simulations', for the README's commands (docs/design.md §14.3)."""

_CHILD = r"""
import json, resource, sys, time
from bench.when_loaded import when_loaded

spent = {"wall_s": 0.0, "cpu_s": 0.0, "simulations": 0, "first_start": None, "last_end": None,
         "cpu_before_s": None, "cpu_last_end": None}
real = None

def timed(*args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    if spent["first_start"] is None:
        spent["first_start"] = time.monotonic()
        spent["cpu_before_s"] = cpu
    try:
        return real(*args, **kwargs)
    finally:
        spent["wall_s"] += time.perf_counter() - wall
        spent["cpu_s"] += time.process_time() - cpu
        spent["simulations"] += 1
        spent["last_end"] = time.monotonic()
        spent["cpu_last_end"] = time.process_time()

def wrap(module):
    global real
    real, module.simulate = module.simulate, timed

peeks = {"wall_s": 0.0, "cpu_s": 0.0}

def wrap_peek(module):  # a run's figures started from inside the loop: the report's work, not the simulation's
    real_call = module.EarlyRunFigures.__call__
    def call(self, world):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return real_call(self, world)
        finally:
            peeks["wall_s"] += time.perf_counter() - wall
            peeks["cpu_s"] += time.process_time() - cpu
    module.EarlyRunFigures.__call__ = call

when_loaded("sim.runners.run", wrap)  # not imported here: it would import SimPy before the command's start
when_loaded("sim.reports.early_figures", wrap_peek)
from sim.cli import main
from sim.cli.quick_exit import end_process
code = main(sys.argv[1:])
own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
spent["process_cpu_s"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
spent["helpers_cpu_s"] = kids.ru_utime + kids.ru_stime
spent["cpu_after_s"] = time.process_time() - spent["cpu_last_end"]
spent["exit_code"] = code
spent["peek_wall_s"], spent["peek_cpu_s"] = peeks["wall_s"], peeks["cpu_s"]
spent["main_end"] = time.monotonic()
print("END_TO_END " + json.dumps(spent))
end_process(code)  # as the console script ends (``sim.cli.entry``)
"""


def measure(argv: list[str]) -> dict:
    """Run ``paychaos ARGV`` in a fresh process; its wall/CPU time against its simulations'."""
    started, since = time.perf_counter(), time.monotonic()
    done = subprocess.run([sys.executable, "-c", _CHILD, *argv], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    wall_s, until = time.perf_counter() - started, time.monotonic()
    line = next((x for x in done.stdout.splitlines() if x.startswith("END_TO_END ")), None)
    if line is None:
        raise RuntimeError(f"paychaos {' '.join(argv)} printed no timing:\n{done.stderr[-2000:]}")
    spent = json.loads(line.removeprefix("END_TO_END "))
    # the figures a run starts from inside its loop (arguments built, sent to a helper) are the
    # report's work: counted beyond the simulations, in a phase of their own
    simulation_wall_s = spent["wall_s"] - spent["peek_wall_s"]
    simulation_cpu_s = spent["cpu_s"] - spent["peek_cpu_s"]
    if spent["exit_code"] not in (0, 1) or not spent["simulations"]:
        raise RuntimeError(f"paychaos {' '.join(argv)} exited {spent['exit_code']} after "
                           f"{spent['simulations']} simulations:\n{done.stderr[-2000:]}")
    return {
        "command": "paychaos " + " ".join(argv),
        "simulations": spent["simulations"],
        "wall_s": round(wall_s, 3),
        "simulation_wall_s": round(simulation_wall_s, 3),
        "ratio_wall": round(wall_s / simulation_wall_s, 3),
        "beyond_wall_s": round(wall_s - simulation_wall_s, 3),  # what the ratio hides: it shrinks with faster simulations
        "cpu_s": round(spent["process_cpu_s"], 3),
        "simulation_cpu_s": round(simulation_cpu_s, 3),
        "ratio_cpu": round(spent["process_cpu_s"] / simulation_cpu_s, 3),
        "phases_s": {  # the time beyond the simulations, by where it goes (monotonic clocks, Linux: system-wide)
            "before": round(spent["first_start"] - since, 3),
            "in_loop": round(spent["peek_wall_s"], 3),
            "between": round(spent["last_end"] - spent["first_start"] - spent["wall_s"], 3),
            "after": round(spent["main_end"] - spent["last_end"], 3),
            "exit": round(until - spent["main_end"], 3),
        },
        "phases_cpu_s": {  # the command's own process (before: from its start), and its helpers' whole CPU
            "before": round(spent["cpu_before_s"], 3),
            "in_loop": round(spent["peek_cpu_s"], 3),
            "between": round(spent["cpu_last_end"] - spent["cpu_before_s"] - spent["cpu_s"], 3),
            "after": round(spent["cpu_after_s"], 3),
            "helpers": round(spent["helpers_cpu_s"], 3),
        },
    }


def compile_bytecode() -> None:
    """Compile the package's bytecode, as installing it does (``pip install`` compiles; an editable
    install under ``PYTHONDONTWRITEBYTECODE`` never writes it, and each command would compile about
    a hundred modules from source, ~0.1 s before its first simulation and more in its helpers)."""
    compileall.compile_dir(ROOT / "sim", quiet=1)


def commands(out: Path, quick: bool) -> dict[str, list[str]]:
    """The commands measured (arguments after ``paychaos``), by name; ``--quick``: small ones only."""

    def run(scenario: str) -> list[str]:
        return ["run", scenario, "--out", str(out / "run")]

    def compare(name: str, *replications: str) -> list[str]:
        return ["compare", "scenarios/compare-retry-policies.yaml", "--workers", "1", *replications,
                "--out", str(out / name)]

    def sweep(name: str, sweep_path: Path | str) -> list[str]:
        return ["sweep", str(sweep_path), "--executor", "serial", "--out", str(out / name)]

    if quick:
        return {"run": run("scenarios/poison-pills.yaml"),
                "compare": compare("compare", "--replications", "1"),
                "sweep": sweep("sweep", sweep_file(out, runs=2, payments=5_000))}
    return {"run": run("scenarios/baseline.yaml"),
            "compare": compare("compare"),
            "sweep": sweep("sweep", "scenarios/sweeps/psp-timeout-tradeoff.yaml"),
            "compare-short": compare("compare-short", "--replications", "2"),
            "sweep-short": sweep("sweep-short", sweep_file(out, runs=4, payments=20_000))}


def end_to_end(quick: bool = False) -> dict:
    """The commands of :func:`commands` end to end; those named in :data:`TARGETS` with their
    target (wall ≤ target), the short ones with none."""
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="paychaos-e2e-") as folder:
        out = Path(folder)
        results = {}
        for name, argv in commands(out, quick).items():
            result = measure(argv)
            result["command"] = result["command"].replace(str(out), "OUT")  # no temporary folder in the record
            if name in TARGETS:
                result["target_ratio_wall"] = f"<= {TARGETS[name]}"
                result["met"] = result["ratio_wall"] <= TARGETS[name]
            results[name] = result
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller commands (a smoke test)")
    parser.add_argument("--profile", action="store_true",
                        help="also say where the time beyond the simulations goes (before, in the loop, between, after, exit)")
    args = parser.parse_args(argv)
    for name, row in end_to_end(args.quick).items():
        target = f"target {row['target_ratio_wall']}" if "met" in row else "no target"
        print(f"{name:13} wall {row['wall_s']:7.1f} s / simulations {row['simulation_wall_s']:7.1f} s = "
              f"{row['ratio_wall']:.2f}x ({target}; {row['beyond_wall_s']:.2f} s beyond); CPU {row['cpu_s']:.1f} / "
              f"{row['simulation_cpu_s']:.1f} s = {row['ratio_cpu']:.2f}x  [{row['command']}]")
        if args.profile:
            print("         beyond the simulations: " + ", ".join(f"{phase} {seconds:.2f} s"
                                                             for phase, seconds in row["phases_s"].items()))
            print("         CPU beyond them: " + ", ".join(f"{phase} {seconds:.2f} s"
                                                       for phase, seconds in row["phases_cpu_s"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
