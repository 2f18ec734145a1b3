"""The system model: which services exist, how they are wired, capacities, latencies, policies.

One model file (``models/*.yaml``) validates into one frozen ``SystemModel``. Scenarios play
traffic and faults against it. Fields named ``*_s`` are seconds, ``*_minor`` integer minor units.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, model_validator

from sim.config.base import Frozen, NonNegativeInt, PerSecond, PositiveInt, Probability, Seconds
from sim.config.capacity import QueueConfig, QueuedService
from sim.config.distributions import Distribution, Exponential, Lognormal
from sim.config.policies import (
    AdaptiveThrottlePolicy, CircuitBreakerPolicy, LoadSheddingPolicy, NoRetryAfterRetryPolicy, RetryBudgetPolicy, RetryPolicy,
    RetryStrategy, TransientRetryPolicy,
)
from sim.config.slo import Slo


def _lognormal(median: str, p99: str) -> Lognormal:
    return Lognormal(dist="lognormal", median=median, p99=p99)


class ClosedPopulation(Frozen):
    """A closed population of buyers (the alternative to open Poisson arrivals): ``size`` buyers, each
    thinking for a ``think_time`` draw, then checking out and waiting for the answer (retries and
    patience included) before thinking again. Throughput is then ``size / (R + Z)`` (the interactive
    response-time law): when latency R grows, load falls, which an open arrival stream never does."""

    enabled: bool = Field(
        False, description="play a closed population instead of open arrivals (the workload's rate, spikes and "
        "daily_shape are then not used; its buyers, sellers, carts and max_checkouts are)"
    )
    size: PositiveInt = Field(300, le=1_000_000, description="buyers in the population (N), each at most one checkout at a time")
    think_time: Distribution = Field(
        default_factory=lambda: Exponential(dist="exponential", mean="7s"),
        description="from a buyer's answer (or giving up) to the next checkout, and before the first (Z; the default "
        "is TPC-W's think time: exponential, mean 7 s)",
    )


class ClientConfig(Frozen):
    """The checkout client (browser or app) of the online store."""

    timeout_s: Seconds = Field(10.0, alias="timeout", description="how long the buyer's request waits")
    retry: RetryPolicy = RetryPolicy(strategy=RetryStrategy.FIXED, max_attempts=3, base="2s")
    double_click_probability: Probability = 0.01
    double_click_delay: Distribution = Field(default_factory=lambda: _lognormal("150ms", "600ms"))
    regenerate_key_on_retry: bool = Field(
        False, description="FLAW when true: each retry is a new checkout with a new idempotency key"
    )
    patience: Distribution | None = Field(
        None, description="how long a buyer keeps trying from the first click (one draw per buyer); no retry "
        "starts after it; null = the retry policy alone decides"
    )
    closed_population: ClosedPopulation = Field(
        ClosedPopulation(), description="closed population of buyers with think times (off: open Poisson arrivals)"
    )


def _callers_wait(q: QueueConfig, where: str) -> None:
    """A connection pool's callers wait in turn (HikariCP: a fair hand-off, no reject, no drop): refuse
    the knobs that would not."""
    if q.max_queue is not None or q.max_queue_wait_s is not None or q.drop_expired or q.discipline != "fifo":
        raise ValueError(f"queue: callers wait for a {where} connection in turn; max_queue, max_queue_wait, "
                         "drop_expired and discipline lifo are not modelled for it (use contention, coherency)")


def _in_turn(q: QueueConfig, who: str) -> None:
    """The scheme and the issuers serve authorisations in arrival order: LIFO is no merchant's choice there."""
    if q.discipline != "fifo":
        raise ValueError(f"queue: discipline {q.discipline} is not modelled for {who}, which serve(s) "
                         "authorisations in arrival order (use fifo)")


class DatabaseConfig(QueuedService):
    """The payment service's database (payment events and orders)."""

    write_latency: Distribution = Field(default_factory=lambda: _lognormal("3ms", "20ms"))
    read_latency: Distribution = Field(default_factory=lambda: _lognormal("1ms", "8ms"))
    failover_pause_s: Seconds = Field(
        15.0, alias="failover_pause", description="how long a failover leaves the database unavailable (a "
        "db_failover fault starts one)"
    )
    connections: PositiveInt | None = Field(
        20, le=100_000, description="connection pool size (default: 2 instances × HikariCP's default pool of 10): "
        "calls beyond it wait for a connection; null = unbounded"
    )
    queue: QueueConfig = Field(
        QueueConfig(), description="the pool's queue: contention (callers wait for a connection in turn, as with "
        "HikariCP: no reject, no drop)"
    )

    @model_validator(mode="after")
    def _callers_wait(self) -> "DatabaseConfig":
        _callers_wait(self.queue, "database")
        return self


