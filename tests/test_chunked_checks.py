"""The end-of-run checks read the orders table a chunk at a time (bounded memory at any run size):
their results must not depend on the chunk size. A run with refunds, chargebacks, payouts and a
double-charging flaw is checked with chunks of 7 orders against one chunk; the whole end of a
run (oracles, reconciliation, money back, summary, KPIs) with chunks of 5 against the default; and
a chunk dropped must show."""

from __future__ import annotations

from helpers import money_taken_twice, scenario

import sim.components.seller_wait as seller_wait_module
import sim.observe.recovery as recovery_module
import sim.runners.summary as summary_module
import sim.components.reconciliation as reconciliation_module
import sim.runners.kpis as kpis_module
import sim.world as world_module
from sim.domain.orders import column_chunks
from sim.oracles import completeness, flags, money, reconciled
from sim.runners.run import run_scenario, simulate

CHUNKED = (money, recovery_module, summary_module, seller_wait_module, flags, completeness, reconciled,
           reconciliation_module, kpis_module)
"""Every module whose end-of-run reads go a chunk at a time (``column_chunks``)."""


def test_checks_and_kpis_do_not_depend_on_the_chunk_size(tmp_path, monkeypatch):
    loaded = money_taken_twice(tmp_path)
    world = run_scenario(loaded, explain=False).world
    assert len(world.orders) > 100  # many chunks of 7

    def checks() -> tuple:
        return (money.no_double_charge(world), money.doubled(world),
                summary_module.seller_wait(world), recovery_module.goodput_counts(world),
                summary_module.summarize(world, None))

    small = lambda count, size=None: column_chunks(count, 7)  # noqa: E731
    with monkeypatch.context() as patch:
        for module in (money, recovery_module, summary_module, seller_wait_module):
            patch.setattr(module, "column_chunks", small)
        chunked = checks()
    whole = checks()
    assert whole[1]["captured_twice"] > 0 and whole[2].paid_minor > 0  # the chunked paths have work to do
    assert repr(chunked) == repr(whole)


def test_latency_cdf_is_the_quantiles_of_every_finished_orders_latency(tmp_path):
    import numpy as np

    from sim.runners.kpis import CDF_POINTS, latency_cdf

    world = run_scenario(scenario(tmp_path, "async-kafka.yaml", duration="1m", drain="5m", seed=5), explain=False).world
    orders = world.orders
    finished = [float(orders.latency_s[o]) * 1000.0 for o in range(len(orders)) if orders.latency_s[o] >= 0]
    assert len(finished) > 100
    expected = [round(float(x), 3) for x in np.quantile(np.array(finished), np.linspace(0.0, 1.0, CDF_POINTS))]
    assert latency_cdf(world)["latency_ms"] == expected


def _flawed(tmp_path):
    return scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="10m", seed=4,
                    overrides={"refunds.probability": 0.5, "refunds.delay": "10s", "refunds.partial_probability": 0.5,
                               "chargebacks.probability": 0.2, "chargebacks.delay": "20s",
                               "executor.idempotency_key": "fresh_per_attempt",
                               "executor.status_query_after_timeout": False,
                               "reconciliation.auto_fix": True,
                               "payouts": {"enabled": True, "interval": "1m", "first_run": "1m", "lag": "0s"}},
                    workload={"rate": "5/s", "currencies": ["EUR", "USD"]},
                    faults=[{"kind": "psp_reply_lost_after_commit", "at": "30s", "for": "30s", "probability": 0.5}])


def _end_of_run(loaded) -> str:
    """Everything the end of a run computes, as one string: the oracles' verdicts (before and
    after reconciliation), reconciliation's breaks after the money-back matching, the summary and
    the KPIs' latency CDF."""
    world, verdicts, recon = simulate(loaded)
    return repr(([v.to_dict() for v in verdicts], recon, summary_module.summarize(world, recon),
                 kpis_module.latency_cdf(world)))


def _chunked(patch, chunks) -> None:
    for module in CHUNKED:
        patch.setattr(module, "column_chunks", chunks)
    patch.setattr(reconciliation_module, "COLUMN_CHUNK", 5)  # the settlement file's rows, too
    patch.setattr(world_module, "COLUMN_CHUNK", 5)


def test_the_whole_end_of_a_run_does_not_depend_on_the_chunk_size(tmp_path, monkeypatch):
    loaded = _flawed(tmp_path)
    whole = _end_of_run(loaded)
    assert "captured_more_than_once" in whole and "refund" in whole  # reconciliation has breaks to find
    with monkeypatch.context() as patch:
        _chunked(patch, lambda count, size=None: column_chunks(count, 5))
        chunked = _end_of_run(loaded)
    assert chunked == whole


def test_a_dropped_chunk_shows_in_the_end_of_a_run(tmp_path, monkeypatch):
    """The comparison above can fail: every chunk but the last read, the results differ."""
    loaded = _flawed(tmp_path)
    whole = _end_of_run(loaded)
    with monkeypatch.context() as patch:
        _chunked(patch, lambda count, size=None: column_chunks(count, 5)[:-1])
        assert _end_of_run(loaded) != whole
