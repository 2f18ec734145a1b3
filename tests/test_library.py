"""Every shipped model and scenario validates, and every scenario (and variant) runs, shortened.

Files are found by globbing, so models and scenarios added later are covered without editing this.
Shortening compresses time: duration → SHORT_S and every fault and spike time scaled alike, at a
small rate and population, so each fault still happens, in the same order, within the load phase.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ROOT
from sim.cli import main
from sim.config.loader import LoadedScenario, file_kind, load_scenario
from sim.runners.run import run_scenario

MODEL_FILES = sorted(ROOT.glob("models/**/*.yaml"))
SWEEP_FILES = sorted(ROOT.glob("scenarios/sweeps/*.yaml"))
"""Sweep files (a grid over a scenario), checked by tests/test_sweep_config.py, not scenarios."""
SCENARIO_FILES = sorted(set(ROOT.glob("scenarios/**/*.yaml")) - set(SWEEP_FILES))
SHORT_S, DRAIN_S, MAX_RATE_PER_S = 120.0, 240.0, 4.0
SAFETY_ORACLES = ("no_double_charge", "ledger_balanced", "wallet_equals_ledger")


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_the_library_has_the_reference_models_and_enough_scenarios():
    names = {p.stem for p in MODEL_FILES}
    assert {"async-kafka", "sync-http"} <= names
    assert len(SCENARIO_FILES) >= 10


@pytest.mark.parametrize("path", MODEL_FILES + SCENARIO_FILES, ids=_ids(MODEL_FILES + SCENARIO_FILES))
def test_every_shipped_file_validates(path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    relative = path.relative_to(ROOT).as_posix()
    assert main(["validate", relative]) == 0, capsys.readouterr().err
    expected_kind = "scenario" if "scenarios" in path.parts else "model"
    assert file_kind(path) == expected_kind


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=_ids(SCENARIO_FILES))
def test_every_scenario_says_what_an_architect_learns(path):
    comments = " ".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert "learn" in comments.lower(), "say in a comment what an architect learns from this scenario"


def shortened(loaded: LoadedScenario) -> LoadedScenario:
    """The scenario compressed to SHORT_S of load, with its faults and spikes scaled alike."""
    scenario = loaded.scenario
    k = min(1.0, SHORT_S / scenario.duration_s)

    def scaled(item, names):
        return item.model_copy(update={n: getattr(item, n) * k for n in names if getattr(item, n, None) is not None})

    workload = scenario.workload
    workload = workload.model_copy(update={
        "rate_per_s": min(workload.rate_per_s, MAX_RATE_PER_S), "buyers": min(workload.buyers, 300),
        "sellers": min(workload.sellers, 30), "max_checkouts": None,
        "spikes": [scaled(s, ("at_s", "for_s")) for s in workload.spikes],
    })
    faults = [scaled(f, ("at_s", "for_s", "every_s", "mtbf_s", "mttr_s")) for f in scenario.faults]
    load_s = scenario.duration_s * k
    drain_s = max([DRAIN_S] + [f.at_s - load_s + 60.0 for f in faults])  # operator steps scheduled in the drain
    short = scenario.model_copy(update={"duration_s": load_s, "drain_s": drain_s,
                                        "workload": workload, "faults": faults, "trace": False})
    return LoadedScenario(short, loaded.model, loaded.scenario_path, loaded.model_path, loaded.model_data)


KNOWN_BUGS: dict[str, str] = {}
"""Model bugs these runs found, outside this test's scope; strict, so a fix makes the test pass loudly."""

DEMONSTRATES_FAILURE = {
    "key-expiry-race:base": "no_double_charge",
    "dual-psp-outage:unsafe_fallback": "no_double_charge",
    "refund-storm:base": "no_double_charge",
}
"""Scenarios (or variants) that exist to show a design or a PSP failing: the named oracle must fail."""

RUNS = [
    pytest.param(p, v, id=f"{p.stem}:{v or 'base'}",
                 marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[f"{p.stem}:{v or 'base'}"])]
                 if f"{p.stem}:{v or 'base'}" in KNOWN_BUGS else [])
    for p in SCENARIO_FILES for v in [None, *load_scenario(p).scenario.variants]
]


@pytest.mark.parametrize("path, variant", RUNS)
def test_every_scenario_and_variant_runs_shortened(path, variant):
    loaded = shortened(load_scenario(path))
    result = run_scenario(loaded, variant=variant, explain=False)
    data = result.data
    everything_held = (all(v["passed"] for v in data["oracles"]) and all(e["held"] for e in data["expectations"])
                       and all(c["held"] for c in data["coverage"]["required"]))
    assert data["verdict"] == ("pass" if everything_held else "fail"), "the verdict must sum up the checks it reports"
    assert data["summary"]["orders"] > 0
    assert {v["oracle"] for v in data["oracles"]} >= set(SAFETY_ORACLES)
    scheduled = [i for i, f in enumerate(loaded.scenario.faults) if f.mtbf_s is None]
    assert {w["fault"] for w in data["fault_windows"]} >= set(scheduled), "every scheduled fault must happen"
    held = {v["oracle"]: v["passed"] for v in data["oracles"]}
    expected_failure = DEMONSTRATES_FAILURE.get(f"{path.stem}:{variant or 'base'}")
    if expected_failure:
        assert not held[expected_failure], f"this scenario exists to show {expected_failure} failing"
        assert data["verdict"] == "fail"
    elif "flawed" not in Path(loaded.model_path).parts:
        assert all(held[name] for name in SAFETY_ORACLES), held
