"""Machine instructions per payment, counted by valgrind's callgrind: a measure of the hot path
that machine load does not move (timings on a shared machine move by several percent).

    python -m bench.instructions [--small 1000] [--large 5000] [--set KEY=VALUE ...]

Runs the throughput scenario at two sizes, each in a fresh process under callgrind, and prints
(instructions of the large run - instructions of the small run) / (payments between them), so
imports, world building and other fixed costs cancel. Needs ``valgrind`` on the PATH; takes about a
minute. Compare two versions of the code with it, not with seconds.

``--set`` overrides model keys (dotted paths, YAML values, as a scenario's ``overrides``) to see what
one mechanism costs per payment, e.g. ``--set refunds.probability=0 --set payouts.enabled=false``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bench.measure import ORDERS_PER_CHECKOUT

_RUN = "import sys, json; from bench.instructions import throughput_with; from sim.runners.run import run_scenario; " \
       "print(len(run_scenario(throughput_with(int(sys.argv[1]), json.loads(sys.argv[2])), explain=False).world.orders))"


def throughput_with(payments: int, overrides: dict[str, object]):
    """The throughput scenario capped at about ``payments`` payments, its model with ``overrides``
    (dotted key paths) applied and validated as a scenario's overrides would be."""
    import dataclasses

    from bench.measure import THROUGHPUT, sized
    from sim.config.loader import resolve_model
    from sim.config.yaml_reader import read_yaml

    loaded = sized(THROUGHPUT, payments)
    if not overrides:
        return loaded
    merged = {**loaded.scenario.overrides, **overrides}
    model = resolve_model(loaded.model_data, merged, read_yaml(THROUGHPUT), ("overrides",),
                          Path(loaded.model_path).parent)
    return dataclasses.replace(loaded, model=model)


def count(payments: int, overrides: dict[str, object] | None = None) -> tuple[int, int]:
    """(instructions, payments) of one run of about ``payments`` payments under callgrind."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")  # fewer run-to-run wobbles
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", _RUN, str(payments),
         json.dumps(overrides or {})],
        capture_output=True, text=True, env=env, check=True,
    )
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(collected.group(1)), int(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="payments of the small run (default 1000)")
    parser.add_argument("--large", type=int, default=5000, help="payments of the large run (default 5000)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a model key (dotted path, YAML value); repeatable")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"bench.instructions: --set {item!r}: expected KEY=VALUE, e.g. refunds.probability=0",
                  file=sys.stderr)
            return 2
        overrides[key] = yaml.safe_load(value)
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    if not 0 < args.small < args.large:
        print("bench.instructions: --small must be > 0 and below --large", file=sys.stderr)
        return 2
    (i1, n1), (i2, n2) = count(args.small, overrides), count(args.large, overrides)
    per_payment = (i2 - i1) / (n2 - n1)
    print(f"{per_payment:,.0f} instructions per payment ({n1:,} vs {n2:,} payments, "
          f"~{per_payment * ORDERS_PER_CHECKOUT:,.0f} per checkout)"
          + (f" with {' '.join(args.set)}" if args.set else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
