"""Mutated documents never produce a traceback: either a valid run or the one clear error.

Hypothesis draws a valid document (a tiny scenario, or a tiny scenario plus its model file) and
1-3 mutations before anything runs: drop a key, change a value's type or size (huge and tiny
numbers and durations), insert a junk key, share one value in two places (written as an anchor and
an alias, sometimes one inside the other: a cycle) or wrap a value in deep nesting. Loading must
either succeed or raise ConfigError; a document that loads and is small is also run.
"""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given, strategies as st

from helpers import MODELS, SCENARIOS
from sim.config.loader import load_scenario
from sim.errors import ConfigError
from sim.runners.run import simulate

TINY = {"duration": "3s", "drain": "5s", "replications": 1}
TINY_WORKLOAD = {"rate": "3/s", "buyers": 20, "sellers": 4}


def _base_scenarios() -> list[dict]:
    documents = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        data.update(TINY)
        data["workload"] = {**(data.get("workload") or {}), **TINY_WORKLOAD}
        data["workload"].pop("daily_shape", None)
        data["faults"] = [{**f, "at": "1s", "for": "1s"} | ({"every": "2s"} if "every" in f else {})
                          for f in data.get("faults", [])]
        documents.append(data)
    return documents


BASE_SCENARIOS = _base_scenarios()
BASE_MODELS = [yaml.safe_load(p.read_text()) for p in sorted(MODELS.glob("*.yaml"))]

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["5ms", "-1s", "ms", "10/s", "1e999h", ">= 0.5", "fixed", "psp_outage"]),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, 1e-300, 5e-324, 1e308, "1us", "1e-9s", "1e300h", "1e308/s",
                     "0/s", "0s", "1" + "0" * 400, 0, 10**9]),
)


def _paths(value, prefix=()):
    """Every (path) to a value inside a nested document, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _mutate(document, path, op, payload):
    if not path:
        return payload if op == "replace" else document
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "drop":
        del parent[last]
    elif op == "replace":
        parent[last] = payload
    elif op == "insert" and isinstance(parent[last], dict):
        parent[last][f"junk_{abs(hash(str(payload))) % 97}"] = payload
    elif op == "nest":
        value = parent[last]
        for level in range(payload):
            value = [value] if level % 2 else {"k": value}
        parent[last] = value
    elif op == "alias":  # payload: another path; the same object in both places (safe_dump writes &id/*id)
        source = document
        for part in payload:
            source = source[part]
        parent[last] = source
    return document


@st.composite
def mutated(draw, bases):
    import copy

    document = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(document, dict):
            break
        paths = list(_paths(document))
        path = paths[draw(st.integers(0, len(paths) - 1))]
        op = draw(st.sampled_from(["drop", "replace", "insert", "nest", "alias"]))
        if op == "nest":
            payload = draw(st.one_of(st.integers(1, 5), st.integers(60, 200)))
        elif op == "alias":
            payload = paths[draw(st.integers(0, len(paths) - 1))]  # an ancestor of path makes a cycle
        else:
            payload = draw(junk)
        document = _mutate(document, path, op, payload)
        if op == "alias":
            break  # the document may now contain itself: no more walking over it
    return document


def _timeout(signum, frame):
    raise TimeoutError("a tiny run took too long")


def _load_and_maybe_run(scenario_doc, model_doc=None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if model_doc is not None:
            (folder / "model.yaml").write_text(yaml.safe_dump(model_doc))
            if isinstance(scenario_doc, dict):
                scenario_doc = {**scenario_doc, "model": "model.yaml"}
        elif isinstance(scenario_doc, dict) and isinstance(scenario_doc.get("model"), str):
            scenario_doc = {**scenario_doc, "model": str(MODELS / Path(scenario_doc["model"]).name)}
        path = folder / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario_doc, allow_unicode=True))
        try:
            loaded = load_scenario(path)
        except ConfigError as error:
            text = str(error)
            assert text.startswith(str(path)) or text.startswith(str(folder / "model.yaml")) or "model" in text
            assert "\n" not in text
            return
        scenario = loaded.scenario
        if scenario.duration_s + scenario.drain_s > 60 or scenario.workload.expected_checkouts(scenario.duration_s) > 300:
            return  # valid but not tiny: loading was the property under test
        previous = signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(30)
        try:
            simulate(loaded)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


@given(mutated(BASE_SCENARIOS))
@example({"\n": 0})  # found by Hypothesis: a key holding a newline broke the one-line error
def test_a_mutated_scenario_runs_or_gives_the_clear_error(document):
    _load_and_maybe_run(document)


@given(st.sampled_from(BASE_SCENARIOS), mutated(BASE_MODELS))
def test_a_mutated_model_runs_or_gives_the_clear_error(scenario_doc, model_doc):
    _load_and_maybe_run(scenario_doc, model_doc)


def test_the_unmutated_tiny_documents_are_valid_and_run():
    """The property above must not pass vacuously: the starting documents themselves run."""
    for document in BASE_SCENARIOS:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "s.yaml"
            path.write_text(yaml.safe_dump({**document, "model": str(MODELS / Path(document["model"]).name)}))
            world, verdicts, _ = simulate(load_scenario(path))
            assert verdicts and world.env.now == 8.0