class RiskConfig(QueuedService):
    """The fraud/risk check the payment service calls before accepting a payment."""

    latency: Distribution = Field(default_factory=lambda: _lognormal("20ms", "120ms"))
    timeout_s: Seconds | None = Field(
        0.5, alias="timeout", description="how long the payment service waits for the check; null = no timeout"
    )
    servers: PositiveInt | None = Field(
        32, le=100_000, description="concurrent checks (c of an M/M/c queue; default: 2 instances × 16 threads); "
        "null = unlimited, no queueing"
    )
    queue: QueueConfig = Field(
        QueueConfig(max_queue=200), description="the risk service's queue; a rejected check counts as the "
        "service being unavailable (the fallback rule applies)"
    )
    retry: NoRetryAfterRetryPolicy = Field(
        NoRetryAfterRetryPolicy(strategy=RetryStrategy.NONE, max_attempts=1), description="the payment service retries a "
        "check that timed out or was refused (a risk check is not idempotent: each retry is a new check, and the "
        "abandoned one still runs)"
    )
    retry_budget: RetryBudgetPolicy = Field(
        RetryBudgetPolicy(), description="token bucket limiting the payment service's risk-check retries"
    )
    breaker: CircuitBreakerPolicy = Field(
        CircuitBreakerPolicy(), description="circuit breaker on the risk check: while open, the check is skipped "
        "and the fallback rule decides at once"
    )
    reject_probability: Probability = 0.002
    fallback_max_amount_minor: NonNegativeInt = Field(
        5000, description="when the risk service is down, let through amounts up to this; 0 = none"
    )
    fail_open: Literal["up_to_fallback_limit", "any_amount"] = Field(
        "up_to_fallback_limit", description="when the risk service is down: let through amounts up to "
        "fallback_max_amount_minor, or (FLAW) any amount: payments accepted without a risk decision"
    )


class ProducerConfig(Frozen):
    """How a service publishes to Kafka when the broker is unavailable."""

    retry: TransientRetryPolicy = TransientRetryPolicy(
        strategy=RetryStrategy.EXPONENTIAL, max_attempts=10, base="100ms", cap="5s")


class OutboxConfig(Frozen):
    """Transactional outbox (async wiring): the order row and an outbox row are written together;
    a relay publishes rows the broker never acknowledged, so a persisted order is always handed on."""

    enabled: bool = Field(
        True, description="FLAW when false: persist, then publish (a dual write): if the publish fails and the "
        "buyer stops retrying, the order is never executed"
    )
    interval_s: Seconds = Field(5.0, alias="interval", gt=0, description="how often the relay looks for unsent rows")


class PaymentServiceConfig(QueuedService):
    instances: PositiveInt = Field(2, le=1000)
    threads: PositiveInt = Field(
        200, le=100_000, description="request threads per instance (Tomcat's default maxThreads); a request holds "
        "one from arrival to answer"
    )
    queue: QueueConfig = Field(
        QueueConfig(max_queue=100), description="requests waiting for a thread (Tomcat's default acceptCount is "
        "100); beyond it the service answers 503"
    )
    latency: Distribution = Field(default_factory=lambda: _lognormal("2ms", "15ms"))
    database: DatabaseConfig = DatabaseConfig()
    risk: RiskConfig = RiskConfig()
    producer: ProducerConfig = ProducerConfig()
    outbox: OutboxConfig = OutboxConfig()
    executor_retry: TransientRetryPolicy = Field(
        TransientRetryPolicy(strategy=RetryStrategy.NONE, max_attempts=1),
        description="sync wiring: the payment service retries a call to the executor that failed "
        "(each call makes the executor's own attempts: a layer that multiplies them)",
    )
    retry_budget: RetryBudgetPolicy = Field(
        RetryBudgetPolicy(), description="sync wiring: token bucket limiting the payment service's executor retries"
    )
    shedding: LoadSheddingPolicy = Field(
        LoadSheddingPolicy(), description="refuse checkouts (503) beyond a concurrency limit"
    )
    retry_after_s: Seconds | None = Field(
        None, alias="retry_after", description="a checkout refused for overload (load shedding, a full request "
        "queue) is answered 429 with this Retry-After, which the client's retry.honour_retry_after heeds; null = "
        "503 without one"
    )
    trust_redirect: bool = Field(
        False, description="FLAW when true: a buyer's redirect back from the PSP marks the order paid "
        "(only a webhook or a PSP query may)"
    )
    log_card_numbers: bool = Field(
        False, description="FLAW when true: the store's own form posts the card number (no PSP hosted "
        "page) and the service keeps the raw request in its request log",
    )
    webhook_handler: Literal["idempotent", "overwrite"] = Field(
        "idempotent", description="idempotent: a webhook applies only a legal change (SUCCESS and FAILED are "
        "final, a PENDING never overwrites an outcome); overwrite (FLAW): the order takes the state the "
        "webhook carries, so a late or reordered webhook overwrites a final state"
    )


