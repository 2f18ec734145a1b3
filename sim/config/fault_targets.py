"""Which targets each fault kind may name in a given model, checked when a scenario is loaded.

A fault aimed at something the model does not have (a consumer group of a sync design, a second
PSP that is not configured, ``bank-7`` of four banks) is a ``ConfigError`` naming the valid ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.config import topics as retry_topics
from sim.config.model import SystemModel
from sim.config.topics import ORDERS_TOPIC, SUCCESS_TOPIC
from sim.errors import ConfigError

if TYPE_CHECKING:
    from sim.config.loader import YamlDocument
    from sim.config.scenario import Scenario

_PSP_KINDS = frozenset({
    "psp_reply_lost_after_commit", "psp_no_reply", "psp_outage", "psp_errors", "psp_latency", "psp_rate_limit",
    "psp_pending_storm", "psp_key_expiry", "psp_clock_skew", "webhook_delay", "webhook_duplicate", "webhook_loss",
    "webhook_reorder",
})  # fmt: skip
_LINKS = ("executor~psp", "payment_service~psp", "payment_service~risk", "psp~scheme")
_SECONDARY_LINKS = ("executor~secondary_psp", "payment_service~secondary_psp")


def consumer_groups(model: SystemModel) -> dict[str, int]:
    """Consumer group → instances."""
    groups = {"wallet": model.wallet.instances, "ledger": model.ledger.instances}
    if model.wiring == "async":
        groups["executor"] = model.executor.instances
    for _topic, group in retry_topics.names(ORDERS_TOPIC, model.executor.retry_topics):
        groups[group] = model.executor.retry_topics.instances
    return dict(sorted(groups.items()))


def topics(model: SystemModel) -> list[str]:
    names = set(model.kafka.topics) | {ORDERS_TOPIC, SUCCESS_TOPIC}
    names |= {topic for topic, _group in retry_topics.names(ORDERS_TOPIC, model.executor.retry_topics)}
    return sorted(names)


def links(model: SystemModel) -> list[str]:
    return list(_LINKS) + (list(_SECONDARY_LINKS) if model.secondary_psp is not None else [])


def stations(model: SystemModel, finite_only: bool) -> list[str]:
    """The services a capacity fault may name (with ``finite_only``, those with a server count)."""
    ps, found = model.payment_service, []
    candidates = [
        ("payment_service", True), ("executor", model.wiring == "sync"), ("database", ps.database.connections),
        ("risk", ps.risk.servers), ("psp", model.psp.concurrency_limit),
        ("secondary_psp", model.secondary_psp is not None and model.secondary_psp.concurrency_limit),
        ("scheme", model.scheme.servers), ("banks", model.banks.servers),
    ]
    for name, finite in candidates:
        if (finite or not finite_only) and not (name == "executor" and model.wiring != "sync") \
                and not (name == "secondary_psp" and model.secondary_psp is None):
            found.append(name)
    if model.banks.servers or not finite_only:
        found += [f"bank-{i}" for i in range(model.banks.count)]
    found += [name for name, cfg in (("wallet_db", model.wallet), ("ledger_db", model.ledger))
              if cfg.connections or not finite_only]
    return found


def valid_targets(kind: str, model: SystemModel) -> list[str]:
    """The targets ``kind`` may name in ``model``."""
    if kind in _PSP_KINDS:
        return ["psp"] + (["secondary_psp"] if model.secondary_psp is not None else [])
    if kind in ("issuer_decline_surge", "bank_errors"):
        return ["banks"] + [f"bank-{i}" for i in range(model.banks.count)]
    if kind in ("consumer_crash", "consumer_stall", "consumer_zombie"):
        return list(consumer_groups(model))
    if kind == "broker_outage":
        return ["kafka"] + topics(model)
    if kind == "poison_pill":
        return topics(model)
    if kind == "producer_duplicates":
        return ["payment_service"] + (["executor"] if model.wiring == "async" else [])
    if kind == "db_failover":
        return ["database"]
    if kind == "service_outage":
        return ["payment_service", "risk"] + (["payout_provider"] if model.payouts.enabled else [])
    if kind == "network_partition":
        return links(model)
    if kind == "forged_redirect":
        return ["client"]
    if kind == "dlq_replay":
        return ["dlq"]
    if kind == "capacity_loss":
        return stations(model, finite_only=True)
    if kind == "slowdown":  # the executor's threads only wait on the PSP: nothing of theirs to slow
        return [name for name in stations(model, finite_only=False) if name != "executor"]
    raise ValueError(f"no targets defined for fault kind {kind!r}")


def _normal(kind: str, target: str) -> str:
    if kind == "network_partition" and "~" in target:
        a, b = sorted(part.strip() for part in target.split("~", 1))
        return f"{a}~{b}"
    return target


def check_targets(scenario: "Scenario", model: SystemModel, doc: "YamlDocument | None" = None,
                  where: str = "") -> None:
    """Raise ConfigError (file, line, key, valid names) for the first fault with a bad target."""
    from sim.config.loader import key_path, node_at

    groups = consumer_groups(model)
    for index, fault in enumerate(scenario.faults):
        valid = valid_targets(fault.kind, model)
        normal_valid = {_normal(fault.kind, v) for v in valid}
        problem = None
        key = "target"
        if _normal(fault.kind, fault.target) not in normal_valid:
            problem = f"{fault.kind} cannot target {fault.target!r} in model {model.name!r}; valid targets: {', '.join(valid)}"
        elif fault.kind in ("consumer_crash", "consumer_stall", "consumer_zombie") and fault.instance >= groups[fault.target]:
            key = "instance"
            problem = (f"consumer group {fault.target!r} has {groups[fault.target]} instances; "
                       f"instance must be 0..{groups[fault.target] - 1}")
        if problem is None:
            continue
        node = node_at(doc.root, ("faults", index, key)) if doc is not None else None
        raise ConfigError(
            problem + where, file=doc.path if doc is not None else None,
            line=node.start_mark.line + 1 if node is not None else None,
            column=node.start_mark.column + 1 if node is not None else None,
            key=key_path(("faults", index, key)),
        )
