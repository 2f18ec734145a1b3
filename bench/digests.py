"""Results digests of every shipped scenario: the check that a refactor changed no behaviour.

``python -m bench.digests > before.txt``, change the code, ``python -m bench.digests | diff before.txt -``:
no output means every scenario's ``results.json`` is byte-identical (same scenario, same seed).
A change that alters the model's semantics changes digests on purpose; say so in the commit.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digest_of(path: str) -> str:
    from sim.config.loader import load_scenario
    from sim.runners.run import run_scenario

    return run_scenario(load_scenario(path)).digest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario files (default: scenarios/*.yaml)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args(argv)
    paths = args.scenarios or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.yaml"))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for path, digest in zip(paths, pool.map(digest_of, paths)):
            print(f"{digest[:16]}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