class TopicConfig(Frozen):
    partitions: PositiveInt = Field(12, le=10_000)


def _default_topics() -> dict[str, TopicConfig]:
    return {"payment-orders": TopicConfig(), "payment-success": TopicConfig()}


class KafkaConfig(Frozen):
    """The persistent log between services (used for orders when wiring is async, always for
    wallet and ledger)."""

    topics: dict[str, TopicConfig] = Field(default_factory=_default_topics)
    publish_latency: Distribution = Field(default_factory=lambda: _lognormal("2ms", "10ms"))
    rebalance_pause_s: Seconds = Field(3.0, alias="rebalance_pause")
    session_timeout_s: Seconds = Field(10.0, alias="session_timeout", description="a dead consumer is noticed after this")
    max_poll_interval_s: Seconds = Field(300.0, alias="max_poll_interval")
    max_poll_records: PositiveInt = Field(
        500, le=1_000_000, description="messages a consumer fetches per poll (with commit: before, a crash loses the unprocessed rest)"
    )


IdempotencyKeyMode = Literal["order_id", "fresh_per_attempt"]
PoisonPillMode = Literal["dead_letter", "crash"]
POISON_PILLS_FIELD = Field(
    "dead_letter", description="a record that cannot be parsed goes to the DLQ, or (FLAW) crashes the consumer"
)


def _default_retry_delays() -> list[float]:
    return [1.0, 10.0, 60.0]


class RetryTopicsConfig(Frozen):
    """Uber-style retry topics: a failed order goes to retry-1, consumed no earlier than its delay
    after it was published, then retry-2, ...; after the last, the DLQ. Delayed consumers never block
    the main partition. Each stage makes the executor's ``retry.max_attempts`` in-process attempts."""

    enabled: bool = Field(False, description="use retry topics (async wiring only)")
    delays_s: list[Seconds] = Field(
        default_factory=_default_retry_delays, alias="delays", min_length=1, max_length=10,
        description="delay of each retry topic, in order (e.g. [1s, 10s, 60s])",
    )
    partitions: PositiveInt = Field(4, description="partitions of each retry topic")
    instances: PositiveInt = Field(1, description="consumer instances per retry topic")
    exhausted: Literal["dead_letter", "drop"] = Field(
        "dead_letter", description="what the last retry topic does with an order whose attempts ran out: "
        "dead-letter it, or (FLAW) drop it (committed, never final, nobody told)"
    )


