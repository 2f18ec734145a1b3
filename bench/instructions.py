"""Machine instructions per payment, counted by valgrind's callgrind: a measure of the hot path
that machine load does not move (timings on a shared machine move by several percent).

    python -m bench.instructions [--small 1000] [--large 5000]

Runs the throughput scenario at two sizes, each in a fresh process under callgrind, and prints
(instructions of the large run - instructions of the small run) / (payments between them), so
imports, world building and other fixed costs cancel. Needs ``valgrind`` on the PATH; takes about a
minute. Compare two versions of the code with it, not with seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from bench.measure import ORDERS_PER_CHECKOUT

_RUN = "import sys; from bench.measure import sized, THROUGHPUT; from sim.runners.run import run_scenario; " \
       "print(len(run_scenario(sized(THROUGHPUT, int(sys.argv[1])), explain=False).world.orders))"


def count(payments: int) -> tuple[int, int]:
    """(instructions, payments) of one run of about ``payments`` payments under callgrind."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")  # fewer run-to-run wobbles
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", _RUN, str(payments)],
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
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    if not 0 < args.small < args.large:
        print("bench.instructions: --small must be > 0 and below --large", file=sys.stderr)
        return 2
    (i1, n1), (i2, n2) = count(args.small), count(args.large)
    per_payment = (i2 - i1) / (n2 - n1)
    print(f"{per_payment:,.0f} instructions per payment ({n1:,} vs {n2:,} payments, "
          f"~{per_payment * ORDERS_PER_CHECKOUT:,.0f} per checkout)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
