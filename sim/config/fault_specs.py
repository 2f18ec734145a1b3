"""Fault kinds as written in scenario files: a ``kind``, a ``target``, a schedule and parameters.

Adding a kind: a spec class here (with ``kind: Literal[...]``), added to ``Fault``, an injector in
``sim/faults/injectors.py`` and its valid targets in ``sim/faults/targets.py``. ``paychaos
catalog`` lists them from these classes (docstring = what it does, field descriptions = params).

Targets are checked against the model at load time (``sim.config.fault_targets``): a PSP fault names
``psp`` or ``secondary_psp``; a bank fault ``banks`` (all) or ``bank-N``; a consumer fault a
consumer group; a broker fault a topic or ``kafka`` (all topics).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from sim.config.base import NonNegativeInt, PerSecond, PositiveInt, Probability, Seconds, SignedSeconds
from sim.config.distributions import Distribution
from sim.config.fault_schedule import FaultSchedule

_PSP_TARGET = Field("psp", description="psp, or secondary_psp when the model has one")


# -- the PSP -------------------------------------------------------------------------------------


class PspReplyLostAfterCommit(FaultSchedule):
    """The PSP commits the charge, then the reply is lost: the caller sees a timeout."""

    ramp_field = "probability"
    kind: Literal["psp_reply_lost_after_commit"]
    target: str = _PSP_TARGET
    probability: Probability = Field(1.0, description="fraction of replies lost while active")


class PspNoReply(FaultSchedule):
    """The PSP swallows requests before doing anything: the caller times out, nothing charged."""

    ramp_field = "probability"
    kind: Literal["psp_no_reply"]
    target: str = _PSP_TARGET
    probability: Probability = Field(1.0, description="fraction of requests swallowed")


class PspOutage(FaultSchedule):
    """The PSP answers 503 to all (full outage) or a fraction (partial outage) of requests."""

    ramp_field = "fraction"
    kind: Literal["psp_outage"]
    target: str = _PSP_TARGET
    fraction: Probability = Field(1.0, description="1 = full outage, less = partial outage")


class PspErrors(FaultSchedule):
    """The PSP answers errors at a rate: 500 after processing time, before the bank (nothing
    charged), or 503 at once at its edge."""

    ramp_field = "probability"
    kind: Literal["psp_errors"]
    target: str = _PSP_TARGET
    probability: Probability = Field(0.5, description="fraction of requests answered with an error")
    status: Literal[500, 503] = Field(500, description="500 (after processing, no charge) or 503 (at the edge)")


class PspLatency(FaultSchedule):
    """Latency added to every PSP request (a slow PSP: callers time out, threads pile up)."""

    kind: Literal["psp_latency"]
    target: str = _PSP_TARGET
    added: Distribution = Field(description="extra latency per request (a duration or a distribution)")


class PspRateLimit(FaultSchedule):
    """The PSP rate-limits: requests beyond ``rate`` get 429 with a Retry-After header."""

    kind: Literal["psp_rate_limit"]
    target: str = _PSP_TARGET
    rate_per_s: PerSecond = Field(alias="rate", description="requests per second the PSP accepts")
    burst: PositiveInt | None = Field(None, description="bucket size; absent = one second of requests")
    retry_after_s: Seconds = Field(1.0, alias="retry_after", description="Retry-After sent with each 429")


class PspPendingStorm(FaultSchedule):
    """Many charges come back PENDING (3-D Secure, manual review) and resolve later by webhook."""

    ramp_field = "probability"
    kind: Literal["psp_pending_storm"]
    target: str = _PSP_TARGET
    probability: Probability = Field(0.5, description="extra probability of a PENDING answer")


class PspKeyExpiry(FaultSchedule):
    """The PSP forgets idempotency keys early (TTL shorter than the caller's retry horizon): a
    retry after the TTL is a brand-new charge."""

    contract_breach = "the PSP forgets idempotency keys before its documented TTL: a retry is a new charge in any design"
    kind: Literal["psp_key_expiry"]
    target: str = _PSP_TARGET
    ttl_s: Seconds = Field(alias="ttl", gt=0, description="the idempotency-key TTL in force while active")


class PspClockSkew(FaultSchedule):
    """The PSP's clock is off: captures near the settlement cut-off land in the wrong day."""

    kind: Literal["psp_clock_skew"]
    target: str = _PSP_TARGET
    skew_s: SignedSeconds = Field(alias="skew", description="how far the PSP's clock is ahead (negative: behind)")


# -- webhooks ------------------------------------------------------------------------------------


class WebhookDelay(FaultSchedule):
    """Webhooks arrive late (the payment service learns outcomes later)."""

    kind: Literal["webhook_delay"]
    target: str = _PSP_TARGET
    added: Distribution = Field(description="extra delay per webhook delivery")


class WebhookDuplicate(FaultSchedule):
    """Webhooks are delivered twice (at-least-once): the receiver must be idempotent."""

    ramp_field = "probability"
    kind: Literal["webhook_duplicate"]
    target: str = _PSP_TARGET
    probability: Probability = Field(0.5, description="extra probability that a webhook is sent twice")


class WebhookLoss(FaultSchedule):
    """Webhook deliveries fail; the PSP redelivers a few times, then gives up."""

    ramp_field = "probability"
    kind: Literal["webhook_loss"]
    target: str = _PSP_TARGET
    probability: Probability = Field(1.0, description="extra probability that a delivery attempt is lost")


class WebhookReorder(FaultSchedule):
    """Webhooks are held and delivered in a shuffled order (no ordering guarantee)."""

    kind: Literal["webhook_reorder"]
    target: str = _PSP_TARGET
    hold_s: Seconds = Field(5.0, alias="hold", gt=0, description="deliveries are batched this long, then shuffled")


# -- banks ---------------------------------------------------------------------------------------


class IssuerDeclineSurge(FaultSchedule):
    """Issuing banks decline far more than usual (a definite failure: must not be retried)."""

    ramp_field = "probability"
    kind: Literal["issuer_decline_surge"]
    target: str = Field("banks", description="banks (all issuers) or bank-N")
    probability: Probability = Field(0.5, description="extra probability of DECLINED_LIMIT")


class BankErrors(FaultSchedule):
    """Issuing banks answer system errors (the PSP may retry them: the PSP→bank retry layer)."""

    ramp_field = "probability"
    kind: Literal["bank_errors"]
    target: str = Field("banks", description="banks (all issuers) or bank-N")
    probability: Probability = Field(0.5, description="extra probability of a bank error")


# -- Kafka and services --------------------------------------------------------------------------


class ConsumerCrash(FaultSchedule):
    """A consumer instance crashes (in-memory state lost) and restarts when the fault ends."""

    kind: Literal["consumer_crash"]
    target: str = Field("executor", description="a consumer group: executor, wallet, ledger, executor-retry-N")
    instance: NonNegativeInt = 0


class ConsumerStall(FaultSchedule):
    """A consumer instance hangs (GC pause, slow downstream) for the fault's duration at its next
    commit point; past max_poll_interval it is expelled, the group rebalances and its late commit
    is rejected."""

    needs_duration = True
    kind: Literal["consumer_stall"]
    target: str = Field("executor", description="a consumer group")
    instance: NonNegativeInt = 0


class ConsumerZombie(FaultSchedule):
    """A consumer instance hangs for the fault's duration *inside* its next handler (the executor:
    after the claim's check, before acting on it and calling the PSP; other handlers as they start).
    Past max_poll_interval it is expelled: the partition's next owner handles the same record while
    the zombie still does; the zombie then finishes it and its commit is rejected."""

    needs_duration = True
    kind: Literal["consumer_zombie"]
    target: str = Field("executor", description="a consumer group")
    instance: NonNegativeInt = 0


class BrokerOutage(FaultSchedule):
    """The Kafka broker(s) of a topic are down: producers retry, consumers wait."""

    kind: Literal["broker_outage"]
    target: str = Field("kafka", description="a topic, or kafka for every topic")


class ProducerDuplicates(FaultSchedule):
    """The broker's ack is lost and the producer sends the record again: consumers see duplicates."""

    ramp_field = "probability"
    kind: Literal["producer_duplicates"]
    target: str = Field("payment_service", description="the producing service")
    probability: Probability = Field(0.5, description="fraction of records published twice")


class PoisonPill(FaultSchedule):
    """Malformed records that can never be processed are published to a topic: an uncaught one
    crashes its consumer again and again and blocks the partition; a handled one goes to the DLQ."""

    ramp_field = "rate_per_s"
    kind: Literal["poison_pill"]
    target: str = Field("payment-orders", description="the topic that receives the poison pills")
    rate_per_s: PerSecond = Field(0.1, alias="rate", gt=0, description="poison pills published per second")


class DbFailover(FaultSchedule):
    """The payment database's primary fails over: calls wait for the new primary until the fault
    ends; with asynchronous replication, writes of the last ``replication_lag`` are lost (orders
    the PSP charged lose their SUCCESS; the monitor and reconciliation must find them)."""

    needs_duration = True
    kind: Literal["db_failover"]
    target: str = Field("database", description="the payment service's database")
    replication_lag_s: Seconds = Field(
        0.0, alias="replication_lag", description="writes younger than this at failover are lost (0 = synchronous)"
    )


class ServiceOutage(FaultSchedule):
    """A service is down: the payment service answers 503, the risk check times out (the
    fraud-check fallback lets small amounts through), or the payout provider answers 503."""

    kind: Literal["service_outage"]
    target: str = Field(description="payment_service, risk or payout_provider (when payouts are enabled)")


class NetworkPartition(FaultSchedule):
    """Two components cannot reach each other: requests across the link get no answer."""

    kind: Literal["network_partition"]
    target: str = Field(
        description="the link, written a~b: executor~psp, executor~secondary_psp, psp~payment_service, "
        "secondary_psp~payment_service, payment_service~risk, psp~scheme"
    )


class ForgedRedirect(FaultSchedule):
    """Buyers return from the PSP's page with a forged "paid" redirect for an unpaid order. Only a
    webhook or a PSP query may change an order's state; trusting the redirect is a flaw."""

    ramp_field = "rate_per_s"
    kind: Literal["forged_redirect"]
    target: str = Field("client", description="the checkout client")
    rate_per_s: PerSecond = Field(1.0, alias="rate", gt=0, description="forged redirects per second")


# -- capacity (the classic triggers of an overload) ------------------------------------------------

_SERVICE_TARGET = Field(
    description="a service with finite capacity: payment_service, executor (sync wiring), database, risk, psp, "
    "secondary_psp, scheme, banks (all) or bank-N, wallet_db, ledger_db"
)


class CapacityLoss(FaultSchedule):
    """A share of a service's servers stops taking work (instances lost, a bad deploy, a noisy
    neighbour): the same load on less capacity. Requests already in service finish; one server
    always stays."""

    kind: Literal["capacity_loss"]
    target: str = _SERVICE_TARGET
    fraction: Probability = Field(0.5, description="share of the service's servers lost")


class Slowdown(FaultSchedule):
    """A service's work takes longer (a slow dependency, GC pauses, a cold cache): work in service
    during the window runs ``factor`` times slower, and at full speed again once it ends."""

    kind: Literal["slowdown"]
    target: str = _SERVICE_TARGET
    factor: float = Field(3.0, ge=1.0, le=1000.0, description="how many times slower work in service runs during the window (at least 1)")


# -- operator actions ----------------------------------------------------------------------------


class DlqReplay(FaultSchedule):
    """Operator action (not a fault): at ``at``, replay every dead-lettered order (with its
    original idempotency key, status query first). May run during the drain. Poison pills stay."""

    kind: Literal["dlq_replay"]
    target: str = Field("dlq", description="the dead-letter queue")


Fault = Annotated[
    Union[
        PspReplyLostAfterCommit, PspNoReply, PspOutage, PspErrors, PspLatency, PspRateLimit, PspPendingStorm,
        PspKeyExpiry, PspClockSkew, WebhookDelay, WebhookDuplicate, WebhookLoss, WebhookReorder,
        IssuerDeclineSurge, BankErrors, ConsumerCrash, ConsumerStall, ConsumerZombie, BrokerOutage, ProducerDuplicates,
        PoisonPill, DbFailover, ServiceOutage, NetworkPartition, ForgedRedirect, CapacityLoss, Slowdown, DlqReplay,
    ],
    Field(discriminator="kind"),
]

FAULT_CLASSES: tuple[type[FaultSchedule], ...] = Fault.__origin__.__args__  # type: ignore[attr-defined]
"""Every kind's class, in catalogue order."""

ACTIONS = frozenset({"dlq_replay"})
"""Kinds that are operator actions at an instant, allowed during the drain too."""
