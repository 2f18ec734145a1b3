"""The continuous-time Markov chain of a single-server queue whose impatient callers retry (an orbit).

The system (``sim/validation/orbit.py`` simulates the same one with the model's own station):

- new requests arrive as a Poisson stream of rate λ; the queue holds at most K requests, the one in
  service included; a request arriving at a full queue is rejected;
- one server, exponential service of rate μ, **random order of service** (a free server takes a
  uniformly random waiting request);
- each caller waits for its answer with an exponential patience of rate θ, counted from its
  request's arrival (in service too); when it runs out the caller leaves, but its request stays in
  the queue and is still served (abandoned work is done: wasted);
- a caller whose request timed out or was rejected gives up with probability q, otherwise joins the
  orbit, from which it retries after an exponential time of rate r (a new request with a new
  patience). Giving up at rejections too keeps the orbit finite in the collapsed mode (retries
  arriving at a full queue otherwise bounce for ever while new callers keep joining).

State ``(n, ℓ, s, m)``: n requests in the queue (in service included), ℓ of them with a waiting
caller, s = 1 when the request in service has one, m callers in orbit. The bit s is needed for
the chain to be exact: the request in service is not exchangeable with the waiting ones (those
that arrived after it started are younger, so more often alive), so ``(n, ℓ, m)`` alone is not
Markov. Under random order, the next request to start is a uniformly random waiting one, so
s' = 1 with probability (ℓ − s)/(n − 1) at a completion, which is what makes counts suffice.

The orbit is truncated at m ≤ M: a transition that would push m above M is left out. M is doubled
until the stationary mass at m = M is below 1e-9 (:func:`solve`), so the truncation changes the
results by less than that order.

Written from these rules, not from the simulator's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix, diags
from scipy.sparse.linalg import spsolve

TRUNCATION_MASS = 1e-9
"""Stationary probability allowed at the orbit's bound M."""


@dataclass(frozen=True)
class OrbitParams:
    """Rates per second; ``capacity`` = K (requests in the queue, in service included)."""

    arrival_per_s: float
    service_per_s: float
    patience_per_s: float
    retry_per_s: float
    give_up: float
    capacity: int

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity K must be >= 1, got {self.capacity}")
        if not 0.0 <= self.give_up <= 1.0:
            raise ValueError(f"give-up probability q must be in [0, 1], got {self.give_up}")
        if min(self.arrival_per_s, self.service_per_s, self.patience_per_s, self.retry_per_s) < 0.0 or self.service_per_s == 0.0:
            raise ValueError("rates must be >= 0 and the service rate > 0")


@dataclass(frozen=True)
class OrbitSolution:
    """What the chain gives: the measures the simulation is compared with, and the distributions."""

    params: OrbitParams
    orbit_bound: int
    mass_at_bound: float
    mean_queue: float
    """E[n], time-average requests in the queue, in service included."""
    goodput_per_s: float
    """Completions whose caller still waits: μ · P(s = 1)."""
    mean_orbit: float
    full_to_empty_s: float
    """Expected time from n = K (all callers waiting, the orbit empty) until the queue is empty."""
    queue_distribution: np.ndarray
    """P(n = k) for k = 0..K."""

    def queue_modes(self) -> list[int]:
        """Local maxima of P(n = k): two of them is the bistable (metastable) region."""
        p = self.queue_distribution
        modes = []
        for k in range(len(p)):
            left = p[k - 1] if k > 0 else -1.0
            right = p[k + 1] if k + 1 < len(p) else -1.0
            if p[k] > left and p[k] >= right:
                modes.append(k)
        return modes


class _States:
    """Enumeration of the states (n, ℓ, s, m) with m ≤ M, and their indices."""

    def __init__(self, capacity: int, orbit_bound: int) -> None:
        per_m: list[tuple[int, int, int]] = [(0, 0, 0)]
        for n in range(1, capacity + 1):
            for s in (0, 1):
                for live in range(s, s + n):  # ℓ − s waiting callers among n − 1 waiting requests
                    per_m.append((n, live, s))
        self.per_m = per_m
        self.index_in_m = {state: i for i, state in enumerate(per_m)}
        self.width = len(per_m)
        self.orbit_bound = orbit_bound
        self.count = self.width * (orbit_bound + 1)

    def index(self, n: int, live: int, s: int, m: int) -> int:
        return m * self.width + self.index_in_m[(n, live, s)]


