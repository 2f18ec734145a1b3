"""The workload-against-clients check (``sim.config.workload_fit``) on every command that runs a
scenario: ``compare`` checks every variant and ``sweep`` every point before anything runs (exit 2,
file, line, key, nothing written); run counts are sized from the clients that play (issue 16)."""

from __future__ import annotations

import pytest
import yaml
from helpers import scenario, write_scenario

from sim.cli import main as cli_main
from sim.cli.arguments import check_total_runs
from sim.errors import ConfigError

SPIKES = {"rate": "5/s", "spikes": [{"at": "10s", "for": "10s", "multiplier": 3}]}
CLOSED = {"client.closed_population": {"enabled": True, "size": 20, "think_time": "2s"}}


def _sweep(tmp_path, parameters: dict, **scenario_fields) -> str:
    write_scenario(tmp_path, "async-kafka.yaml", name="base", seed=9, duration="1m", drain="1m", **scenario_fields)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "scenario": "base.yaml", "replications": 1,
                                    "parameters": parameters}, sort_keys=False))
    return str(path)


def test_sweep_refuses_a_point_whose_closed_population_meets_open_rate_spikes(tmp_path, capsys):
    path = _sweep(tmp_path, {"model.client.closed_population.enabled": [False, True]}, workload=SPIKES)
    out = tmp_path / "out"
    assert cli_main(["sweep", path, "--executor", "serial", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sweep.yaml:7" in err  # the item `true` of the parameter, not the `false` point
    assert "parameters.model.client.closed_population.enabled" in err
    assert "workload.spikes" in err and "closed population" in err and "remove spikes" in err
    assert "at point (model.client.closed_population.enabled=True)" in err
    assert "Traceback" not in err
    assert not out.exists()  # refused before the first run


def test_sweep_refuses_a_workload_key_that_a_closed_population_ignores(tmp_path, capsys):
    path = _sweep(tmp_path, {"workload.daily_shape": [[1.0, 0.5]]}, overrides=CLOSED)
    out = tmp_path / "out"
    assert cli_main(["sweep", path, "--executor", "serial", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sweep.yaml:6" in err and "parameters.workload.daily_shape" in err and "remove daily_shape" in err
    assert not out.exists()


def test_sweep_accepts_points_that_fit(tmp_path):
    from sim.config.sweep import load_sweep

    path = _sweep(tmp_path, {"model.client.closed_population.enabled": [False, True]}, workload={"rate": "5/s"})
    assert len(load_sweep(path).points) == 2


def test_compare_refuses_a_variant_whose_closed_population_meets_open_rate_spikes(tmp_path, capsys):
    path = write_scenario(tmp_path, "async-kafka.yaml", name="cmp", duration="1m", drain="1m", workload=SPIKES,
                          variants={"open": {"executor.psp_timeout": "2s"}, "closed": CLOSED})
    out = tmp_path / "out"
    assert cli_main(["compare", str(path), "--replications", "1", "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cmp.yaml:" in err and "workload.spikes" in err and "in variant 'closed'" in err
    assert "Traceback" not in err and not out.exists()


def test_run_counts_are_sized_from_a_closed_population_not_the_unused_rate(tmp_path, capsys):
    """100,000 buyers thinking 1 s make up to 10⁷ checkouts in 100 s whatever ``rate`` says: 50 such
    runs are refused (exit 2, before running); 5 buyers at an unused rate of 10⁵/s are not."""
    crowd = write_scenario(tmp_path, "async-kafka.yaml", name="crowd", duration="100s", drain="1m",
                           workload={"rate": "10/s"},
                           overrides={"client.closed_population": {"enabled": True, "size": 100_000, "think_time": "1s"}})
    out = tmp_path / "out"
    assert cli_main(["run", str(crowd), "--replications", "50", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "crowd.yaml" in err and "50 runs (--replications) of about 1e+07 checkouts" in err and not out.exists()
    few = scenario(tmp_path, "async-kafka.yaml", name="few", duration="100s", drain="1m", workload={"rate": "100000/s"},
                   overrides={"client.closed_population": {"enabled": True, "size": 5, "think_time": "1s"}})
    check_total_runs(few, 50)  # 50 × at most 500 checkouts
    open_rate = scenario(tmp_path, "async-kafka.yaml", name="open", duration="100s", drain="1m",
                         workload={"rate": "100000/s"})
    with pytest.raises(ConfigError, match="50 runs"):
        check_total_runs(open_rate, 50)  # 50 × 10⁷ at the open rate


def test_a_closed_population_run_shows_progress_in_simulated_time(tmp_path, capsys):
    """Progress counts simulated time (or finished runs), never checkouts estimated from ``rate``:
    a closed population whose unused rate would promise 100 times its checkouts still ends at 100 %."""
    path = write_scenario(tmp_path, "async-kafka.yaml", name="closed", duration="30s", drain="10s",
                          workload={"rate": "1000/s", "currencies": ["EUR"]}, overrides=CLOSED)
    assert cli_main(["run", str(path), "--out", str(tmp_path / "out")]) in (0, 1)
    lines = [line for line in capsys.readouterr().out.splitlines() if "(simulated time)" in line]
    assert lines[-1].endswith("40 s of 40 s (100 %)")
    assert len(lines) == 10  # one line per tenth of the simulated time


def test_sweep_blames_the_closest_setting_whatever_the_order_of_the_parameters(tmp_path, capsys):
    """The duration is swept first, but spikes do not depend on it: the closed population is blamed."""
    path = _sweep(tmp_path, {"duration": ["1m", "2m"], "model.client.closed_population.enabled": [True]},
                  workload=SPIKES)
    assert cli_main(["sweep", path, "--executor", "serial", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "parameters.model.client.closed_population.enabled" in err and "sweep.yaml:9" in err
