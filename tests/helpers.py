"""Shared test helpers: write small scenarios next to the repository's models and run them."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from sim.config.loader import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
"""The depth of this test run (tests/conftest.py loads it as the Hypothesis profile): ``ci`` modest,
``dev`` (a developer's ``make test``) deeper, ``deep`` deepest."""
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


def money_taken_twice(tmp_path: Path) -> LoadedScenario:
    """Two minutes of a design without a stable idempotency key (money is taken twice when the
    PSP's replies are lost after it committed), with refunds, disputes and payouts, in EUR and USD:
    every money flow has some of each currency."""
    return scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="10m", seed=3,
                    overrides={"refunds.probability": 0.5, "refunds.delay": "10s",
                               "chargebacks.probability": 0.2, "chargebacks.delay": "20s",
                               "executor.idempotency_key": "fresh_per_attempt",
                               "executor.status_query_after_timeout": False,
                               "payouts": {"enabled": True, "interval": "1m", "first_run": "1m", "lag": "0s"}},
                    workload={"rate": "5/s", "currencies": ["EUR", "USD"]},
                    faults=[{"kind": "psp_reply_lost_after_commit", "at": "30s", "for": "30s", "probability": 0.5}])


def verdict(result, oracle: str) -> dict:
    return next(v for v in result.data["oracles"] if v["oracle"] == oracle)


def pure(module: str):
    """The pure Python ``module`` (a fresh copy from its source, under a private name), whatever
    sim.native serves: a test that replaces a method on an instance needs a class written in Python
    (a compiled class's attributes are fixed). Its own imports are the usual modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_pure_{module.replace('.', '_')}",
                                                  ROOT / (module.replace(".", "/") + ".py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded
