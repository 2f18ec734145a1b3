"""``paychaos schema``: write the JSON Schemas of scenario, model and sweep files (for editors)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.reports.output import write_text_atomic

KINDS = ("scenario", "model", "sweep")  # sim.config.json_schema.KINDS without importing it (a test checks they agree)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema", help="write the JSON Schemas of scenario, model and sweep files",
        description="Write schema/scenario.schema.json, schema/model.schema.json and schema/sweep.schema.json, "
        "generated from the one schema paychaos validates with. Editors with a YAML language server complete and "
        "check a file whose first line is '# yaml-language-server: $schema=../schema/scenario.schema.json' "
        "(or model.schema.json, or ../../schema/sweep.schema.json from scenarios/sweeps/).",
    )
    parser.add_argument("--out", type=Path, default=Path("schema"), help="folder to write into (default: schema)")
    parser.add_argument("--print", dest="print_kind", choices=sorted(KINDS), default=None,
                        help="print one schema to standard output instead of writing files")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from sim.config.json_schema import file_name, json_schema_text

    if args.print_kind:
        sys.stdout.write(json_schema_text(args.print_kind))
        return 0
    for kind in KINDS:
        path = args.out / file_name(kind)
        write_text_atomic(path, json_schema_text(kind))
        print(f"wrote {path.as_posix()}")
    return 0
