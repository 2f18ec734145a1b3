"""No dead keys: every key of the system model changes something a run reports (issue 16, item 8).

Each leaf key of ``SystemModel`` (found by walking the pydantic models; YAML names; distributions
and lists are leaves changed as a whole) gets a changed value chosen from its type (or from
``CHANGES``), applied as a scenario variant (the project's dotted-key overrides) to the short, busy
scenario ``tests/dead_keys/busy.yaml``, whose model is written out whole so that the override changes
that one key and nothing else. A key is alive when the run's results (without the ``config`` echo,
the variant's name and the reproducing command) differ from the same context's baseline run. A key
that only matters with an enabling flag, a fault or load near a limit is given that context in
``CONTEXTS`` / ``CONTEXT_OF`` (data, not code per key). Keys with no observable effect are listed in
``DOCUMENTATION_ONLY`` with the reason (none may be "DEAD: ...", a key the model accepts and ignores); a
listed key that turns out to be alive fails too, so the list stays true. Keys a service refuses to
change at all are in ``NOT_SETTABLE``, and the test checks that they are refused.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Literal

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from helpers import MODELS
from sim.config.base import Frozen
from sim.config.distributions import Distribution, distribution_mean_s
from sim.config.keypaths import set_paths
from sim.config.loader import load_scenario, variant_model
from sim.config.model import SystemModel
from sim.runners.run import result_digest, run_scenario

BUSY = Path(__file__).resolve().parent / "dead_keys" / "busy.yaml"

# -- the keys --------------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[...]`` and ``X | None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Dotted YAML paths of every leaf of ``model``: nested config objects are walked, a mapping of
    config objects (``kafka.topics``) by its default entries; a distribution or a list is a leaf."""
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        inner = _unwrap(field.annotation)
        if isinstance(inner, type) and issubclass(inner, Frozen):
            yield from _leaf_keys(inner, key + ".")
        elif typing.get_origin(inner) is dict:
            value_type = _unwrap(typing.get_args(inner)[1])
            for entry in field.get_default(call_default_factory=True):
                yield from _leaf_keys(value_type, f"{key}.{entry}.")
        else:
            yield key


MODEL_KEYS = tuple(_leaf_keys(SystemModel))


# -- where each key can show: contexts (data) --------------------------------------------------------

_TIGHT_FRONT = {"payment_service.threads": 2, "payment_service.queue": {"max_queue": 8}}
"""The payment service near its limit: 4 request threads (its queue knobs and server count decide)."""
_TIGHT_BACK = {  # every station behind the payment service near its limit
    "payment_service.database.connections": 2, "payment_service.risk.servers": 2,
    "payment_service.risk.queue": {"max_queue": 6}, "psp.concurrency_limit": 4, "psp.queue": {"max_queue": 40},
    "psp.rate_limit": "12/s", "scheme.servers": 3, "scheme.queue": {"max_queue": 6}, "banks.servers": 2,
    "banks.queue": {"max_queue": 6}, "wallet.connections": 2, "ledger.connections": 2,
}
_SLOW = [  # a slowdown of each station in turn (the trigger that fills its queue)
    {"kind": "slowdown", "target": target, "at": at, "for": "10s", "factor": factor}
    for target, at, factor in (("payment_service", "5s", 8), ("database", "15s", 8), ("psp", "25s", 30),
                               ("scheme", "35s", 8), ("banks", "45s", 8), ("wallet_db", "60s", 8),
                               ("ledger_db", "70s", 8), ("risk", "80s", 8))
]
_PSP_DOWN = [{"kind": "psp_outage", "at": "20s", "for": "30s", "fraction": 0.7}]
_RISK_SLOW = [  # checks that time out (two bursts: the budget refills in between), then checks that are slow
    {"kind": "slowdown", "target": "risk", "at": at, "for": span, "factor": factor}
    for at, span, factor in (("15s", "10s", 40), ("40s", "5s", 40), ("60s", "15s", 5))
]
_RETRY_TOPICS = {"executor.retry_topics": {"enabled": True, "delays": ["2s", "5s", "10s"]},
                 "executor.retry": {"strategy": "fixed", "max_attempts": 2, "base": "100ms"}}
