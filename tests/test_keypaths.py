"""One key-path setter (``sim.config.keypaths``) for overrides, sweeps and the API, and one
translation of pydantic's errors for all three."""

from __future__ import annotations

import pytest
import yaml

from helpers import write_scenario
from sim import api
from sim.config.keypaths import set_paths
from sim.config.loader import load_scenario
from sim.config.sweep import load_sweep
from sim.errors import ConfigError, PaychaosError, SettingError


def _line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_set_paths_copies_creates_and_indexes():
    data = {"executor": {"retry": {"strategy": "fixed"}}, "faults": [{"at": 1}, {"at": 2}], "empty": None}
    result = set_paths(data, {"executor.retry.base": "1s", "faults.1.at": 5, "empty.x": 1, "new.deep": [1]})
    assert result == {"executor": {"retry": {"strategy": "fixed", "base": "1s"}}, "faults": [{"at": 1}, {"at": 5}],
                      "empty": {"x": 1}, "new": {"deep": [1]}}
    assert data == {"executor": {"retry": {"strategy": "fixed"}}, "faults": [{"at": 1}, {"at": 2}], "empty": None}


def test_a_value_shared_by_an_alias_is_copied_so_setting_one_place_leaves_the_other():
    shared = {"strategy": "fixed"}
    result = set_paths({"a": shared, "b": shared}, {"a.strategy": "none"})
    assert result == {"a": {"strategy": "none"}, "b": {"strategy": "fixed"}}
    written = set_paths({"x": 1}, {"y": shared})
    shared["strategy"] = "changed"
    assert written["y"] == {"strategy": "fixed"}


@pytest.mark.parametrize("path, says", [
    ("executor.retry.strategy.deeper", "'executor.retry.strategy' is a value ('fixed'), not a mapping or a list"),
    ("faults.2.at", "'faults' is a list of 2 item(s), and '2' is not the index of one"),
    ("faults.first.at", "'faults' is a list of 2 item(s), and 'first' is not the index of one"),
])
def test_a_path_that_cannot_be_set_is_a_setting_error_naming_it(path, says):
    data = {"executor": {"retry": {"strategy": "fixed"}}, "faults": [{"at": 1}, {"at": 2}]}
    with pytest.raises(SettingError) as info:
        set_paths(data, {path: 1}, "overrides.")
    assert info.value.key == f"overrides.{path}" and says in info.value.message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, PaychaosError)


def test_scenario_overrides_and_api_settings_set_the_same_model(tmp_path):
    settings = {"executor.psp_timeout": "1500ms", "executor.retry": {"strategy": "fixed", "max_attempts": 4}}
    by_overrides = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="o", overrides=settings))
    by_api = api.load(write_scenario(tmp_path, "async-kafka.yaml", name="a"),
                      {f"model.{key}": value for key, value in settings.items()})
    assert by_api.model == by_overrides.model
    assert by_api.model.executor.psp_timeout_s == 1.5


def test_an_override_through_a_plain_value_points_at_the_overrides_line(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", overrides={"executor.psp_timeout.deeper": 1})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.line == _line_of(path, "executor.psp_timeout.deeper:")
    assert info.value.key == "overrides.executor.psp_timeout.deeper"
    assert "'executor.psp_timeout' is a value" in info.value.message


def test_the_api_reports_every_bad_setting_not_only_the_first(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="1m")
    with pytest.raises(ConfigError) as info:
        api.load(path, {"model.executor.psp_timeout": "soon", "model.executor.instances": 0})
    error = info.value
    assert error.file == str(path)
    assert [error.key] + [a.split(":")[0] for a in error.also] == ["model.executor.instances",
                                                                   "model.executor.psp_timeout"]
    assert "must be >= 1, got 0" in error.message and "'soon' is not a duration" in error.also[0]


def test_a_sweep_and_the_api_word_the_same_bad_value_the_same_way(tmp_path):
    scenario = write_scenario(tmp_path, "async-kafka.yaml", name="base", duration="1m")
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(
        {"name": "s", "scenario": "base.yaml", "parameters": {"model.executor.instances": [1, True]}}))
    with pytest.raises(ConfigError) as from_sweep:
        load_sweep(tmp_path / "sweep.yaml")
    with pytest.raises(ConfigError) as from_api:
        api.load(scenario, {"model.executor.instances": True})
    assert from_sweep.value.message == from_api.value.message == "expected an integer, got True"
    assert from_sweep.value.line == _line_of(tmp_path / "sweep.yaml", "- true")  # the item, not the key
    assert from_sweep.value.key == "parameters.model.executor.instances"


def test_an_unknown_variant_in_api_settings_gets_a_did_you_mean(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", variants={"patient": {"executor.retry.max_attempts": 8}})
    with pytest.raises(ConfigError) as info:
        api.load(path, {"variant": "patiant"})
    assert info.value.key == "variant" and info.value.hint == "did you mean 'patient'?"
