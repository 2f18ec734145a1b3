"""Inputs that could hang, exhaust memory or crash the reader are refused quickly, with file and line.

The small cases live in ``tests/broken/`` (checked by ``test_config_errors.py``); these are the
ones that must be generated (20,000 brackets, a 40 MB file, devices, binary files) or need a
sweep around them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from helpers import MODELS, write_scenario
from sim.cli import main
from sim.config import distributions, yaml_reader
from sim.config.loader import load_scenario
from sim.config.sweep import MAX_RUNS, load_sweep
from sim.errors import ConfigError


def _validate(capsys, path: Path) -> str:
    """Run ``paychaos validate``; it must exit 2 without a traceback; the error paragraph."""
    started = time.monotonic()
    assert main(["validate", str(path)]) == 2
    assert time.monotonic() - started < 10, "refusing a bad input must be quick"
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[0]


def test_twenty_thousand_nested_brackets_give_a_clear_error_not_a_recursion_error(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    path.write_text(f"name: deep\nmodel: {MODELS / 'async-kafka.yaml'}\nworkload: " + "[" * 20_000 + "]" * 20_000)
    line = _validate(capsys, path)
    assert f"{path}:3:" in line and f"nested more than {yaml_reader.MAX_DEPTH} levels deep" in line


def test_an_alias_bomb_of_a_billion_values_fails_fast(tmp_path, capsys):
    lines = ["name: laughs", f"model: {MODELS / 'async-kafka.yaml'}", "a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "the aliases expand to more than" in _validate(capsys, path)


def test_many_aliases_are_refused_even_when_each_is_small(tmp_path, capsys):
    path = tmp_path / "aliases.yaml"
    items = ", ".join(["*x"] * (yaml_reader.MAX_ALIASES + 1))
    path.write_text(f"name: a\nmodel: {MODELS / 'async-kafka.yaml'}\nx: &x 1\ny: [{items}]\n")
    assert f"more than {yaml_reader.MAX_ALIASES} aliases" in _validate(capsys, path)


def test_a_40_megabyte_file_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"name: huge\n")
        handle.truncate(40_000_000)
    line = _validate(capsys, path)
    assert f"40000000 bytes, more than the limit of {yaml_reader.MAX_YAML_BYTES} bytes" in line


def test_thousands_of_spikes_faults_or_variants_are_refused_before_they_are_expanded(tmp_path, capsys):
    """20,000 spikes fit in the size limit's worth of flow YAML; every rate change scans every spike."""
    many = {
        "workload": "{rate: 1/s, spikes: [" + ", ".join(f"{{at: {i}s, for: 0.5s, multiplier: 2}}" for i in range(1001)) + "]}",
        "faults": "[" + ", ".join(f"{{kind: psp_outage, at: {i}s, for: 0.5s}}" for i in range(1001)) + "]",
        "variants": "{" + ", ".join(f"v{i}: {{}}" for i in range(201)) + "}",
    }
    for key, value in many.items():
        path = tmp_path / f"{key}.yaml"
        path.write_text(f"name: many\nmodel: {MODELS / 'async-kafka.yaml'}\nduration: 1h\n{key}: {value}\n")
        assert "should have at most" in _validate(capsys, path)


def test_a_folder_given_as_a_file_is_not_a_regular_file(tmp_path, capsys):
    assert "is a folder, not a regular file" in _validate(capsys, tmp_path)


def test_a_model_that_is_a_character_device_is_named_at_the_scenario_line(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nduration: 1m\nmodel: /dev/zero\n")
    line = _validate(capsys, path)
    assert line.startswith(f"paychaos: {path}:3:8: model: model file '/dev/zero' is a device, pipe or socket, "
                           "not a regular file"), line


def test_a_model_that_is_a_binary_file_is_named_at_the_scenario_line(tmp_path, capsys):
    (tmp_path / "model.yaml").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nmodel: model.yaml\n")
    line = _validate(capsys, path)
    assert line.startswith(f"paychaos: {path}:2:8: model: model file 'model.yaml' is not UTF-8 text"), line


def _model_with_csv(tmp_path: Path, csv: str) -> Path:
    model = yaml.safe_load((MODELS / "async-kafka.yaml").read_text())
    model["psp"]["latency"] = {"dist": "empirical", "csv": csv}
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(model))
    return path


def test_an_empirical_csv_that_is_an_endless_stream_is_refused_without_reading_it(tmp_path, capsys):
    line = _validate(capsys, _model_with_csv(tmp_path, "/dev/zero"))
    assert "psp.latency" in line and "CSV file '/dev/zero' is a device, pipe or socket, not a regular file" in line


def test_an_empirical_csv_over_the_size_limit_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "big.csv").write_text("120\n" * 1000)
    monkeypatch.setattr(distributions, "MAX_CSV_BYTES", 1000)
    line = _validate(capsys, _model_with_csv(tmp_path, "big.csv"))
    assert "CSV file 'big.csv' is 4000 bytes, more than the limit of 1000 bytes" in line


