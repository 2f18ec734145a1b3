"""The table of docs/hunting.md: per shipped flawed model, runs to the first violation for each
search strategy of ``paychaos explore``, and distinct abstract states per strategy on the correct
design.

``python -m bench.hunting [--budget 200] [--seeds 0] [--guided-seeds 0 1 2 3 4]`` prints Markdown
(docs/hunting.md's table: ``--guided-seeds 0 1 2 3 4 --states-budget 0``). Shrinking is left out
(``shrink_budget=1``): the table measures search, not shrinking.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.runners.explore import STRATEGIES, explore

ROOT = Path(__file__).resolve().parent.parent


def first_violation(model: Path, strategy: str, budget: int, seed: int) -> tuple[int | None, str | None]:
    result = explore(model, budget, seed=seed, shrink_budget=1, strategy=strategy)
    return (result.runs_to_violation, result.oracle) if result.found else (None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--guided-seeds", type=int, nargs="+", default=None,
                        help="seeds of the guided strategy (default: --seeds)")
    parser.add_argument("--states-budget", type=int, default=100, help="0: leave the states table out")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--models", nargs="+", help="flawed model names (default: every one)")
    args = parser.parse_args()
    strategies = args.strategies
    print(f"| flawed model | oracle | {' | '.join(strategies)} |")
    print("|---|---|" + "---|" * len(strategies))
    models = sorted((ROOT / "models" / "flawed").glob("*.yaml"))
    if args.models:
        models = [m for m in models if m.stem in args.models]
    for model in models:
        cells, oracle = [], None
        for strategy in strategies:
            seeds = args.guided_seeds if strategy == "guided" and args.guided_seeds else args.seeds
            if strategy == "exhaustive":
                seeds = seeds[:1]  # exhaustive ignores the seed
            runs = []
            for seed in seeds:
                found, name = first_violation(model, strategy, args.budget, seed)
                runs.append("—" if found is None else str(found))
                oracle = oracle or name
            cells.append(" / ".join(runs))
        print(f"| {model.stem} | {oracle or '—'} | {' | '.join(cells)} |", flush=True)
    if not args.states_budget:
        return
    print()
    print(f"Distinct abstract states in {args.states_budget} runs against models/async-kafka.yaml (seed 0):")
    print()
    print("| strategy | distinct abstract states |")
    print("|---|---|")
    for strategy in strategies:
        result = explore(ROOT / "models" / "async-kafka.yaml", args.states_budget, seed=0, shrink_budget=1,
                         strategy=strategy)
        note = f" (found {result.oracle})" if result.found else ""
        print(f"| {strategy} | {result.distinct_states} in {result.runs} runs{note} |", flush=True)


if __name__ == "__main__":
    main()
