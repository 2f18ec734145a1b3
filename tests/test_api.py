"""The Python API (sim.api): load with settings, override, run, compare with common random
numbers, summarise, time series, and the KPI definitions it exposes."""

from __future__ import annotations


import pytest

from helpers import write_scenario
from sim import api
from sim.errors import ConfigError
from sim.runners.run import run_scenario


@pytest.fixture
def base(tmp_path):
    return write_scenario(tmp_path, "async-kafka.yaml", name="api", seed=3, duration="1m", drain="3m",
                          overrides={"psp.pending_probability": 0},
                          workload={"rate": "5/s", "buyers": 100, "sellers": 10},
                          faults=[{"kind": "psp_errors", "at": "10s", "for": "30s", "probability": 0.5}],
                          variants={"no-retry": {"executor.retry": {"strategy": "none"}}})


def test_load_applies_scenario_and_model_settings_and_override_stacks_them(base):
    setup = api.load(base, {"workload.rate": "8/s", "model.executor.psp_timeout": "750ms"})
    assert setup.scenario.workload.rate_per_s == 8.0 and setup.model.executor.psp_timeout_s == 0.75
    more = api.override(setup, {"faults.0.probability": 0.9, "model.executor.psp_timeout": "2s"})
    assert more.scenario.faults[0].probability == 0.9 and more.model.executor.psp_timeout_s == 2.0
    assert more.scenario.workload.rate_per_s == 8.0
    assert setup.model.executor.psp_timeout_s == 0.75  # the first setup is unchanged
    assert api.values(more) == {"workload.rate": 8.0, "model.executor.psp_timeout": 2.0, "faults.0.probability": 0.9}


def test_bad_settings_are_config_errors(base):
    with pytest.raises(ConfigError, match="has no key 'retyr'") as info:
        api.load(base, {"model.executor.retyr.strategy": "none"})
    assert info.value.hint == "did you mean 'model.executor.retry'?"
    with pytest.raises(ConfigError, match="not a duration"):
        api.load(base, {"model.executor.psp_timeout": "soon"})


def test_run_is_run_scenario_of_the_setup(base):
    setup = api.load(base, {"model.executor.psp_timeout": "1s"})
    assert api.run(setup, seed=4).digest() == run_scenario(setup.loaded, seed=4).digest()


def test_compare_uses_the_same_seeds_for_every_variant(base):
    table = api.compare(base, {"a": {}, "a again": {}, "no retry": {"variant": "no-retry"}}, seeds=2, master_seed=7)
    assert list(table["variant"]) == ["a", "a", "a again", "a again", "no retry", "no retry"]
    seeds = table.groupby("variant", sort=False)["seed"].apply(list).tolist()
    assert seeds[0] == seeds[1] == seeds[2] and seeds[0][0] != seeds[0][1]
    same = table[table["variant"] == "a"]["digest"].tolist()
    assert same == table[table["variant"] == "a again"]["digest"].tolist()  # identical inputs, identical runs
    summary = api.summarize(table, kpis=["dead_lettered", "psp_requests_per_order"]).set_index("variant")
    # without retries the 5xx burst dead-letters orders that the retrying design recovers
    assert summary.loc["no retry", "dead_lettered"] > summary.loc["a", "dead_lettered"]
    assert summary.loc["a", "runs"] == 2
    low, high = summary.loc["a", "psp_requests_per_order_ci_low"], summary.loc["a", "psp_requests_per_order_ci_high"]
    assert low <= summary.loc["a", "psp_requests_per_order"] <= high


def test_compare_defaults_to_the_scenarios_variants(base):
    table = api.compare(base, seeds=1)
    assert list(table["variant"]) == ["no-retry"]


def test_false_timeouts_count_late_replies_not_dropped_ones(tmp_path):
    path = write_scenario(tmp_path, "sync-http.yaml", name="ft", seed=2, duration="1m", drain="3m",
                          overrides={"psp.pending_probability": 0},
                          workload={"rate": "5/s", "buyers": 100, "sellers": 10})
    slow = api.kpis(api.run(api.load(path, {"model.executor.psp_timeout": "150ms"})))
    assert slow["executor_timeouts"] > 0 and slow["false_timeouts"] == slow["executor_timeouts"]  # nothing dropped
    dropped = api.load(path, {"model.executor.psp_timeout": "30s",
                              "faults": [{"kind": "psp_no_reply", "at": "0s", "probability": 0.1}]})
    lossy = api.kpis(api.run(dropped))
    assert lossy["executor_timeouts"] > 0 and lossy["false_timeouts"] == 0  # every timeout was a dropped request


def test_series_is_a_frame_per_time_bin(base):
    result = api.run(base)
    table = api.series(result)
    step = result.data["series"]["bin_s"]
    assert list(table.index[:3]) == [0.0, step, 2 * step]
    assert table["psp_requests"].sum() == result.data["summary"]["psp_requests"]
    frame = api.frame([result])
    assert frame.loc[0, "orders"] == result.data["summary"]["orders"]
