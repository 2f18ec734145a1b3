"""The end-of-run checks read the orders table a chunk at a time (bounded memory at any run size):
their results must not depend on the chunk size. A run with refunds, chargebacks, payouts and a
double-charging flaw is checked with chunks of 7 orders against one chunk."""

from __future__ import annotations

from helpers import scenario

import sim.components.seller_wait as seller_wait_module
import sim.observe.recovery as recovery_module
import sim.runners.summary as summary_module
from sim.domain.orders import column_chunks
from sim.oracles import money
from sim.runners.run import run_scenario


def test_checks_and_kpis_do_not_depend_on_the_chunk_size(tmp_path, monkeypatch):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="10m", seed=3,
                      overrides={"refunds.probability": 0.5, "refunds.delay": "10s",
                                 "chargebacks.probability": 0.2, "chargebacks.delay": "20s",
                                 "executor.idempotency_key": "fresh_per_attempt",
                                 "executor.status_query_after_timeout": False,
                                 "payouts": {"enabled": True, "interval": "1m", "first_run": "1m", "lag": "0s"}},
                      workload={"rate": "5/s", "currencies": ["EUR", "USD"]},
                      faults=[{"kind": "psp_reply_lost_after_commit", "at": "30s", "for": "30s", "probability": 0.5}])
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
