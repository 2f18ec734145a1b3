"""Render the validation rows into ``docs/validation.md`` (written atomically, no wall clock)."""

from __future__ import annotations

import math
from pathlib import Path

from sim import __version__
from sim.atomic import write_text_atomic
from sim.validation.rows import POLICY_OBJECT, Row, Size, verdict

SECTIONS = (
    ("M/M/c: Erlang C and Little's law", "mmc", (
        "The risk check of `models/async-kafka.yaml` with `servers: c`, exponential latency of mean "
        "1/μ, no timeout, and Poisson checkouts at λ (one order each): an M/M/c stage of the real "
        "model. Each replication deletes a warm-up (max of 10 % of the run and 10 relaxation times "
        "1/(cμ(1−√ρ)²)) by resetting the stage's statistics, then measures the mean wait in queue, "
        "the time-average number in the stage L̂ and λ̂·Ŵ. Intervals: Student's t over independent "
        "replications."
    )),
    ("Retry cost, amplification, retry budget", "retry_cost", (
        "Retry cost: a `psp_errors` fault at probability p for the whole load phase, executor retry "
        "`immediate` with `max_attempts: N+1`, nothing else failing, declining or pending; PSP charge "
        "attempts per order (orders created in the last 60 s of the fault are not counted). "
        "Amplification: executor retries × the PSP's bank retries (`psp.bank_retry`) with banks "
        "failing at q; bank authorisations per order (`psp.bank_attempts`). Reference: E[executor "
        "attempts] × E[bank attempts per executor attempt], = A·B at q = 1 (two retrying layers are "
        "measured: the product rule is what is checked; 3 layers × 3 = 27 follows from it). Retry "
        "budget: `RetryBudget` (+0.1 token per success, bucket 5) gating retries of requests failing "
        "at p, measured twice: **on the policy object**, and through the full model as the executor's "
        "`retry_budget` on its PSP retries (`tests/test_validation.py` runs both). Reference: attempts "
        "= 1/(1 − 0.1(1 − p)) when the budget binds, never above 1.1×."
    )),
    ("Hot-seller wallet contention (AWS backoff and jitter)", "hot_seller", (
        "N payment-success credits of one seller at t = 0 on the model's `Wallet` (optimistic "
        "concurrency on the balance row), retrying with `wallet.occ_retry` = the strategy under test, "
        "base 5 ms, cap 2 s, no attempt limit — AWS's N contending clients. Calls = write attempts; "
        "completion = when the last credit landed. Same seeds for every strategy, so ratios are taken "
        "replication by replication. With AWS's latency (two network trips of N(10 ms, 2 ms)) the "
        "claims are checked; with the model's own wallet latency (lognormal, median 2 ms, p99 15 ms) "
        "they are reported only: that latency's wide spread already de-synchronises un-jittered "
        "clients, so exponential backoff loses less there."
    )),
    ("Sync vs async under a PSP latency spike", "sync_async", (
        "`models/async-kafka.yaml` and `models/sync-http.yaml` on the same traffic (same seeds) with "
        "a `psp_latency` fault of +5 s (longer than the executor's 3 s PSP timeout), then a fault-free "
        "drain. Payments lost = orders ending the run dead-lettered or non-terminal: orders dead-lettered "
        "with an unknown outcome whose late PSP answer was not a success (the webhook of a success "
        "settles a dead-lettered order; a decline or error leaves it for a human). Most dead-lettered "
        "orders are settled by webhooks, which is why the order success rate hardly differs: the "
        "difference is in what customers see, the PSP load, and what needs a human."
    )),
    ("Retry orbit: a queue with timeouts and retries against its Markov chain", "orbit", (
        "The model's own `SlotStation` (1 server, `max_queue` K − 1, `discipline: random`) with Poisson new "
        "requests λ, exponential service μ, exponential patience θ counted from arrival (a timed-out caller's "
        "request stays queued and is still served: wasted work), and callers who, after a timeout or a "
        "rejection, give up with probability q or retry after an exponential time of rate r (the orbit). "
        "Reference: the continuous-time Markov chain of the same rules (`sim/validation/orbit_chain.py`, "
        "states: requests queued n, of them with a waiting caller ℓ, whether the one in service has one, "
        "callers in orbit m), its orbit truncated at the bound M where the stationary mass is below 1e-9, "
        "solved with scipy.sparse; the full→empty time is the expected hitting time of n = 0 from n = K "
        "(every caller waiting, orbit empty), a linear system. The chain is exact only under random order "
        "of service (under FIFO the request in service is older than average), hence the discipline. "
        "Mean queue length and goodput: one long run per replication, warm-up deleted; full→empty: each "
        "replication averages independent starts from a full queue. The case column gives the modes of "
        "the chain's P(n): two modes is the bistable region."
    )),
    ("Erlang C on the PSP's concurrency limit", "psp_erlang", (
        "`models/async-kafka.yaml` built as a world, its PSP with `concurrency_limit: c`, an unbounded queue, "
        "exponential `latency` of mean 1/μ, `api_latency: null`, no network latency, card scheme and banks "
        "answering at once and nothing failing, pending or rate limited, so a charge holds its slot exactly its "
        "latency; Poisson checkouts at λ with one order each, no risk rejections, and 2000 `payment-orders` "
        "partitions so the executor's partition workers hardly ever hold an order back. Each replication "
        "deletes a warm-up, then measures the PSP queue's mean wait per arrival (the station's queue-time "
        "integral / arrivals) and the slots' utilisation."
    )),
    ("Rare events: importance sampling against an exact probability", "rare_events", (
        "`paychaos estimate --method importance` on `models/flawed/no-status-query.yaml` (a PSP without "
        "idempotency keys, blind retries after a timeout) with declines, bank and PSP errors and pending "
        "answers off and a 20 s PSP timeout: a payment is charged twice exactly when the PSP sends its first "
        "reply during a reply-loss episode. Episodes come as an alternating renewal process (`mtbf`, `mttr`: "
        "exponential up-times of rate λ, episodes of rate μ, starting up), so the probability per payment is "
        "the two-state Markov chain's π = λ/(λ+μ), less a start-up transient bounded by ρ/((λ+μ)·n) of it "
        "(n payments arriving at ρ, all well inside the load phase): exact within the bracket shown. λ is "
        "set for π = 10⁻⁶ and 10⁻⁹. Importance sampling draws the up-times at λ' = 1/W (one episode per load "
        "window) and weights each run by (λ/λ')^N·exp(−(λ−λ')U) (`sim/runners/rare.py`); the interval is the "
        "delta-method interval of Σ L·D / Σ L·n over the weighted runs. The speed-up is plain Monte Carlo's "
        "variance per run (estimated from the same weighted runs) over the weighted estimator's: how many "
        "times more runs plain Monte Carlo needs for the same relative error. Both cases draw the same "
        "episodes (common random numbers), so their relative errors match: the estimator's relative error "
        "does not grow as π shrinks, and the speed-up grows as 1/π."
    )),
)


