"""Shared test helpers: write small scenarios next to the repository's models and run them."""

from __future__ import annotations

from pathlib import Path

import yaml

from sim.config.loader import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SCENARIOS = ROOT / "scenarios"


def write_scenario(tmp_path: Path, model: str, **fields) -> Path:
    """A scenario file in ``tmp_path`` playing against ``models/<model>`` (absolute path)."""
    document = {"name": fields.pop("name", "test"), "model": str(MODELS / model)}
    document.update(fields)
    path = tmp_path / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def scenario(tmp_path: Path, model: str, **fields) -> LoadedScenario:
    return load_scenario(write_scenario(tmp_path, model, **fields))


def verdict(result, oracle: str) -> dict:
    return next(v for v in result.data["oracles"] if v["oracle"] == oracle)
