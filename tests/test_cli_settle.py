"""What a command loaded before its simulations is kept out of the garbage collector's scans while
they run, and given back when the command is done (a process that goes on collects it again)."""

from __future__ import annotations

import gc

from helpers import write_scenario

import sim.runners.run as run_module
from sim.cli import main


def test_a_run_is_simulated_with_what_was_loaded_frozen_and_main_unfreezes_it(tmp_path, monkeypatch):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"})
    frozen_during: list[int] = []
    real = run_module.simulate

    def simulate(*args, **kwargs):
        frozen_during.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "simulate", simulate)
    gc.unfreeze()
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    assert frozen_during and frozen_during[0] > 10_000  # the modules, classes and validators loaded
    assert gc.get_freeze_count() == 0


def test_collection_paused_for_a_command_that_fails_before_its_runs_is_resumed(tmp_path):
    assert gc.isenabled()
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2  # bad input: exit 2 before any run
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_collection_is_paused_while_a_run_loads_and_resumed_for_its_simulation(tmp_path, monkeypatch):
    import sim.config.loader as loader

    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"})
    seen: dict[str, bool] = {}
    real_load, real_simulate = loader.load_scenario, run_module.simulate

    def load_scenario(*args, **kwargs):
        seen["loading"] = gc.isenabled()
        return real_load(*args, **kwargs)

    def simulate(*args, **kwargs):
        seen["simulating"] = gc.isenabled()
        return real_simulate(*args, **kwargs)

    monkeypatch.setattr(loader, "load_scenario", load_scenario)
    monkeypatch.setattr(run_module, "simulate", simulate)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    assert seen == {"loading": False, "simulating": True}
    assert gc.isenabled()


def test_a_comparison_s_report_is_made_with_what_its_runs_left_frozen(tmp_path, monkeypatch):
    """Once a comparison's runs are over, what they left (results, the last world's cycles) is out
    of the collector's reach while the report is made (``runs_done``), and given back by main."""
    import sim.runners.compare as compare_module

    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="20s", workload={"rate": "2/s"},
                          variants={"none": {"executor.retry": {"strategy": "none"}}, "default": {}})
    frozen: dict[str, int] = {}
    real_simulate, real_summarize = run_module.simulate, compare_module.summarize_comparison

    def simulate(*args, **kwargs):
        frozen["last run"] = gc.get_freeze_count()
        return real_simulate(*args, **kwargs)

    def summarize_comparison(*args, **kwargs):
        frozen["summary"] = gc.get_freeze_count()
        return real_summarize(*args, **kwargs)

    monkeypatch.setattr(run_module, "simulate", simulate)
    monkeypatch.setattr(compare_module, "summarize_comparison", summarize_comparison)
    gc.unfreeze()
    assert main(["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    assert frozen["summary"] > frozen["last run"] + 1_000  # the runs' leftovers joined what was loaded
    assert gc.get_freeze_count() == 0