_GROWING = {"strategy": "exponential", "max_attempts": 3, "base": "50ms"}
"""A retry policy whose delays grow (so that its cap matters)."""
_MONEY_RETRY = {"strategy": "exponential", "max_attempts": 3, "base": "1s"}
"""Retries of captures, refunds and payouts that give up within the run (their defaults last an hour)."""

_FX = {"fx": {"settlement_currency": "EUR", "rates": {"USD": 0.92}, "volatility_per_day": 0.05, "step": "10s"},
       "psp.settlement_cutoff": "60s", "psp.settlement_days": 0}
"""USD payments settled in EUR, the rate moving every 10 s, the day closing a minute in and paid at once."""

CONTEXTS: dict[str, dict[str, Any]] = {
    "base": {},
    "tight_front": {"overrides": _TIGHT_FRONT, "faults": _SLOW[:1]},
    "tight_back": {"overrides": _TIGHT_BACK,  # the banks' queue fills behind the scheme's only when they are slower still
                   "faults": _SLOW[1:] + [{"kind": "slowdown", "target": "banks", "at": "45s", "for": "10s", "factor": 4}]},
    "sync": {"overrides": {"wiring": "sync", "executor.threads": 4, "executor.queue": {"max_queue": 30},
                           "payment_service.executor_retry": {**_GROWING, "base": "200ms"},
                           "payment_service.retry_budget": {"enabled": True, "max_tokens": 3, "tokens_per_success": 0.02}},
             "faults": _PSP_DOWN + [{"kind": "psp_latency", "at": "60s", "for": "10s", "added": "1s"}],
             "drop": ["consumer_crash:executor"]},
    "executor_protections": {"overrides": {
        "executor.breaker": {"enabled": True, "window_size": 20, "minimum_calls": 10, "open_duration": "5s",
                             "half_open_calls": 3, "slow_call_duration": "1s", "slow_call_rate_threshold": 0.8},
        "executor.retry_budget": {"enabled": True, "max_tokens": 5, "tokens_per_success": 0.05},
        "executor.throttle": {"enabled": True, "k": 1.5, "window": "30s"},
    }, "faults": _PSP_DOWN + [{"kind": "psp_latency", "at": "60s", "for": "15s", "added": "1500ms"}]},
    "risk_retries": {"overrides": {
        "payment_service.risk.retry": {**_GROWING, "max_attempts": 3},
        "payment_service.risk.retry_budget": {"enabled": True, "max_tokens": 20, "tokens_per_success": 0.05},
        "payment_service.risk.servers": 3, "payment_service.risk.queue": {"max_queue": 10},
        "payment_service.risk.reject_probability": 0.02,  # rejections to retry (retry_non_retryable)
    }, "faults": _RISK_SLOW},
    "risk_breaker": {"overrides": {
        "payment_service.risk.breaker": {"enabled": True, "window_type": "time", "window_size": 10, "minimum_calls": 20,
                                         "failure_rate_threshold": 0.3, "open_duration": "3s", "half_open_calls": 3,
                                         "slow_call_duration": "80ms", "slow_call_rate_threshold": 0.5},
        "payment_service.risk.servers": 3, "payment_service.risk.queue": {"max_queue": 10},
    }, "faults": _RISK_SLOW},
    # the payment service refuses with a 429 and a Retry-After longer than the client's own delay
    "front_429": {"overrides": {**_TIGHT_FRONT, "payment_service.retry_after": "3s"}, "faults": _SLOW[:1]},
    # authorisations queue at the scheme and the banks for longer than their caller waits
    "expiring_back": {"overrides": {"scheme.servers": 2, "scheme.queue": {"max_queue": 500}, "banks.servers": 1,
                                    "banks.queue": {"max_queue": 500}},
                      "faults": [{"kind": "slowdown", "target": target, "at": at, "for": "15s", "factor": 40}
                                 for target, at in (("scheme", "10s"), ("banks", "40s"))]},
    "closed_population": {"overrides": {"client.closed_population": {"enabled": True, "size": 40, "think_time": "2s"}}},
    "shedding": {"overrides": {"payment_service.shedding": {"enabled": True, "max_in_flight": 6},
                               "payment_service.threads": 4}},
    "bank_retries": {"overrides": {"psp.bank_retry": _GROWING},  # errors often enough that some authorisations run out of tries
                     "faults": [{"kind": "bank_errors", "at": "60s", "for": "10s", "probability": 0.6}]},
    "retry_topics": {"overrides": _RETRY_TOPICS,  # a whole outage longer than the stages' 17 s: orders run out of them
                     "faults": [{"kind": "psp_outage", "at": "20s", "for": "30s"},
                                {"kind": "consumer_crash", "target": "executor-retry-1", "at": "25s", "for": "20s"}]},
    "retry_topics_on": {"overrides": _RETRY_TOPICS, "faults": _PSP_DOWN},
    "dual_psp": {"overrides": {
        "executor.status_query_after_timeout": False,
        "secondary_psp": {"concurrency_limit": 4, "queue": {"max_queue": 40}, "rate_limit": "8/s",
                          "bank_retry": _GROWING, "webhook": {"loss_probability": 0.3}, "pending_probability": 0.1},
    }, "faults": [{"kind": "psp_outage", "at": "10s", "for": "60s"},
                  {"kind": "psp_reply_lost_after_commit", "target": "secondary_psp", "at": "15s", "for": "20s",
                   "probability": 0.3},
                  {"kind": "bank_errors", "at": "20s", "for": "20s", "probability": 0.3},
                  {"kind": "psp_clock_skew", "target": "secondary_psp", "at": "0s", "skew": "30s"},
                  {"kind": "slowdown", "target": "secondary_psp", "at": "40s", "for": "15s", "factor": 100}]},
    "monitor": {"overrides": {"monitor.stuck_after": "20s"}},
    "growing_backoff": {"overrides": {"client.retry": {"strategy": "exponential", "max_attempts": 4, "base": "1s"}}},
    "no_status_query": {"overrides": {"executor.status_query_after_timeout": False}},
    # charges retried while their first attempt is still at the PSP: 409s
    "in_flight_conflicts": {"overrides": {"executor.status_query_after_timeout": False, "executor.psp_timeout": "150ms"}},
    "outbox": {"overrides": {"payment_service.producer.retry": {"strategy": "fixed", "max_attempts": 2,
                                                                "base": "100ms"}}},
    "commit_before": {"overrides": {"executor.commit": "before"}},
    # a zombie consumer: an executor instance hangs inside an execution past max_poll_interval
    "zombie": {"overrides": {"kafka.max_poll_interval": "10s"},
               "faults": [{"kind": "consumer_zombie", "target": "executor", "instance": 1, "at": "5s", "for": "30s"}]},
    "hot_seller": {"workload": {"hot_seller_share": 0.6}, "overrides": {"wallet.latency": "30ms"}},
    "clock_skew": {"faults": [{"kind": "psp_clock_skew", "at": "0s", "skew": "30s"}]},
    "delayed_capture": {"overrides": {"capture": {
        "mode": "delayed", "delay": {"dist": "constant", "value": 8}, "cancel_probability": 0.2,
        "partial_probability": 0.3, "hold_expiry": "60s", "retry": _MONEY_RETRY}}},
    "money_flows": {"overrides": {
        "refunds": {"probability": 0.4, "delay": {"dist": "constant", "value": 4}, "failure_probability": 0.1,
                    "retry": _MONEY_RETRY},
        "chargebacks": {"probability": 0.3, "delay": {"dist": "constant", "value": 10},
                        "notification_delay": {"dist": "constant", "value": 5},
                        "resolution_delay": {"dist": "constant", "value": 20}},
        "payouts": {"enabled": True, "interval": "20s", "first_run": "20s", "lag": "0s", "reserve_fraction": 0.1,
                    "clearing_deadline": "30s", "retry": _MONEY_RETRY,
                    "provider": {"error_probability": 0.2, "reply_lost_probability": 0.3}},
    }, "faults": [{"kind": "psp_reply_lost_after_commit", "at": "30s", "for": "40s", "probability": 0.3}]},
    "fx": {"overrides": _FX},
    # PSP clearing: the day closing 30 s in, paid at once, each capture's entry due closed 30 s later
    "psp_clearing": {"overrides": {"psp.settlement_cutoff": "30s", "psp.settlement_days": 0,
                                   "ledger.psp_clearing_deadline": "30s"}},
    # PSP clearing with delayed captures (8 s after payment, a fifth cancelled): the capture opens the entry
    "delayed_psp_clearing": {"overrides": {"psp.settlement_cutoff": "30s", "psp.settlement_days": 0,
                                           "ledger.psp_clearing_deadline": "30s", "capture": {
                                               "mode": "delayed", "delay": {"dist": "constant", "value": 8},
                                               "cancel_probability": 0.2, "retry": _MONEY_RETRY}}},
    # reconciliation during the run: the day closing 30 s in, runs from a minute on, every 30 s
    "nightly": {"overrides": {"psp.settlement_cutoff": "30s", "reconciliation.first_run": "60s",
                              "reconciliation.every": "30s"}},
}
CONTEXTS["fx_dual_psp"] = {**CONTEXTS["dual_psp"], "overrides": {**CONTEXTS["dual_psp"]["overrides"], **_FX,
                                                                  "secondary_psp.settlement_cutoff": "60s",
                                                                  "secondary_psp.settlement_days": 0}}
