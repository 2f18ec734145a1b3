"""A closed population of buyers (``client.closed_population``): N buyers who think, check out and
wait for their answer. Its throughput obeys the interactive response-time law X = N / (R + Z), so
load falls when latency rises (issue 16, item 3)."""

from __future__ import annotations

import pytest
from helpers import scenario

from sim.runners.run import simulate

SIZE, THINK_S, DURATION_S = 50, 1.0, 300.0
RISK = {"servers": 10, "latency": {"dist": "exponential", "mean": "400ms"}, "timeout": None}
"""A fraud check that serves 25 checks/s: below the 50/s the buyers would offer if answered at once."""
CLOSED = {"enabled": True, "size": SIZE, "think_time": {"dist": "exponential", "mean": f"{THINK_S}s"}}


def _run(tmp_path, closed: dict, **workload):
    overrides = {"client.closed_population": closed, "payment_service.risk": RISK}
    loaded = scenario(tmp_path, "async-kafka.yaml", seed=3, duration=f"{DURATION_S:.0f}s", drain="1m",
                      overrides=overrides, workload={"rate": "40/s", "currencies": ["EUR"], "sellers": 50, **workload})
    world, verdicts, _recon = simulate(loaded)
    assert closed["enabled"] is False or all(v.passed for v in verdicts)
    return world


def test_throughput_follows_the_interactive_response_time_law(tmp_path):
    """X = N / (R + Z) on a run whose response time R (queueing at the fraud check) is as long as the
    think time Z: a client that thought from its click instead of its answer would offer twice as much."""
    clients = _run(tmp_path, CLOSED).clients
    throughput = clients.checkouts / DURATION_S
    response_s = clients.latency.mean
    assert 0.6 < response_s < 2.0  # the check queues: R is of the order of Z
    assert throughput == pytest.approx(SIZE / (response_s + THINK_S), rel=0.03)
    assert throughput < 25.5  # never above the fraud check's capacity (the open stream at 40/s is)
    assert clients.latency.count == clients.checkouts  # every buyer answered before thinking again


def test_an_open_stream_does_not_slow_down_when_latency_rises(tmp_path):
    """The same fraud check under open arrivals at 40/s, above its 25/s: arrivals keep their rate
    while the response time grows far beyond the closed population's."""
    closed = _run(tmp_path, CLOSED).clients
    opened = _run(tmp_path, {"enabled": False}).clients
    assert opened.checkouts / DURATION_S == pytest.approx(40, rel=0.05)
    assert opened.latency.mean > 3 * closed.latency.mean


def test_a_closed_population_stops_at_max_checkouts(tmp_path):
    clients = _run(tmp_path, {**CLOSED, "size": 5}, max_checkouts=100).clients
    assert clients.checkouts == 100
    assert clients.latency.count == 100


def test_open_arrival_shapes_and_oversized_populations_are_refused_at_load(tmp_path):
    """Spikes and a daily shape shape an open rate: with a closed population they would do nothing,
    so the scenario is refused (file, key, what would be right); so is a population that could make
    more checkouts than a run can simulate."""
    from helpers import write_scenario

    from sim.config.loader import load_scenario
    from sim.errors import ConfigError

    spikes = write_scenario(tmp_path, "async-kafka.yaml", name="spiky", duration="5m",
                            workload={"spikes": [{"at": "1m", "for": "1m", "multiplier": 3}]},
                            variants={"closed": {"client.closed_population": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"open arrival rate.*closed population.*in variant .closed.") as error:
        load_scenario(spikes)
    assert error.value.key == "workload.spikes" and error.value.line is not None
    huge = write_scenario(tmp_path, "async-kafka.yaml", name="huge", duration="1h",
                          overrides={"client.closed_population": {"enabled": True, "size": 1_000_000, "think_time": "1s"}})
    with pytest.raises(ConfigError, match="fewer buyers"):
        load_scenario(huge)
    capped = write_scenario(tmp_path, "async-kafka.yaml", name="capped", duration="1h", workload={"max_checkouts": 1000},
                            overrides={"client.closed_population": {"enabled": True, "size": 1_000_000, "think_time": "1s"}})
    assert load_scenario(capped).model.client.closed_population.size == 1_000_000


def test_replications_of_a_closed_population_are_sized_by_its_buyers_not_the_open_rate(tmp_path, capsys):
    """replications × variants runs are sized by N × duration / think time when a closed population
    plays (the open ``rate`` plays no part): too big is refused at ``replications`` (exit 2) even
    with a small rate; a small population with many replications is accepted even with a rate that
    alone would have been too big."""
    from helpers import write_scenario

    from sim.cli import main

    def closed(size: int, think: str) -> dict:
        return {"client.closed_population": {"enabled": True, "size": size,
                                             "think_time": {"dist": "exponential", "mean": think}}}

    big = write_scenario(tmp_path, "async-kafka.yaml", name="big", duration="1h", replications=100,
                         workload={"rate": "1/s"}, overrides=closed(1000, "1s"))  # 3.6e6 checkouts × 100 runs
    for command in (["validate", str(big)], ["run", str(big), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "100 runs (replications × variants) of about 3.6e+06 checkouts each exceed 2e+08" in err
        assert "replications" in err.split("exceed")[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    small = write_scenario(tmp_path, "async-kafka.yaml", name="small", duration="1h", replications=1000,
                           workload={"rate": "100/s"}, overrides=closed(5, "7s"))  # 2.6e3 × 1000; the rate: 3.6e5 × 1000
    assert main(["validate", str(small)]) == 0
    capsys.readouterr()
    from sim.config.loader import load_scenario
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="1000 runs .* of about 3.6e.05 checkouts") as error:
        load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="open", duration="1h", replications=1000,
                                     workload={"rate": "100/s"}))  # the same without the population: too big
    assert error.value.key == "replications" and error.value.line is not None