class ExecutorConfig(QueuedService):
    """The payment executor: turns a payment order into PSP calls."""

    instances: PositiveInt = Field(3, le=1000)
    commit: Literal["after", "before"] = Field(
        "after", description="commit the offset after processing (at-least-once) or before (FLAW: at-most-once)"
    )
    psp_timeout_s: Seconds = Field(3.0, alias="psp_timeout")
    retry: RetryPolicy = RetryPolicy(strategy=RetryStrategy.FULL_JITTER, max_attempts=5, base="200ms", cap="10s")
    idempotency_key: IdempotencyKeyMode = Field(
        "order_id", description="order_id (correct) or fresh_per_attempt (FLAW: a new key on every attempt)"
    )
    status_query_after_timeout: bool = Field(
        True, description="after an indefinite outcome, ask the PSP for the key's status before retrying"
    )
    pending_poll_s: Seconds = Field(60.0, alias="pending_poll", gt=0, description="poll a PENDING order this often")
    threads: PositiveInt = Field(16, le=10_000, description="worker threads per instance (sync wiring: concurrent calls)")
    queue: QueueConfig = Field(
        QueueConfig(), description="sync wiring: payment-service calls waiting for an executor thread"
    )
    breaker: CircuitBreakerPolicy = Field(
        CircuitBreakerPolicy(), description="circuit breaker on the executor's calls to the primary PSP"
    )
    retry_budget: RetryBudgetPolicy = Field(
        RetryBudgetPolicy(), description="token bucket shared by all the executor's PSP retries"
    )
    throttle: AdaptiveThrottlePolicy = Field(
        AdaptiveThrottlePolicy(), description="client-side adaptive throttling of PSP calls (SRE formula)"
    )
    retry_topics: RetryTopicsConfig = Field(
        RetryTopicsConfig(), description="async wiring: Uber-style retry topics with growing delays, then the DLQ"
    )
    poison_pills: PoisonPillMode = POISON_PILLS_FIELD
    claim: Literal["atomic", "check_then_act"] = Field(
        "atomic", description="how an execution claims its order: atomic (one conditional write: a second "
        "execution sees the order claimed and resumes, asking the PSP first), or check_then_act (FLAW: read the "
        "state, write EXECUTING one database round trip later: a zombie consumer paused between the two "
        "overwrites what the partition's next owner settled)"
    )
    on_conflict: Literal["wait_and_query", "new_key"] = Field(
        "wait_and_query", description="a 409 (the key is in flight at the PSP): wait and ask for the key's "
        "status, or (FLAW) treat it as a failure and charge again under a new key"
    )

    @model_validator(mode="after")
    def _threads_wait_on_the_psp(self) -> "ExecutorConfig":
        """The executor's work is waiting for the PSP (I/O, not CPU): contention is the PSP's queue's."""
        if self.queue.contention or self.queue.coherency:
            raise ValueError("queue: contention and coherency are not modelled for the executor's threads (their "
                             "work is waiting for the PSP, not CPU); set them on psp.queue")
        return self


class WebhookConfig(Frozen):
    """PSP → payment service notifications: at-least-once, may be delayed, duplicated, lost."""

    delay: Distribution = Field(default_factory=lambda: _lognormal("1s", "10s"))
    duplicate_probability: Probability = 0.05
    loss_probability: Probability = 0.0
    redelivery_interval_s: Seconds = Field(60.0, alias="redelivery_interval", gt=0)
    max_deliveries: PositiveInt = Field(5, le=100)
    notify_pending: bool = Field(
        False, description="the PSP also notifies a PENDING answer (a webhook per status change, as many PSPs do)"
    )


class PspConfig(QueuedService):
    """The payment service provider: tokenisation, idempotency, routing to the card scheme."""

    network_latency: Distribution = Field(default_factory=lambda: _lognormal("15ms", "60ms"))
    latency: Distribution = Field(default_factory=lambda: _lognormal("120ms", "900ms"))
    idempotency: bool = Field(True, description="honours idempotency keys (store first answer, replay it)")
    idempotency_ttl_s: Seconds = Field(86400.0, alias="idempotency_ttl")
    error_probability: Probability = 0.001
    pending_probability: Probability = 0.01
    pending_resolution: Distribution = Field(default_factory=lambda: _lognormal("30s", "10m"))
    webhook: WebhookConfig = WebhookConfig()
    bank_retry: NoRetryAfterRetryPolicy = Field(
        NoRetryAfterRetryPolicy(strategy=RetryStrategy.NONE, max_attempts=1),
        description="the PSP's own retries of bank errors (a layer that multiplies attempts)",
    )
    settlement_cutoff_s: Seconds = Field(0.0, alias="settlement_cutoff", description="time of day the settlement day closes")
    settlement_days: NonNegativeInt = Field(
        2, le=30, description="captures of a settlement day are paid this many days after the day closed (T+2)"
    )
    api_latency: Distribution | None = Field(
        default_factory=lambda: _lognormal("10ms", "60ms"), description="the PSP's work for any request before "
        "its result (authentication, parsing, the idempotency lookup): an idempotent replay, a 409 or a status "
        "query costs this much of a slot; a new charge this plus its processing; null = none"
    )
    concurrency_limit: PositiveInt | None = Field(
        100, le=1_000_000, description="the merchant's requests the PSP processes at once (a charge holds its slot "
        "until its answer, bank included); null = unlimited"
    )
    queue: QueueConfig = Field(
        QueueConfig(max_queue=500), description="the merchant's requests waiting for a slot; beyond max_queue the "
        "PSP answers 429 with Retry-After"
    )
    rate_limit_per_s: PerSecond | None = Field(
        100.0, alias="rate_limit", description="requests per second the PSP accepts from the merchant (Stripe's "
        "documented default in live mode is 100 per second); beyond it 429 with Retry-After; null = none"
    )
    retry_after_s: Seconds = Field(1.0, alias="retry_after", description="Retry-After sent with a 429")


