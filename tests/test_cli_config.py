"""``paychaos validate / show / schema / graph``."""

from __future__ import annotations

import json

import pytest
import yaml

from helpers import ROOT, write_scenario
from sim.cli import main
from sim.config.json_schema import KINDS, file_name, json_schema_text
from sim.config.loader import load_scenario, resolved_config
from sim.runners.run import run_scenario

SCHEMA_DIR = ROOT / "schema"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_shipped_json_schema_is_in_sync_with_the_code(kind):
    shipped = (SCHEMA_DIR / file_name(kind)).read_text(encoding="utf-8")
    assert shipped == json_schema_text(kind), "run `paychaos schema` and commit schema/"


def test_schema_command_writes_both_files(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path)]) == 0
    for kind in KINDS:
        assert (tmp_path / file_name(kind)).read_text() == json_schema_text(kind)
    assert "sweep.schema.json" in capsys.readouterr().out
    assert main(["schema", "--print", "scenario"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("paychaos scenario")


def test_shipped_files_validate_against_the_json_schema_and_broken_ones_do_not():
    """What an editor with the YAML language server sees agrees with paychaos on these files."""
    jsonschema = pytest.importorskip("jsonschema")
    validators = {kind: jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / file_name(kind)).read_text()))
                  for kind in KINDS}
    files = sorted(ROOT.glob("scenarios/*.yaml")) + sorted(ROOT.glob("models/**/*.yaml"))
    for path in files:
        data = yaml.safe_load(path.read_text())
        kind = "scenario" if "model" in data else "model"
        errors = [e.message for e in validators[kind].iter_errors(data)]
        assert errors == [], path
    for name, kind in [("misspelt-key", "scenario"), ("unit-without-number", "scenario"),
                       ("unknown-fault-kind", "scenario"), ("bad-model", "model")]:
        data = yaml.safe_load((ROOT / "tests" / "broken" / f"{name}.yaml").read_text())
        assert list(validators[kind].iter_errors(data)), name


@pytest.mark.parametrize("path", sorted(ROOT.glob("scenarios/*.yaml")) + sorted(ROOT.glob("models/*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_files_name_their_schema_for_editors(path):
    kind = "scenario" if path.parent.name == "scenarios" else "model"
    assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema=../schema/{kind}.schema.json"


@pytest.mark.parametrize("path", sorted(ROOT.glob("scenarios/sweeps/*.yaml")), ids=lambda p: p.name)
def test_shipped_sweep_files_name_their_schema_and_validate_against_it(path):
    jsonschema = pytest.importorskip("jsonschema")
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../../schema/sweep.schema.json"
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / "sweep.schema.json").read_text()))
    assert [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))] == []
    assert list(validator.iter_errors({"name": "x", "scenario": "s.yaml", "paramters": {}})), "a misspelt key fails"


def test_validate_recognises_model_scenario_and_sweep_files(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = ["models/async-kafka.yaml", "scenarios/baseline.yaml", "scenarios/sweeps/retry-vs-psp-errors.yaml"]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert "model 'async-kafka'" in out and "scenario 'baseline'" in out
    assert "sweep 'retry-vs-psp-errors' on scenario 'baseline': 12 point(s) × 2 seed(s)" in out


def test_validate_reports_a_bad_sweep_as_a_sweep(tmp_path, capsys):
    bad = tmp_path / "sweep.yaml"
    bad.write_text("name: s\nscenario: missing.yaml\nparameters: {workload.rate: [1/s]}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "missing.yaml" in err and "unknown key 'scenario'" not in err


def test_show_prints_exactly_the_configuration_echoed_into_results(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="30s",
                          overrides={"executor.psp_timeout": "2s"}, variants={"sync": {"wiring": "sync"}},
                          workload={"rate": "2/s", "buyers": 20, "sellers": 5})
    assert main(["show", str(path), "--variant", "sync"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    loaded = load_scenario(path)
    result = run_scenario(loaded, variant="sync", explain=False)
    assert shown == result.data["config"] == resolved_config(loaded, "sync")
    assert shown["model"]["wiring"] == "sync" and shown["model"]["executor"]["psp_timeout"] == 2.0
    assert shown["model"]["psp"]["idempotency_ttl"] == 86400.0  # a default, filled in
    assert main(["show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["wiring"] == "async"


def test_show_of_a_model_and_a_bad_variant(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["show", "models/sync-http.yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["model"]["wiring"] == "sync"
    assert main(["show", "scenarios/baseline.yaml", "--variant", "nope"]) == 2
    assert "unknown variant 'nope'" in capsys.readouterr().err


def test_graph_command_writes_png_and_svg(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["graph", "models/async-kafka.yaml", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "g.png").is_file() and (tmp_path / "g.svg").is_file()
    assert "15 components and topics, 19 links (11 synchronous)" in out
    assert main(["graph", "scenarios/sync-vs-async-slow-psp.yaml", "--variant", "sync",
                 "--out", str(tmp_path / "s")]) == 0
    assert "payment executor ×3" in (tmp_path / "s.svg").read_text()


@pytest.mark.parametrize("command", ["validate", "show", "schema", "graph"])
def test_every_new_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "usage: paychaos " + command in capsys.readouterr().out
