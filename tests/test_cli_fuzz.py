"""Fuzzing ``paychaos validate``: no input may hang, print a traceback or exit other than 0 or 2.

Hypothesis writes YAML text (not only what ``yaml.safe_dump`` would write): scenarios built from the
schema's own keys with huge, tiny and wrongly typed values, duplicate keys, tags, anchors and
aliases nested to a random fan-out and depth, brackets nested deeply and unbalanced, and plain
junk. Each input gets a wall-clock budget (SIGALRM) and runs in-process through the CLI's ``main``.
Slow-marked: the ``ci`` profile draws a modest number of examples, ``HYPOTHESIS_PROFILE=deep``
many more.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, strategies as st

from helpers import MODELS
from sim.cli import main

pytestmark = pytest.mark.slow

PER_INPUT_S = 20
MODEL_PATHS = [str(p) for p in sorted(MODELS.glob("*.yaml"))]

KEYS = ["name", "model", "seed", "duration", "drain", "replications", "workload", "faults", "variants", "expect",
        "coverage", "bin", "overrides", "trace", "rate", "spikes", "daily_shape", "max_checkouts", "buyers",
        "sellers", "kind", "at", "for", "every", "mtbf", "mttr", "ramp", "probability", "target", "executor",
        "instances", "psp", "latency", "dist", "csv", "median", "p99", "psp_timeout", "retry", "strategy"]
FAULT_KINDS = ["psp_outage", "psp_errors", "psp_reply_lost_after_commit", "consumer_crash", "dlq_replay",
               "psp_latency", "psp_rate_limit", "broker_outage"]

numbers = st.one_of(
    st.integers(-(10**30), 10**30), st.sampled_from([0, 1, -1, 2**63, 2**64, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e-300, 5e-324, 1e308, -0.0]),
)
units = st.sampled_from(["us", "ms", "s", "m", "h", "d", "/s", "/m", "/h", "", "x"])
with_unit = st.builds(lambda n, u: f"{n}{u}", numbers, units)
scalars = st.one_of(
    numbers, with_unit, st.booleans(), st.none(), st.text(max_size=20),
    st.sampled_from(FAULT_KINDS + [">= 0.5", "< 1", "== 0", "fixed", "none", "exponential", "async", "sync"]),
)


def _json(value) -> str:
    """A YAML flow scalar (JSON is YAML); floats and ints too large for JSON as plain YAML text."""
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "-.inf" if value < 0 else ".inf"
    return json.dumps(value)


values = st.recursive(
    scalars.map(_json),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"),
    ),
    max_leaves=12,
)
fault = st.builds(lambda kind, pairs: "{kind: %s%s}" % (kind, "".join(f", {k}: {v}" for k, v in pairs)),
                  st.sampled_from(FAULT_KINDS), st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=4))


@st.composite
def scenarios(draw) -> str:
    """A scenario on a real model with random keys and values (duplicates allowed)."""
    lines = ["name: fuzz", f"model: {_json(draw(st.sampled_from(MODEL_PATHS)))}"]
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(KEYS))
        value = draw(values) if key != "faults" else "[" + ", ".join(draw(st.lists(fault, max_size=3))) + "]"
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


@st.composite
def alias_bombs(draw) -> str:
    """Anchors whose lists repeat the previous anchor ``fan_out`` times, ``levels`` deep."""
    fan_out, levels = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = ["name: bomb", f"model: {_json(MODEL_PATHS[0])}", "a0: &a0 [x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan_out) + "]" for i in range(1, levels + 1)]
    lines.append(f"workload: {{rate: *a{levels}}}")
    return "\n".join(lines) + "\n"


@st.composite
def nestings(draw) -> str:
    """Deep (possibly unbalanced) nesting of flow lists, flow mappings or block mappings."""
    depth = draw(st.integers(1, 30_000))
    shape = draw(st.sampled_from(["list", "map", "block", "unbalanced"]))
    if shape == "list":
        body = "[" * depth + "]" * depth
    elif shape == "map":
        body = "{a: " * depth + "1" + "}" * depth
    elif shape == "block":
        depth = min(depth, 2000)
        body = "\n" + "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "1"
    else:
        body = "[" * depth + "]" * draw(st.integers(0, depth))
    return f"name: deep\nmodel: {_json(MODEL_PATHS[0])}\nworkload: {body}\n"


tags = st.sampled_from(["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!custom 1",
                        "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [{a: 1}]", "!!timestamp 2001-12-14", "!!float x"])
tagged = st.builds(lambda key, tag: f"name: tagged\nmodel: {_json(MODEL_PATHS[0])}\n{key}: {tag}\n",
                   st.sampled_from(KEYS), tags)
documents = st.one_of(scenarios(), alias_bombs(), nestings(), tagged, st.text(max_size=300),
                      st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


def _timeout(signum, frame):
    raise TimeoutError(f"paychaos validate took more than {PER_INPUT_S} s on one input")


def _validate(text: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        out, err = io.StringIO(), io.StringIO()
        previous = signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(PER_INPUT_S)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["validate", str(path)])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue() + err.getvalue()


@given(documents)
@example("name: x\nmodel: m.yaml\nduration: 1" + "0" * 400 + "\n")  # an int too large for a float
@example("name: x\nmodel: m.yaml\nseed: 1\nseed: 2\n")
def test_validate_never_hangs_crashes_or_exits_other_than_0_or_2(text):
    code, output = _validate(text)
    assert code in (0, 2), output
    assert "Traceback" not in output
    if code == 2:
        assert output.startswith("paychaos: "), output


def test_the_generators_reach_valid_files_and_every_kind_of_refusal():
    """The property above is not vacuous: among drawn inputs some validate, and the limits bite."""
    ok = _validate(f"name: fuzz\nmodel: {_json(MODEL_PATHS[0])}\nduration: 1m\n")
    assert ok[0] == 0, ok[1]
    bomb = "a0: &a0 [x, x]\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 12)}]\n" for i in range(1, 12))
    for text, says in [(bomb, "aliases expand"), ("name: deep\nworkload: " + "[" * 30_000, "nested more than"),
                       ("name: t\nseed: !!python/name:os.system\n", "unsupported tag")]:
        code, output = _validate(text)
        assert code == 2 and says in output, output