def generator(params: OrbitParams, orbit_bound: int) -> tuple[csc_matrix, _States]:
    """The generator matrix Q (rows sum to 0) of the chain truncated at m ≤ ``orbit_bound``."""
    lam, mu, theta = params.arrival_per_s, params.service_per_s, params.patience_per_s
    r, q, big_k = params.retry_per_s, params.give_up, params.capacity
    states = _States(big_k, orbit_bound)
    rows: list[int] = []
    cols: list[int] = []
    rates: list[float] = []

    def add(src: int, dst: int, rate: float) -> None:
        if rate > 0.0 and src != dst:
            rows.append(src)
            cols.append(dst)
            rates.append(rate)

    for m in range(orbit_bound + 1):
        for n, live, s in states.per_m:
            here = states.index(n, live, s, m)

            def fail(rate: float, n2: int, l2: int, s2: int, m2: int) -> None:
                """A caller fails (timeout or rejection): it gives up (q) or joins the orbit."""
                add(here, states.index(n2, l2, s2, m2), rate * q)
                if m2 + 1 <= orbit_bound:
                    add(here, states.index(n2, l2, s2, m2 + 1), rate * (1.0 - q))

            # A new request (λ) or a retry from the orbit (r·m, which leaves the orbit first).
            for rate, m_after in ((lam, m), (r * m, m - 1)):
                if rate == 0.0:
                    continue
                if n < big_k:
                    add(here, states.index(n + 1, live + 1, 1 if n == 0 else s, m_after), rate)
                else:
                    fail(rate, n, live, s, m_after)
            if n >= 1:
                # Completion: the next request is a uniformly random waiting one.
                if n == 1:
                    add(here, states.index(0, 0, 0, m), mu)
                else:
                    waiting_live = live - s
                    p_live = waiting_live / (n - 1)
                    if p_live > 0.0:
                        add(here, states.index(n - 1, waiting_live, 1, m), mu * p_live)
                    if p_live < 1.0:
                        add(here, states.index(n - 1, waiting_live, 0, m), mu * (1.0 - p_live))
                # Timeouts: the caller in service, or one of the waiting ones; the request stays.
                if s == 1:
                    fail(theta, n, live - 1, 0, m)
                if live - s > 0:
                    fail(theta * (live - s), n, live - 1, s, m)
    off = coo_matrix((rates, (rows, cols)), shape=(states.count, states.count)).tocsr()
    diagonal = np.asarray(off.sum(axis=1)).ravel()
    q_matrix = (off - diags(diagonal)).tocsc()
    return q_matrix, states


def stationary(q_matrix: csc_matrix) -> np.ndarray:
    """π with πQ = 0 and Σπ = 1: Qᵀπ = 0 with its first equation replaced by the normalisation."""
    size = q_matrix.shape[0]
    keep = np.ones(size)
    keep[0] = 0.0
    ones_row = csr_matrix((np.ones(size), (np.zeros(size, dtype=int), np.arange(size))), shape=(size, size))
    a = diags(keep) @ q_matrix.transpose().tocsr() + ones_row
    b = np.zeros(size)
    b[0] = 1.0
    pi = spsolve(a.tocsc(), b)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def hitting_time_s(q_matrix: csc_matrix, targets: np.ndarray, start: int) -> float:
    """Expected time to reach any of ``targets`` (a boolean mask) from state ``start``:
    h = 0 on the targets, Σ_j Q_ij h_j = −1 elsewhere."""
    transient = np.flatnonzero(~targets)
    sub = q_matrix[transient, :][:, transient]
    h = spsolve(csc_matrix(-sub), np.ones(len(transient)))
    position = np.searchsorted(transient, start)
    if position >= len(transient) or transient[position] != start:
        return 0.0
    return float(h[position])


def solve_at(params: OrbitParams, orbit_bound: int) -> OrbitSolution:
    """The chain's measures with the orbit truncated at ``orbit_bound``."""
    q_matrix, states = generator(params, orbit_bound)
    pi = stationary(q_matrix)
    per_m = np.array(states.per_m)
    n_of = np.tile(per_m[:, 0], orbit_bound + 1)
    s_of = np.tile(per_m[:, 2], orbit_bound + 1)
    m_of = np.repeat(np.arange(orbit_bound + 1), states.width)
    queue_distribution = np.bincount(n_of, weights=pi, minlength=params.capacity + 1)
    big_k = params.capacity
    start = states.index(big_k, big_k, 1, 0)
    return OrbitSolution(
        params=params,
        orbit_bound=orbit_bound,
        mass_at_bound=float(pi[m_of == orbit_bound].sum()),
        mean_queue=float(pi @ n_of),
        goodput_per_s=float(params.service_per_s * pi[s_of == 1].sum()),
        mean_orbit=float(pi @ m_of),
        full_to_empty_s=hitting_time_s(q_matrix, n_of == 0, start),
        queue_distribution=queue_distribution,
    )


def solve(params: OrbitParams, orbit_bound: int = 32, max_bound: int = 4096) -> OrbitSolution:
    """The chain's measures, doubling the orbit bound M until P(m = M) < :data:`TRUNCATION_MASS`."""
    while True:
        solution = solve_at(params, orbit_bound)
        if solution.mass_at_bound < TRUNCATION_MASS:
            return solution
        if orbit_bound * 2 > max_bound:
            raise ValueError(f"orbit still holds {solution.mass_at_bound:.2e} of the mass at M = {orbit_bound}: "
                             f"raise max_bound or the give-up probability")
        orbit_bound *= 2
