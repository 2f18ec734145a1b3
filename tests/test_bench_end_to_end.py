"""``bench.end_to_end`` measures a real CLI command against the simulations inside it."""

from __future__ import annotations

from helpers import write_scenario

from bench.end_to_end import measure


def test_a_run_is_measured_against_its_one_simulation(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"})
    row = measure(["run", str(path), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "report.html").is_file()
    assert row["simulations"] == 1  # sample orders are traced in the run itself
    assert 0 < row["simulation_wall_s"] < row["wall_s"] and 0 < row["simulation_cpu_s"] < row["cpu_s"]
    assert abs(row["ratio_wall"] - row["wall_s"] / row["simulation_wall_s"]) < 0.01 * row["ratio_wall"]
    assert abs(row["beyond_wall_s"] - (row["wall_s"] - row["simulation_wall_s"])) < 0.002


def test_the_cpu_beyond_the_simulations_is_split_by_phase(tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"})
    row = measure(["run", str(path), "--out", str(tmp_path / "out")])
    cpu = row["phases_cpu_s"]
    assert set(cpu) == {"before", "in_loop", "between", "after", "helpers"}
    assert cpu["before"] > 0.1 and cpu["after"] > 0  # the imports before; the report after
    assert abs(cpu["between"]) < 0.05  # one simulation: nothing between
    own = cpu["before"] + cpu["in_loop"] + cpu["between"] + cpu["after"] + row["simulation_cpu_s"]
    assert abs(own + cpu["helpers"] - row["cpu_s"]) < 0.05 * row["cpu_s"]  # the phases add up to the whole


def test_the_figures_a_run_starts_from_inside_its_loop_count_beyond_its_simulation(tmp_path, monkeypatch):
    """With drawing helpers, a run starts figures from inside its loop (``EarlyRunFigures``): that
    time is the report's, measured in a phase of its own and not counted as simulation."""
    monkeypatch.setenv("PAYCHAOS_DRAW_WORKERS", "2")
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"})
    row = measure(["run", str(path), "--out", str(tmp_path / "out")])
    assert row["phases_s"]["in_loop"] > 0 and row["phases_cpu_s"]["in_loop"] > 0
    assert abs(row["beyond_wall_s"] - (row["wall_s"] - row["simulation_wall_s"])) < 0.002
