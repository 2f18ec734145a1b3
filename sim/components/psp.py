"""The payment service provider: tokenisation, idempotency keys, routing to the card scheme,
pending payments, webhooks, status queries and the daily settlement file.

Timeline of :meth:`Psp.charge` (no SimPy process per call: the charge itself is scheduled from
step to step, see :class:`_Charge`)::

    call ──network──▶ arrival: edge (outage / partial outage / rate limit / no reply)
                               idempotency (replay, 409 CONFLICT, INVALID, expired-key reuse)
          ──PSP latency (+extra)──▶ 5xx (entry removed)  |  PENDING (stored, webhook later)
                                    |  bank: scheme + bank latency, retried per ``bank_retry``
          final answer stored, webhook sent, reply ──network──▶ on_reply (unless lost)

The dangerous fault is ``reply_lost_probability``: the charge is committed and stored, and the
reply never arrives; a retry with the same key replays APPROVED without a second capture.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import TYPE_CHECKING, Callable, Union

import numpy as np
import simpy

from sim.components.stations import REJECTED, STARTED, SlotStation
from sim.kernel.scheduling import Step, call_after, schedule_step, succeed_after
from sim.components.idempotency import EXPIRED, IdempotencyStore, params_fingerprint
from sim.config.distributions import Sampler, make_sampler
from sim.domain.microtimes import MicrosColumn
from sim.domain.orders import as_numpy, widened
from sim.config.policies import RetryStrategy
from sim.policies.retry import Retrier

if TYPE_CHECKING:
    from sim.components.bank import Banks
    from sim.components.psp_operations import PspOperations
    from sim.config.model import PspConfig
    from sim.domain.orders import Orders
    from sim.domain.population import Population
    from sim.observe.metrics import Metrics
    from sim.rng import Streams

DAY_S = 86400.0

_SETTLEMENT_COLUMNS = ("day", "order_id", "amount_minor", "currency", "captured_at")

EXPIRED_KEY_MEMORY_MAX_S = 3600.0
"""Expired keys are remembered for min(TTL, this) after expiry, so a reuse is recognised and
counted (``psp.key_expired_reuse``); memory stays bounded by TTL + this."""


class ReplyCode(IntEnum):
    """What the PSP answers (charge, status query, webhook)."""

    APPROVED = 0
    DECLINED_FUNDS = 1
    DECLINED_LIMIT = 2
    PENDING = 3
    ERROR_5XX = 4
    RATE_LIMITED = 5
    CONFLICT = 6  # 409: the key is in flight
    INVALID = 7  # same key, different parameters
    UNAVAILABLE = 8  # 503: outage
    NOT_FOUND = 9  # status query: key unknown or expired
    IN_FLIGHT = 10  # status query: still processing


DEFINITE_SUCCESS = frozenset({ReplyCode.APPROVED})
DEFINITE_FAILURE = frozenset({ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT, ReplyCode.INVALID})
RETRYABLE = frozenset({ReplyCode.ERROR_5XX, ReplyCode.RATE_LIMITED, ReplyCode.CONFLICT, ReplyCode.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer of the PSP. Frozen: the PSP hands out shared instances."""

    code: ReplyCode
    retry_after_s: float = 0.0


@dataclass(slots=True)
class ChargeRequest:
    """A charge as the platform sends it: a card *token*, never a card number."""

    key: int
    order_id: int
    amount_minor: int
    currency: int
    card_token: int
    admitted_at_us: int = -1
    """Set by the PSP when it admits the request as new, in integer µs (settlement file)."""
    deadline_s: float = math.inf
    """When the caller stops waiting for the answer (its timeout), as the request carries it: the PSP
    drops the request unserved past it only if its queue is set to ``drop_expired``."""


class ReplyEvent(simpy.Event):
    """Where a caller waiting in a SimPy process wants the PSP's answer: instead of calling back,
    the PSP schedules this event to fire when the reply arrives (one event for the network trip
    and the wake-up; see :meth:`Psp._reply`). It never fires when no reply comes; the caller's own
    timeout handles that."""

    __slots__ = ()