"""Context name → ``overrides`` (model values), ``workload`` (changed workload keys), ``faults`` (added to
the busy scenario's) and ``drop`` (``kind:target`` of the busy scenario's faults its model cannot have)."""

CONTEXT_OF: dict[str, str] = {
    "payment_service.instances": "tight_front", "payment_service.threads": "tight_front",
    "payment_service.queue.": "tight_front", "payment_service.retry_after": "tight_front",
    "client.retry.honour_retry_after": "front_429",
    "client.closed_population.size": "closed_population", "client.closed_population.think_time": "closed_population",
    "scheme.queue.drop_expired": "expiring_back", "banks.queue.drop_expired": "expiring_back",
    "payment_service.database.connections": "tight_back", "payment_service.database.queue.": "tight_back",
    "payment_service.risk.servers": "tight_back", "payment_service.risk.queue.": "tight_back",
    "psp.concurrency_limit": "tight_back", "psp.queue.": "tight_back", "psp.rate_limit": "tight_back",
    "psp.retry_after": "tight_back", "executor.retry.honour_retry_after": "tight_back", "scheme.": "tight_back",
    "banks.count": "tight_back", "banks.servers": "tight_back", "banks.queue.": "tight_back",
    "wallet.connections": "tight_back", "wallet.queue.": "tight_back",
    "ledger.connections": "tight_back", "ledger.queue.": "tight_back",
    "wiring": "sync", "executor.threads": "sync", "executor.queue.": "sync", "payment_service.executor_retry.": "sync",
    "payment_service.retry_budget.": "sync",
    "executor.breaker.": "executor_protections", "executor.retry_budget.": "executor_protections",
    "executor.throttle.": "executor_protections",
    "payment_service.risk.retry.": "risk_retries", "payment_service.risk.retry_budget.": "risk_retries",
    "payment_service.risk.breaker.": "risk_breaker",
    "payment_service.shedding.": "shedding",
    "psp.bank_retry.": "bank_retries",
    "executor.retry_topics.": "retry_topics",
    "executor.retry_topics.enabled": "retry_topics_on",  # without the crash of a retry topic's consumer
    "secondary_psp.": "dual_psp",
    "monitor.": "monitor",
    "client.retry.cap": "growing_backoff",
    "executor.on_conflict": "growing_backoff",  # the busy run has no 409 any more: retries that grow meet one
    "executor.idempotency_key": "no_status_query", "psp.idempotency": "no_status_query",
    "executor.on_conflict": "in_flight_conflicts",
    "payment_service.outbox.": "outbox",
    "kafka.max_poll_records": "commit_before",
    "executor.claim": "zombie",
    "wallet.occ_retry.": "hot_seller",
    "psp.settlement_cutoff": "clock_skew",
    "capture.": "delayed_capture",
    "refunds.": "money_flows", "chargebacks.": "money_flows", "payouts.": "money_flows", "fees.": "money_flows",
    "fx.": "fx", "psp.settlement_days": "fx", "reconciliation.every": "nightly", "reconciliation.first_run": "nightly",
    "ledger.psp_clearing_deadline": "psp_clearing", "ledger.import_settlements": "psp_clearing", "ledger.psp_clearing_opens_at": "delayed_psp_clearing", "secondary_psp.settlement_days": "fx_dual_psp",
}
"""Key, or a prefix ending in ``.``, → the context it is tried in (the longest match wins; default base)."""

