"""Validation against queueing theory and published retry results (docs/design.md §13), at CI sizes.

The full tables live in docs/validation.md (``make validate``). Here each check runs small, and a
claim passes unless the reference falls outside even the family-wise (Bonferroni) interval —
tolerances come from the runs' own confidence intervals, never from a pinned seed. Every check
also requires its interval to be narrow enough to mean something.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import simpy

from sim.components.risk import APPROVE, UNAVAILABLE, RiskService
from sim.config.model import RiskConfig
from sim.observe.metrics import Metrics
from sim.rng import Streams
from sim.validation import hot_seller, mmc, orbit, orbit_chain, psp_erlang, retry_cost, sync_async, theory
from sim.validation.__main__ import main as validate_main
from sim.validation.report import render
from sim.validation.rows import CI, ROOT_DOCS, Size, verdict
from sim.validation.stats import estimate, t_critical

pytestmark = pytest.mark.validation
SEED = 20240601


# -- reference values and statistics ---------------------------------------------------------------

def test_reference_formulas_give_design_numbers():
    assert theory.mmc_mean_wait_s(9.0, 1.0, 10) == pytest.approx(0.6687, abs=1e-4)
    assert theory.mmc_mean_wait_s(0.9, 1.0, 1) == pytest.approx(0.9 / (1.0 * (1 - 0.9)))
    assert theory.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
    assert theory.retry_attempts(0.5, 3) == pytest.approx(1.875)
    assert theory.retry_attempts(1.0, 3) == 4.0
    assert theory.budgeted_attempts(0.0, 0.1) == pytest.approx(1 / 0.9)
    with pytest.raises(ValueError):
        theory.erlang_c(2, 2.0)


def test_student_t_matches_the_table():
    table = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 30: 2.042}
    for dof, value in table.items():
        assert t_critical(0.95, dof) == pytest.approx(value, abs=1e-3)
    assert t_critical(0.99, 4) == pytest.approx(4.604, abs=1e-3)
    est = estimate([1.0, 2.0, 3.0])
    assert (est.low, est.high) == pytest.approx((2 - 4.303 / math.sqrt(3), 2 + 4.303 / math.sqrt(3)), abs=1e-3)
    assert est.interval(0.999)[0] < est.low


# -- the risk stage as a queue -----------------------------------------------------------------------

def _risk(env: simpy.Environment, **cfg) -> RiskService:
    config = RiskConfig.model_validate({"latency": "1s", "reject_probability": 0.0, **cfg})
    return RiskService(env, config, Streams(1), Metrics())


def test_risk_queue_exact_timeline():
    env = simpy.Environment()
    risk = _risk(env, servers=1, timeout=None)
    risk.keep_stats()
    log = []

    def caller(name: str, at: float):
        yield env.timeout(at)
        decision = yield from risk.check(100)
        log.append((name, env.now, decision))

    for name, at in (("a", 0.0), ("b", 0.0), ("c", 0.5)):
        env.process(caller(name, at))
    env.run()
    assert log == [("a", 1.0, APPROVE), ("b", 2.0, APPROVE), ("c", 3.0, APPROVE)]
    assert risk.stats.wait.total == pytest.approx(0.0 + 1.0 + 1.5)
    assert risk.stats.sojourn.total == pytest.approx(1.0 + 2.0 + 2.5)
    # number in stage: 2 on [0, .5), 3 on [.5, 1), 2 on [1, 2), 1 on [2, 3) → area 5.5 over 3 s
    assert risk.stats.mean_in_system(3.0) == pytest.approx(5.5 / 3.0)


def test_risk_check_abandoned_by_its_caller_is_still_served():
    env = simpy.Environment()
    risk = _risk(env, servers=1, timeout="1.5s")
    risk.keep_stats()
    log = []

    def caller(name: str):
        decision = yield from risk.check(100_000)  # above the fallback limit: a timeout is UNAVAILABLE
        log.append((name, env.now, decision))

    for name in "abc":
        env.process(caller(name))
    env.run()
    # a served 0–1; b served 1–2 and c 2–3: both callers gave up at 1.5, the server still did the work
    assert log == [("a", 1.0, APPROVE), ("b", 1.5, UNAVAILABLE), ("c", 1.5, UNAVAILABLE)]
    assert risk.metrics.counters["risk.timeouts"] == 2
    stats = risk.station.stats
    assert (stats.served, stats.wasted, stats.wasted_s) == (3, 2, 2.0)
    assert risk.stats.sojourn.count == 3 and risk.stats.sojourn.maximum == 3.0


def test_risk_without_servers_has_no_queue_and_no_timeout_means_full_latency():
    env = simpy.Environment()
    risk = _risk(env, timeout=None, latency="2s", servers=None)
    done = []

    def caller():
        yield from risk.check(100)
        done.append(env.now)

    env.process(caller())
    env.process(caller())
    env.run()
    assert risk.stats is None and risk.station.unlimited
    assert done == [2.0, 2.0]


# -- M/M/c through the full model --------------------------------------------------------------------

def _check(rows, max_relative_half_width: float | None = None):
    claims = [r for r in rows if r.agrees is not None]
    for row in claims:
        assert verdict(row, len(claims)) != "no", (row.check, row.case, row.reference, row.simulated)
        if max_relative_half_width is not None and row.reference_value:
            assert row.simulated.half_width <= max_relative_half_width * abs(row.reference_value), (row.case, row.simulated)


def test_mmc_stage_matches_erlang_c_and_littles_law():
    cases = (mmc.MmcCase(0.9, 1.0, 1, 20_000), mmc.MmcCase(9.0, 1.0, 10, 30_000))
    rows = mmc.validate(Size("test", replications=8, scale=1.0), SEED, cases=cases)  # 5 estimate the variance too poorly
    assert len(rows) == 6
    _check(rows, max_relative_half_width=0.35)


def test_downstream_flow_does_not_touch_the_risk_queue():
    case = mmc.MmcCase(3.0, 1.0, 4, 0)
    short = mmc.run_stage(case, 7, duration_s=300.0, warmup_s=50.0, reject_all=True)
    full = mmc.run_stage(case, 7, duration_s=300.0, warmup_s=50.0, reject_all=False)
    assert short.completed > 500
    assert short == full


# -- retry cost, amplification, budget ---------------------------------------------------------------

def test_retry_cost_and_amplification_through_the_model():
    rows = retry_cost.validate(
        Size("test", replications=4, scale=0.0), SEED,
        retry_cases=((0.5, 3), (1.0, 3)), amplification_cases=((3, 3, 1.0), (3, 3, 0.5)), budget_cases=(),
    )
    assert [r.simulated.mean for r in rows if r.case.startswith("p=1")] == [4.0]
    assert [r.simulated.mean for r in rows if "q=1" in r.case] == [9.0]
    _check(rows, max_relative_half_width=0.05)


def test_retry_budget_keeps_load_near_one_point_one():
    rows = retry_cost.validate(CI, SEED, retry_cases=(), amplification_cases=())
    assert len(rows) == 2 * len(retry_cost.BUDGET_CASES)  # the policy object, then the full model
    policy_rows = [r for r in rows if r.through == retry_cost.POLICY_OBJECT]
    assert len(policy_rows) == len(retry_cost.BUDGET_CASES)
    for row in policy_rows:
        assert row.simulated.mean <= 1.1
    _check(policy_rows, max_relative_half_width=0.01)
    for row in rows:
        if row.through == retry_cost.FULL_MODEL:
            assert row.agrees and row.simulated.mean <= 1.12, row  # near 1.1× through the model too


def test_retry_budget_through_the_model():
    budget = {f"executor.{retry_cost.BUDGET_FIELD}": {"enabled": True, "tokens_per_success": 0.1, "max_tokens": 5}}
    values = [retry_cost.psp_attempts_per_order(0.5, 3, seed, 600.0, extra=budget) for seed in (1, 2, 3, 4)]
    est = estimate(values)
    assert est.mean <= 1.1 + 0.02
    assert est.interval(0.99)[0] <= theory.budgeted_attempts(0.5, 0.1) <= est.interval(0.99)[1] + 0.01


# -- hot seller, sync vs async -----------------------------------------------------------------------

def test_hot_seller_reproduces_aws_ordering():
    rows = hot_seller.validate(CI, SEED, cases=((100, hot_seller.AWS_LATENCY, True),))
    claims = [r for r in rows if r.agrees is not None]
    assert len(claims) == 3
    assert all(r.agrees for r in claims), [(r.check, r.simulated) for r in claims if not r.agrees]


def test_hot_seller_contention_credits_every_order_once():
    result = hot_seller.contend(hot_seller.wallet_config(hot_seller.STRATEGIES[0], hot_seller.AWS_LATENCY), 20, 3)
    assert result.calls == 20 + result.conflicts
    assert result.conflicts > 0


def test_async_survives_a_psp_spike_better_than_sync():
    plan = sync_async.plan_for(CI)
    results = sync_async.run_pairs(CI, SEED, replications=4)
    rows = sync_async.rows_for(results, plan)
    claims = {r.check.split(": ", 1)[1]: r for r in rows if r.agrees is not None}
    assert len(claims) == 3
    for name in ("customer-facing timeouts", "orders dead-lettered during the incident"):
        assert claims[name].agrees, (name, claims[name].simulated)
    assert all(o.client_timeouts == 0 for o in results["async-kafka"])
    # Payments lost at the end are a handful per run (dead-lettered orders whose late PSP answer
    # was a decline or an error): at this size only the direction of the total is robust.
    lost = {design: sum(o.lost for o in outcomes) for design, outcomes in results.items()}
    assert lost["sync-http"] > lost["async-kafka"], lost


# -- the report and `make validate` ------------------------------------------------------------------

def test_validate_command_writes_the_table(tmp_path):
    out = tmp_path / "validation.md"
    assert validate_main(["--size", "ci", "--only", "hot_seller", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| Hot seller: full-jitter calls / exponential calls | 100 clients" in text
    assert "do not edit by hand" in text and "## Hot-seller" in text
    assert validate_main(["--seed", "-1", "--out", str(out)]) == 2


def test_report_marks_a_disagreement():
    good = retry_cost.validate(Size("test", replications=3, scale=0.0), SEED, retry_cases=(), amplification_cases=(),
                               budget_cases=(0.5,))[0]
    bad = replace(good, reference="2.0", reference_value=2.0, agrees=False)
    text = render({"retry_cost": [good, bad]}, CI, SEED)
    assert "| **NO** |" in text and "1 of 2 claims agree" in text


def test_committed_docs_come_from_the_generator():
    text = (ROOT_DOCS / "validation.md").read_text()
    assert text.startswith("# Validation") and "do not edit by hand" in text
    for title in ("M/M/c", "Retry cost", "Hot-seller", "Sync vs async", "Retry orbit", "Erlang C on the PSP",
                  "Rare events"):
        assert f"## {title}" in text
    assert "| **NO** |" not in text


# -- retry orbit: the Markov chain and the simulated station -------------------------------------------

def test_orbit_chain_without_retries_is_mm1k():
    """q = 1 (every failed caller gives up): the queue length is M/M/1/K whatever the patience
    (timed-out requests stay queued), P(n) ∝ ρⁿ, the orbit stays empty, and the time from K to 0 is
    the birth-death sum Σₖ (1/μ) Σⱼ ρʲ."""
    lam, mu, big_k = 0.7, 1.3, 6
    solution = orbit_chain.solve(orbit_chain.OrbitParams(lam, mu, 0.4, 0.5, 1.0, big_k))
    rho = lam / mu
    weights = [rho**n for n in range(big_k + 1)]
    expected = [w / sum(weights) for w in weights]
    assert solution.queue_distribution.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert solution.mean_orbit == pytest.approx(0.0, abs=1e-12)
    hit = sum(sum(rho**j for j in range(big_k - k + 1)) / mu for k in range(1, big_k + 1))
    assert solution.full_to_empty_s == pytest.approx(hit, rel=1e-9)


def test_orbit_chain_goodput_without_timeouts_is_the_mm1k_throughput():
    """θ = 0: every served request is goodput, so goodput = λ(1 − P(n = K)) (M/M/1/K), and only
    rejections feed the orbit."""
    lam, mu, big_k = 0.8, 1.0, 4
    solution = orbit_chain.solve(orbit_chain.OrbitParams(lam, mu, 0.0, 1.0, 1.0, big_k))
    rho = lam / mu
    p_full = rho**big_k * (1 - rho) / (1 - rho ** (big_k + 1))
    assert solution.goodput_per_s == pytest.approx(lam * (1 - p_full), rel=1e-9)


def test_orbit_chain_truncation_is_below_its_bound():
    solution = orbit_chain.solve(orbit.CASES[1].params)
    assert solution.mass_at_bound < orbit_chain.TRUNCATION_MASS
    assert len(solution.queue_modes()) == 2  # the bistable case is bistable


@pytest.mark.slow
def test_orbit_simulation_agrees_with_its_markov_chain():
    rows = orbit.validate(CI, SEED)
    assert len(rows) == 3 * len(orbit.CASES)
    _check(rows)


@pytest.mark.slow
def test_psp_stage_matches_erlang_c():
    rows = psp_erlang.validate(Size("test", replications=6, scale=0.2), SEED)
    assert len(rows) == 2 * len(psp_erlang.CASES)
    _check(rows)