class SecondaryPspConfig(PspConfig):
    """A second PSP the executor fails over to when the primary is unavailable (dual-PSP routing).
    The order id stays the idempotency key; each PSP has its own key store."""

    fallback_after_timeout: bool = Field(
        False, description="FLAW when true: also fail over after an indefinite outcome at the primary "
        "(the primary may have charged: a double charge)"
    )


class SchemeConfig(QueuedService):
    """The card scheme between the PSP and the issuing banks."""

    latency: Distribution = Field(default_factory=lambda: _lognormal("25ms", "100ms"))
    servers: PositiveInt | None = Field(
        None, le=1_000_000, description="authorisations in flight at once; null = unlimited (card networks are "
        "built for tens of thousands per second, far beyond one merchant)"
    )
    queue: QueueConfig = QueueConfig()

    @model_validator(mode="after")
    def _in_turn(self) -> "SchemeConfig":
        _in_turn(self.queue, "the card scheme")
        return self


class BanksConfig(QueuedService):
    """Issuing banks holding the buyers' accounts."""

    count: PositiveInt = Field(4, le=1000)
    latency: Distribution = Field(default_factory=lambda: _lognormal("80ms", "600ms"))
    decline_limit_probability: Probability = 0.01
    error_probability: Probability = 0.001
    balance_median_minor: PositiveInt = 5_000_000
    low_balance_fraction: Probability = Field(0.02, description="buyers whose balance is too low for most payments")
    servers: PositiveInt | None = Field(
        None, le=1_000_000, description="authorisations each bank processes at once; null = unlimited (the "
        "default: an issuer authorises thousands per second for every merchant, one merchant never fills it; set it "
        "to study an issuer outage or slowdown; each authorisation then costs one more event)"
    )
    queue: QueueConfig = Field(QueueConfig(), description="each bank's queue (FIFO, unbounded by default)")

    @model_validator(mode="after")
    def _in_turn(self) -> "BanksConfig":
        _in_turn(self.queue, "the issuing banks")
        return self


class ConsumerServiceConfig(QueuedService):
    """A service that consumes payment-success events (wallet, ledger)."""

    instances: PositiveInt = Field(2, le=1000)
    dedupe: bool = Field(True, description="skip events already applied (FLAW when false)")
    poison_pills: PoisonPillMode = POISON_PILLS_FIELD
    latency: Distribution = Field(default_factory=lambda: _lognormal("2ms", "15ms"))
    commit: Literal["after", "before"] = Field(
        "after", description="commit the offset after applying the event (at-least-once), or before "
        "(FLAW: at-most-once; a crash mid-poll loses the rest of the poll)"
    )
    connections: PositiveInt | None = Field(
        10, le=100_000, description="database connections the consumers share (HikariCP's default pool); null = "
        "unbounded"
    )
    queue: QueueConfig = Field(QueueConfig(), description="the consumers' connection pool queue (callers wait)")

    @model_validator(mode="after")
    def _callers_wait(self) -> "ConsumerServiceConfig":
        _callers_wait(self.queue, "consumer database")  # a full pool would otherwise answer a negative delay
        return self


class WalletConfig(ConsumerServiceConfig):
    """Seller balances, updated with optimistic concurrency on each seller's row."""

    occ_retry: TransientRetryPolicy = TransientRetryPolicy(
        strategy=RetryStrategy.FULL_JITTER, max_attempts=50, base="5ms", cap="2s")


class LedgerConfig(ConsumerServiceConfig):
    """The append-only double-entry ledger."""

    atomic_entries: bool = Field(
        True, description="write both entries of a transaction atomically (FLAW when false: a crash can leave one)"
    )
    on_time_within_s: Seconds = Field(
        60.0, alias="on_time_within", description="a payment booked later than this after it succeeded counts as "
        "late (the late_ledger_bookings KPI)"
    )
    psp_clearing_deadline_s: Seconds | None = Field(
        None, alias="psp_clearing_deadline", gt=0, description="book captured amounts to a PSP clearing account that "
        "the PSP's settlement (psp.settlement_days after the cut-off) closes, each capture's entry within this long "
        "after its settlement was due (the psp_clearing_closed oracle); null = straight to the PSP receivable, no "
        "settlement simulated"
    )
    psp_clearing_opens_at: Literal["capture", "authorisation"] = Field(
        "capture", description="with PSP clearing and delayed captures: the capture moves what it took from the "
        "receivable to PSP clearing, opening the entry the settlement of its day closes; FLAW authorisation: the "
        "payment's booking at authorisation opens it for the whole authorised amount, which a later, partial or "
        "voided capture's settlement does not close in time (with automatic captures both are the same moment)"
    )
    import_settlements: bool = Field(
        True, description="with PSP clearing: book each settlement the PSP pays against its captures' clearing "
        "entries; FLAW when false, the clearing entries never close and an unpaid capture cannot be told from a paid one"
    )