CHANGES: dict[str, Any] = {
    # service-level objectives: a bound the busy run breaks, so the slo oracle's verdict changes
    "slo.psp_requests_per_order": "<= 1",
    "slo.p99_latency_ms": "<= 1",
    "slo.goodput_per_s": ">= 1000000",
    "slo.time_to_recover_s": "<= 0",
    "slo.success_rate": ">= 1",
    # optional values that are off by default: a value that acts within the short run
    "client.retry.deadline": "3s",
    "client.patience": "5s",
    "payment_service.queue.max_queue_wait": "50ms",
    "payment_service.risk.queue.max_queue_wait": "50ms",
    "payment_service.risk.retry.deadline": "60ms",
    "payment_service.producer.retry.deadline": "2s",
    "payment_service.executor_retry.deadline": "100ms",
    "payment_service.retry_after": "3s",
    "executor.retry.deadline": "1s",
    "executor.queue.max_queue_wait": "50ms",
    "psp.bank_retry.deadline": "60ms",
    "psp.queue.max_queue_wait": "100ms",
    "scheme.queue.max_queue_wait": "20ms",
    "banks.queue.max_queue_wait": "100ms",
    "wallet.occ_retry.deadline": "10ms",
    "secondary_psp.queue.max_queue_wait": "100ms",
    "secondary_psp.bank_retry.deadline": "60ms",
    # a shorter queue than the context's: the limit is reached
    "payment_service.risk.queue.max_queue": 1,
    "psp.queue.max_queue": 1,
    "scheme.queue.max_queue": 0,
    "banks.queue.max_queue": 1,
    "secondary_psp.queue.max_queue": 1,
    # fewer attempts than the context's policy (more are denied by its retry budget anyway)
    "payment_service.executor_retry.max_attempts": 1,
    "payment_service.risk.retry.max_attempts": 1,
    "payment_service.producer.retry.max_attempts": 2,  # gives up within the broker outage
    "wallet.occ_retry.max_attempts": 2,
    # caps below the growing delays of the context's policy
    "client.retry.cap": "1500ms",
    "executor.retry.cap": "300ms",
    "payment_service.executor_retry.cap": "250ms",
    "payment_service.risk.retry.cap": "60ms",
    "psp.bank_retry.cap": "60ms",
    "secondary_psp.bank_retry.cap": "60ms",
    "wallet.occ_retry.cap": "8ms",
    # long horizons that a few minutes never reach when doubled
    "psp.idempotency_ttl": "5s",
    "secondary_psp.idempotency_ttl": "5s",
    "psp.settlement_cutoff": "60s",
    "secondary_psp.settlement_cutoff": "60s",
    "kafka.max_poll_interval": "5s",
    "psp.webhook.max_deliveries": 1,
    "secondary_psp.webhook.max_deliveries": 1,
    "kafka.max_poll_records": 1,
    # a threshold the context's slow calls cross
    "executor.breaker.slow_call_duration": "100ms",
    "executor.breaker.slow_call_rate_threshold": 0.02,
    "payment_service.risk.breaker.slow_call_rate_threshold": 0.05,
    "payment_service.risk.breaker.slow_call_duration": "5s",  # no call is slow any more
    "payment_service.risk.breaker.minimum_calls": 500,  # more than a 10 s window holds: never judged
    # money flows: deadlines and caps inside their context's growing retries, a sweep within the run
    "capture.retry.deadline": "1500ms",
    "refunds.retry.deadline": "1500ms",
    "payouts.retry.deadline": "1500ms",
    "capture.retry.cap": "1500ms",
    "refunds.retry.cap": "1500ms",
    "payouts.retry.cap": "1500ms",
    "refunds.extra_captures_every": "20s",
    # FX: off, a day later
    "fx.settlement_currency": None,
    "psp.settlement_days": 1,
    "ledger.on_time_within": "1s",  # the ledger's crash in the busy run delays bookings by seconds
    "ledger.psp_clearing_deadline": None,  # off: captures straight to the PSP receivable, no settlement
    "secondary_psp.settlement_days": 1,
}
"""Changed values where the rule from the type would say nothing (None, a value that changes nothing)."""