class _Charge(Step):
    """One charge inside the PSP, from its arrival to its final answer, and the event that carries
    it from step to step (arrival, 5xx or PENDING, bank decision; a :class:`Step`: the step's
    method receives it as the event). Its steps are sequential."""

    __slots__ = ("request", "on_reply", "seq", "retrier", "started_at", "holding", "bank_refused")

    request: ChargeRequest
    on_reply: "OnReply | None"
    seq: int
    """The idempotency-store entry of this charge."""
    retrier: "Retrier | None"
    """Retries towards the bank (``bank_retry``), created at the first bank error."""
    started_at: float
    """When a concurrency slot took the charge."""
    holding: bool
    """The charge holds one of the merchant's concurrency slots (until its answer goes out)."""
    bank_refused: bool
    """The issuer's queue was full: the bank answers with an error, nothing decided."""


class _Query:
    """A status query waiting for a concurrency slot."""

    __slots__ = ("key", "on_reply", "deadline_s")

    def __init__(self, key: int, on_reply: "OnReply", deadline_s: float) -> None:
        self.key = key
        self.on_reply = on_reply
        self.deadline_s = deadline_s


class _Delivery(Step):
    """One webhook delivery chain (first attempt and redeliveries), scheduled as its own event
    like :class:`_Charge`. A duplicate is a second chain."""

    __slots__ = ("order_id", "code", "attempt")

    order_id: int
    code: "ReplyCode"
    attempt: int


OnReply = Union[Callable[["Reply"], None], ReplyEvent]
"""A callback called with the reply when it arrives, or an event the PSP schedules to fire then."""


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


_CODES = tuple(ReplyCode)
_REPLIES = tuple(Reply(code) for code in ReplyCode)
_APPROVED = int(ReplyCode.APPROVED)
_PENDING = int(ReplyCode.PENDING)
_ERROR_5XX = int(ReplyCode.ERROR_5XX)
_IN_FLIGHT = int(ReplyCode.IN_FLIGHT)
_DECLINED = (ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT)
"""The issuer's definite answers a PSP retries only with the ``bank_retry.retry_non_retryable`` flaw."""
_R_PENDING = _REPLIES[ReplyCode.PENDING]
_R_ERROR_5XX = _REPLIES[ReplyCode.ERROR_5XX]
_R_CONFLICT = _REPLIES[ReplyCode.CONFLICT]
_R_INVALID = _REPLIES[ReplyCode.INVALID]
_R_UNAVAILABLE = _REPLIES[ReplyCode.UNAVAILABLE]
_R_NOT_FOUND = _REPLIES[ReplyCode.NOT_FOUND]


def _no_time() -> float:
    return 0.0


def _deliver(on_reply: OnReply, reply: Reply, _event: object) -> None:
    on_reply(reply)


