"""A zombie consumer (a stall inside the executor's handler past max_poll_interval) and the claim
of an order before execution: atomic (one conditional write) or check-then-act (FLAW)."""

from __future__ import annotations

import pytest
from helpers import scenario, verdict

from sim.runners.run import run_scenario

WORKLOAD = {"rate": "10/s", "buyers": 300, "sellers": 30, "currencies": ["EUR", "USD"]}
ZOMBIE = {"kind": "consumer_zombie", "target": "executor", "instance": 1, "at": "10s", "for": "40s"}
"""Executor instance 1 hangs inside an execution for 40 s: expelled at 20 s (max_poll_interval), so
the partition's next owner executes the same order while the zombie is still inside it."""


def _run(tmp_path, claim: str, faults: list[dict]):
    loaded = scenario(tmp_path, "async-kafka.yaml", name=f"zombie-{claim}-{len(faults)}", seed=0, duration="60s",
                      drain="20m", workload=WORKLOAD, faults=faults,
                      overrides={"kafka.max_poll_interval": "20s", "executor.claim": claim})
    return run_scenario(loaded, explain=False)


def _failed(result) -> list[str]:
    return [v["oracle"] for v in result.data["oracles"] if not v["passed"]]


def test_atomic_claim_makes_the_zombie_resume_harmlessly(tmp_path):
    result = _run(tmp_path, "atomic", [ZOMBIE])
    counters = result.data["counters"]
    assert counters["kafka.handler_stalls"] == 1
    assert counters["kafka.commit_rejected"] >= 1
    assert counters["kafka.payment-orders.redelivered"] >= 1
    assert counters["executor.resumed"] >= 1  # the next owner found the order claimed and asked the PSP
    assert _failed(result) == []


def test_check_then_act_lets_the_zombie_overwrite_a_settled_order(tmp_path):
    result = _run(tmp_path, "check_then_act", [ZOMBIE])
    assert _failed(result) == ["flags_consistent"]
    messages = [v["message"] for v in verdict(result, "flags_consistent")["violations"]]
    assert messages and all("moved from SUCCESS to EXECUTING" in m for m in messages)


@pytest.mark.parametrize("claim", ["atomic", "check_then_act"])
def test_without_a_zombie_either_claim_passes(tmp_path, claim):
    """Copies of an order run one after another on its partition: the flaw needs a zombie."""
    result = _run(tmp_path, claim, [])
    assert _failed(result) == []
    assert "kafka.handler_stalls" not in result.data["counters"]


def test_a_wallet_zombie_and_the_partitions_next_owner_credit_an_order_once(tmp_path):
    """A zombie wallet consumer and the partition's next owner credit the same success event at
    once: both pass the dedupe mark read before the transaction, so the mark is read again in the
    write itself (a unique key on the processed event), and the second credit is a duplicate."""
    zombie = {"kind": "consumer_zombie", "target": "wallet", "at": "0s", "for": "13s"}
    loaded = scenario(tmp_path, "async-kafka.yaml", name="wallet-zombie", seed=2114630381, duration="30s",
                      drain="1h", workload={"rate": "1/s", "max_checkouts": 1}, faults=[zombie],
                      overrides={"kafka.max_poll_interval": "10s"})
    result = run_scenario(loaded, explain=False)
    counters = result.data["counters"]
    assert counters["kafka.handler_stalls"] == 1 and counters["kafka.commit_rejected"] >= 1
    assert counters["wallet.deduplicated"] >= 1  # the second credit, stopped in its write
    assert _failed(result) == []  # before: wallet credited 2 times for order 0, wallet != ledger
