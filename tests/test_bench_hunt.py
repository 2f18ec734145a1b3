"""``python -m bench.hunt``: the designs it hunts are valid models, a hunt of correct designs says
nothing found (exit 0), and a design that still has its flaw is reported with a counterexample that
replays (exit 1)."""

from __future__ import annotations

import json

import bench.hunt as hunt_module
from bench.flaws import FLAWS
from sim.config.loader import load_scenario
from sim.runners.explore import load_model_file
from sim.runners.run import run_scenario


def test_every_hunted_design_is_a_valid_model(tmp_path):
    designs = hunt_module.hunted_designs()
    assert {f"fixed-{name}" for name in FLAWS} <= set(designs) and "dual-money-usd" in designs
    assert "async-kafka-short-poll" in designs and "sync-http-short-poll" not in designs  # sync: no consumer stall
    for path in hunt_module.write_designs(tmp_path, designs).values():
        load_model_file(path)  # raises on an invalid model


def test_a_hunt_of_a_correct_design_finds_nothing(tmp_path, capsys):
    out = tmp_path / "hunt"
    assert hunt_module.main(["--seeds", "0", "--budget", "3", "--only", "async-kafka", "--out", str(out)]) == 0
    (line,) = [json.loads(x) for x in (out / "hunt.jsonl").read_text().splitlines()]
    assert line["design"] == "async-kafka" and line["runs"] == 3 and not line["found"]
    assert "1 explores, 0 found something" in capsys.readouterr().out


def test_a_design_that_keeps_its_flaw_is_reported_with_a_counterexample(tmp_path, monkeypatch):
    monkeypatch.setitem(hunt_module.FLAWS, "fresh-key-per-attempt", ("no_double_charge", {}))  # "fixed" by nothing
    out = tmp_path / "hunt"
    assert hunt_module.main(["--seeds", "0", "--budget", "200", "--only", "fixed-fresh-key-per-attempt",
                             "--out", str(out)]) == 1
    (line,) = [json.loads(x) for x in (out / "hunt.jsonl").read_text().splitlines()]
    assert line["found"] and line["oracle"] == "no_double_charge"
    replay = run_scenario(load_scenario(out / line["counterexample"]), explain=False)
    assert "no_double_charge" in [v["oracle"] for v in replay.data["oracles"] if not v["passed"]]


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert hunt_module.main(["--seeds", "six", "--out", str(tmp_path)]) == 2
    assert "comma-separated integers" in capsys.readouterr().err
    assert hunt_module.main(["--only", "async-kafka,no-such-design", "--out", str(tmp_path)]) == 2
    assert "no design named no-such-design" in capsys.readouterr().err
    assert not (tmp_path / "hunt.jsonl").exists()  # nothing run, nothing written
