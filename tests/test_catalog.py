"""``paychaos catalog`` lists every fault kind and policy from the schema itself."""

from __future__ import annotations

import json

from sim.cli import main
from sim.config.fault_specs import FAULT_CLASSES
from sim.config.policies import CircuitBreakerPolicy, RetryPolicy


def _json(capsys) -> dict:
    assert main(["catalog", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_fault_kind_is_listed_with_its_parameters_and_descriptions(capsys):
    data = _json(capsys)
    listed = {fault["kind"]: fault for fault in data["faults"]}
    for cls in FAULT_CLASSES:
        kind = cls.model_fields["kind"].annotation.__args__[0]
        assert kind in listed
        keys = {p["key"]: p for p in listed[kind]["params"]}
        assert "target" in keys
        assert listed[kind]["what"] == " ".join(cls.__doc__.split())
    rate_limit = {p["key"]: p for p in listed["psp_rate_limit"]["params"]}
    assert rate_limit["rate"]["unit"].startswith("rate") and rate_limit["rate"]["default"] == "required"
    assert rate_limit["retry_after"]["default"] == "1s"
    assert {p["key"] for p in data["schedule"]} >= {"at", "for", "every", "mtbf", "mttr", "ramp"}


def test_every_policy_is_listed_with_defaults_units_and_the_schema_text(capsys):
    data = _json(capsys)
    policies = {p["policy"]: p for p in data["policies"]}
    assert set(policies) >= {"retry", "circuit_breaker", "retry_budget", "adaptive_throttle", "load_shedding",
                             "retry_topics", "secondary_psp"}
    breaker = {p["key"]: p for p in policies["circuit_breaker"]["params"]}
    assert breaker["open_duration"]["default"] == "60s"  # Resilience4j's default, as a duration
    assert breaker["failure_rate_threshold"]["unit"] == "0..1"
    field = CircuitBreakerPolicy.model_fields["half_open_calls"]
    assert breaker["half_open_calls"]["description"] == field.description
    retry = {p["key"]: p for p in policies["retry"]["params"]}
    assert set(retry) == {f.alias or n for n, f in RetryPolicy.model_fields.items()}
    assert "full_jitter" in retry["strategy"]["unit"] or retry["strategy"]["default"] == "full_jitter"


def test_markdown_and_text_formats_render(capsys):
    assert main(["catalog", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "### `network_partition`" in text and "| `replication_lag` |" in text
    assert main(["catalog"]) == 0
    assert "dlq_replay" in capsys.readouterr().out
