"""The chaos catalogue: every fault kind runs and visibly acts; schedules (ramp) are exact;
targets are checked against the model at load time."""

from __future__ import annotations

import pytest
from helpers import scenario, write_scenario

from sim.config.fault_specs import FAULT_CLASSES
from sim.config.loader import load_scenario
from sim.errors import ConfigError
from sim.runners.run import run_scenario
from sim.world import build_world

SMALL = {"rate": "10/s", "buyers": 300, "sellers": 30, "currencies": ["EUR", "USD"]}
W = {"at": "30s", "for": "1m"}


def c(name):
    return lambda r: r.data["counters"].get(name, 0)


def s(name):
    return lambda r: r.data["summary"][name]


def outcome(state):
    return lambda r: r.data["summary"]["outcomes"][state]


def recon(kind):
    return lambda r: (r.data["reconciliation"] or {}).get("kinds", {}).get(kind, 0)


def min_settlement_day(r):
    return min(day for day, *_rest in r.world.settlement_file())


# kind → (model, overrides, faults, observation, how it must change versus the same run without)
CASES = {
    "psp_reply_lost_after_commit": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("psp.reply_lost_after_commit"), "up"),
    "psp_no_reply": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("executor.timeouts"), "up"),
    "psp_outage": ("async-kafka.yaml", {}, [{**W, "fraction": 0.5}], c("psp.unavailable"), "up"),
    "psp_errors": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("psp.errors"), "up"),
    "psp_latency": ("async-kafka.yaml", {}, [{**W, "added": "1s"}], s("p99_latency_ms"), "up"),
    "psp_rate_limit": ("async-kafka.yaml", {}, [{**W, "rate": "5/s", "retry_after": "2s"}], c("psp.rate_limited"), "up"),
    "psp_pending_storm": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("psp.pending"), "up"),
    "psp_key_expiry": ("async-kafka.yaml", {}, [{**W, "ttl": "100ms"},
                       {"kind": "psp_reply_lost_after_commit", **W, "probability": 0.5}], c("psp.key_expired_reuse"), "up"),
    "psp_clock_skew": ("async-kafka.yaml", {}, [{**W, "skew": "-2h"}], min_settlement_day, "down"),
    "webhook_delay": ("async-kafka.yaml", {}, [{**W, "added": "5m"}, {"kind": "psp_pending_storm", **W, "probability": 0.5}],
                      c("success_via.status_poll"), "up"),
    "webhook_duplicate": ("async-kafka.yaml", {}, [{**W, "probability": 0.9}], c("webhooks_received"), "up"),
    "webhook_loss": ("async-kafka.yaml", {"psp.webhook.max_deliveries": 1}, [{**W, "probability": 1.0}], c("psp.webhook_lost"), "up"),
    "webhook_reorder": ("async-kafka.yaml", {}, [{**W, "hold": "5s"}], c("faults.webhook_reorder.reordered"), "up"),
    "issuer_decline_surge": ("async-kafka.yaml", {}, [{**W, "target": "bank-1", "probability": 0.8}], outcome("FAILED"), "up"),
    "bank_errors": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("banks.errors"), "up"),
    "consumer_crash": ("async-kafka.yaml", {}, [{**W, "target": "executor", "instance": 1}], c("kafka.rebalances"), "up"),
    "consumer_stall": ("async-kafka.yaml", {"kafka.max_poll_interval": "5s"}, [{**W, "for": "20s"}], c("kafka.commit_rejected"), "up"),
    "consumer_zombie": ("async-kafka.yaml", {"kafka.max_poll_interval": "5s"}, [{**W, "for": "20s"}], c("kafka.handler_stalls"), "up"),
    "broker_outage": ("async-kafka.yaml", {}, [{**W, "target": "payment-orders"}], c("kafka.payment-orders.publish_failed"), "up"),
    "producer_duplicates": ("async-kafka.yaml", {}, [{**W, "probability": 0.5}], c("executor.already_done"), "up"),
    "poison_pill": ("async-kafka.yaml", {}, [{**W, "rate": "1/s"}], c("dlq.poison_pill"), "up"),
    "db_failover": ("async-kafka.yaml", {}, [{**W, "for": "10s", "replication_lag": "5s"}], recon("charged_but_not_final"), "up"),
    "service_outage": ("async-kafka.yaml", {}, [{**W, "target": "risk"}], c("risk.fallback_used"), "up"),
    "network_partition": ("async-kafka.yaml", {}, [{**W, "target": "executor~psp"}], c("executor.timeouts"), "up"),
    "forged_redirect": ("async-kafka.yaml", {}, [{**W, "rate": "2/s"}], c("payment_service.redirect_ignored"), "up"),
    "capacity_loss": ("async-kafka.yaml", {"psp.concurrency_limit": 4}, [{**W, "target": "psp", "fraction": 0.75}],
                      lambda r: r.data["summary"]["services"]["psp"]["waited"], "up"),
    "slowdown": ("async-kafka.yaml", {}, [{**W, "target": "psp", "factor": 10}], s("p99_latency_ms"), "up"),
    "dlq_replay": ("async-kafka.yaml", {"executor.retry": {"strategy": "fixed", "max_attempts": 2, "base": "100ms"}},
                   [{"at": "3m"}, {"kind": "psp_outage", **W}], outcome("DEAD_LETTERED"), "down"),
}


