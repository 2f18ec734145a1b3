"""Hot-seller wallet contention against the AWS backoff-and-jitter experiment (docs/design.md §13).

AWS (Architecture Blog, "Exponential Backoff and Jitter", 2015) let N clients write one row with
optimistic concurrency at once and counted the calls and the time until all had succeeded, per
backoff strategy (base 5 ms, cap 2 s). Here the N clients are N payment-success events of one
seller (what ``workload.hot_seller_share: 1`` produces) credited at t = 0 by the model's own
``Wallet`` component: read (value, version), wait the read-compute-write latency, write if the
version is unchanged, else back off with ``wallet.occ_retry`` and try again. The retry policy
gets the strategy under test, base 5 ms, cap 2 s and no attempt limit (AWS's clients never gave
up); everything else comes from the model's wallet config.

The read-compute-write latency is configurable. By default it is AWS's: their simulated network
took N(10 ms, 2 ms) per trip and the version check spans two trips (read reply, write request),
so ``AWS_LATENCY`` is a gamma of mean 20 ms and standard deviation ≈ 2.8 ms. The model's own
wallet latency (lognormal, median 2 ms, p99 15 ms) is reported too: its spread is wide relative to
its median, and that variance alone de-synchronises un-jittered clients.

Each replication uses one seed for every strategy (common random numbers), so ratios between
strategies are compared replication by replication.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import simpy

from sim.components.dlq import DeadLetterQueue
from sim.components.wallet import Wallet
from sim.config.distributions import Gamma
from sim.config.loader import load_model
from sim.config.model import WalletConfig
from sim.domain.orders import Checkouts, Orders
from sim.observe.metrics import Metrics
from sim.policies.retry import RetryPolicy, RetryStrategy
from sim.rng import Streams
from sim.validation.rows import COMPONENT, MODELS_DIR, Row, Size
from sim.validation.stats import Estimate, estimate, replication_seeds

STRATEGIES = (
    RetryStrategy.EXPONENTIAL, RetryStrategy.FULL_JITTER, RetryStrategy.EQUAL_JITTER, RetryStrategy.DECORRELATED_JITTER,
)
AWS_LATENCY = Gamma(dist="gamma", shape=50.0, mean=0.020)
MODEL_LATENCY = None
"""Use the reference model's configured wallet latency."""
CASES = ((25, AWS_LATENCY, True), (100, AWS_LATENCY, True), (100, MODEL_LATENCY, False))
"""(clients, latency, claims checked): AWS's setting carries the claims, the model's is reported."""
BASE_S, CAP_S = 0.005, 2.0
NEVER_GIVE_UP = 100_000


@dataclass(frozen=True)
class Contention:
    """One contention round: total write attempts (calls) and when the last credit landed."""

    calls: int
    completion_s: float
    conflicts: int


def wallet_config(strategy: RetryStrategy, latency: object | None = None) -> WalletConfig:
    """The reference model's wallet with ``strategy`` (base 5 ms, cap 2 s, unlimited attempts)."""
    cfg = load_model(MODELS_DIR / "async-kafka.yaml").wallet
    update: dict = {"occ_retry": RetryPolicy(strategy=strategy, max_attempts=NEVER_GIVE_UP, base=BASE_S, cap=CAP_S),
                    # AWS's experiment has no connection pool between its clients and the row (a pool
                    # would serialise the writers and hide the optimistic-concurrency contention)
                    "connections": None}
    if latency is not None:
        update["latency"] = latency
    return cfg.model_copy(update=update)