class Psp:
    """The payment service provider (see the module docstring for the timeline)."""

    def __init__(
        self,
        env: "simpy.Environment",
        cfg: "PspConfig",
        banks: "Banks",
        population: "Population",
        streams: "Streams",
        metrics: "Metrics",
        name: str = "psp",
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.banks = banks
        self.population = population
        self.metrics = metrics
        self.faults = PspFaults()
        self.webhook_sink: Callable[[int, ReplyCode], None] | None = None
        """Set by the payment service: called with (order_id, final code) per delivery."""

        self._counters = metrics.counters
        self._series = metrics.series
        self._network = make_sampler(cfg.network_latency, streams.stream("psp.network"))
        self._latency = make_sampler(cfg.latency, streams.stream("psp.latency"))
        self._decisions = streams.stream("psp.decisions")
        self._fault_rng = streams.stream("psp.faults")
        self._pending_delay = make_sampler(cfg.pending_resolution, streams.stream("psp.pending"))
        self._api_s = make_sampler(cfg.api_latency, streams.stream("psp.api")) if cfg.api_latency is not None else _no_time
        self._webhook_rng = streams.stream("psp.webhook")
        self._webhook_delay = make_sampler(cfg.webhook.delay, self._webhook_rng)
        self._retry_rng = streams.stream("psp.bank_retry")
        self._retry_declines = cfg.bank_retry.retry_non_retryable
        # The callbacks of the steps of a charge and a webhook (see _Charge), built once.
        self._to_arrival = (self._charge_arrives,)
        self._to_fail = (self._fail,)
        self._to_pend = (self._pend,)
        self._to_bank_answer = (self._bank_answered,)
        self._to_scheme = (self._at_scheme,)
        self._to_bank = (self._at_bank,)
        self._to_webhook_attempt = (self._webhook_attempt,)

        ttl = self._ttl_s = cfg.idempotency_ttl_s
        self._store = IdempotencyStore(ttl + min(ttl, EXPIRED_KEY_MEMORY_MAX_S))
        self._idempotent = cfg.idempotency

        self.slots = SlotStation(env, name, cfg.concurrency_limit, cfg.queue)
        """The merchant's concurrency limit and its queue: a charge holds a slot from the moment a
        slot takes it until its answer goes out (the bank's decision included); a status query or an
        idempotent replay holds one only for an instant, but waits its turn in the queue."""
        self._limited = cfg.concurrency_limit is not None
        self._overloaded = Reply(ReplyCode.RATE_LIMITED, cfg.retry_after_s)
        self._rate_limit_per_s = cfg.rate_limit_per_s
        self._bucket_rate: float | None = None
        self._bucket_tokens = 0.0
        self._bucket_at = 0.0

        self._vault: dict[str, int] | None = None
        self.capture_api: "PspOperations | None" = None
        """Set by the world when captures are delayed: an approval is then a hold, and the capture
        API (:mod:`sim.components.psp_operations`) writes the settlement rows."""

        self.orders: "Orders | None" = None
        """The merchant's order table, set by the world: storage only (see _settle), the PSP's
        behaviour never reads it."""
        # The settlement file, one row per capture, deduplicated against values known to be equal
        # (a row still has every field, see settlement_column): the key is stored only where it is
        # not the order id, the amount and currency only where they are not the order's, the day
        # only where it is not the cut-off formula's for the stored capture time (a clock skew);
        # the admission time as a float32 offset back from the capture (relative precision 6e-8);
        # the capture time to the microsecond.
        self._st_order = array("i")
        self._st_at = MicrosColumn()
        self._st_odd_day: dict[int, int] = {}  # row -> day, where not floor((at − cut-off) / 1 day)
        self._st_odd_money: dict[int, tuple[int, int]] = {}  # row -> (amount, currency), where not the order's
        self._st_odd_key: dict[int, int] = {}  # row -> key, where the key is not the order id
        self._st_waited = array("f")  # captured_at − admitted_at, seconds

    # ------------------------------------------------------------------ public API

    def charge(self, request: ChargeRequest, on_reply: OnReply) -> None:
        """Send a charge; ``on_reply`` is called once with the answer, or never (no reply,
        reply lost)."""
        counters = self._counters
        counters["psp.requests"] += 1
        counters["psp.charge_requests"] += 1
        env = self.env
        self._series.count("psp_requests", env.now)
        charge = _Charge()
        charge.request = request
        charge.on_reply = on_reply
        charge.retrier = None
        schedule_step(env, charge, self._to_arrival, self._network())

    def query(self, key: int, on_reply: OnReply, deadline_s: float = math.inf) -> None:
        """Ask for the status of idempotency key ``key``: the stored code (APPROVED, a decline,
        PENDING), IN_FLIGHT, or NOT_FOUND (unknown or expired). ``deadline_s``: when the caller
        stops waiting."""
        counters = self._counters
        counters["psp.requests"] += 1
        counters["psp.queries"] += 1
        env = self.env
        self._series.count("psp_requests", env.now)
        call_after(env, self._network(), partial(self._query_arrives, _Query(key, on_reply, deadline_s)))

    def settlement_file(self) -> list[tuple[int, int, int, int, float]]:
        """Every capture the PSP made, in order: (day, order_id, amount_minor, currency,
        captured_at). ``day`` = floor((captured_at + clock skew at capture − cut-off) / 86400)."""
        return list(zip(*(self.settlement_column(name).tolist() for name in _SETTLEMENT_COLUMNS)))

    def settlement_column(self, name: str) -> "np.ndarray":
        """One column of the settlement file as a new numpy array (end-of-run checks read columns,
        not millions of row tuples): ``day``, ``order_id``, ``amount_minor``, ``currency``, ``key``
        (int64), ``captured_at`` or ``admitted_at`` (float64)."""
        if name not in _SETTLEMENT_COLUMNS and name not in ("key", "admitted_at"):
            raise KeyError(name)
        order_ids = np.array(self._st_order, dtype=np.int64)
        if name == "order_id":
            return order_ids
        if name == "key":
            for row, key in self._st_odd_key.items():
                order_ids[row] = key
            return order_ids
        if name == "captured_at":
            return self._st_at.to_numpy()
        if name == "admitted_at":
            return self._st_at.to_numpy() - np.array(self._st_waited, dtype=np.float64)
        if name == "day":
            days = np.floor((self._st_at.to_numpy() - self.cfg.settlement_cutoff_s) / DAY_S).astype(np.int64)
            for row, day in self._st_odd_day.items():
                days[row] = day
            return days
        orders, odd = self.orders, self._st_odd_money
        field = 0 if name == "amount_minor" else 1
        if orders is None:
            values = np.zeros(len(order_ids), dtype=np.int64)
        else:
            known = np.nonzero((order_ids >= 0) & (order_ids < len(orders)))[0]  # rows of other orders are exceptions
            column = orders.amount_column() if field == 0 else as_numpy(orders.currency).astype(np.int64)
            values = np.zeros(len(order_ids), dtype=np.int64)
            values[known] = column[order_ids[known]]
        for row, money in odd.items():
            values[row] = money[field]
        return values

    def settlement_keys(self) -> list[tuple[int, float]]:
        """Per settlement row: the idempotency key of the charge and when the PSP admitted that
        request as new (the idempotent-replay oracle reads it)."""
        return list(zip(self.settlement_column("key").tolist(), self.settlement_column("admitted_at").tolist()))

    @property
    def vault_size(self) -> int:
        """Cards held in the PSP's vault."""
        return len(self.population.cards)

    def tokenise(self, card_number: str) -> int:
        """The token of a card (the platform only ever handles tokens)."""
        vault = self._vault
        if vault is None:
            vault = self._vault = {card.number: token for token, card in enumerate(self.population.cards)}
        token = vault.get(card_number)
        if token is None:
            raise KeyError("card not issued by any bank of the population")  # never echo the number
        return token

    def stored_code(self, key: int) -> int | None:
        """The answer stored under ``key`` (PENDING while its bank has not answered), or None when
        the key is unknown here (never seen, dropped, or purged). For end-of-run checks."""
        seq = self._store.find(key, self.env.now, math.inf)
        return self._store.code(seq) if seq >= 0 else None

    @property
    def idempotency_entries(self) -> int:
        """Keys the idempotency store currently retains (bounded by the TTL window)."""
        return len(self._store)

    def key_ttl_s(self) -> float:
        """The TTL in force: the configured one, or the fault's if shorter."""
        ttl = self._ttl_s
        override = self.faults.key_ttl_s
        if override is not None and override < ttl:
            return override
        return ttl

    # ------------------------------------------------------------------ arrival

    def _stopped_at_edge(self, now: float, on_reply: OnReply) -> bool:
        """True when a fault met before the PSP's application stops the request; its answer (a
        503 or a 429, or nothing at all for a swallowed request) is then already on its way.
        (One method, not a check returning the answer: it runs for every request.)"""
        faults = self.faults
        fraction = faults.partial_outage_fraction
        if faults.outage > 0 or (fraction > 0.0 and self._fault_rng.random() < fraction):
            self._counters["psp.unavailable"] += 1
            self._reply(_R_UNAVAILABLE, on_reply)
            return True
        rate = faults.rate_limit_per_s
        if rate is None or (self._rate_limit_per_s is not None and self._rate_limit_per_s < rate):
            rate = self._rate_limit_per_s  # the model's own limit, with the model's Retry-After
            if rate is not None and not self._take_token(now, rate):
                self._counters["psp.rate_limited"] += 1
                self._reply(self._overloaded, on_reply)
                return True
        elif not self._take_token(now, rate):
            self._counters["psp.rate_limited"] += 1
            self._reply(Reply(ReplyCode.RATE_LIMITED, faults.retry_after_s), on_reply)
            return True
        lost = faults.no_reply_probability
        if lost > 0.0 and self._fault_rng.random() < lost:
            self._counters["psp.no_reply"] += 1
            return True
        return False

    def _take_token(self, now: float, rate: float) -> bool:
        burst = self.faults.rate_limit_burst if rate != self._rate_limit_per_s else None
        capacity = burst if burst is not None else max(1.0, rate)
        if rate != self._bucket_rate:  # a new limit starts with a full bucket
            self._bucket_rate = rate
            self._bucket_tokens = capacity
        else:
            tokens = self._bucket_tokens + (now - self._bucket_at) * rate
            self._bucket_tokens = tokens if tokens < capacity else capacity
        self._bucket_at = now
        if self._bucket_tokens >= 1.0:
            self._bucket_tokens -= 1.0
            return True
        return False

    def _charge_arrives(self, charge: _Charge) -> None:
        now = self.env.now
        if self._stopped_at_edge(now, charge.on_reply):
            return
        charge.holding = False
        if self._limited:
            outcome = self.slots.acquire(charge, self._admit, charge.request.deadline_s, self._dropped)
            if outcome != STARTED:
                if outcome == REJECTED:
                    self._counters["psp.overload_rejected"] += 1
                    self._reply(self._overloaded, charge.on_reply)
                return
            charge.holding = True
            charge.started_at = now
        self._process(charge)

    def _admit(self, charge: _Charge) -> None:
        """A slot took the charge after it queued."""
        charge.holding = True
        charge.started_at = self.env.now
        self._process(charge)

    def _dropped(self, charge: _Charge) -> None:
        """The charge left the queue unserved (its caller's deadline had passed, or it queued too
        long): nothing was done; the 503 goes back (to a caller who may be gone)."""
        self._counters["psp.dropped"] += 1
        self._reply(_R_UNAVAILABLE, charge.on_reply)

    def _answer_charge(self, charge: _Charge, reply: Reply) -> None:
        """Answer a charge from the idempotency store (a replay, 409, INVALID): the request's API
        work (``api_latency``) holds its slot, then the answer goes out."""
        api_s = self._api_s() * self.slots.slowdown
        if api_s <= 0.0:
            self._release(charge)
            self._reply(reply, charge.on_reply, False)
            return
        call_after(self.env, api_s, partial(self._charge_answered, charge, reply))

    def _charge_answered(self, charge: _Charge, reply: Reply, _event: object) -> None:
        self._release(charge)
        self._reply(reply, charge.on_reply, False)

    def _release(self, charge: _Charge) -> None:
        """The charge's answer goes out: its slot takes the next request in the queue."""
        if charge.holding:
            charge.holding = False
            now = self.env.now
            deadline_s = charge.request.deadline_s
            if now > deadline_s:  # the caller stopped waiting: the work was done for nobody
                self._series.count("psp_wasted", now)
            self.slots.release(now - charge.started_at, deadline_s)

    def _process(self, charge: _Charge) -> None:
        """The PSP's application takes the charge: idempotency, then processing."""
        env = self.env
        now = env.now
        request = charge.request
        faults = self.faults
        store = self._store
        key = request.key
        seq = None  # not looked up
        fingerprint = params_fingerprint(request.order_id, request.amount_minor, request.currency, request.card_token)
        if self._idempotent:
            ttl_s = self._ttl_s if faults.key_ttl_s is None else self.key_ttl_s()  # no call unless a fault
            seq = store.find(key, now, ttl_s)
            if seq >= 0:
                counters = self._counters
                if store.fingerprint(seq) != fingerprint:
                    counters["psp.invalid"] += 1
                    self._answer_charge(charge, _R_INVALID)
                    return
                code = store.code(seq)
                if code == _IN_FLIGHT:
                    counters["psp.conflicts"] += 1
                    self._answer_charge(charge, _R_CONFLICT)
                    return
                counters["psp.idempotent_replays"] += 1
                self._answer_charge(charge, _REPLIES[code])
                return
            if seq == EXPIRED:
                self._counters["psp.key_expired_reuse"] += 1
        # A PSP without idempotency still records the latest attempt per key, for status queries.
        charge.seq = store.add(key, fingerprint, _IN_FLIGHT, now, seq)
        request.admitted_at_us = round(now * 1e6)

        cfg = self.cfg
        slots = self.slots
        delay = (self._api_s() + self._latency()) * (slots.factor(slots.stats.busy) if slots.contended else slots.slowdown)
        for extra in faults.extra_latency:
            delay += extra()
        rng = self._decisions
        error_p = cfg.error_probability + faults.error_probability
        pending_p = cfg.pending_probability + faults.pending_probability
        if error_p > 0.0 and rng.random() < error_p:
            schedule_step(env, charge, self._to_fail, delay)
        elif pending_p > 0.0 and rng.random() < pending_p:
            schedule_step(env, charge, self._to_pend, delay)
        else:
            self._authorise(charge, delay)

    # ------------------------------------------------------------------ processing

    def _fail(self, charge: _Charge) -> None:
        """Spontaneous 5xx before the bank: nothing charged, the key is free again."""
        self._release(charge)
        self._counters["psp.errors"] += 1
        self._store.remove(charge.request.key, charge.seq)
        self._reply(_R_ERROR_5XX, charge.on_reply, False)

    def _pend(self, charge: _Charge) -> None:
        """Answer PENDING now; authorise after the pending resolution delay (the final answer
        goes out by webhook only)."""
        self._release(charge)  # the merchant's request is answered; the bank's part goes on
        self._counters["psp.pending"] += 1
        self._store.set_code(charge.seq, _PENDING)
        self._reply(_R_PENDING, charge.on_reply, False)
        charge.on_reply = None
        if self.cfg.webhook.notify_pending:
            self._webhook(charge.request.order_id, _PENDING)
        self._authorise(charge, self._pending_delay())

    def _authorise(self, charge: _Charge, after_s: float) -> None:
        """Send the charge, ``after_s`` from now, through the card scheme to its bank;
        :meth:`_bank_answered` runs when the bank decides. Where the scheme or the bank has finite
        capacity, the charge is an event at its arrival there (the queue is computed then)."""
        self._counters["psp.bank_attempts"] += 1
        charge.bank_refused = False
        banks, env = self.banks, self.env
        if banks.direct:  # no queue on the way: one event, at the decision
            schedule_step(env, charge, self._to_bank_answer, banks.delay_s(after_s))
        elif banks.scheme.unlimited:
            schedule_step(env, charge, self._to_bank, after_s + banks.scheme_latency_s())
        else:
            schedule_step(env, charge, self._to_scheme, after_s)

    def _at_scheme(self, charge: _Charge) -> None:
        """The charge reaches the card scheme's queue, with its caller's deadline (none once the
        caller was answered PENDING)."""
        delay = self.banks.scheme_delay_s(charge.request.deadline_s if charge.on_reply is not None else math.inf)
        if delay < 0.0:
            charge.bank_refused = True
            schedule_step(self.env, charge, self._to_bank_answer,
                          0.0 if delay == -1.0 else self.banks.scheme.drop_wait_s())
            return
        if self.banks.bank_unlimited:
            schedule_step(self.env, charge, self._to_bank_answer,
                          delay + self.banks.bank_latency_s(charge.request.card_token))
        else:
            schedule_step(self.env, charge, self._to_bank, delay)

    def _at_bank(self, charge: _Charge) -> None:
        """The charge reaches its issuing bank's queue, with its caller's deadline (as at the scheme)."""
        token = charge.request.card_token
        delay = self.banks.bank_delay_s(token, charge.request.deadline_s if charge.on_reply is not None else math.inf)
        if delay < 0.0:
            charge.bank_refused = True
            delay = 0.0 if delay == -1.0 else self.banks.bank_drop_wait_s(token)
        schedule_step(self.env, charge, self._to_bank_answer, delay)

    def _bank_answered(self, charge: _Charge) -> None:
        """The bank decides now; store the answer, record a capture in the settlement file, reply
        and notify."""
        now = self.env.now
        request = charge.request
        order_id = request.order_id
        if charge.bank_refused:
            self._counters["banks.overload_refused"] += 1
            code = _ERROR_5XX
        else:
            code = self.banks.decide(order_id, request.card_token, request.amount_minor, request.currency, now)
        if code == _ERROR_5XX or (self._retry_declines and code in _DECLINED):
            policy = self.cfg.bank_retry
            retrier = charge.retrier
            if retrier is None:
                retrier = charge.retrier = Retrier(policy, self._retry_rng, now)
            # strategy "none" means one attempt even when built in Python with max_attempts > 1
            delay = None if policy.strategy is RetryStrategy.NONE else retrier.next_delay_s(now)
            if delay is not None:
                if code != _ERROR_5XX:  # FLAW: the issuer's decline retried (card schemes fine this)
                    self._counters["psp.declines_retried"] += 1
                self._authorise(charge, delay)
                return
            if code == _ERROR_5XX:  # gave up: nothing was charged, the key is free again, no webhook
                self._release(charge)
                self._counters["psp.bank_errors"] += 1
                self._store.remove(request.key, charge.seq)
                if charge.on_reply is not None:
                    self._reply(_R_ERROR_5XX, charge.on_reply, False)
                return
        committed = code == _APPROVED
        if committed:
            self._counters["psp.charges_committed"] += 1
        if committed and self.capture_api is None:  # captured in the authorisation: a settlement row now
            psp_clock = now + self.faults.clock_skew_s
            day = math.floor((psp_clock - self.cfg.settlement_cutoff_s) / DAY_S)
            self._settle(day, order_id, request.amount_minor, request.currency, now, request.key,
                         request.admitted_at_us / 1e6)
        self._store.set_code(charge.seq, code)
        self._release(charge)
        on_reply = charge.on_reply
        if on_reply is not None:
            self._reply(_REPLIES[code], on_reply, committed)
        self._webhook(order_id, code)

    def _settle(self, day: int, order_id: int, amount_minor: int, currency: int, captured_at: float, key: int,
                admitted_at: float) -> None:
        """Append one row to the settlement file."""
        row = len(self._st_order)
        try:
            self._st_order.append(order_id)
        except OverflowError:
            self._st_order = widened(self._st_order, order_id)
        at = self._st_at.append(captured_at)
        if day != math.floor((at - self.cfg.settlement_cutoff_s) / DAY_S):
            self._st_odd_day[row] = day
        orders = self.orders
        if orders is None or not 0 <= order_id < len(orders.state) \
                or orders.amount_minor[order_id] != amount_minor or orders.currency[order_id] != currency:
            self._st_odd_money[row] = (amount_minor, currency)
        if key != order_id:
            self._st_odd_key[row] = key
        self._st_waited.append(at - admitted_at)  # from the capture time as stored

    # ------------------------------------------------------------------ replies

    def _reply(self, reply: Reply, on_reply: OnReply, committed: bool | None = None) -> None:
        """Send a reply back over the network. The reply-lost fault may drop an application reply
        (``committed``: whether its charge was committed, which it counts); it leaves alone the
        answers of the edge (503, 429) and of status queries (``committed`` None)."""
        if committed is not None:
            lost = self.faults.reply_lost_probability
            if lost > 0.0 and self._fault_rng.random() < lost:
                self._counters["psp.reply_lost_after_commit" if committed else "psp.reply_lost"] += 1
                return
        if type(on_reply) is ReplyEvent:  # it succeeds with the reply after the network trip
            succeed_after(self.env, on_reply, reply, self._network())
            return
        call_after(self.env, self._network(), partial(_deliver, on_reply, reply))

    def _query_arrives(self, query: _Query, _event: object) -> None:
        now = self.env.now
        if self._stopped_at_edge(now, query.on_reply):
            return
        if self._limited:
            outcome = self.slots.acquire(query, self._query_started, query.deadline_s, self._query_dropped)
            if outcome == REJECTED:
                self._counters["psp.overload_rejected"] += 1
                self._reply(self._overloaded, query.on_reply)
                return
            if outcome != STARTED:
                return
        self._query_started(query)

    def _query_started(self, query: _Query) -> None:
        """A slot took the query: its API work, then the answer from the store as it is then."""
        api_s = self._api_s() * self.slots.slowdown
        if api_s <= 0.0:
            self._query_done(query, api_s, None)
            return
        call_after(self.env, api_s, partial(self._query_done, query, api_s))

    def _query_done(self, query: _Query, api_s: float, _event: object) -> None:
        if self._limited:
            self.slots.release(api_s, query.deadline_s)
        self._answer(query)

    def _query_dropped(self, query: _Query) -> None:
        self._counters["psp.dropped"] += 1
        self._reply(_R_UNAVAILABLE, query.on_reply)

    def _answer(self, query: _Query) -> None:
        store = self._store
        seq = store.find(query.key, self.env.now, self.key_ttl_s())
        if seq < 0:
            self._reply(_R_NOT_FOUND, query.on_reply)
        else:
            self._reply(_REPLIES[store.code(seq)], query.on_reply)

    # ------------------------------------------------------------------ webhooks

    def _webhook(self, order_id: int, code: ReplyCode) -> None:
        """At-least-once notification of a final outcome: delayed, maybe duplicated or lost. A
        duplicate is a second delivery chain (drawn in this order: the first chain's delay, the
        duplicate decision, the second chain's delay). One loop, not a method per chain: this runs
        for every final answer."""
        if self.webhook_sink is None:
            return
        code = _CODES[code]
        faults = self.faults
        env = self.env
        for duplicate in (False, True):
            delay = self._webhook_delay()
            for extra in faults.webhook_delay_extra:
                delay += extra()
            delivery = _Delivery()
            delivery.order_id = order_id
            delivery.code = code
            delivery.attempt = 1
            schedule_step(env, delivery, self._to_webhook_attempt, delay)
            if duplicate:
                return
            duplicate_p = self.cfg.webhook.duplicate_probability + faults.webhook_duplicate_probability
            if not (duplicate_p > 0.0 and self._webhook_rng.random() < duplicate_p):
                return
            self._counters["psp.webhook_duplicates"] += 1

    def _webhook_attempt(self, delivery: _Delivery) -> None:
        cfg = self.cfg.webhook
        loss_p = cfg.loss_probability + self.faults.webhook_loss_probability
        if loss_p > 0.0 and self._webhook_rng.random() < loss_p:
            if delivery.attempt < cfg.max_deliveries:
                delivery.attempt += 1
                schedule_step(self.env, delivery, self._to_webhook_attempt, cfg.redelivery_interval_s)
            else:
                self._counters["psp.webhook_lost"] += 1
            return
        sink = self.webhook_sink
        if sink is not None:
            self._counters["psp.webhooks_delivered"] += 1
            sink(delivery.order_id, delivery.code)