_BASELINES: dict = {}


def _run(tmp_path, name, model, overrides, faults):
    return run_scenario(scenario(tmp_path, model, name=name, duration="2m", drain="6m", workload=SMALL,
                                 overrides=overrides, faults=faults), explain=False)


def test_every_kind_has_a_case():
    kinds = {cls.model_fields["kind"].annotation.__args__[0] for cls in FAULT_CLASSES}
    assert kinds == set(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_fault_kind_visibly_acts(tmp_path, kind):
    model, overrides, faults, observe, direction = CASES[kind]
    first, *others = faults
    with_fault = [{"kind": kind, **first}, *others]
    # The baseline keeps the companion faults, so the difference is this kind's alone.
    key = repr((model, overrides, others))
    if key not in _BASELINES:
        _BASELINES[key] = _run(tmp_path, "without", model, overrides, others)
    baseline = _BASELINES[key]
    faulty = _run(tmp_path, "with", model, overrides, with_fault)
    before, after = observe(baseline), observe(faulty)
    assert (after > before) if direction == "up" else (after < before), (kind, before, after)
    windows = faulty.data["fault_windows"]
    assert any(w["kind"] == kind for w in windows)


def test_db_failover_loses_recent_successes_and_reconciliation_finds_them(tmp_path):
    result = _run(tmp_path, "failover", "async-kafka.yaml", {"monitor.stuck_after": "1h"},
                  [{"kind": "db_failover", "at": "1m", "for": "10s", "replication_lag": "5s"}])
    lost = result.data["counters"]["db.lost_writes"]
    assert lost > 20
    # Some come back by themselves (a late duplicate webhook); the rest only reconciliation finds.
    assert 10 < result.data["reconciliation"]["kinds"]["charged_but_not_final"] <= lost
    assert result.data["summary"]["double_charges"] == 0


def test_trusting_a_forged_redirect_marks_unpaid_orders_paid(tmp_path):
    faults = [{"kind": "forged_redirect", "at": "30s", "for": "1m", "rate": "2/s"}]
    flawed = _run(tmp_path, "flawed", "async-kafka.yaml", {"payment_service.trust_redirect": True}, faults)
    assert flawed.data["counters"]["success_via.redirect"] > 20
    assert flawed.data["reconciliation"]["kinds"]["success_without_capture"] > 0


def test_a_ramp_grows_intensity_in_steps_and_records_one_window(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="1m", workload=SMALL,
                      faults=[{"kind": "psp_errors", "at": "10s", "for": "1m", "ramp": "40s", "ramp_steps": 4,
                               "probability": 0.8}])
    world = build_world(loaded.model, loaded.scenario, 1)
    seen = []
    for t in (5, 15, 25, 35, 45, 55, 69, 75):
        world.env.run(until=t)
        seen.append(round(world.psp.faults.error_probability, 6))
    assert seen == [0.0, 0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.0]
    world.env.run(until=world.end_s)
    assert [(w.kind, w.start_s, w.end_s) for w in world.fault_windows] == [("psp_errors", 10.0, 70.0)]


def test_stacked_faults_combine_and_unwind(tmp_path):
    loaded = scenario(tmp_path, "async-kafka.yaml", duration="2m", drain="1m", workload=SMALL,
                      faults=[{"kind": "psp_errors", "at": "10s", "for": "40s", "probability": 0.5},
                              {"kind": "psp_errors", "at": "20s", "for": "10s", "probability": 0.5}])
    world = build_world(loaded.model, loaded.scenario, 1)
    seen = []
    for t in (15, 25, 35, 55):
        world.env.run(until=t)
        seen.append(world.psp.faults.error_probability)
    assert seen == [0.5, 0.75, 0.5, 0.0]


@pytest.mark.parametrize(("model", "fault", "valid"), [
    ("sync-http.yaml", {"kind": "consumer_crash", "target": "executor"}, "valid targets: ledger, wallet"),
    ("async-kafka.yaml", {"kind": "psp_outage", "target": "secondary_psp"}, "valid targets: psp"),
    ("async-kafka.yaml", {"kind": "issuer_decline_surge", "target": "bank-9"}, "bank-0, bank-1, bank-2, bank-3"),
    ("async-kafka.yaml", {"kind": "broker_outage", "target": "orders"}, "kafka, payment-orders, payment-success"),
    ("async-kafka.yaml", {"kind": "network_partition", "target": "executor~bank"}, "executor~psp"),
    ("async-kafka.yaml", {"kind": "consumer_crash", "target": "executor", "instance": 3}, "instance must be 0..2"),
])
def test_a_fault_aimed_at_something_the_model_lacks_is_a_config_error(tmp_path, model, fault, valid):
    path = write_scenario(tmp_path, model, faults=[{"at": "1m", "for": "1m", **fault}])
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert valid in message and f"{path}:" in message and "faults[0]." in message


def test_link_names_are_order_insensitive_and_retry_groups_are_targets(tmp_path):
    """``psp~executor`` is accepted and cuts the executor's link to the PSP; a retry stage's
    consumer group and topic are targets, and the fault strikes exactly them."""
    reversed_link = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="a", faults=[
        {"kind": "network_partition", "target": "psp~executor", "at": "1m", "for": "1m"}]))
    world = build_world(reversed_link.model, reversed_link.scenario, 1)
    world.env.run(until=90)
    assert world.executor.cut == [1, 0] and world.executor.cut_links == 1
    world.env.run(until=150)
    assert world.executor.cut == [0, 0] and world.metrics.counters["executor.partitioned"] > 0

    retry_stage = load_scenario(write_scenario(tmp_path, "retry-topics.yaml", name="b", faults=[
        {"kind": "consumer_crash", "target": "executor-retry-2", "at": "1m", "for": "1m"},
        {"kind": "broker_outage", "target": "payment-orders-retry-1", "at": "1m", "for": "1m"}]))
    world = build_world(retry_stage.model, retry_stage.scenario, 1)
    groups, topics = world.consumer_groups, world.topics
    world.env.run(until=90)
    assert 0 not in groups["executor-retry-2"].live_instances()
    assert all(0 in group.live_instances() for name, group in groups.items() if name != "executor-retry-2")
    assert not topics["payment-orders-retry-1"].available
    assert all(topic.available for name, topic in topics.items() if name != "payment-orders-retry-1")

    with pytest.raises(ConfigError, match="executor~psp"):  # a link that does not exist, either way round
        load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="c", faults=[
            {"kind": "network_partition", "target": "wallet~executor", "at": "1m", "for": "1m"}]))
