"""Hunt the correct designs: ``explore`` against designs that should pass, so that anything it finds
is a bug in the model (or an oracle), not a design flaw.

The designs hunted (written to ``OUT/models/``):
- the shipped models (``models/*.yaml``), and each asynchronous one again with a 10 s
  ``kafka.max_poll_interval`` (a consumer stall within explore's load phase then outlives it);
- every flawed model with its fix applied (``bench.flaws``);
- the shipped asynchronous, dual-PSP, retry-topic and synchronous designs with the money after the
  payment compressed into minutes (refunds, disputes and payouts every few minutes), with and
  without FX settling in USD and PSP clearing, and the asynchronous one with delayed captures.

Each (design, seed, strategy) is one ``explore`` run; a violation's minimal counterexample is written
to ``OUT/found/`` and a line per explore to ``OUT/hunt.jsonl``. Exit 1 when anything was found.

    python -m bench.hunt --seeds 6,7 --strategy guided --budget 200 --out hunt/

About 34–40 designs a seed and strategy, 10–120 s each at a budget of 200–1,000 (docs/testing.md §3.4).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import yaml

from bench.flaws import FLAWS
from sim.runners.explore import STRATEGIES, explore, write_counterexample

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SHORT_POLL = {"kafka": {"max_poll_interval": "10s"}}
"""A consumer stall of explore's load phase (up to two minutes) outlives this: its partitions move."""
MONEY_IN_MINUTES = {
    "capture": {"mode": "automatic"},
    "refunds": {"probability": 0.2, "partial_probability": 0.3,
                "delay": {"dist": "lognormal", "median": "30s", "p99": "5m"}},
    "chargebacks": {"probability": 0.1, "win_probability": 0.3,
                    "delay": {"dist": "lognormal", "median": "1m", "p99": "10m"}},
    "fees": {"commission_rate": 0.1},
    "payouts": {"enabled": True, "interval": "5m", "first_run": "30s", "lag": "0s", "clearing_deadline": "15m",
                "check_report": True},
}
"""Refunds, disputes and payouts within explore's one-hour drain."""
SETTLED_IN_USD = {
    "fx": {"settlement_currency": "USD", "rates": {"EUR": 1.08}, "volatility_per_day": 0.05, "step": "1m"},
    "psp": {"settlement_cutoff": "10m", "settlement_days": 0},
    "ledger": {"psp_clearing_deadline": "10m", "import_settlements": True},
}
"""EUR payments settled in USD the same day, with PSP clearing."""
DELAYED_CAPTURE = {
    "capture": {"mode": "delayed", "delay": {"dist": "lognormal", "median": "1m", "p99": "10m"},
                "cancel_probability": 0.1, "partial_probability": 0.2, "hold_expiry": "20m"},
    "ledger": {"psp_clearing_opens_at": "capture"},
}
"""Captures at shipment, a few cancelled or partial, some after their hold expired."""
MONEY_DESIGNS = {
    "async-money": ("async-kafka", [MONEY_IN_MINUTES, SETTLED_IN_USD]),
    "async-delayed": ("async-kafka", [MONEY_IN_MINUTES, DELAYED_CAPTURE]),
    "dual-money": ("dual-psp", [MONEY_IN_MINUTES]),
    "dual-money-usd": ("dual-psp", [MONEY_IN_MINUTES, SETTLED_IN_USD]),
    "topics-money-usd": ("retry-topics", [MONEY_IN_MINUTES, SETTLED_IN_USD]),
    "sync-money-usd": ("sync-http", [MONEY_IN_MINUTES, SETTLED_IN_USD]),
}
"""Name → (shipped model, what is merged into it)."""


def merged(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in, mapping by mapping (a copy)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def with_paths(document: dict, overrides: dict) -> dict:
    """``document`` with dotted ``overrides`` (``executor.commit: after``) set (a copy)."""
    out = copy.deepcopy(document)
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def hunted_designs() -> dict[str, dict]:
    """Every design the hunt explores, by name: a whole model document each."""
    designs: dict[str, dict] = {}
    for path in sorted(MODELS.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        designs[path.stem] = document
        if document.get("wiring", "async") == "async":
            designs[f"{path.stem}-short-poll"] = merged(document, SHORT_POLL)
    for name, (_oracle, fix) in FLAWS.items():
        designs[f"fixed-{name}"] = with_paths(yaml.safe_load((MODELS / "flawed" / f"{name}.yaml").read_text()), fix)
    for name, (base, extras) in MONEY_DESIGNS.items():
        document = yaml.safe_load((MODELS / f"{base}.yaml").read_text())
        for extra in extras:
            document = merged(document, extra)
        designs[name] = {**document, "name": name}
    return designs


def write_designs(folder: Path, designs: dict[str, dict]) -> dict[str, Path]:
    """Each design as ``folder/NAME.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, document in designs.items():
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        paths[name] = path
    return paths


def hunt(out: Path, seeds: list[int], strategy: str, budget: int, only: list[str] | None = None,
         echo=print) -> list[dict]:
    """Explore every hunted design (or those named in ``only``) at each seed; one dict per explore."""
    designs = hunted_designs()
    if only:
        designs = {name: designs[name] for name in only}
    paths = write_designs(out / "models", designs)
    (out / "found").mkdir(parents=True, exist_ok=True)
    lines = []
    with (out / "hunt.jsonl").open("a") as log:
        for seed in seeds:
            for name, path in paths.items():
                started = time.monotonic()
                result = explore(path, budget, seed=seed, strategy=strategy)
                line = {"design": name, "seed": seed, "strategy": strategy, "budget": budget, "runs": result.runs,
                        "found": bool(result.found), "seconds": round(time.monotonic() - started, 1)}
                if result.found:
                    found = out / "found" / f"{name}-{strategy}-{seed}.yaml"
                    write_counterexample(result, found)
                    line.update(oracle=result.oracle, counterexample=found.relative_to(out).as_posix())
                log.write(json.dumps(line) + "\n")
                log.flush()
                echo(f"{name:36} seed {seed:3} {strategy:8} {result.runs:5} runs {line['seconds']:6.1f} s  "
                     + (f"FOUND {result.oracle}: {line['counterexample']}" if result.found else "nothing"))
                lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hunt", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="6", help="comma-separated explore seeds (default 6)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="guided")
    parser.add_argument("--budget", type=int, default=200, help="plans per explore (default 200)")
    parser.add_argument("--only", default="", help="comma-separated design names (default: every design)")
    parser.add_argument("--list", action="store_true", help="list the designs and exit")
    parser.add_argument("--out", type=Path, default=Path("hunt"), help="where models, findings and hunt.jsonl go")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(hunted_designs()))
        return 0
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        print(f"bench.hunt: --seeds takes comma-separated integers, not {args.seeds!r}", file=sys.stderr)
        return 2
    if args.budget < 1:
        print("bench.hunt: --budget must be at least 1", file=sys.stderr)
        return 2
    only = [name for name in args.only.split(",") if name]
    unknown = sorted(set(only) - set(hunted_designs()))
    if unknown:
        print(f"bench.hunt: no design named {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    lines = hunt(args.out, seeds, args.strategy, args.budget, only)
    found = [line for line in lines if line["found"]]
    print(f"{len(lines)} explores, {len(found)} found something" + (f": see {args.out / 'found'}" if found else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