class CaptureConfig(Frozen):
    """When the platform takes the money it was authorised for. ``automatic``: the PSP captures in
    the authorisation itself (one "sale" call: Stripe's default ``capture_method: automatic``; no
    second call, no extra event). ``delayed``: the issuer only places a hold at authorisation; a
    capture service consuming payment-success captures at shipment (``delay`` later) or voids a
    cancelled order, with idempotency keys, through the PSP's capture API."""

    mode: Literal["automatic", "delayed"] = Field(
        "automatic", description="capture at authorisation (automatic) or later, at shipment (delayed)"
    )
    delay: Distribution = Field(
        default_factory=lambda: _lognormal("1d", "3d"),
        description="delayed: from payment success to the capture (shipment) or the void (cancellation)",
    )
    cancel_probability: Probability = Field(
        0.0, description="delayed: share of paid orders cancelled before shipment (their hold is voided)"
    )
    partial_probability: Probability = Field(
        0.0, description="delayed: share of captures that take only part of the authorised amount (an item "
        "out of stock); the hold stays open for later shipments and its rest is released at expiry"
    )
    partial_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="delayed: share of the amount a partial capture takes")
    hold_expiry_s: Seconds = Field(
        7 * 86400.0, alias="hold_expiry", gt=0,
        description="the issuer releases an uncaptured hold after this (7 days: the usual validity of a "
        "card-not-present authorisation, and when Stripe cancels an uncaptured payment)",
    )
    timeout_s: Seconds = Field(3.0, alias="timeout", gt=0, description="how long a capture or void call waits")
    retry: TransientRetryPolicy = TransientRetryPolicy(
        strategy=RetryStrategy.FULL_JITTER, max_attempts=6, base="1s", cap="1m")
    idempotency_key: bool = Field(
        True, description="captures and voids carry a key (the order id): FLAW when false, a retry after a "
        "lost reply captures again"
    )


class RefundsConfig(Frozen):
    """Refunds requested by sellers after a capture, through the PSP's refund API, idempotent by
    refund id. Only refunded orders cost events (one draw per captured payment decides)."""

    probability: Probability = Field(0.0, description="share of captured payments refunded")
    partial_probability: Probability = Field(0.3, description="share of refunds for part of the amount (one item returned)")
    partial_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="share of the captured amount a partial refund gives back")
    delay: Distribution = Field(
        default_factory=lambda: _lognormal("30m", "3d"), description="from the capture to the refund request"
    )
    failure_probability: Probability = Field(
        0.0, description="share of refunds the PSP declines for good (card account closed): left to a human"
    )
    timeout_s: Seconds = Field(3.0, alias="timeout", gt=0, description="how long a refund call waits")
    retry: TransientRetryPolicy = Field(
        TransientRetryPolicy(strategy=RetryStrategy.FULL_JITTER, max_attempts=20, base="1s", cap="5m"),
        description="retries of a refund whose outcome is unknown (idempotent: about an hour of patience)",
    )
    new_id_on_retry: bool = Field(
        False, description="FLAW when true: a retried refund gets a new refund id (a new idempotency key): "
        "after a lost reply the buyer is refunded twice"
    )
    book_on: Literal["confirmation", "request"] = Field(
        "confirmation", description="book a refund in the ledger and the wallet when the PSP confirms it, or (FLAW) "
        "when we ask for it: a refund the PSP declines, or we give up on, is in the ledger but never happened"
    )
    extra_captures_every_s: Seconds | None = Field(
        None, alias="extra_captures_every", gt=0,
        description="reconciliation during the run: this often, read the PSP's settlement file and refund every "
        "capture of an order beyond its first (a double charge); null = only the end-of-run reconciliation",
    )


