"""``paychaos validate FILE...``: check model, scenario and sweep files without running them."""

from __future__ import annotations

import argparse
import sys



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="check model, scenario and sweep files without running them",
        description="Check each file against the schema: YAML syntax, keys, types, units, ranges; for a "
        "scenario also its model file, overrides, every variant and the expected size; for every model its "
        "system graph; for a sweep its scenario, key paths and every point. A file with a 'scenario:' key is a "
        "sweep, one with a 'model:' key a scenario, any other a model. Exit 2 if any file is bad.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="model, scenario or sweep YAML files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from sim.config.loader import load_model, load_scenario
    from sim.errors import PaychaosError

    bad = 0
    for path in args.files:
        try:
            kind = kind_of(path)
            if kind == "sweep":
                from sim.config.sweep import load_sweep

                sweep = load_sweep(path)
                what = (f"sweep {sweep.spec.name!r} on scenario {sweep.base.scenario.name!r}: "
                        f"{len(sweep.points)} point(s) × {len(sweep.seeds)} seed(s)")
            elif kind == "scenario":
                loaded = load_scenario(path)
                what = f"scenario {loaded.scenario.name!r} on model {loaded.model.name!r}"
                if loaded.scenario.variants:
                    what += f", variants: {', '.join(loaded.scenario.variants)}"
            else:
                what = f"model {load_model(path).name!r}"
        except PaychaosError as exc:
            bad += 1
            print(f"paychaos: {exc}", file=sys.stderr)
            continue
        if not args.quiet:
            print(f"ok  {path}: {what}")
    if bad:
        print(f"{bad} of {len(args.files)} files are not valid", file=sys.stderr)
        return 2
    return 0


def kind_of(path: str) -> str:
    """``"sweep"`` (a ``scenario:`` key), ``"scenario"`` (a ``model:`` key) or ``"model"``."""
    from sim.config.loader import file_kind, read_yaml

    data = read_yaml(path).data
    if isinstance(data, dict) and "scenario" in data:
        return "sweep"
    return file_kind(path)
