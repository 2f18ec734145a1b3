"""JSON Schemas of scenario and model files, generated from the one pydantic schema.

Shipped in ``schema/`` so editors with a YAML language server complete and check files; a file
opts in with a first line such as ``# yaml-language-server: $schema=../schema/scenario.schema.json``.
A test keeps the shipped files equal to what this module generates.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.config.sweep import SweepSpec

KINDS: dict[str, type[BaseModel]] = {"scenario": Scenario, "model": SystemModel, "sweep": SweepSpec}
TITLES = {"scenario": "paychaos scenario file (scenarios/*.yaml)", "model": "paychaos model file (models/*.yaml)",
          "sweep": "paychaos sweep file (scenarios/sweeps/*.yaml)"}


def file_name(kind: str) -> str:
    return f"{kind}.schema.json"


def json_schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of a ``kind`` file: ``scenario``, ``model`` or ``sweep``."""
    schema = KINDS[kind].model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": TITLES[kind]}


def json_schema_text(kind: str) -> str:
    """The schema as the text of the shipped file (stable, ends with a newline)."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"