def _sweep(tmp_path: Path, scenario: str = "base.yaml", **fields) -> Path:
    path = tmp_path / "sweep.yaml"
    document = {"name": "s", "scenario": scenario, "parameters": {"workload.rate": ["1/s", "2/s"]}, **fields}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_sweep_whose_scenario_names_a_missing_model_points_at_the_sweep_line(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nmodel: no-such-model.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_sweep(_sweep(tmp_path))
    error = info.value
    assert error.file == str(tmp_path / "sweep.yaml") and error.line == 2 and error.key == "scenario"
    assert "scenario file 'base.yaml' is not valid" in error.message
    assert "model file 'no-such-model.yaml' not found" in error.message


def test_a_sweep_of_too_many_runs_is_refused_with_the_formula_before_any_point_is_drawn(tmp_path):
    write_scenario(tmp_path, "async-kafka.yaml", name="base", duration="1m")
    path = _sweep(tmp_path, sample="random", samples=100_000, replications=10_000,
                  parameters={"workload.rate": {"low": "1/s", "high": "5/s"}})
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert time.monotonic() - started < 5
    assert f"100000 points × 10000 replications = 1000000000 runs, more than {MAX_RUNS}" in info.value.message
    assert info.value.line == _line_of(path, "replications:") and info.value.key == "replications"


def test_an_unknown_kpi_in_a_sweep_gets_a_did_you_mean_at_its_line(tmp_path):
    write_scenario(tmp_path, "async-kafka.yaml", name="base", duration="1m")
    path = _sweep(tmp_path, kpis=["success_rate", "sucess_rate"])
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert "unknown KPI 'sucess_rate'; did you mean 'success_rate'?" in info.value.message
    assert info.value.line == _line_of(path, "- sucess_rate") and info.value.key == "kpis[1]"


def test_an_unknown_variant_gets_a_did_you_mean_in_a_sweep_and_on_the_command_line(tmp_path, capsys):
    write_scenario(tmp_path, "async-kafka.yaml", name="base", duration="1m", drain="1m",
                   variants={"patient": {"executor.retry.max_attempts": 8}})
    with pytest.raises(ConfigError) as info:
        load_sweep(_sweep(tmp_path, parameters={"variant": ["patient", "patiant"]}))
    assert "unknown variant 'patiant'" in info.value.message and info.value.hint == "did you mean 'patient'?"
    assert main(["run", str(tmp_path / "base.yaml"), "--variant", "patiant", "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'patient'?" in capsys.readouterr().err


def test_a_fault_window_inside_the_load_phase_and_an_action_in_the_drain_are_accepted(tmp_path):
    """The fault-timing check refuses only what can never act (see tests/broken/fault-after-load-phase)."""
    loaded = load_scenario(write_scenario(
        tmp_path, "async-kafka.yaml", duration="10m", drain="10m",
        faults=[{"kind": "psp_outage", "at": "9m", "for": "5m"}, {"kind": "dlq_replay", "at": "15m"}]))
    assert [f.at_s for f in loaded.scenario.faults] == [540.0, 900.0]


def test_compare_names_a_misspelt_variant_or_baseline_with_a_did_you_mean(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="1m", drain="1m",
                          variants={"patient": {"executor.retry.max_attempts": 8}, "eager": {}})
    assert main(["compare", str(path), "--variants", "patient,eagr", "--out", str(tmp_path / "o")]) == 2
    assert "unknown variant(s) 'eagr' (did you mean 'eager'?" in capsys.readouterr().err
    assert main(["compare", str(path), "--baseline", "patiant", "--out", str(tmp_path / "o")]) == 2
    assert "(did you mean 'patient'?)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "compare", "estimate"])
def test_replications_on_the_command_line_have_the_schema_bound(command, capsys):
    assert main([command, "scenarios/baseline.yaml", "--replications", "100000"]) == 2
    assert "at most 10000 replications, got 100000" in capsys.readouterr().err


@pytest.mark.parametrize("command, formula", [("run", "--replications"), ("estimate", "--replications"),
                                              ("compare", "variants × --replications")])
def test_replications_on_the_command_line_count_towards_the_total_size(tmp_path, command, formula, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="1h", workload={"rate": "100/s"},
                          variants={"a": {}, "b": {}})
    assert main([command, str(path), "--replications", "1000", "--out", str(tmp_path / "o")]
                if command != "estimate" else [command, str(path), "--replications", "1000"]) == 2
    err = capsys.readouterr().err
    assert f"runs ({formula}) of about 3.6e+05 checkouts each exceed 2e+08 checkouts in total" in err
    assert not (tmp_path / "o").exists()
