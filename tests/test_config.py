"""The schema: units, daily shape, the size guard, empirical distributions, error locations."""

from __future__ import annotations

import math
import random

import pytest
import simpy
import yaml

from helpers import MODELS, pure, scenario, write_scenario
from sim.config.distributions import Empirical, distribution_mean_s, make_sampler
from sim.config.loader import load_model, load_scenario, variant_model
from sim.config.scenario import Workload
from sim.errors import ConfigError
from sim.units import parse_duration_s, parse_rate_per_s


@pytest.mark.parametrize("text, seconds", [("250ms", 0.25), ("2m", 120.0), ("24h", 86400.0), ("1.5s", 1.5),
                                           ("100us", 1e-4), ("1d", 86400.0), (3, 3.0)])
def test_durations_with_units(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text, rate", [("200/s", 200.0), ("30/m", 0.5), ("3600/h", 1.0), (5, 5.0)])
def test_rates_with_units(text, rate):
    assert parse_rate_per_s(text) == pytest.approx(rate)


@pytest.mark.parametrize("bad", ["ms", "5 parsecs", "-1s", "nan s", True, [1], "1e999s"])
def test_bad_durations_are_refused(bad):
    with pytest.raises(ValueError):
        parse_duration_s(bad)


SHAPE = [0.5] * 6 + [1.0] * 6 + [2.0] * 6 + [0.5] * 6  # four 6-hour blocks


def test_daily_shape_sets_the_rate_by_time_of_day_and_wraps_at_midnight():
    w = Workload(rate="10/s", daily_shape=SHAPE, start_time_of_day="6h")
    # t = 0 is 06:00, so the 1.0 block; t = 6h is 12:00 (2.0); t = 18h is 00:00 next day (0.5)
    assert [w.rate_multiplier(h * 3600.0) for h in (0, 5.99, 6, 12, 18, 24)] == [1.0, 1.0, 2.0, 0.5, 0.5, 1.0]
    assert w.next_rate_change(0.0) == 3600.0  # the next hourly slice edge (07:00)
    assert w.next_rate_change(3600.0) == 7200.0


def test_spikes_multiply_the_daily_shape():
    w = Workload(rate="10/s", daily_shape=SHAPE, spikes=[{"at": "1h", "for": "30m", "multiplier": 4}])
    assert w.rate_multiplier(3600.0) == 2.0  # 01:00 is a 0.5 block, times 4
    assert w.next_rate_change(3599.0) == 3600.0
    assert w.next_rate_change(3600.0) == 5400.0  # the spike ends before the next slice


def test_expected_checkouts_integrates_rate_shape_and_spikes():
    w = Workload(rate="10/s", daily_shape=SHAPE, spikes=[{"at": "1h", "for": "30m", "multiplier": 4}])
    one_day = 10 * 3600 * 6 * (0.5 + 1.0 + 2.0 + 0.5) + 10 * 1800 * 0.5 * 3  # plus the spike's extra
    assert w.expected_checkouts(86400.0) == pytest.approx(one_day)
    ten_days = one_day + 9 * 10 * 86400 * 1.0  # shape mean is 1.0; the closed form for whole days
    assert w.expected_checkouts(10 * 86400.0) == pytest.approx(ten_days)
    assert Workload(rate="10/s", max_checkouts=50).expected_checkouts(3600.0) == 50


def test_arrivals_follow_the_daily_shape(tmp_path):
    """The clients really draw fewer checkouts at night: counts per 6-hour block match the shape."""
    CheckoutClients = pure("sim.components.checkout").CheckoutClients  # its _session is replaced below

    loaded = scenario(tmp_path, "async-kafka.yaml", duration="24h",
                      workload={"rate": "0.2/s", "daily_shape": SHAPE, "buyers": 50, "sellers": 5})

    from sim.domain.population import generate_population
    from sim.observe.metrics import Metrics
    from sim.rng import Streams

    env, streams = simpy.Environment(), Streams(3)
    population = generate_population(streams.stream("population"), 50, 5, 1, ("EUR",))
    clients = CheckoutClients(env, loaded.scenario.workload, loaded.model.client, population, None, streams,
                              Metrics(bin_s=3600.0), until_s=86400.0)
    times = []

    def count_only(_session):  # no payment is processed: only arrival times matter here
        times.append(env.now)
        yield env.timeout(0)

    clients._session = count_only
    clients.start()
    env.run(until=86400.0)
    blocks = [sum(1 for t in times if b * 21600 <= t < (b + 1) * 21600) for b in range(4)]
    expected = [0.2 * 21600 * m for m in (0.5, 1.0, 2.0, 0.5)]
    for got, want in zip(blocks, expected):
        assert abs(got - want) < 4 * math.sqrt(want), (blocks, expected)


@pytest.mark.parametrize("fields, key, says", [
    ({"duration": "400d"}, "duration", "at most 366 days"),
    ({"duration": "1h", "workload": {"rate": "1000000/s"}}, "workload.rate", "about 3.6e+09 checkouts per run"),
    ({"duration": "1h", "workload": {"rate": "5000/s"}, "replications": 20}, "replications", "20 runs"),
    ({"workload": {"rate": "1/s", "spikes": [{"at": 0, "for": "1h", "multiplier": 1e9}]}}, "workload.rate", "3.6e+12"),
])
def test_absurd_sizes_are_refused_before_running(tmp_path, fields, key, says):
    with pytest.raises(ConfigError) as caught:
        scenario(tmp_path, "async-kafka.yaml", **fields)
    assert caught.value.key == key and says in caught.value.message and caught.value.line is not None


def test_a_large_but_feasible_scenario_is_accepted(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="24h", workload={"rate": "200/s"})
    assert loaded.scenario.workload.expected_checkouts(loaded.scenario.duration_s) == pytest.approx(17_280_000)


def test_empirical_latencies_come_from_a_csv_next_to_the_model(tmp_path):
    (tmp_path / "psp-latency.csv").write_text("latency_ms\n100\n200\n300\n250ms\n")
    model_path = tmp_path / "calibrated.yaml"
    model_path.write_text(yaml.safe_dump({"name": "calibrated", "psp": {"latency": {
        "dist": "empirical", "csv": "psp-latency.csv"}}}))
    model = load_model(model_path)
    assert isinstance(model.psp.latency, Empirical)
    assert model.psp.latency._values_s == (0.1, 0.2, 0.25, 0.3)
    assert distribution_mean_s(model.psp.latency) == pytest.approx(0.2125)
    sampler = make_sampler(model.psp.latency, random.Random(1))
    assert {sampler() for _ in range(200)} == {0.1, 0.2, 0.25, 0.3}
    assert model.model_dump(by_alias=True)["psp"]["latency"] == {"dist": "empirical", "csv": "psp-latency.csv",
                                                                 "unit": "ms"}


def test_a_bad_csv_value_names_the_file_and_the_line_of_the_yaml(tmp_path):
    (tmp_path / "bad.csv").write_text("100\nfast\n")
    model_path = tmp_path / "m.yaml"
    model_path.write_text("name: m\npsp:\n  latency: {dist: empirical, csv: bad.csv}\n")
    with pytest.raises(ConfigError) as caught:
        load_model(model_path)
    assert (caught.value.line, caught.value.key) == (3, "psp.latency")
    assert "'fast' is not a number or a duration" in caught.value.message


def test_every_problem_is_reported_in_one_paragraph_with_its_own_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\nexecutor:\n  instances: 0\n  psp_timout: 2s\npsp:\n  latency: {dist: gama, mean: 1s}\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:3:14: executor.instances: must be >= 1, got 0. Also: ")
    assert "line 4:3 executor.psp_timout: unknown key 'psp_timout' (did you mean 'psp_timeout'?)" in text
    assert "line 6:19 psp.latency.dist: dist 'gama' is not known" in text and "(did you mean 'gamma'?)" in text


def test_an_unknown_key_with_nothing_close_lists_the_valid_keys(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\nbanks:\n  zzz: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path)
    assert caught.value.hint.startswith("valid keys here: balance_median_minor, count, ")


def test_a_bad_variant_points_at_its_line(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", variants={"ok": {"executor.instances": 2},
                                                                  "bad": {"executor.instances": -1}})
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    lines = path.read_text().splitlines()
    assert "executor.instances: -1" in lines[caught.value.line - 1]
    assert caught.value.key == "variants.bad.executor.instances"


def test_variants_resolve_on_top_of_the_overrides(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", overrides={"executor.psp_timeout": "2s"},
                      variants={"sync": {"wiring": "sync"}})
    model = variant_model(loaded, "sync")
    assert (model.wiring, model.executor.psp_timeout_s) == ("sync", 2.0)
    assert (loaded.model.wiring, loaded.model.executor.psp_timeout_s) == ("async", 2.0)


def test_models_dir_is_where_the_helpers_expect_it():
    assert (MODELS / "async-kafka.yaml").is_file()