class ChargebacksConfig(Frozen):
    """Buyers dispute captured payments at their bank: the money goes back to the buyer at once, the
    PSP takes it and a fee from the platform and tells it; the dispute is later won (the money comes
    back, the fee does not) or lost. Only disputed payments cost events."""

    probability: Probability = Field(0.0, description="share of captured payments disputed")
    delay: Distribution = Field(
        default_factory=lambda: _lognormal("2h", "2d"), description="from the capture to the dispute"
    )
    notification_delay: Distribution = Field(
        default_factory=lambda: _lognormal("1m", "10m"), description="from the dispute (or its outcome) to the PSP's notice"
    )
    fee_minor: NonNegativeInt = Field(1500, description="the PSP's fee per dispute, kept whatever the outcome "
                                      "(Stripe charges 15 USD per dispute)")
    win_probability: Probability = Field(0.3, description="share of disputes the platform wins (evidence accepted)")
    resolution_delay: Distribution = Field(
        default_factory=lambda: _lognormal("6h", "3d"), description="from the dispute to its outcome"
    )


class PayoutProviderConfig(Frozen):
    """The payout provider (a bank transfer API): an external dependency that may be slow, fail,
    lose its reply, and honours idempotency keys."""

    latency: Distribution = Field(default_factory=lambda: _lognormal("300ms", "3s"))
    error_probability: Probability = Field(0.01, description="5xx before anything is paid")
    reply_lost_probability: Probability = Field(0.0, description="the transfer is made, the reply never arrives")


class PayoutsConfig(Frozen):
    """Sellers are paid what the ledger owes them on a schedule (daily, T+2), less a reserve kept
    against refunds and chargebacks, through the payout provider, each payout under its payout id
    as idempotency key. A balance driven negative by chargebacks is carried until credits cover it."""

    enabled: bool = Field(False, description="pay sellers out")
    interval_s: Seconds = Field(86400.0, alias="interval", gt=0, description="time between payout runs (daily)")
    first_run_s: Seconds = Field(86400.0, alias="first_run", description="time of the first payout run")
    lag_s: Seconds = Field(
        2 * 86400.0, alias="lag", description="funds are paid out this long after they were credited (T+2: "
        "the balance a payout run pays is the one its predecessor 2 days back saw)",
    )
    reserve_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share of the payable balance kept back")
    timeout_s: Seconds = Field(10.0, alias="timeout", gt=0, description="how long a payout call waits")
    retry: TransientRetryPolicy = TransientRetryPolicy(
        strategy=RetryStrategy.FULL_JITTER, max_attempts=6, base="5s", cap="5m")
    idempotency_key: bool = Field(
        True, description="payouts carry their payout id as key: FLAW when false, a payout retried after a lost "
        "reply pays the seller twice"
    )
    clearing_deadline_s: Seconds = Field(
        2 * 86400.0, alias="clearing_deadline", gt=0,
        description="a payout's clearing entry must be closed (paid or returned to the seller) this long after it "
        "opened (2 days: by the run after next)",
    )
    check_report: bool = Field(
        True, description="each run closes payouts whose outcome is unknown from the provider's payout report: "
        "FLAW when false, they stay in clearing for ever"
    )
    provider: PayoutProviderConfig = PayoutProviderConfig()


class FeesConfig(Frozen):
    """The PSP's fee per captured payment and the platform's commission. The fee defaults are
    Stripe's published standard rate for European Economic Area cards (1.5 % + 0.25 EUR), applied
    to every currency in its minor units; the PSP keeps its fee on refunds."""

    psp_fixed_minor: NonNegativeInt = Field(25, description="fixed part of the PSP's fee per capture")
    psp_rate: float = Field(0.015, ge=0.0, lt=1.0, description="percentage part of the PSP's fee per capture")
    commission_rate: float = Field(
        0.0, ge=0.0, lt=1.0, description="the platform's share of each payment (the seller is owed the rest), "
        "given back in proportion on refunds and chargebacks"
    )


ISO_CODE_PATTERN = r"^[A-Z]{3}$"