def fmt(value: float) -> str:
    if value != value or math.isinf(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.4g}" if magnitude < 100 else f"{value:.1f}"
    return f"{value:.4g}"


def interval_text(low: float, high: float) -> tuple[str, str]:
    """Both ends with enough significant digits that a narrow interval does not print as a point."""
    a, b = fmt(low), fmt(high)
    digits = 5
    while a == b and low != high and digits <= 9:
        a, b = f"{low:.{digits}g}", f"{high:.{digits}g}"
        digits += 1
    return a, b


_VERDICTS = {None: "—", "yes": "yes", "family": "yes (family-wise)", "no": "**NO**"}


def table(rows: list[Row], claims: int) -> list[str]:
    lines = [
        "| Check | Case | Reference | Simulated (mean) | 95 % CI | Criterion | Agrees | Measured through |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        est = row.simulated
        unit = f" {row.unit}" if row.unit else ""
        through = f"**{row.through}**" if row.through == POLICY_OBJECT else row.through
        low, high = interval_text(est.low, est.high)
        lines.append(
            f"| {row.check} | {row.case} | {row.reference}{unit if row.reference != '—' else ''} | "
            f"{fmt(est.mean)}{unit} | [{low}, {high}] | {row.criterion} | {_VERDICTS[verdict(row, claims)]} | {through} |"
        )
    return lines


def render(sections: dict[str, list[Row]], size: Size, master_seed: int) -> str:
    claims = [r for rows in sections.values() for r in rows if r.agrees is not None]
    verdicts = [verdict(r, len(claims)) for r in claims]
    held = verdicts.count("yes")
    family = verdicts.count("family")
    out = [
        "# Validation: paychaos against queueing theory and published retry results",
        "",
        "<!-- Generated by `make validate` (python -m sim.validation); do not edit by hand. -->",
        "",
        f"Generated by `make validate` with paychaos {__version__}, master seed {master_seed}, size "
        f"`{size.name}` ({size.replications} replications per case unless stated). Every interval is a "
        "95 % confidence interval over independent replications (Student's t), each replication "
        "seeded from the master seed; a check agrees when its criterion holds, tolerances come from "
        "the interval, never from a pinned seed. \"—\" in Agrees marks numbers reported for context "
        "(no claim of the source attached). The numbers to validate against are those of "
        "docs/design.md §13.",
        "",
        f"With {len(claims)} claims each checked at 95 %, about {len(claims) / 20:.1f} would miss by chance "
        "alone even if the simulator were exact. \"yes (family-wise)\" marks a reference outside its 95 % "
        "interval but inside the Bonferroni family-wise interval (level 1 − 0.05/claims); only **NO** "
        "(outside that too) counts as a disagreement, fails `make validate` and the test suite. Ordering "
        "claims (a whole interval above or below a value) are judged at 95 % as they stand.",
        "",
        f"**{held + family} of {len(claims)} claims agree** ({held} inside their 95 % interval, "
        f"{family} only family-wise).",
        "",
    ]
    for title, key, text in SECTIONS:
        if key not in sections:
            continue
        out += [f"## {title}", "", text, ""]
        out += table(sections[key], len(claims))
        out.append("")
    return "\n".join(out)


def write(path: Path, text: str) -> None:
    write_text_atomic(path, text)
