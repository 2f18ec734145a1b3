"""A charge's trip from the PSP through the card scheme to its issuing bank, and the PSP's retries
towards the bank (``psp.bank_retry``): the bank's final answer, or a give-up after bank errors.

Where the scheme or the bank has finite capacity, the charge is an event at its arrival there
(the queue is computed then); with neither, the whole trip is one event, at the decision."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, MutableMapping, Final

from sim.components.psp_api import ChargeRequest, OnReply, ReplyCode
from sim.config.policies import RetryStrategy
from sim.kernel.scheduling import Step, clock, schedule_step
from sim.observe.metrics import Count
from sim.policies.retry import Retrier

if TYPE_CHECKING:
    import random

    import simpy

    from sim.components.bank import Banks
    from sim.config.policies import RetryPolicy

_ERROR_5XX: Final = int(ReplyCode.ERROR_5XX)
_DECLINED: Final = (ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT)
"""The issuer's definite answers a PSP retries only with the ``bank_retry.retry_non_retryable`` flaw."""


class Charge(Step):
    """One charge inside the PSP, from its arrival to its final answer, and the event that carries
    it from step to step (arrival, 5xx or PENDING, scheme, bank, decision; a :class:`Step`: the
    step's method receives it as the event). Its steps are sequential."""

    __slots__ = ("request", "on_reply", "seq", "retrier", "started_at", "holding", "bank_refused")

    request: ChargeRequest
    on_reply: OnReply | None
    """None once the caller got its answer (PENDING): the final answer goes by webhook only."""
    seq: int
    """The idempotency-store entry of this charge."""
    retrier: Retrier | None
    """Retries towards the bank (``bank_retry``), created at the first bank error."""
    started_at: float
    """When a concurrency slot took the charge."""
    holding: bool
    """The charge holds one of the merchant's concurrency slots (until its answer goes out)."""
    bank_refused: bool
    """The issuer's queue was full: the bank answers with an error, nothing decided."""


class Authorisation:
    """Sends charges to their banks for one PSP; calls ``decided(charge, code)`` with the bank's
    answer, or ``gave_up(charge)`` when ``bank_retry`` gives up after bank errors."""

    def __init__(
        self, env: "simpy.Environment", banks: "Banks", retry: "RetryPolicy", rng: "random.Random",
        counters: MutableMapping[str, int], bank_attempts: Count, decided: Callable[[Charge, int], None],
        gave_up: Callable[[Charge], None],
    ) -> None:
        self.env = env
        self.banks = banks
        self._retry = retry
        self._retry_rng = rng
        self._retry_declines = retry.retry_non_retryable
        self._counters = counters
        self._bank_attempts = bank_attempts
        """``psp.bank_attempts`` as a field (Metrics.count): every attempt increments it."""
        self._decided = decided
        self._gave_up = gave_up
        # the callbacks of the steps (see Charge), built once
        self._to_scheme = (self._at_scheme,)
        self._to_bank = (self._at_bank,)
        self._to_answer = (self._bank_answered,)

    def send(self, charge: Charge, after_s: float) -> None:
        """Send the charge, ``after_s`` from now, through the card scheme to its bank."""
        self._bank_attempts.n += 1
        charge.bank_refused = False
        banks, env = self.banks, self.env
        if banks.direct:  # no queue on the way: one event, at the decision
            schedule_step(env, charge, self._to_answer, banks.delay_s(after_s))
        elif banks.scheme.unlimited:
            schedule_step(env, charge, self._to_bank, after_s + banks.scheme_latency_s())
        else:
            schedule_step(env, charge, self._to_scheme, after_s)

    def _at_scheme(self, charge: Charge) -> None:
        """The charge reaches the card scheme's queue, with its caller's deadline (none once the
        caller was answered PENDING)."""
        delay = self.banks.scheme_delay_s(charge.request.deadline_s if charge.on_reply is not None else math.inf)
        if delay < 0.0:
            charge.bank_refused = True
            schedule_step(self.env, charge, self._to_answer,
                          0.0 if delay == -1.0 else self.banks.scheme.drop_wait_s())
            return
        if self.banks.bank_unlimited:
            schedule_step(self.env, charge, self._to_answer, delay + self.banks.bank_latency_s(charge.request.card_token))
        else:
            schedule_step(self.env, charge, self._to_bank, delay)

    def _at_bank(self, charge: Charge) -> None:
        """The charge reaches its issuing bank's queue, with its caller's deadline (as at the scheme)."""
        token = charge.request.card_token
        delay = self.banks.bank_delay_s(token, charge.request.deadline_s if charge.on_reply is not None else math.inf)
        if delay < 0.0:
            charge.bank_refused = True
            delay = 0.0 if delay == -1.0 else self.banks.bank_drop_wait_s(token)
        schedule_step(self.env, charge, self._to_answer, delay)

    def _bank_answered(self, charge: Charge) -> None:
        """The bank decides now; a bank error is retried per ``bank_retry`` (and, with its
        ``retry_non_retryable`` flaw, the issuer's decline too)."""
        now = clock(self.env)
        request = charge.request
        if charge.bank_refused:
            self._counters["banks.overload_refused"] += 1
            code = _ERROR_5XX
        else:
            code = self.banks.decide(request.order_id, request.card_token, request.amount_minor, request.currency, now)
        if code != _ERROR_5XX and not (self._retry_declines and code in _DECLINED):
            self._decided(charge, code)
            return
        policy = self._retry
        retrier = charge.retrier
        if retrier is None:
            retrier = charge.retrier = Retrier(policy, self._retry_rng, now)
        # strategy "none" means one attempt even when built in Python with max_attempts > 1
        delay = None if policy.strategy is RetryStrategy.NONE else retrier.next_delay_s(now)
        if delay is not None:
            if code != _ERROR_5XX:  # FLAW: the issuer's decline retried (card schemes fine this)
                self._counters["psp.declines_retried"] += 1
            self.send(charge, delay)
        elif code == _ERROR_5XX:
            self._gave_up(charge)
        else:  # the retries of a decline are spent: the decline is the answer
            self._decided(charge, code)