_PSP_FEE = ("the PSP's fee is booked in the ledger (PSP_FEES, netted from the PSP receivable) and checked by "
            "money_conserved, but no value of results.json reports it and sellers' payouts do not depend on it")

DOCUMENTATION_ONLY: dict[str, str] = {
    "name": "the design's name: echoed in the config and reports only",
    "description": "free text about the design",
    "fees.psp_fixed_minor": _PSP_FEE,
    "fees.psp_rate": _PSP_FEE,
    "payouts.clearing_deadline": ("only the clearing_closed oracle reads it, and in a run whose payout runs read "
                                  "the provider's report every payout closes within either deadline (the flawed "
                                  "model payouts-never-reconciled shows it)"),
    "refunds.extra_captures_every": ("the sweep refunds captures beyond an order's first; a design with idempotency "
                                     "keys has none to refund (scenarios/refund-storm shows it)"),
}
"""Keys that change nothing observable, each with why ("DEAD: ..." = the model ignores a key it accepts)."""


_POOL = "refused at load: callers wait for a database connection (HikariCP has no reject, no drop)"
_NO_429 = "refused at load: this caller's dependency never answers 429 with a Retry-After (NoRetryAfterRetryPolicy)"
_TRANSIENT = "refused at load: every failure this caller retries is transient (TransientRetryPolicy)"
_IN_TURN = "refused at load: the card scheme and the issuers serve in arrival order (LIFO is no merchant's choice there)"
_IO = "refused at load: the executor's threads wait for the PSP (I/O, not CPU); contention is the PSP queue's"
NOT_SETTABLE: dict[str, tuple[Any, str]] = {
    **{f"{pool}.queue.{knob}": (value, _POOL)
       for pool in ("payment_service.database", "wallet", "ledger")
       for knob, value in (("max_queue", 5), ("max_queue_wait", "1s"), ("drop_expired", True), ("discipline", "lifo"))},
    **{f"{who}.queue.discipline": ("lifo", _IN_TURN) for who in ("scheme", "banks")},
    **{f"{policy}.honour_retry_after": (False, _NO_429)
       for policy in ("payment_service.risk.retry", "payment_service.producer.retry", "payment_service.executor_retry",
                      "psp.bank_retry", "secondary_psp.bank_retry", "wallet.occ_retry", "capture.retry",
                      "refunds.retry", "payouts.retry")},
    **{f"{policy}.retry_non_retryable": (True, _TRANSIENT)
       for policy in ("payment_service.producer.retry", "payment_service.executor_retry", "wallet.occ_retry",
                      "capture.retry", "refunds.retry", "payouts.retry")},
    "executor.queue.contention": (0.1, _IO),
    "executor.queue.coherency": (0.01, _IO),
}
"""Keys of a shared config type that this service refuses to change: key → (a value tried, why)."""


