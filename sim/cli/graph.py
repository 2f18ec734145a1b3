"""``paychaos graph MODEL``: draw the system graph of a model (or a scenario's resolved model)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sim.reports.output import REPORTS_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph", help="draw a model's system graph (PNG and SVG)",
        description="Build the system graph of a model (components, topics, consumer groups, PSP, scheme, "
        "banks), check it (the checkout reaches the bank, every topic has a producer and a consumer group, no "
        "synchronous cycle) and draw it: solid arrows are synchronous calls, dashed ones asynchronous, boxes "
        "show instance counts. A scenario file draws its model with overrides (and --variant) applied.",
    )
    parser.add_argument("file", help="model (or scenario) YAML file, e.g. models/async-kafka.yaml")
    parser.add_argument("--variant", default=None, help="for a scenario: draw this variant's model")
    parser.add_argument("--out", type=Path, default=None,
                        help="output path without suffix (default: reports/graph/<model name>)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from sim.config.loader import file_kind, load_model, load_scenario, variant_model
    from sim.graph import build_graph
    from sim.reports.system_graph import draw  # networkx and matplotlib only when drawing

    if file_kind(args.file) == "scenario":
        model = variant_model(load_scenario(args.file), args.variant)
    else:
        model = load_model(args.file)
    g = build_graph(model)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model.name).strip("-") or "model"
    out = args.out or REPORTS_DIR / "graph" / (slug + (f"--{args.variant}" if args.variant else ""))
    for path in draw(g, out):
        print(f"wrote {path.as_posix()}")
    print(f"{g.number_of_nodes()} components and topics, {g.number_of_edges()} links "
          f"({sum(1 for *_, m in g.edges(data='mode') if m == 'sync')} synchronous)")
    return 0
