"""Retry cost, amplification across layers, and the retry budget's 1.1× (docs/design.md §13).

- **Retry cost**: the reference async model with a ``psp_errors`` fault at probability p for the
  whole load phase and the executor retrying ``immediate`` with ``max_attempts: N+1``. Nothing
  else fails, declines or pends (bank and PSP error/decline/pending probabilities are 0, latencies
  constant and well under the executor's timeout), so each order's PSP charge attempts follow the
  truncated geometric law: (1 − p^(N+1)) / (1 − p) on average. Only orders created at least
  ``MARGIN_S`` before the fault ends are counted (all their attempts ran under it).
- **Amplification**: executor retries (A attempts) × the PSP's own bank retries (B attempts)
  with issuing banks failing at probability q: bank attempts per order = E[executor attempts] ×
  E[bank attempts per executor attempt] (Wald), = A·B when q = 1.
- **Retry budget**: ``RetryBudget`` (+0.1 token per success, bucket 5) gating the retries of
  requests that fail at probability p, measured both on the policy object and through the full
  model (the executor's ``retry_budget``).
"""

from __future__ import annotations

import random

from sim.config.loader import load_model
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.domain.orders import TERMINAL_STATES
from sim.policies.budget import RetryBudget, RetryBudgetPolicy
from sim.validation import theory
from sim.validation.rows import FULL_MODEL, MODELS_DIR, POLICY_OBJECT, Row, Size, within
from sim.validation.stats import estimate, replication_seeds
from sim.world import build_world

MARGIN_S = 60.0
"""Orders created this close to the end of the fault are not counted (their retries may outlive it)."""

RETRY_CASES = ((0.1, 3), (0.5, 3), (0.9, 3), (1.0, 3), (0.5, 1))
"""(p, N): failure probability, retries."""

AMPLIFICATION_CASES = ((3, 3, 1.0), (5, 3, 1.0), (3, 3, 0.5))
"""(A, B, q): executor attempts, PSP→bank attempts, bank failure probability."""

BUDGET_CASES = (0.3, 0.5, 0.9)
"""Failure probabilities at which the budget binds (demand for retries exceeds 0.1 per success)."""

BUDGET_RETRIES = 3
BUDGET_FIELD = "retry_budget"
"""The executor's retry-budget field."""
MODEL_BUDGET_SLACK = 0.02
"""Through the model the bucket starts full and orders overlap in time: "near 1.1×" allows this much."""


def quiet_model(overrides: dict) -> SystemModel:
    """The reference async model with nothing failing, declining or pending, constant latencies
    far below the executor's timeout, and ``overrides`` on top."""
    base = {
        "client.double_click_probability": 0.0,
        "payment_service.risk.reject_probability": 0.0,
        "psp.latency": "100ms",
        "psp.network_latency": "10ms",
        "psp.error_probability": 0.0,
        "psp.pending_probability": 0.0,
        "scheme.latency": "20ms",
        "banks.latency": "50ms",
        "banks.error_probability": 0.0,
        "banks.decline_limit_probability": 0.0,
        "banks.low_balance_fraction": 0.0,
    }
    return load_model(MODELS_DIR / "async-kafka.yaml", {**base, **overrides}, where="validation")


def _scenario(seed: int, duration_s: float, drain_s: float, faults: list[dict]) -> Scenario:
    return Scenario.model_validate({
        "name": "retry-cost", "model": "async-kafka.yaml", "seed": seed, "duration": duration_s, "drain": drain_s,
        "workload": {"rate": 5.0, "buyers": 500, "sellers": 20}, "faults": faults,
    })


def psp_attempts_per_order(p: float, retries: int, seed: int, duration_s: float, extra: dict | None = None) -> float:
    """Mean PSP charge attempts per order under a ``psp_errors`` fault at ``p`` (``extra``: more
    model overrides, e.g. a retry budget)."""
    model = quiet_model({"executor.retry": {"strategy": "immediate", "max_attempts": retries + 1}, **(extra or {})})
    scenario = _scenario(seed, duration_s, 0.0, [{"kind": "psp_errors", "at": 0, "probability": p}])
    world = build_world(model, scenario, seed)
    world.env.run(until=world.end_s)
    orders, cutoff = world.orders, duration_s - MARGIN_S
    counted = [i for i in range(len(orders)) if orders.created_at[i] < cutoff]
    terminal = {int(s) for s in TERMINAL_STATES}
    late = [i for i in counted if orders.state[i] not in terminal or orders.finished_at[i] > duration_s]
    if late:  # the margin must cover every counted order's retries
        raise RuntimeError(f"{len(late)} counted orders were still retrying when the fault ended")
    return sum(orders.psp_attempts[i] for i in counted) / len(counted)


