"""The knobs of the PSP that fault injectors turn (outages, errors, lost replies, latency, rate
limits, pending storms, key expiry, clock skew, webhook faults), neutral by default; the PSP and
its edge read them on every request."""

from __future__ import annotations

from sim.config.distributions import Sampler


class PspFaults:
    """Knobs the fault injectors turn; all neutral by default.

    Stacking: ``outage`` is a count (increment on start, decrement on end); probabilities are
    added to and subtracted from; ``extra_latency`` / ``webhook_delay_extra`` are lists of
    samplers (append on start, remove on end). ``rate_limit_per_s``, ``key_ttl_s`` and
    ``clock_skew_s`` are set and restored.
    """

    __slots__ = (
        "outage",
        "partial_outage_fraction",
        "error_probability",
        "no_reply_probability",
        "reply_lost_probability",
        "extra_latency",
        "rate_limit_per_s",
        "rate_limit_burst",
        "retry_after_s",
        "pending_probability",
        "key_ttl_s",
        "clock_skew_s",
        "webhook_delay_extra",
        "webhook_duplicate_probability",
        "webhook_loss_probability",
    )

    def __init__(self) -> None:
        self.outage = 0
        """Active full outages; > 0 → every request answered UNAVAILABLE."""
        self.partial_outage_fraction = 0.0
        """Fraction of requests answered UNAVAILABLE."""
        self.error_probability = 0.0
        """Extra 5xx before the bank is contacted (nothing charged)."""
        self.no_reply_probability = 0.0
        """Requests swallowed on arrival: nothing committed, no reply."""
        self.reply_lost_probability = 0.0
        """Replies lost on the way back — after the charge was committed."""
        self.extra_latency: list[Sampler] = []
        """Samplers added to the PSP's processing time."""
        self.rate_limit_per_s: float | None = None
        """Token-bucket rate limit; excess requests get RATE_LIMITED (429)."""
        self.rate_limit_burst: float | None = None
        """Bucket size; None → one second of tokens (at least 1)."""
        self.retry_after_s = 1.0
        """Retry-After sent with RATE_LIMITED."""
        self.pending_probability = 0.0
        """Extra probability of a PENDING answer (pending storm)."""
        self.key_ttl_s: float | None = None
        """The PSP forgets idempotency keys after this, if shorter than the configured TTL."""
        self.clock_skew_s = 0.0
        """Offset of the PSP's clock, seen by the settlement cut-off."""
        self.webhook_delay_extra: list[Sampler] = []
        """Samplers added to every webhook delivery delay."""
        self.webhook_duplicate_probability = 0.0
        self.webhook_loss_probability = 0.0
