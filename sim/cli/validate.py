"""``paychaos validate FILE...``: check scenario and model files without running them."""

from __future__ import annotations

import argparse
import sys



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="check scenario and model files without running them",
        description="Check each file against the schema: YAML syntax, keys, types, units, ranges; for a "
        "scenario also its model file, overrides, every variant and the expected size; for every model its "
        "system graph. A file with a 'model:' key is a scenario, any other a model. Exit 2 if any file is bad.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario or model YAML files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from sim.config.loader import file_kind, load_model, load_scenario
    from sim.errors import PaychaosError

    bad = 0
    for path in args.files:
        try:
            if file_kind(path) == "scenario":
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