class FxConfig(Frozen):
    """Foreign exchange: buyers pay in their presentment currency (the order's), the PSP pays the
    platform in one settlement currency. The ledger converts at the rate of the moment it books a
    payment; the PSP converts each capture at the rate of its settlement date and pays the gross
    amount (its fees invoiced apart); the difference is an FX gain or loss. Rates follow a seeded
    geometric random walk. Off (no settlement currency) or with every order in the settlement
    currency, nothing is converted and no event is added."""

    settlement_currency: str | None = Field(
        None, pattern=ISO_CODE_PATTERN, description="the currency the PSP pays the platform in (e.g. EUR); null = "
        "no FX: each payment settles in its presentment currency"
    )
    rates: dict[str, float] = Field(
        default_factory=dict, description="starting rate of each other presentment currency of the workload: "
        "settlement-currency minor units per presentment minor unit (e.g. USD: 0.92 for EUR settlement)"
    )
    volatility_per_day: float = Field(
        0.005, ge=0.0, le=0.5, description="standard deviation of the rate's log change over a day (0.005: about "
        "EUR/USD's, 8 % a year over 252 trading days); 0 = fixed rates"
    )
    step_s: Seconds = Field(3600.0, alias="step", gt=0, description="the rate moves this often (hourly)")
    revalue_at_settlement: bool = Field(
        True, description="book the difference between the ledger's conversion and what the PSP paid to FX "
        "gains/losses when a capture settles: FLAW when false, the ledger keeps carrying its own conversion"
    )

    @model_validator(mode="after")
    def _rates(self) -> "FxConfig":
        for code, rate in self.rates.items():
            if re.fullmatch(ISO_CODE_PATTERN, code) is None:
                raise ValueError(f"fx.rates: {code!r} is not an ISO 4217 code such as USD")
            if not 0.0 < rate < math.inf:
                raise ValueError(f"fx.rates.{code}: a rate must be a positive finite number, not {rate}")
            if code == self.settlement_currency:
                raise ValueError(f"fx.rates.{code}: the settlement currency has no rate (it is 1)")
        return self


class MonitorConfig(Frozen):
    """Alerts on orders stuck in a non-terminal state, and asks the PSP about them."""

    interval_s: Seconds = Field(60.0, alias="interval", gt=0)
    stuck_after_s: Seconds = Field(600.0, alias="stuck_after")
    query_psp: bool = True


class ReconciliationConfig(Frozen):
    """The PSPs' settlement files against the ledger: at the end of the run, and on a schedule during
    it (nightly by default: the settlement days the PSP has closed, matched by order and amount)."""

    enabled: bool = True
    auto_fix: bool = True
    every_s: Seconds | None = Field(
        86400.0, alias="every", gt=0, description="run reconciliation during the run this often (nightly), over the "
        "settlement days closed since; null = only at the end of the run"
    )
    first_run_s: Seconds = Field(
        7200.0, alias="first_run", description="time of the first scheduled run (02:00, after a midnight cut-off)"
    )
    pending: Literal["leave", "fail"] = Field(
        "leave", description="an order still PENDING at reconciliation: leave it to the PSP's answer "
        "(a capture makes it SUCCESS), or (FLAW) treat it as failed"
    )


class SystemModel(Frozen):
    """A payment platform design: the thing architects compare."""

    name: str
    description: str = ""
    wiring: Literal["async", "sync"] = Field(
        "async", description="payment service → executor: a Kafka topic (async) or an HTTP call (sync)"
    )
    client: ClientConfig = ClientConfig()
    payment_service: PaymentServiceConfig = PaymentServiceConfig()
    kafka: KafkaConfig = KafkaConfig()
    executor: ExecutorConfig = ExecutorConfig()
    psp: PspConfig = PspConfig()
    scheme: SchemeConfig = SchemeConfig()
    banks: BanksConfig = BanksConfig()
    wallet: WalletConfig = WalletConfig()
    ledger: LedgerConfig = LedgerConfig()
    monitor: MonitorConfig = MonitorConfig()
    reconciliation: ReconciliationConfig = ReconciliationConfig()
    capture: CaptureConfig = Field(CaptureConfig(), description="authorisation holds, capture, void")
    refunds: RefundsConfig = Field(RefundsConfig(), description="refunds of captured payments")
    chargebacks: ChargebacksConfig = Field(ChargebacksConfig(), description="disputes of captured payments")
    payouts: PayoutsConfig = Field(PayoutsConfig(), description="paying sellers out")
    fees: FeesConfig = Field(FeesConfig(), description="the PSP's fee and the platform's commission")
    fx: FxConfig = Field(FxConfig(), description="presentment vs settlement currency, a seeded FX rate series")
    secondary_psp: SecondaryPspConfig | None = Field(
        None, description="a second PSP for fallback; absent = single PSP"
    )
    slo: Slo = Field(
        Slo(), description="service-level objectives every run must meet (the slo oracle; explore hunts for breaks)"
    )

    @model_validator(mode="after")
    def _policies_fit_wiring(self) -> "SystemModel":
        if self.executor.retry_topics.enabled and self.wiring != "async":
            raise ValueError("executor.retry_topics needs wiring: async (retry topics are Kafka topics)")
        if self.capture.mode == "delayed" and self.secondary_psp is not None:
            raise ValueError("capture.mode delayed is not modelled with a secondary_psp (use automatic)")
        return self
