"""Each design knob with a FLAW value: a directed scenario where the flawed value breaks the
oracle its flawed model names, and the correct default (same scenario, same seed) does not.
Also: ``paychaos catalog`` lists every knob with its default and flawed values."""

from __future__ import annotations

import json

import pytest
from helpers import scenario, verdict

from sim.cli import main
from sim.components.executor import drops_exhausted
from sim.components.payment_service import webhook_state
from sim.components.psp import ReplyCode
from sim.components.risk import fails_open
from sim.config.model import ExecutorConfig, RiskConfig
from sim.domain.orders import OrderState
from sim.runners.run import run_scenario

LOADED = {"rate": "20/s", "max_checkouts": 300, "buyers": 200, "sellers": 20, "currencies": ["EUR", "USD"]}
SMALL = {"rate": "5/s", "max_checkouts": 60, "buyers": 100, "sellers": 10}
SLOW_DB = {"dist": "lognormal", "median": "300ms", "p99": "2s"}

# knob: (model file, flaw overrides, fix overrides, workload, faults, oracle that must break)
CASES = {
    "wallet.commit": (
        "async-kafka.yaml", {"wallet.commit": "before", "wallet.latency": SLOW_DB}, {"wallet.latency": SLOW_DB},
        LOADED, [{"kind": "consumer_crash", "target": "wallet", "at": "10s", "for": "5s"}], "wallet_equals_ledger",
    ),
    "ledger.commit": (
        "async-kafka.yaml", {"ledger.commit": "before", "ledger.latency": SLOW_DB}, {"ledger.latency": SLOW_DB},
        LOADED, [{"kind": "consumer_crash", "target": "ledger", "at": "10s", "for": "5s"}], "wallet_equals_ledger",
    ),
    "payment_service.webhook_handler": (
        "async-kafka.yaml", {"payment_service.webhook_handler": "overwrite", "psp.webhook.notify_pending": True},
        {"psp.webhook.notify_pending": True}, SMALL,
        [{"kind": "psp_pending_storm", "at": "0s", "for": "10s", "probability": 1.0},
         {"kind": "webhook_reorder", "at": "0s", "for": "60s", "hold": "30s"}], "flags_consistent",
    ),
    "reconciliation.pending": (
        "async-kafka.yaml", {"reconciliation.pending": "fail", "psp.pending_resolution": {
            "dist": "lognormal", "median": "2h", "p99": "12h"}},
        {"psp.pending_resolution": {"dist": "lognormal", "median": "2h", "p99": "12h"}}, SMALL,
        [{"kind": "psp_pending_storm", "at": "0s", "for": "5s", "probability": 1.0}], "charged_iff_succeeded",
    ),
    "executor.retry_topics.exhausted": (
        "async-kafka.yaml", {"executor.retry_topics": {"enabled": True, "delays": ["1s", "5s"], "exhausted": "drop"},
                             "executor.retry": {"strategy": "fixed", "max_attempts": 2, "base": "200ms"}},
        {"executor.retry_topics": {"enabled": True, "delays": ["1s", "5s"]},
         "executor.retry": {"strategy": "fixed", "max_attempts": 2, "base": "200ms"}}, SMALL,
        [{"kind": "psp_outage", "at": "0s", "for": "30s"}], "nothing_lost",
    ),
    "executor.on_conflict": (
        "async-kafka.yaml", {"executor.on_conflict": "new_key"}, {}, SMALL,
        [{"kind": "psp_latency", "at": "0s", "for": "10s", "added": "5s"}], "no_double_charge",
    ),
    "executor.claim": (
        "async-kafka.yaml", {"executor.claim": "check_then_act", "kafka.max_poll_interval": "10s"},
        {"kafka.max_poll_interval": "10s"}, SMALL,
        [{"kind": "consumer_zombie", "target": "executor", "instance": 1, "at": "2s", "for": "30s"}],
        "flags_consistent",
    ),
    "payment_service.risk.fail_open": (
        "async-kafka.yaml", {"payment_service.risk.fail_open": "any_amount"}, {}, SMALL,
        [{"kind": "service_outage", "target": "risk", "at": "0s", "for": "10s"}], "fraud_exposure",
    ),
}


