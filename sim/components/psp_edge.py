"""The PSP's edge: what stops a request before the PSP's application sees it — a full or partial
outage (503), the rate limit (429 with Retry-After) and the ``psp_no_reply`` fault (swallowed,
no answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, MutableMapping, Final

from sim.components.psp_api import REPLIES, OnReply, Reply, ReplyCode
from sim.policies.budget import TokenBucket

if TYPE_CHECKING:
    import random

    from sim.components.psp_faults import PspFaults

_R_UNAVAILABLE: Final = REPLIES[ReplyCode.UNAVAILABLE]


class PspEdge:
    """The edge checks of one PSP. The rate limit in force is the model's own (``rate_limit``,
    answered with the model's Retry-After) or a ``psp_rate_limit`` fault's if stricter (with the
    fault's Retry-After); one token bucket, started full whenever the limit in force changes."""

    __slots__ = ("_faults", "_rng", "_counters", "_reply", "_own_per_s", "_overloaded", "_bucket")

    def __init__(
        self, faults: "PspFaults", rng: "random.Random", counters: MutableMapping[str, int],
        rate_limit_per_s: float | None, overloaded: Reply, reply: Callable[[Reply, OnReply], None],
    ) -> None:
        self._faults = faults
        self._rng = rng
        self._counters = counters
        self._reply = reply
        """Sends an answer back to the caller (the PSP's network)."""
        self._own_per_s = rate_limit_per_s
        self._overloaded = overloaded
        """The model's 429, with its Retry-After."""
        self._bucket: TokenBucket | None = None

    def stops(self, now: float, on_reply: OnReply) -> bool:
        """True when an edge fault or the rate limit stops the request; its answer (a 503 or a
        429, or nothing at all for a swallowed request) is then already on its way. (One method,
        not a check returning the answer: it runs for every request.)"""
        faults = self._faults
        fraction = faults.partial_outage_fraction
        if faults.outage > 0 or (fraction > 0.0 and self._rng.random() < fraction):
            self._counters["psp.unavailable"] += 1
            self._reply(_R_UNAVAILABLE, on_reply)
            return True
        rate = faults.rate_limit_per_s
        own = self._own_per_s
        if rate is None or (own is not None and own < rate):  # the model's own limit
            if own is not None:
                bucket = self._bucket
                if bucket is None or bucket.rate_per_s != own:  # (its burst is always one second's worth)
                    bucket = self._new_bucket(now, own, max(1.0, own))
                if not bucket.try_take(now):  # a call less than _take on every request
                    self._counters["psp.rate_limited"] += 1
                    self._reply(self._overloaded, on_reply)
                    return True
        else:
            burst = faults.rate_limit_burst if rate != own else None
            if not self._take(now, rate, burst if burst is not None else max(1.0, rate)):
                self._counters["psp.rate_limited"] += 1
                self._reply(Reply(ReplyCode.RATE_LIMITED, faults.retry_after_s), on_reply)
                return True
        lost = faults.no_reply_probability
        if lost > 0.0 and self._rng.random() < lost:
            self._counters["psp.no_reply"] += 1
            return True
        return False

    def _take(self, now: float, rate_per_s: float, burst: float) -> bool:
        """One token of the limit in force; a new limit starts with a full bucket."""
        bucket = self._bucket
        if bucket is None or bucket.rate_per_s != rate_per_s or bucket.burst != burst:
            bucket = self._new_bucket(now, rate_per_s, burst)
        return bucket.try_take(now)

    def _new_bucket(self, now: float, rate_per_s: float, burst: float) -> TokenBucket:
        bucket = self._bucket = TokenBucket(rate_per_s, burst, now)
        return bucket