def context_of(key: str) -> str:
    matches = [k for k in CONTEXT_OF if key == k or (k.endswith(".") and key.startswith(k))]
    return CONTEXT_OF[max(matches, key=len)] if matches else "base"


# -- changed values --------------------------------------------------------------------------------


def _get(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _field(key: str) -> Any:
    """The pydantic field a dotted YAML key names."""
    model: Any = SystemModel
    field = None
    parts = key.split(".")
    i = 0
    while i < len(parts):
        by_alias = {(f.alias or n): f for n, f in model.model_fields.items()}
        field = by_alias[parts[i]]
        inner = _unwrap(field.annotation)
        if typing.get_origin(inner) is dict:
            inner = _unwrap(typing.get_args(inner)[1])
            i += 1  # the mapping's entry name
        model = inner
        i += 1
    return field


def _candidates(key: str, value: Any) -> list[Any]:
    """Changed values for ``key`` (current ``value``, as dumped by alias), best first."""
    if key in CHANGES:
        return [CHANGES[key]]
    inner = _unwrap(_field(key).annotation)
    if value is None:
        return []
    if isinstance(value, bool):
        return [not value]
    if isinstance(inner, type) and issubclass(inner, Enum):
        return [m.value for m in inner if m.value != value]
    if typing.get_origin(inner) is Literal:
        return [m for m in typing.get_args(inner) if m != value]
    if isinstance(value, dict) and "dist" in value:  # a distribution: a clearly different constant
        mean_s = distribution_mean_s(TypeAdapter(Distribution).validate_python(value), base_dir=MODELS)
        return [{"dist": "constant", "value": max(4 * mean_s, 0.1)}]
    if isinstance(value, list):
        return [[2 * v for v in value]]
    if isinstance(value, int):
        return [value * 2, value + 1, value // 2, value - 1]
    if isinstance(value, float):
        return [value * 2, value + 1, value / 2, value - 1] if value else [0.5, 1.0]
    if isinstance(value, str):
        return [value + " (changed)"]
    return []


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a dumped model by dotted path (a distribution's fields as leaves too)."""
    if isinstance(data, dict) and data:
        return {k: v for name, child in data.items() for k, v in _flat(child, f"{prefix}{name}.").items()}
    return {prefix[:-1]: data}


def changed_value(model_data: dict, key: str) -> Any:
    """The first candidate that validates and changes ``key``, and nothing else, in the resolved model."""
    before = _flat(SystemModel.model_validate(model_data).model_dump(mode="json", by_alias=True))
    current = _get(SystemModel.model_validate(model_data).model_dump(mode="json", by_alias=True), key)
    for candidate in _candidates(key, current):
        try:
            changed = SystemModel.model_validate(set_paths(model_data, {key: candidate}))
        except ValidationError:
            continue
        after = _flat(changed.model_dump(mode="json", by_alias=True))
        moved = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
        if moved and all(path == key or path.startswith(key + ".") for path in moved):
            return candidate  # (strategy none would also set max_attempts to 1: the next candidate is tried)
    raise AssertionError(f"no valid value changes {key} alone (current {current!r}): give one in CHANGES")


# -- runs ------------------------------------------------------------------------------------------


def observable_digest(data: dict) -> str:
    """The results digest without what merely echoes the input (config, variant name, command)."""
    return result_digest({k: v for k, v in data.items() if k not in ("config", "variant", "command")})


def context_scenario(tmp_path: Path, context: str, keys: list[str]) -> Path:
    """The busy scenario with the context's faults and workload, against the context's model written out
    whole (every default filled in, so that a dotted override changes its one key and nothing else),
    and one variant per key."""
    document = yaml.safe_load(BUSY.read_text())
    spec = CONTEXTS[context]
    model_path = (BUSY.parent / document["model"]).resolve()
    overrides = {**document.pop("overrides", {}), **spec.get("overrides", {})}
    model = SystemModel.model_validate(set_paths(yaml.safe_load(model_path.read_text()), overrides))
    model_data = model.model_dump(mode="json", by_alias=True)
    resolved = tmp_path / f"model-{context}.yaml"
    resolved.write_text(yaml.safe_dump(model_data, sort_keys=False))
    document["model"] = str(resolved)
    document["workload"] = {**document.get("workload", {}), **spec.get("workload", {})}
    dropped = set(spec.get("drop", ()))
    document["faults"] = [f for f in document.get("faults", []) if f"{f['kind']}:{f.get('target', '')}" not in dropped]
    document["faults"] += spec.get("faults", [])
    document["variants"] = {key: {key: changed_value(model_data, key)} for key in keys}
    path = tmp_path / f"dead-keys-{context}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_walk_finds_every_kind_of_key():
    """The enumeration reaches nested policies, queues, mappings and the optional second PSP."""
    for key in ("payment_service.instances", "payment_service.database.failover_pause",
                "executor.breaker.half_open_calls", "payment_service.risk.retry_budget.max_tokens",
                "executor.throttle.k", "payment_service.shedding.max_in_flight", "psp.queue.drop_expired",
                "kafka.topics.payment-orders.partitions", "secondary_psp.fallback_after_timeout",
                "client.patience", "executor.retry_topics.delays", "client.closed_population.think_time"):
        assert key in MODEL_KEYS, key
    assert len(MODEL_KEYS) == len(set(MODEL_KEYS)) > 200


def test_the_tables_name_real_keys_and_contexts():
    known = set(MODEL_KEYS)
    for table in (CHANGES, DOCUMENTATION_ONLY, NOT_SETTABLE):
        assert set(table) <= known, set(table) - known
    for key, context in CONTEXT_OF.items():
        assert context in CONTEXTS, (key, context)
        assert key in known or any(k.startswith(key) for k in known if key.endswith(".")), key


def test_every_context_is_used():
    assert {context_of(key) for key in MODEL_KEYS} == set(CONTEXTS)


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_every_key_gets_a_value_that_changes_it_alone(tmp_path, context):
    """The tables give every key a valid changed value in its context (no run: the slow test runs them)."""
    keys = [key for key in MODEL_KEYS if context_of(key) == context and key not in NOT_SETTABLE]
    loaded = load_scenario(context_scenario(tmp_path, context, keys))
    assert sorted(loaded.scenario.variants) == sorted(keys)


@pytest.mark.parametrize("key", sorted(NOT_SETTABLE))
def test_keys_that_cannot_be_set_are_refused(key):
    """A key listed as not settable is refused with a clear error (so it cannot be silently dead)."""
    value, _why = NOT_SETTABLE[key]
    with pytest.raises(ValidationError):
        SystemModel.model_validate(set_paths({"name": "x"}, {key: value}))


@pytest.mark.slow
@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_every_key_changes_the_results(tmp_path, context):
    keys = [key for key in MODEL_KEYS if context_of(key) == context and key not in NOT_SETTABLE]
    if not keys:
        pytest.skip(f"no key is tried in context {context}")
    loaded = load_scenario(context_scenario(tmp_path, context, keys))
    baseline = observable_digest(run_scenario(loaded, explain=False).data)
    dead, alive_but_listed = [], []
    for key in keys:
        assert variant_model(loaded, key) != loaded.model, f"{key}: the override changed nothing in the model"
        alive = observable_digest(run_scenario(loaded, variant=key, explain=False).data) != baseline
        if not alive and key not in DOCUMENTATION_ONLY:
            dead.append(key)
        if alive and key in DOCUMENTATION_ONLY:
            alive_but_listed.append(key)
    assert not dead, f"context {context}: these keys change nothing observable (give them a context, or list " \
                     f"them in DOCUMENTATION_ONLY with why): {dead}"
    assert not alive_but_listed, f"context {context}: listed as documentation only, but they change the " \
                                 f"results: {alive_but_listed}"


def test_no_key_is_dead():
    """Every key the model accepts does something, or is refused where it could not (issue 16, item 8):
    documentation-only keys are the design's name and keys whose effect needs data a short run lacks."""
    dead = sorted(key for key, why in DOCUMENTATION_ONLY.items() if why.startswith("DEAD"))
    assert not dead, f"keys the model accepts and ignores: {dead}"