def bank_attempts_per_order(executor_attempts: int, bank_attempts: int, q: float, seed: int, duration_s: float) -> float:
    """Bank authorisations per order with retries at two layers and banks failing at ``q``."""
    model = quiet_model({
        "executor.retry": {"strategy": "immediate", "max_attempts": executor_attempts},
        "psp.bank_retry": {"strategy": "immediate", "max_attempts": bank_attempts},
        "banks.error_probability": q,
    })
    world = build_world(model, _scenario(seed, duration_s, 120.0, []), seed)
    world.env.run(until=world.end_s)
    orders = world.orders
    if orders.in_flight:
        raise RuntimeError(f"{len(orders.in_flight)} orders unfinished after the drain")
    return world.metrics.counters["psp.bank_attempts"] / len(orders)


def budgeted_load(p: float, retries: int, requests: int, seed: int, policy: RetryBudgetPolicy,
                  warmup: int = 0) -> float:
    """Attempts per request when each retry must get a token from one shared ``RetryBudget``;
    the first ``warmup`` requests (spending the initially full bucket) are not counted."""
    rng = random.Random(seed)
    budget = RetryBudget(policy)
    attempts = 0
    for request in range(requests):
        if request == warmup:
            attempts = 0
        for attempt in range(retries + 1):
            if attempt and not budget.can_retry():
                break
            attempts += 1
            if rng.random() >= p:
                budget.record_success()
                break
    return attempts / (requests - warmup)


def validate(size: Size, master_seed: int, progress=None, retry_cases: tuple = RETRY_CASES,
             amplification_cases: tuple = AMPLIFICATION_CASES, budget_cases: tuple = BUDGET_CASES) -> list[Row]:
    rows: list[Row] = []
    duration_s = max(240.0, 1200.0 * size.scale)
    for p, retries in retry_cases:
        seeds = replication_seeds(master_seed, f"retry:{p}:{retries}", size.replications)
        sim = estimate([psp_attempts_per_order(p, retries, seed, duration_s) for seed in seeds])
        ref = theory.retry_attempts(p, retries)
        rows.append(Row("Retry cost: PSP attempts per order", f"p={p:g}, N={retries} (immediate)", f"{ref:.4f}",
                        sim, "reference in 95 % CI", within(ref, sim), FULL_MODEL, reference_value=ref))
        _tick(progress)
    for a, b, q in amplification_cases:
        seeds = replication_seeds(master_seed, f"amplification:{a}:{b}:{q}", size.replications)
        sim = estimate([bank_attempts_per_order(a, b, q, seed, duration_s / 2) for seed in seeds])
        ref = theory.retry_attempts(q**b, a - 1) * theory.retry_attempts(q, b - 1)
        rows.append(Row("Amplification: bank attempts per order", f"executor {a} × PSP→bank {b}, bank failure q={q:g}",
                        f"{ref:.4f}", sim, "reference in 95 % CI", within(ref, sim), FULL_MODEL, reference_value=ref))
        _tick(progress)
    policy = RetryBudgetPolicy(enabled=True, tokens_per_success=0.1, max_tokens=5)
    requests = int(max(5_000, 50_000 * size.scale))
    warmup = requests // 10
    for p in budget_cases:
        seeds = replication_seeds(master_seed, f"budget:{p}", size.replications)
        sim = estimate([budgeted_load(p, BUDGET_RETRIES, requests, seed, policy, warmup) for seed in seeds])
        ref = theory.budgeted_attempts(p, policy.tokens_per_success)
        bounded = sim.mean <= 1.0 + policy.tokens_per_success
        unbudgeted = theory.retry_attempts(p, BUDGET_RETRIES)
        rows.append(Row("Retry budget 0.1/success: attempts per request",
                        f"p={p:g}, N={BUDGET_RETRIES} (without budget {unbudgeted:.3f})", f"{ref:.4f} (≤ 1.1)",
                        sim, "reference in 95 % CI and mean ≤ 1.1×",
                        within(ref, sim) and bounded, POLICY_OBJECT, reference_value=ref, condition=bounded))
        _tick(progress)
        budget = {f"executor.{BUDGET_FIELD}": {"enabled": True, "tokens_per_success": 0.1, "max_tokens": 5}}
        seeds = replication_seeds(master_seed, f"budget-model:{p}", size.replications)
        sim = estimate([psp_attempts_per_order(p, BUDGET_RETRIES, seed, duration_s, extra=budget) for seed in seeds])
        near = sim.mean <= 1.0 + policy.tokens_per_success + MODEL_BUDGET_SLACK
        rows.append(Row("Retry budget 0.1/success: PSP attempts per order", f"p={p:g}, N={BUDGET_RETRIES}, executor "
                        f"retry budget (without budget {unbudgeted:.3f})", f"{ref:.4f} (≈ 1.1)", sim,
                        f"mean ≤ {1.1 + MODEL_BUDGET_SLACK:g}× (near 1.1×)", near, FULL_MODEL))
        _tick(progress)
    return rows


def _tick(progress) -> None:
    if progress is not None:
        progress()
