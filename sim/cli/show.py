"""``paychaos show FILE``: print the resolved configuration, every default filled in."""

from __future__ import annotations

import argparse
import json



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show", help="print a scenario's or model's resolved configuration",
        description="Print the configuration a run would use, with the model's overrides (and a variant's) "
        "applied and every default filled in: the same 'config' that is echoed into results.json.",
    )
    parser.add_argument("file", help="scenario or model YAML file")
    parser.add_argument("--variant", default=None, help="apply one of the scenario's variants")
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    parser.set_defaults(handler=main)


UNITS_NOTE = ("# resolved values in base units: durations in seconds (duration: 1800.0 is 30 min), "
              "rates per second, amounts in integer minor units")
"""The first line of ``show``'s YAML: the values carry no units, so say which."""


def main(args: argparse.Namespace) -> int:
    from sim.config.loader import file_kind, load_model, load_scenario, resolved_config
    from sim.config.yaml_writer import yaml_text
    from sim.errors import ConfigError

    if file_kind(args.file) == "scenario":
        config = resolved_config(load_scenario(args.file), args.variant)
    elif args.variant:
        raise ConfigError("--variant applies to scenario files; this is a model file", file=args.file)
    else:
        config = {"model": load_model(args.file).model_dump(mode="json", by_alias=True)}
    if args.json:
        print(json.dumps(config, indent=2))
    else:
        print(UNITS_NOTE)
        print(yaml_text(config, width=100), end="")
    return 0
