"""A Dask cluster that cannot import paychaos is an environment error: exit 2 with a hint, at once.

Without the check, a worker dies unpickling its first task and the sweep waits for ever (or, with
a scheduler lacking paychaos, prints a long traceback and exits 1, the code for a failed oracle).
"""

from __future__ import annotations

import time

import pytest

from sim.cli import main as cli_main
from sim.errors import EnvironmentProblem
from sim.runners.sweep import execute
from test_sweep_run import tiny_sweep

distributed = pytest.importorskip("distributed")


@pytest.fixture
def cluster_without_paychaos(tmp_path):
    """A local cluster whose worker cannot import ``sim`` (as if paychaos were not installed there)."""
    preload = tmp_path / "hide_paychaos.py"
    preload.write_text("import sys\nsys.modules['sim'] = None  # every 'import sim...' now fails\n")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  preload=[str(preload)]) as cluster:
        yield cluster


def test_a_sweep_on_workers_without_paychaos_exits_2_with_a_hint(tmp_path, cluster_without_paychaos, capsys):
    address = cluster_without_paychaos.scheduler_address
    started = time.monotonic()
    code = cli_main(["sweep", str(tiny_sweep(tmp_path)), "--out", str(tmp_path / "out"), "--scheduler", address,
                     "--no-report"])
    assert time.monotonic() - started < 60
    assert code == 2
    err = capsys.readouterr().err
    assert f"a Dask worker at {address} cannot import paychaos" in err
    assert "install paychaos, the same version as here, on the scheduler and every worker" in err
    assert "Traceback" not in err


def test_the_check_runs_before_any_task_is_sent(cluster_without_paychaos):
    with pytest.raises(EnvironmentProblem, match="cannot import paychaos"):
        next(execute([{"never": "sent"}], "dask", scheduler=cluster_without_paychaos.scheduler_address))


def test_a_missing_package_at_the_top_level_is_exit_2_with_its_name(monkeypatch, capsys):
    import sim.cli.validate as validate

    def missing(_args):
        raise ModuleNotFoundError("No module named 'distributed'", name="distributed")

    monkeypatch.setattr(validate, "main", missing)
    assert cli_main(["validate", "x.yaml"]) == 2
    assert "the Python package 'distributed' is missing" in capsys.readouterr().err
