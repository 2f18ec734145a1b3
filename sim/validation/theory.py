"""Reference values from queueing theory and the retry literature (docs/design.md §13), in pure Python."""

from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue: Erlang C with ``servers`` = c and
    ``offered_load`` = λ/μ (< c). Computed with the stable Erlang B recursion."""
    if not 0 <= offered_load < servers:
        raise ValueError(f"M/M/c is stable only for λ/μ < c (got {offered_load} with c = {servers})")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    rho = offered_load / servers
    return blocking / (1.0 - rho * (1.0 - blocking))


def mmc_mean_wait_s(arrival_per_s: float, service_per_s: float, servers: int) -> float:
    """Mean wait in queue ``Wq = C(c, λ/μ) / (cμ − λ)``."""
    return erlang_c(servers, arrival_per_s / service_per_s) / (servers * service_per_s - arrival_per_s)


def mmc_mean_in_system(arrival_per_s: float, service_per_s: float, servers: int) -> float:
    """Mean number in the stage ``L = λ (Wq + 1/μ)`` (Little's law)."""
    return arrival_per_s * (mmc_mean_wait_s(arrival_per_s, service_per_s, servers) + 1.0 / service_per_s)


def relaxation_time_s(arrival_per_s: float, service_per_s: float, servers: int) -> float:
    """Rough relaxation time of an M/M/c queue, ``1 / (cμ (1 − √ρ)²)``: how long it takes to
    forget its initial state (used to size the warm-up that is deleted)."""
    rho = arrival_per_s / (servers * service_per_s)
    return 1.0 / (servers * service_per_s * (1.0 - math.sqrt(rho)) ** 2)


def retry_attempts(failure_probability: float, retries: int) -> float:
    """Expected attempts per request with up to ``retries`` retries at independent failure
    probability p: ``(1 − p^(N+1)) / (1 − p)`` (N + 1 at p = 1)."""
    p = failure_probability
    if p >= 1.0:
        return float(retries + 1)
    return (1.0 - p ** (retries + 1)) / (1.0 - p)


def budgeted_attempts(failure_probability: float, tokens_per_success: float) -> float:
    """Attempts per request when a retry budget binds: in steady state retries = tokens earned =
    ``r · successes`` and successes = (1 − p) · attempts, so attempts = 1 / (1 − r (1 − p)) —
    at most 1 / (1 − r) ≈ 1.11 at r = 0.1, and retries ≤ r per request (the "1.1×" rule)."""
    return 1.0 / (1.0 - tokens_per_success * (1.0 - failure_probability))