def contend(cfg: WalletConfig, clients: int, seed: int) -> Contention:
    """``clients`` concurrent credits of one seller's row, all starting at t = 0."""
    env = simpy.Environment()
    checkouts = Checkouts()
    orders = Orders(checkouts)
    for i in range(clients):
        checkout = checkouts.add(i, i, i, i, 1, 0.0)
        orders.add(checkout, 0, 100, 0, i, 0.0)
    extra = {"dlq": DeadLetterQueue()} if "dlq" in inspect.signature(Wallet).parameters else {}
    wallet = Wallet(env, cfg, orders, checkouts, 1, 1, Streams(seed), Metrics(), **extra)  # dlq: poison pills only
    finished: list[float] = []

    def client(order_id: int):
        yield from wallet.credit(order_id)
        finished.append(env.now)

    for order_id in range(clients):
        env.process(client(order_id))
    env.run()
    if wallet.seller_balance(0, 0) != 100 * clients:
        raise RuntimeError("a credit was lost: the wallet gave up or double-applied under contention")
    return Contention(wallet.write_attempts, max(finished), wallet.conflicts)


def run_strategies(clients: int, seeds: list[int], latency: object | None = None) -> dict[RetryStrategy, list[Contention]]:
    return {s: [contend(wallet_config(s, latency), clients, seed) for seed in seeds] for s in STRATEGIES}


def _ratio(results: dict, num: RetryStrategy, den: RetryStrategy, attr: str) -> Estimate:
    return estimate([getattr(a, attr) / getattr(b, attr) for a, b in zip(results[num], results[den])])


def rows_for(clients: int, results: dict[RetryStrategy, list[Contention]], latency_label: str = "AWS latency",
             claims: bool = True) -> list[Row]:
    case = f"{clients} clients, {latency_label}"
    rows = [
        Row("Hot seller: calls (write attempts)", f"{case}: {s.value}", "—",
            estimate([r.calls for r in results[s]]), "reported", None, COMPONENT)
        for s in STRATEGIES
    ] + [
        Row("Hot seller: completion time", f"{case}: {s.value}", "—",
            estimate([r.completion_s for r in results[s]]), "reported", None, COMPONENT, "s")
        for s in STRATEGIES
    ]
    exp, full, equal = RetryStrategy.EXPONENTIAL, RetryStrategy.FULL_JITTER, RetryStrategy.EQUAL_JITTER
    calls_full_exp = _ratio(results, full, exp, "calls")
    time_exp_full = _ratio(results, exp, full, "completion_s")
    time_equal_full = _ratio(results, equal, full, "completion_s")
    calls_decorr_full = _ratio(results, RetryStrategy.DECORRELATED_JITTER, full, "calls")
    rows += [
        Row("Hot seller: full-jitter calls / exponential calls", case,
            "< 0.5 at 100 clients" if clients >= 100 else "< 1", calls_full_exp, _criterion("whole 95 % CI below", claims),
            _claim(calls_full_exp.high < (0.5 if clients >= 100 else 1.0), claims), COMPONENT),
        Row("Hot seller: exponential time / full-jitter time", case, "> 1 (AWS: ~10×)", time_exp_full,
            _criterion("whole 95 % CI above 1", claims), _claim(time_exp_full.low > 1.0, claims), COMPONENT),
        Row("Hot seller: equal-jitter time / full-jitter time", case, "> 1", time_equal_full,
            _criterion("whole 95 % CI above 1", claims), _claim(time_equal_full.low > 1.0, claims), COMPONENT),
        Row("Hot seller: decorrelated calls / full-jitter calls", case, "a little > 1", calls_decorr_full,
            "reported", None, COMPONENT),
    ]
    return rows


def _claim(holds: bool, claims: bool) -> bool | None:
    return holds if claims else None


def _criterion(text: str, claims: bool) -> str:
    return text if claims else f"reported ({text}?)"


def validate(size: Size, master_seed: int, progress=None, cases: tuple = CASES) -> list[Row]:
    rows: list[Row] = []
    replications = max(size.replications, 8)  # the time ratios are heavy-tailed: fewer cannot tell them apart
    for clients, latency, claims in cases:
        label = "AWS latency N(10 ms, 2 ms) × 2" if latency is AWS_LATENCY else (
            "model wallet latency" if latency is None else "custom latency")
        seeds = replication_seeds(master_seed, f"hot-seller:{clients}", replications)
        rows.extend(rows_for(clients, run_strategies(clients, seeds, latency), label, claims))
        if progress is not None:
            progress()
    return rows
