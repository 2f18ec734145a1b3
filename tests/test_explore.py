"""``paychaos explore``, ``paychaos estimate`` and ``paychaos run --check-determinism``."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from helpers import MODELS, scenario, write_scenario

import sim.cli.run as run_cli
from sim.cli import main as cli_main
from sim.runners.estimate import wilson_interval
from sim.runners.explore import explore, write_counterexample
from sim.runners.run import run_scenario
from sim.runners.swarm import catalogue, fault_classes

FRESH_KEY = (MODELS / "flawed" / "fresh-key-per-attempt.yaml").as_posix()
SMALL = {"rate": "10/s", "buyers": 100, "sellers": 10, "max_checkouts": 40}


def test_every_fault_kind_of_the_catalogue_joins_exploration():
    kinds, skipped = catalogue()
    names = {k.kind for k in kinds} | set(skipped)
    assert names == {cls.model_fields["kind"].annotation.__args__[0] for cls in fault_classes()}
    breaches = {cls.model_fields["kind"].annotation.__args__[0] for cls in fault_classes() if cls.contract_breach}
    assert breaches == {"psp_key_expiry"}
    assert set(skipped) == breaches, skipped  # only kinds no design can survive stay out, with the reason
    assert all("no design can survive" in reason for reason in skipped.values())


def test_explore_is_deterministic_given_its_seed(tmp_path):
    documents = []
    for attempt in range(2):
        result = explore(FRESH_KEY, budget=100, seed=0, shrink_budget=30)
        assert result.found and result.oracle == "no_double_charge"
        out = tmp_path / f"ce{attempt}.yaml"
        write_counterexample(result, out)
        documents.append(out.read_text().replace(f"ce{attempt}.yaml", "ce.yaml"))
    assert documents[0] == documents[1]


def test_explore_reports_its_phases_and_stops_at_the_shrink_budget():
    seen = []
    result = explore(FRESH_KEY, budget=50, seed=5, shrink_budget=7, on_progress=seen.append)
    assert result.found and result.shrink_runs <= 7
    phases = [p.phase for p in seen]
    assert phases[0] == "explore" and "shrink" in phases
    assert phases.index("shrink") > 0 or seen[0].runs >= 1
    assert all(p.target == "no_double_charge" for p in seen if p.phase == "shrink")


def test_cli_explore_writes_a_counterexample_that_run_replays(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "found" / "counterexample.yaml"
    assert cli_main(["explore", FRESH_KEY, "--budget", "20", "--seed", "1", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "minimal: " in printed and "reproduces no_double_charge" in printed
    lines = printed.splitlines()  # piped: plain progress lines, no bar's last frame
    assert "exploring: 2 of 20 (10 %)" in lines and not any("━" in line for line in lines)
    assert any(line.startswith("exploring: no_double_charge broken after ") and line.endswith("; shrinking")
               for line in lines)
    document = yaml.safe_load(out.read_text())
    assert len(document.get("faults", [])) <= 2 and document["workload"]["max_checkouts"] <= 300  # small (no fault here)
    assert not document["model"].startswith("/")  # relative to the file, no machine path
    assert (out.parent / document["model"]).resolve() == (MODELS / "flawed" / "fresh-key-per-attempt.yaml").resolve()
    assert cli_main(["run", str(out), "--out", str(tmp_path / "replay")]) == 1
    results = json.loads((tmp_path / "replay" / "results.json").read_text())
    failed = [v["oracle"] for v in results["oracles"] if not v["passed"]]
    assert "no_double_charge" in failed


def test_cli_explore_exits_0_when_the_budget_runs_out_clean(tmp_path):
    out = tmp_path / "counterexample.yaml"
    assert cli_main(["explore", (MODELS / "async-kafka.yaml").as_posix(), "--budget", "8", "--out", str(out)]) == 0
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["explore", "models/does-not-exist.yaml"],
    ["explore", FRESH_KEY, "--budget", "0"],
    ["estimate", "scenarios/does-not-exist.yaml"],
])
def test_bad_input_exits_2_without_a_traceback(argv, capsys):
    assert cli_main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_consumer_restarting_within_its_session_timeout_gets_its_partitions_back(tmp_path):
    """Found by explore on the correct design: an executor instance crashed at 0 s and back at
    1 s (before its 10 s session timeout) kept its partitions but no workers: orders stuck."""
    crash = [{"kind": "consumer_crash", "target": "executor", "at": "0s", "for": "1s"}]
    result = run_scenario(scenario(tmp_path, "async-kafka.yaml", seed=0, duration="60s", drain="10m",
                                   workload={**SMALL, "rate": "5/s", "max_checkouts": 20}, faults=crash))
    assert result.data["summary"]["stuck"] == 0 and result.passed
    assert result.data["counters"]["kafka.rebalances"] >= 1


def test_check_determinism_passes_on_identical_runs_and_fails_otherwise(tmp_path, monkeypatch, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="10s", drain="2m", workload=SMALL)
    assert cli_main(["run", str(path), "--check-determinism", "--out", str(tmp_path / "a")]) == 0
    assert "identical digests" in capsys.readouterr().out

    real, calls = run_cli._run, []

    def drifting(*args, **kwargs):  # a second run that differs (e.g. a hidden wall-clock read)
        data = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            data["summary"]["orders"] += 1
        return data

    monkeypatch.setattr(run_cli, "_run", drifting)
    assert cli_main(["run", str(path), "--check-determinism", "--out", str(tmp_path / "b")]) == 1
    assert "DIFFERENT digests" in capsys.readouterr().out


def test_wilson_interval_matches_published_values():
    low, high = wilson_interval(0, 100)
    assert low == 0.0 and math.isclose(high, 1.959963984540054**2 / (100 + 1.959963984540054**2), rel_tol=1e-12)
    low, high = wilson_interval(5, 100)
    assert round(low, 4) == 0.0215 and round(high, 4) == 0.1118
    low, high = wilson_interval(50, 100)
    assert round(low, 4) == 0.4038 and round(high, 4) == 0.5962


def test_cli_estimate_per_million_with_confidence_interval(tmp_path, capsys):
    faults = [{"kind": "psp_reply_lost_after_commit", "at": "0s", "for": "20s", "probability": 0.5}]
    out_json = tmp_path / "estimate.json"
    flawed = write_scenario(tmp_path, "flawed/fresh-key-per-attempt.yaml", name="flawed", duration="20s",
                            drain="5m", workload=SMALL, faults=faults)
    assert cli_main(["estimate", str(flawed), "--replications", "3", "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    double = data["double_charge"]
    assert data["replications"] == 3 and double["events"] > 0 and double["runs_with_events"] >= 1
    assert math.isclose(double["per_million"], 1e6 * double["events"] / double["payments"], rel_tol=1e-6)
    low, high = double["ci95_per_million"]
    assert low < double["per_million"] < high
    assert "P(double charge) =" in capsys.readouterr().out

    correct = write_scenario(tmp_path, "async-kafka.yaml", name="correct", duration="20s", drain="5m",
                             workload=SMALL, faults=faults)
    assert cli_main(["estimate", str(correct), "--replications", "2", "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    assert data["double_charge"]["events"] == 0
    payments = data["double_charge"]["payments"]
    assert math.isclose(data["double_charge"]["ci95_per_million"][1], 1e6 * wilson_interval(0, payments)[1], rel_tol=1e-6)


def test_a_pending_payment_the_psp_drops_is_executed_again(tmp_path):
    """Found by explore on the correct design, with no fault at all: a PENDING charge whose bank
    authorisation errored was dropped by the PSP (no webhook; status NOT_FOUND) and stayed PENDING
    for ever. The executor now executes it again under the same key. Made certain here: every
    charge of the first 5 s is PENDING and the banks fail every authorisation for 20 s."""
    faults = [{"kind": "psp_pending_storm", "at": "0s", "for": "5s", "probability": 1.0},
              {"kind": "bank_errors", "at": "0s", "for": "20s", "probability": 1.0}]
    loaded = scenario(tmp_path, "async-kafka.yaml", seed=3, duration="10s", drain="1h", faults=faults,
                      workload={"rate": "5/s", "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"]})
    result = run_scenario(loaded)
    assert result.data["counters"]["executor.pending_forgotten"] >= 1
    assert result.data["summary"]["stuck"] == 0 and result.passed


def test_cli_explore_draws_bars_in_a_terminal():
    """In a terminal, explore's progress is two rich bars: the exploration, then the shrinking with
    what broke and the best plan so far."""
    import io

    from rich.console import Console

    from sim.cli.explore import _bars
    from sim.runners.explore import Progress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with _bars(console, 20, 40) as on_progress:
        on_progress(Progress("explore", 7, 0, None, None))
        on_progress(Progress("shrink", 9, 12, "no_double_charge", "psp_timeout(at 0s)"))
    shown = out.getvalue()
    assert "exploring" in shown and "9/20" in shown and "no_double_charge broken" in shown
    assert "shrinking" in shown and "12/40" in shown and "psp_timeout(at 0s)" in shown
