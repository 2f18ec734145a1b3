"""The PSP's capture, void and refund API: the calls that follow an authorisation. The PSP's
charge path delegates to it when captures are delayed (``Psp.capture_api``); refunds use it in
either capture mode.

Timeline of one call::

    call ──network──▶ edge (outage / partial outage / no reply), as for a charge
                      idempotency: a live key replays its stored answer (CONFLICT while in flight)
         ──PSP latency (+extra)──▶ 5xx (key freed)  |  scheme + bank: Banks.capture / void / refund
         answer stored under the key; a capture or refund is a settlement-file line; reply ──network──▶
                                                     (may be lost after commit, as for a charge)

A call without a key (a FLAW: ``capture.idempotency_key: false``, or a refund retried under a new
refund id) is always executed: a retry after a lost reply captures or refunds again while the hold
or the captured amount has room for it. The PSP's rate limit counts charges only. Own random
streams: the charges' draws are the same with or without these calls.

Kept simple on purpose: these calls take none of the PSP's concurrency slots (``Psp.slots``, which
charges and status queries hold) and queue at no scheme or bank station (``Banks.delay_s`` is one
unqueued trip); they are a small share of the PSP's requests next to charges.
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Callable, Final


from sim.components.psp import DAY_S, OnReply, Reply, ReplyCode, ReplyEvent
from sim.components.psp_settlement import REFUND
from sim.domain.intmap import IntMap
from sim.kernel.scheduling import call_after, clock, succeed_after
from sim.config.distributions import make_sampler

if TYPE_CHECKING:
    from sim.components.bank import Banks
    from sim.components.psp import Psp
    from sim.domain.truth import GroundTruth
    from sim.rng import Streams

CAPTURE, VOID, REFUND = "capture", "void", "refund"
_IN_FLIGHT_CODE: Final = int(ReplyCode.IN_FLIGHT)
_APPROVED: Final = ReplyCode.APPROVED


class PspOperations:
    """Captures, voids and refunds of payments the PSP authorised, idempotent per (operation, key)."""

    def __init__(self, psp: "Psp", banks: "Banks", truth: "GroundTruth", streams: "Streams",
                 refund_failure_probability: float = 0.0) -> None:
        self.psp = psp
        self.banks = banks
        self.truth = truth
        self.env = psp.env
        self._counters = psp.metrics.counters
        self._network = make_sampler(psp.cfg.network_latency, streams.stream("psp.operations.network"))
        self._latency = make_sampler(psp.cfg.latency, streams.stream("psp.operations.latency"))
        self._decisions = streams.stream("psp.operations.decisions")
        self._faults = streams.stream("psp.operations.faults")
        self.refund_failure_probability = refund_failure_probability
        """Share of refunds the PSP declines for good (the card account closed)."""
        self._answers: dict[str, IntMap] = {}
        """operation -> key -> the stored answer's code (IN_FLIGHT while processing): a map per
        operation, not one keyed by (operation, key), spares a tuple per stored answer; an
        :class:`IntMap`, not a dict, spares a dict entry and an int object (a refund's key is kept all run)."""
        self._unkeyed = 0
        """Captures executed without a key (their settlement rows get keys -1, -2, ...)."""
        self.lists_refunds_of: Callable[[int], "Psp"] = lambda _order_id: psp
        """The PSP whose settlement file lists an order's refunds: the one that captured it."""

    def capture(self, order_id: int, amount_minor: int, currency: int, key: int | None, on_reply: OnReply) -> None:
        """Capture ``amount_minor`` of the order's authorisation; ``on_reply`` gets the answer, or
        never (lost)."""
        self._send(CAPTURE, order_id, amount_minor, currency, key, on_reply)

    def void(self, order_id: int, key: int | None, on_reply: OnReply) -> None:
        """Cancel the order's authorisation: the issuer releases the hold."""
        self._send(VOID, order_id, 0, 0, key, on_reply)

    def refund(self, order_id: int, card_token: int, amount_minor: int, currency: int, key: int | None,
               on_reply: OnReply) -> None:
        """Give ``amount_minor`` of the order's captured money back to the card (refused beyond what
        was captured and not yet refunded)."""
        self._send(REFUND, order_id, amount_minor, currency, key, on_reply, card_token)

    def _send(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
              on_reply: OnReply, card_token: int = -1) -> None:
        counters = self._counters
        counters["psp.requests"] += 1
        counters[f"psp.{operation}_requests"] += 1
        env = self.env
        self.psp.metrics.series.count("psp_requests", clock(env))
        call_after(env, self._network(), partial(self._arrive, operation, order_id, amount_minor, currency, key, on_reply, card_token))

    def _arrive(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
                on_reply: OnReply, card_token: int, _event: object) -> None:
        env, faults = self.env, self.psp.faults
        now = clock(env)
        fraction = faults.partial_outage_fraction
        if faults.outage > 0 or (fraction > 0.0 and self._faults.random() < fraction):
            self._counters["psp.unavailable"] += 1
            self._reply(ReplyCode.UNAVAILABLE, on_reply)
            return
        if faults.no_reply_probability > 0.0 and self._faults.random() < faults.no_reply_probability:
            self._counters["psp.no_reply"] += 1
            return
        if key is not None:
            answers = self._answers.get(operation)
            if answers is None:
                answers = self._answers[operation] = IntMap()
            stored = answers.get(key)
            if stored == _IN_FLIGHT_CODE:
                self._counters["psp.conflicts"] += 1
                self._reply(ReplyCode.CONFLICT, on_reply, False)
                return
            if stored is not None:
                self._counters[f"psp.{operation}_replays"] += 1
                self._reply(ReplyCode(stored), on_reply, False)
                return
            answers.put(key, _IN_FLIGHT_CODE)
        delay = self._latency()
        for extra in faults.extra_latency:
            delay += extra()
        error_p = self.psp.cfg.error_probability + faults.error_probability
        if error_p > 0.0 and self._decisions.random() < error_p:
            call_after(env, delay, partial(self._fail, operation, key, on_reply))
            return
        call_after(env, self.banks.delay_s(delay),
                   partial(self._at_bank, operation, order_id, amount_minor, currency, key, now, on_reply, card_token))

    def _fail(self, operation: str, key: int | None, on_reply: OnReply, _event: object) -> None:
        """Spontaneous 5xx: nothing done, the key is free again."""
        self._counters["psp.errors"] += 1
        if key is not None:
            self._answers[operation].discard(key)
        self._reply(ReplyCode.ERROR_5XX, on_reply, False)

    def _at_bank(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
                 admitted_at: float, on_reply: OnReply, card_token: int, _event: object) -> None:
        psp, now = self.psp, clock(self.env)
        if operation == CAPTURE:
            code = self.banks.capture(order_id, amount_minor, now)
            if code == _APPROVED:
                self._counters["psp.captures_committed"] += 1
                day = math.floor((now + psp.faults.clock_skew_s - psp.cfg.settlement_cutoff_s) / DAY_S)
                if key is None:  # a key-less capture: a settlement key of its own
                    self._unkeyed += 1
                row_key = key if key is not None else -self._unkeyed
                psp.settlement.append(day, order_id, amount_minor, currency, now, row_key, admitted_at)
        elif operation == VOID:
            code = self.banks.void(order_id)
        else:
            code = self._refund_at_bank(order_id, card_token, amount_minor, currency)
            if code == _APPROVED:  # a negative line, netted from the settlement that pays its day
                listing = self.lists_refunds_of(order_id)
                settlement = listing.settlement
                settlement.adjust(REFUND, settlement.day_of(now, listing.faults.clock_skew_s), order_id, -amount_minor, 0,
                                  currency, now, key if key is not None else -1)
        if key is not None:
            self._answers[operation].put(key, int(code))
        self._reply(code, on_reply, code == _APPROVED)

    def _refund_at_bank(self, order_id: int, card_token: int, amount_minor: int, currency: int) -> ReplyCode:
        orders = self.psp.orders
        captured = self.truth.captured_minor_of_order(order_id, orders.amount_minor[order_id] if orders else 0)
        if amount_minor > captured - self.truth.refunded_minor_of(order_id):
            self._counters["psp.refunds_over_captured"] += 1
            return ReplyCode.DECLINED_LIMIT
        failure_p = self.refund_failure_probability
        if failure_p > 0.0 and self._decisions.random() < failure_p:
            self._counters["psp.refunds_declined"] += 1
            return ReplyCode.DECLINED_FUNDS
        self.banks.refund(order_id, card_token, amount_minor, currency)
        self._counters["psp.refunds_committed"] += 1
        return _APPROVED

    def _reply(self, code: ReplyCode, on_reply: OnReply, committed: bool | None = None) -> None:
        """The answer back over the network; an application answer (``committed`` not None) may be
        lost (the reply-lost fault), counted as after commit when it moved money."""
        if committed is not None:
            lost = self.psp.faults.reply_lost_probability
            if lost > 0.0 and self._faults.random() < lost:
                self._counters["psp.reply_lost_after_commit" if committed else "psp.reply_lost"] += 1
                return
        reply = Reply(code)
        delay = self._network()
        if type(on_reply) is ReplyEvent:
            succeed_after(self.env, on_reply, reply, delay)
            return
        call_after(self.env, delay, lambda _event: on_reply(reply))  # type: ignore[operator]  # (not a ReplyEvent here)