@pytest.mark.parametrize("knob", list(CASES))
def test_the_flawed_value_breaks_its_oracle_and_the_default_does_not(knob, tmp_path):
    model, flaw, fix, workload, faults, oracle = CASES[knob]
    common = {"seed": 1, "duration": "60s", "drain": "1h", "workload": workload, "faults": faults}
    flawed = run_scenario(scenario(tmp_path, model, name="flawed", overrides=flaw, **common), explain=False)
    assert not verdict(flawed, oracle)["passed"], (knob, oracle)
    correct = run_scenario(scenario(tmp_path, model, name="correct", overrides=fix, **common), explain=False)
    assert correct.passed, (knob, [v for v in correct.data["oracles"] if not v["passed"]])


def test_the_decision_functions_read_their_knob():
    assert fails_open(RiskConfig(), 5000) and not fails_open(RiskConfig(), 5001)
    assert fails_open(RiskConfig(fail_open="any_amount"), 10**9)
    dropping = ExecutorConfig(retry_topics={"enabled": True, "exhausted": "drop"})
    assert drops_exhausted(dropping, 3) and not drops_exhausted(dropping, 0)
    assert not drops_exhausted(ExecutorConfig(retry_topics={"enabled": True}), 3)
    assert webhook_state(ReplyCode.APPROVED) == OrderState.SUCCESS
    assert webhook_state(ReplyCode.DECLINED_FUNDS) == OrderState.FAILED
    assert webhook_state(ReplyCode.PENDING) == OrderState.PENDING


def test_catalog_lists_every_design_knob_with_its_default_and_flaw(capsys):
    assert main(["catalog", "--format", "json"]) == 0
    knobs = {k["key"]: k for k in json.loads(capsys.readouterr().out)["design_knobs"]}
    for knob in CASES:
        assert knob in knobs, knob
    assert knobs["executor.on_conflict"]["default"] == "wait_and_query"
    assert knobs["executor.on_conflict"]["flaw"] == ["new_key"]
    assert knobs["client.regenerate_key_on_retry"]["default"] is False
    assert knobs["client.regenerate_key_on_retry"]["flaw"] == [True]
    assert {"wallet.commit", "ledger.commit", "executor.commit", "ledger.atomic_entries"} <= set(knobs)
    assert main(["catalog", "--format", "markdown"]) == 0
    assert "| `payment_service.risk.fail_open` | up_to_fallback_limit | any_amount |" in capsys.readouterr().out


def test_a_half_written_ledger_transaction_is_the_one_named(tmp_path):
    """``atomic_entries: false``: the orders named are those whose second write never happened,
    so their amounts are exactly the ledger's imbalance (the bookkeeping used to drop the latest
    half of any partition, naming a transaction that was complete)."""
    from sim.runners.run import simulate

    loaded = scenario(tmp_path, "async-kafka.yaml", seed=0, duration="60s", drain="1h", workload=LOADED,
                      overrides={"ledger.atomic_entries": False, "ledger.latency": SLOW_DB},
                      faults=[{"kind": "consumer_crash", "target": "ledger", "at": "10s", "for": "5s"}])
    world, verdicts, _recon = simulate(loaded)
    balanced = next(v for v in verdicts if v.oracle == "ledger_balanced")
    assert not balanced.passed and world.ledger.unbalanced
    ledger, orders = world.ledger, world.orders
    imbalance: dict[int, int] = {}  # per currency: what the orphan halves left unmatched
    for (_account, currency), amount in ledger.balances.items():
        imbalance[currency] = imbalance.get(currency, 0) + amount
    named: dict[int, int] = {}
    for order_id, _at in ledger.unbalanced:
        currency = orders.currency[order_id]
        named[currency] = named.get(currency, 0) + orders.amount_minor[order_id]
    assert {c: v for c, v in imbalance.items() if v} == named
