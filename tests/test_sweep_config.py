"""Sweep files: key paths checked against the schema, values validated per point, seeds, grids."""

from __future__ import annotations

import pytest
import yaml

from helpers import write_scenario
from sim.cli import main as cli_main
from sim.config.sweep import load_sweep, replication_seed
from sim.errors import ConfigError


def sweep_file(tmp_path, parameters, **fields):
    write_scenario(tmp_path, "async-kafka.yaml", name="base", seed=9, duration="1m", drain="2m",
                   workload={"rate": "5/s", "buyers": 50, "sellers": 5},
                   faults=[{"kind": "psp_errors", "at": "10s", "for": "20s", "probability": 0.2}],
                   variants={"no-retry": {"executor.retry": {"strategy": "none"}}})
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "scenario": "base.yaml", "parameters": parameters, **fields},
                                   sort_keys=False))
    return path


def error_of(path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    return info.value


def test_an_unknown_model_key_path_names_the_line_and_the_closest_key(tmp_path):
    error = error_of(sweep_file(tmp_path, {"model.executor.psp_timeuot": ["1s"]}))
    assert error.line == 4 and error.key == "parameters.model.executor.psp_timeuot"
    assert "has no key 'psp_timeuot'" in error.message
    assert error.hint == "did you mean 'model.executor.psp_timeout'?"


def test_a_model_path_without_the_prefix_is_told_about_the_prefix(tmp_path):
    error = error_of(sweep_file(tmp_path, {"executor.psp_timeout": ["1s"]}))
    assert "model.executor.psp_timeout" in error.hint


def test_a_path_below_a_value_is_rejected(tmp_path):
    error = error_of(sweep_file(tmp_path, {"workload.rate.per": [1]}))
    assert "is a value, not a mapping" in error.message


def test_a_bad_value_points_at_its_parameter_and_the_cli_exits_2_without_a_traceback(tmp_path, capsys):
    path = sweep_file(tmp_path, {"workload.rate": ["5/s"], "model.executor.psp_timeout": ["1s", "fast"]})
    error = error_of(path)
    assert error.key == "parameters.model.executor.psp_timeout" and error.line == 8  # the item 'fast'
    assert "'fast' is not a duration" in error.message and "at point (workload.rate=5/s, " in error.hint
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "sweep.yaml:8" in err and "Traceback" not in err


def test_a_list_index_beyond_the_scenario_faults_is_an_error(tmp_path):
    error = error_of(sweep_file(tmp_path, {"faults.3.probability": [0.5]}))
    assert "faults.3.probability" in error.message and error.line == 4


def test_grid_values_seeds_and_common_random_numbers(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, {
        "model.executor.psp_timeout": {"low": "100ms", "high": "10s", "steps": 3, "scale": "log"},
        "faults.0.probability": [0.1, 0.4],
        "variant": ["no-retry"],
    }, replications=3, fixed={"duration": "30s"}))
    assert [p.values for p in sweep.points] == [
        {"model.executor.psp_timeout": t, "faults.0.probability": f, "variant": "no-retry"}
        for t in (0.1, 1.0, 10.0) for f in (0.1, 0.4)]
    assert sweep.seeds == tuple(replication_seed(9, r) for r in range(3))  # master = the scenario's seed
    assert len(set(sweep.seeds)) == 3
    point = sweep.points[3]
    assert point.model_data["executor"]["retry"] == {"strategy": "none"}  # the variant
    assert point.model_data["executor"]["psp_timeout"] == 1.0
    assert point.scenario_data["faults"][0]["probability"] == 0.4 and point.scenario_data["duration"] == "30s"
    assert sweep.unit("model.executor.psp_timeout") == "s" and sweep.unit("faults.0.probability") == ""


def test_random_samples_depend_on_the_master_seed_only(tmp_path):
    def points(seed):
        path = sweep_file(tmp_path, {"workload.rate": {"low": "2/s", "high": "20/s"}, "model.executor.instances":
                                     {"low": 1, "high": 6, "integer": True}}, sample="random", samples=5, seed=seed)
        return [p.values for p in load_sweep(path).points]

    first = points(1)
    assert first == points(1) and first != points(2)
    assert all(2 <= p["workload.rate"] <= 20 and isinstance(p["model.executor.instances"], int) for p in first)


def test_a_grid_range_needs_steps_and_a_random_sweep_needs_samples(tmp_path):
    assert "needs 'steps'" in error_of(sweep_file(tmp_path, {"workload.rate": {"low": 1, "high": 2}})).message
    assert "'samples'" in error_of(sweep_file(tmp_path, {"workload.rate": [1]}, sample="random")).message
    assert "unknown KPI" in error_of(sweep_file(tmp_path, {"workload.rate": [1]}, kpis=["speed"])).message


def test_the_shipped_sweeps_load(tmp_path):
    from helpers import SCENARIOS

    sweeps = sorted((SCENARIOS / "sweeps").glob("*.yaml"))
    assert any(p.stem == "psp-timeout-tradeoff" for p in sweeps)
    for path in sweeps:
        sweep = load_sweep(path)
        assert len(sweep.points) * len(sweep.seeds) >= 16
        for point in sweep.points:  # table-ready values: plain numbers and strings, no enums
            assert all(type(v) in (int, float, str) for v in point.values.values())
