"""Buyers are played by a pool of long-lived processes (sessions), not one process each: the pool
grows to the number of buyers waiting at once, and every buyer is still played to the end."""

from __future__ import annotations

from helpers import scenario

from sim.runners.run import simulate

WORKLOAD = {"rate": "20/s", "buyers": 300, "sellers": 30, "currencies": ["EUR", "USD"]}


def test_sessions_are_reused_and_every_buyer_gets_an_answer(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="3m", drain="5m", workload=WORKLOAD)
    world, verdicts, _recon = simulate(loaded)
    clients = world.clients
    assert clients.checkouts > 3000
    assert 1 <= clients.sessions_started <= 40  # ~20 buyers/s x ~0.2 s each: a handful at once, not one per buyer
    assert clients.latency.count == clients.checkouts  # each buyer answered once, in its session
    assert len(world.checkouts) + world.metrics.counters["client.rejected"] == clients.checkouts  # risk rejects some
    assert all(v.passed for v in verdicts)


def test_a_buyer_who_times_out_moves_on_while_the_session_finishes_the_request(tmp_path):
    """A database failover holds requests past the client's timeout: buyers retry in processes of
    their own, the sessions finish the abandoned requests, and the pool grows to hold them all."""
    faults = [{"kind": "db_failover", "at": "30s", "for": "20s"}]
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="5m", workload=WORKLOAD, faults=faults)
    world, verdicts, _recon = simulate(loaded)
    counters = world.metrics.counters
    assert counters["client.timeouts"] > 50
    assert counters["client.retries"] > 50
    assert world.clients.sessions_started >= 100  # ~20 s of arrivals were held at once
    assert all(v.passed for v in verdicts)
