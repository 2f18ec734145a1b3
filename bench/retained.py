"""What the bytes retained per payment are: ``make bench``'s ``bytes_retained_per_payment``, by source line.

Runs the throughput scenario at two sizes, each in a fresh process under tracemalloc (as
:func:`bench.measure.traced_growth`: from before the world is built to after the run, world alive),
snapshots what is still allocated, and prints the difference between the two runs per allocating
source line (or file) divided by the difference in payments: the marginal bytes per payment of each
structure, the largest first. Array columns show as the line that appends to them.

    python -m bench.retained [--payments 20000 60000] [--by lineno|filename] [--top 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _snapshot(payments: int, path: str) -> tuple[int, int]:
    """(payments, traced bytes) of one run; its end-of-run snapshot dumped to ``path``."""
    from bench.measure import THROUGHPUT, traced_growth

    return traced_growth(str(THROUGHPUT), payments, snapshot_path=path)


def by_source(small: tuple[int, str], large: tuple[int, str], key: str = "lineno") -> list[tuple[float, str]]:
    """(bytes per payment, source) per ``key`` between two dumped snapshots of runs of ``small[0]``
    and ``large[0]`` payments, the largest first."""
    (n1, p1), (n2, p2) = small, large
    before = tracemalloc.Snapshot.load(p1)
    after = tracemalloc.Snapshot.load(p2)
    rows = []
    for stat in after.compare_to(before, key):
        frame = stat.traceback[0]
        source = frame.filename if key == "filename" else f"{frame.filename}:{frame.lineno}"
        rows.append((stat.size_diff / (n2 - n1), source))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retained", description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, nargs=2, default=(20_000, 60_000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--by", choices=("lineno", "filename"), default="lineno")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    small, large = args.payments
    if not 0 < small < large:
        print(f"bench.retained: --payments needs 0 < SMALL < LARGE, got {small} {large}", file=sys.stderr)
        return 2
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as folder:
        runs = []
        for payments in (small, large):  # one fresh process each: the second run would skip one-off costs
            path = str(Path(folder) / f"{payments}.snapshot")
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                count, traced = pool.submit(_snapshot, payments, path).result()
            runs.append((count, traced, path))
        (n1, b1, p1), (n2, b2, p2) = runs
        rows = by_source((n1, p1), (n2, p2), args.by)
    print(f"bytes retained per payment: {(b2 - b1) / (n2 - n1):.1f} ({n1:,} vs {n2:,} payments)")
    for per_payment, source in rows[: args.top]:
        print(f"{per_payment:8.1f}  {source.removeprefix(root + '/')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
