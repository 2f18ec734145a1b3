"""The payment service provider: tokenisation, idempotency keys, routing to the card scheme,
pending payments, webhooks, status queries and the daily settlement file.

Timeline of :meth:`Psp.charge` (no SimPy process per call: the charge itself is scheduled from
step to step, see :class:`~sim.components.psp_authorisation.Charge`)::

    call ──network──▶ arrival: edge (outage / partial outage / rate limit / no reply)
                               idempotency (replay, 409 CONFLICT, INVALID, expired-key reuse)
          ──PSP latency (+extra)──▶ 5xx (entry removed)  |  PENDING (stored, webhook later)
                                    |  bank: scheme + bank latency, retried per ``bank_retry``
          final answer stored, webhook sent, reply ──network──▶ on_reply (unless lost)

The dangerous fault is ``reply_lost_probability``: the charge is committed and stored, and the
reply never arrives; a retry with the same key replays APPROVED without a second capture.

This module is the PSP's application (arrival, idempotency, processing, replies, status queries)
and its public face; each other concern has its own module: the API's types
(:mod:`~sim.components.psp_api`, re-exported here), the fault knobs
(:mod:`~sim.components.psp_faults`), the edge and its rate limit (:mod:`~sim.components.psp_edge`),
the trip to the bank and bank retries (:mod:`~sim.components.psp_authorisation`), the settlement
file (:mod:`~sim.components.psp_settlement`), webhooks (:mod:`~sim.components.psp_webhooks`), the
idempotency store (:mod:`~sim.components.idempotency`) and the capture, void and refund API
(:mod:`~sim.components.psp_operations`).
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Final, SupportsIndex

import numpy as np
import simpy

from sim.components.idempotency import EXPIRED, IdempotencyStore, order_print, params_fingerprint
from sim.components.psp_api import (
    DEFINITE_FAILURE,
    DEFINITE_SUCCESS,
    REPLIES,
    RETRYABLE,
    ChargeRequest,
    OnReply,
    Reply,
    ReplyCode,
    ReplyEvent,
)
from sim.components.psp_authorisation import Authorisation, Charge
from sim.components.psp_edge import PspEdge
from sim.components.psp_faults import PspFaults
from sim.components.psp_settlement import DAY_S, Settlement
from sim.components.psp_webhooks import Webhooks, WebhookSink
from sim.components.stations import REJECTED, STARTED, SlotStation
from sim.config.distributions import make_sampler
from sim.kernel.scheduling import call_after, clock, schedule_step, succeed_after
from sim.observe.metrics import Count

if TYPE_CHECKING:
    from sim.components.bank import Banks
    from sim.components.psp_operations import PspOperations
    from sim.config.model import PspConfig
    from sim.domain.orders import Orders
    from sim.domain.population import Population
    from sim.observe.metrics import Recorder
    from sim.rng import Streams

__all__ = [  # the PSP's API is re-exported: callers import it from here
    "DAY_S", "DEFINITE_FAILURE", "DEFINITE_SUCCESS", "RETRYABLE", "ChargeRequest", "OnReply", "Psp", "PspFaults",
    "Reply", "ReplyCode", "ReplyEvent",
]

EXPIRED_KEY_MEMORY_MAX_S: Final = 3600.0
"""Expired keys are remembered for min(TTL, this) after expiry, so a reuse is recognised and
counted (``psp.key_expired_reuse``); memory stays bounded by TTL + this."""


class _Query:
    """A status query waiting for a concurrency slot."""

    __slots__ = ("key", "on_reply", "deadline_s")

    def __init__(self, key: int, on_reply: OnReply, deadline_s: float) -> None:
        self.key = key
        self.on_reply = on_reply
        self.deadline_s = deadline_s


_APPROVED: Final = int(ReplyCode.APPROVED)
_PENDING: Final = int(ReplyCode.PENDING)
_IN_FLIGHT: Final = int(ReplyCode.IN_FLIGHT)
_R_PENDING: Final = REPLIES[ReplyCode.PENDING]
_R_ERROR_5XX: Final = REPLIES[ReplyCode.ERROR_5XX]
_R_CONFLICT: Final = REPLIES[ReplyCode.CONFLICT]
_R_INVALID: Final = REPLIES[ReplyCode.INVALID]
_R_UNAVAILABLE: Final = REPLIES[ReplyCode.UNAVAILABLE]
_R_NOT_FOUND: Final = REPLIES[ReplyCode.NOT_FOUND]


def _no_time() -> float:
    return 0.0


def _deliver(on_reply: OnReply, reply: Reply, _event: object) -> None:
    on_reply(reply)  # type: ignore[operator]  # (a ReplyEvent is never delivered this way)


class Psp:
    """The payment service provider (see the module docstring for the timeline). ``orders``: the
    merchant's order table, storage only (the settlement file copies amounts only where they are
    not the order's); the PSP's behaviour never reads it."""

    def __init__(
        self,
        env: "simpy.Environment",
        cfg: "PspConfig",
        banks: "Banks",
        population: "Population",
        streams: "Streams",
        metrics: "Recorder",
        name: str = "psp",
        orders: "Orders | None" = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self._error_p = cfg.error_probability
        self._pending_p = cfg.pending_probability
        """The configuration's error and pending probabilities, read per charge: fields (a pydantic
        model's attribute is a lookup through its ``__getattr__`` hook, ~250 instructions)."""
        self.banks = banks
        self.population = population
        self.metrics = metrics
        self.orders = orders
        self.faults = PspFaults()

        self._counters = counters = metrics.counters
        self._series = metrics.series
        # the counters every charge or query increments, as fields (Metrics.count)
        self._requests: Count = metrics.count("psp.requests")
        self._charge_requests: Count = metrics.count("psp.charge_requests")
        self._queries: Count = metrics.count("psp.queries")
        self._charges_committed: Count = metrics.count("psp.charges_committed")
        self._network = make_sampler(cfg.network_latency, streams.stream("psp.network"))
        self._latency = make_sampler(cfg.latency, streams.stream("psp.latency"))
        self._decisions = streams.stream("psp.decisions")
        self._fault_rng = streams.stream("psp.faults")
        self._pending_delay = make_sampler(cfg.pending_resolution, streams.stream("psp.pending"))
        self._api_s = make_sampler(cfg.api_latency, streams.stream("psp.api")) if cfg.api_latency is not None else _no_time
        webhook_rng = streams.stream("psp.webhook")
        self.webhooks = Webhooks(env, cfg.webhook, self.faults, webhook_rng, make_sampler(cfg.webhook.delay, webhook_rng), counters)
        self._authorisation = Authorisation(
            env, banks, cfg.bank_retry, streams.stream("psp.bank_retry"), counters, metrics.count("psp.bank_attempts"),
            self._bank_answered, self._bank_gave_up,
        )
        # The callbacks of the steps of a charge (see Charge), built once.
        self._to_arrival = (self._charge_arrives,)
        self._to_fail = (self._fail,)
        self._to_pend = (self._pend,)

        ttl = self._ttl_s = cfg.idempotency_ttl_s
        self._store = IdempotencyStore(ttl + min(ttl, EXPIRED_KEY_MEMORY_MAX_S),
                                       None if orders is None else partial(order_print, orders))
        self._idempotent = cfg.idempotency

        self.slots = SlotStation(env, name, cfg.concurrency_limit, cfg.queue)
        """The merchant's concurrency limit and its queue: a charge holds a slot from the moment a
        slot takes it until its answer goes out (the bank's decision included); a status query or an
        idempotent replay holds one only for an instant, but waits its turn in the queue."""
        self._limited = cfg.concurrency_limit is not None
        self._overloaded = Reply(ReplyCode.RATE_LIMITED, cfg.retry_after_s)
        self._edge = PspEdge(self.faults, self._fault_rng, counters, cfg.rate_limit_per_s, self._overloaded, self._reply)

        self._vault: dict[str, int] | None = None
        self.capture_api: "PspOperations | None" = None
        """The capture API when captures are delayed (see :meth:`connect`)."""
        self.settlement = Settlement(cfg.settlement_cutoff_s, orders, cfg.settlement_days)

    def connect(self, webhook_sink: WebhookSink | None, capture_api: "PspOperations | None" = None) -> None:
        """Wire the PSP to what is built after it: the merchant's webhook endpoint (the payment
        service, which depends on the PSP through its executor), and, when captures are delayed,
        the capture API (built on this PSP): an approval is then a hold, and the capture API
        writes the settlement rows."""
        self.webhooks.sink = webhook_sink
        self.capture_api = capture_api

    @property
    def webhook_sink(self) -> WebhookSink | None:
        """Where webhooks go (the ``webhook_reorder`` fault swaps it for a while)."""
        return self.webhooks.sink

    @webhook_sink.setter
    def webhook_sink(self, sink: WebhookSink | None) -> None:
        self.webhooks.sink = sink

    # ------------------------------------------------------------------ public API

    def charge(self, request: ChargeRequest, on_reply: OnReply) -> None:
        """Send a charge; ``on_reply`` is called once with the answer, or never (no reply,
        reply lost)."""
        self._requests.n += 1
        self._charge_requests.n += 1
        env = self.env
        self._series.count("psp_requests", clock(env))
        charge = Charge()
        charge.request = request
        charge.on_reply = on_reply
        charge.retrier = None
        schedule_step(env, charge, self._to_arrival, self._network())

    def query(self, key: int, on_reply: OnReply, deadline_s: float = math.inf) -> None:
        """Ask for the status of idempotency key ``key``: the stored code (APPROVED, a decline,
        PENDING), IN_FLIGHT, or NOT_FOUND (unknown or expired). ``deadline_s``: when the caller
        stops waiting."""
        self._requests.n += 1
        self._queries.n += 1
        env = self.env
        self._series.count("psp_requests", clock(env))
        call_after(env, self._network(), partial(self._query_arrives, _Query(key, on_reply, deadline_s)))

    def settlement_file(self) -> list[tuple[int, int, int, int, float]]:
        """Every capture the PSP made, in order: (day, order_id, amount_minor, currency,
        captured_at). ``day`` = floor((captured_at + clock skew at capture − cut-off) / 86400)."""
        return self.settlement.rows()

    def settlement_column(self, name: str) -> "np.ndarray":
        """One column of the settlement file (see :meth:`Settlement.column`)."""
        return self.settlement.column(name)

    def settlement_keys(self) -> list[tuple[int, float]]:
        """Per settlement row: the idempotency key of the charge and when the PSP admitted that
        request as new (the idempotent-replay oracle reads it)."""
        return self.settlement.keys()

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
        seq = self._store.find(key, clock(self.env), math.inf)
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

    def _charge_arrives(self, charge: Charge) -> None:
        now = clock(self.env)
        if self._edge.stops(now, charge.on_reply):  # type: ignore[arg-type]  # (set until the caller's answer)
            return
        charge.holding = False
        if self._limited:
            outcome = self.slots.acquire(charge, self._admit, charge.request.deadline_s, self._dropped)
            if outcome != STARTED:
                if outcome == REJECTED:
                    self._counters["psp.overload_rejected"] += 1
                    self._reply(self._overloaded, charge.on_reply)  # type: ignore[arg-type]  # (set until the caller's answer)
                return
            charge.holding = True
            charge.started_at = now
        self._process(charge)

    def _admit(self, charge: Charge) -> None:
        """A slot took the charge after it queued."""
        charge.holding = True
        charge.started_at = clock(self.env)
        self._process(charge)

    def _dropped(self, charge: Charge) -> None:
        """The charge left the queue unserved (its caller's deadline had passed, or it queued too
        long): nothing was done; the 503 goes back (to a caller who may be gone)."""
        self._counters["psp.dropped"] += 1
        self._reply(_R_UNAVAILABLE, charge.on_reply)  # type: ignore[arg-type]  # (set until the caller's answer)

    def _answer_charge(self, charge: Charge, reply: Reply) -> None:
        """Answer a charge from the idempotency store (a replay, 409, INVALID): the request's API
        work (``api_latency``) holds its slot, then the answer goes out."""
        api_s = self.slots.stretched_s(self._api_s(), clock(self.env))
        if api_s <= 0.0:
            self._release(charge)
            self._reply(reply, charge.on_reply, False)  # type: ignore[arg-type]  # (set until the caller's answer)
            return
        call_after(self.env, api_s, partial(self._charge_answered, charge, reply))

    def _charge_answered(self, charge: Charge, reply: Reply, _event: object) -> None:
        self._release(charge)
        self._reply(reply, charge.on_reply, False)  # type: ignore[arg-type]  # (set until the caller's answer)

    def _release(self, charge: Charge) -> None:
        """The charge's answer goes out: its slot takes the next request in the queue."""
        if charge.holding:
            charge.holding = False
            now = clock(self.env)
            deadline_s = charge.request.deadline_s
            if now > deadline_s:  # the caller stopped waiting: the work was done for nobody
                self._series.count("psp_wasted", now)
            self.slots.release(now - charge.started_at, deadline_s)

    def _process(self, charge: Charge) -> None:
        """The PSP's application takes the charge: idempotency, then processing."""
        env = self.env
        now = clock(env)
        request = charge.request
        faults = self.faults
        store = self._store
        key = request.key
        seq = None  # not looked up
        if self._idempotent:
            ttl_s = self._ttl_s if faults.key_ttl_s is None else self.key_ttl_s()  # no call unless a fault
            seq = store.find(key, now, ttl_s)
            if seq >= 0:
                counters = self._counters
                if store.fingerprint(seq, key) != params_fingerprint(request.order_id, request.amount_minor,
                                                                     request.currency, request.card_token):
                    counters["psp.invalid"] += 1
                    self._answer_charge(charge, _R_INVALID)
                    return
                code = store.code(seq)
                if code == _IN_FLIGHT:
                    counters["psp.conflicts"] += 1
                    self._answer_charge(charge, _R_CONFLICT)
                    return
                counters["psp.idempotent_replays"] += 1
                self._answer_charge(charge, REPLIES[code])
                return
            if seq == EXPIRED:
                self._counters["psp.key_expired_reuse"] += 1
        # A PSP without idempotency still records the latest attempt per key, for status queries.
        # Whether the request carries its order's own parameters (order_print's usual fingerprint),
        # compared field by field: cheaper than hashing the order's (a 2^-32 collision stores the
        # same value as an odd fingerprint); a usual fingerprint is not stored, so not computed.
        orders = self.orders
        at: SupportsIndex = key  # boxed once (see ``sim.domain.orders.Orders.transition``)
        usual = None if orders is None else (
            key == request.order_id and 0 <= key < len(orders.state)
            and orders.amount_minor[at] == request.amount_minor and orders.currency[at] == request.currency
            and orders.checkouts.card_token[orders.checkout_of(key)] == request.card_token)
        fingerprint = None if usual else params_fingerprint(request.order_id, request.amount_minor, request.currency,
                                                            request.card_token)
        charge.seq = store.add(key, fingerprint, _IN_FLIGHT, now, seq, usual)
        request.admitted_at_us = round(now * 1e6)

        slots = self.slots
        work_s = (self._api_s() + self._latency()) * (slots.contention(slots.stats.busy) if slots.contended else 1.0)
        delay = slots.stretched_s(work_s, now)
        for extra in faults.extra_latency:
            delay += extra()
        rng = self._decisions
        error_p = self._error_p + faults.error_probability
        pending_p = self._pending_p + faults.pending_probability
        if error_p > 0.0 and rng.random() < error_p:
            schedule_step(env, charge, self._to_fail, delay)
        elif pending_p > 0.0 and rng.random() < pending_p:
            schedule_step(env, charge, self._to_pend, delay)
        else:
            self._authorisation.send(charge, delay)

    # ------------------------------------------------------------------ processing

    def _fail(self, charge: Charge) -> None:
        """Spontaneous 5xx before the bank: nothing charged, the key is free again."""
        self._release(charge)
        self._counters["psp.errors"] += 1
        self._store.remove(charge.request.key, charge.seq)
        self._reply(_R_ERROR_5XX, charge.on_reply, False)  # type: ignore[arg-type]  # (set until the caller's answer)

    def _pend(self, charge: Charge) -> None:
        """Answer PENDING now; authorise after the pending resolution delay (the final answer
        goes out by webhook only)."""
        self._release(charge)  # the merchant's request is answered; the bank's part goes on
        self._counters["psp.pending"] += 1
        self._store.set_code(charge.seq, _PENDING)
        self._reply(_R_PENDING, charge.on_reply, False)  # type: ignore[arg-type]  # (set until the caller's answer)
        charge.on_reply = None
        if self.cfg.webhook.notify_pending:
            self.webhooks.send(charge.request.order_id, _PENDING)
        self._authorisation.send(charge, self._pending_delay())

    def _bank_answered(self, charge: Charge, code: int) -> None:
        """The bank decided: store the answer, record a capture in the settlement file, reply
        and notify."""
        request = charge.request
        order_id = request.order_id
        committed = code == _APPROVED
        if committed:
            self._charges_committed.n += 1
            if self.capture_api is None:  # captured in the authorisation: a settlement row now
                now = clock(self.env)
                settlement = self.settlement
                settlement.append(settlement.day_of(now, self.faults.clock_skew_s), order_id, request.amount_minor,
                                  request.currency, now, request.key, request.admitted_at_us / 1e6)
        self._store.set_code(charge.seq, code)
        self._release(charge)
        on_reply = charge.on_reply
        if on_reply is not None:
            self._reply(REPLIES[code], on_reply, committed)
        self.webhooks.send(order_id, code)

    def _bank_gave_up(self, charge: Charge) -> None:
        """``bank_retry`` gave up after bank errors: nothing was charged, the key is free again,
        no webhook."""
        self._release(charge)
        self._counters["psp.bank_errors"] += 1
        self._store.remove(charge.request.key, charge.seq)
        if charge.on_reply is not None:
            self._reply(_R_ERROR_5XX, charge.on_reply, False)

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
        now = clock(self.env)
        if self._edge.stops(now, query.on_reply):
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
        api_s = self.slots.stretched_s(self._api_s(), clock(self.env))
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
        seq = store.find(query.key, clock(self.env), self.key_ttl_s())
        if seq < 0:
            self._reply(_R_NOT_FOUND, query.on_reply)
        else:
            self._reply(REPLIES[store.code(seq)], query.on_reply)
