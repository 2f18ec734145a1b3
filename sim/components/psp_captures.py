"""The PSP's capture and void API (delayed captures): the second call of a payment, after the
authorisation placed a hold. The PSP delegates to it (``Psp.capture_api``).

Timeline of one call::

    call ──network──▶ edge (outage / partial outage / rate limit / no reply), as for a charge
                      idempotency: a live key replays its stored answer (CONFLICT while in flight)
         ──PSP latency (+extra)──▶ 5xx (key freed)  |  scheme + bank: Banks.capture / Banks.void
         answer stored under the key; a capture is a settlement-file row; reply ──network──▶

A call without a key (``capture.idempotency_key: false``, a FLAW) is always executed: a retry
after a lost reply captures again while the hold has room for it.
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

from sim.components.psp import DAY_S, OnReply, Reply, ReplyCode
from sim.components.scheduling import call_after
from sim.config.distributions import make_sampler

if TYPE_CHECKING:
    from sim.components.bank import Banks
    from sim.components.psp import Psp
    from sim.rng import Streams

CAPTURE, VOID = "capture", "void"
_IN_FLIGHT = ReplyCode.IN_FLIGHT
_APPROVED = ReplyCode.APPROVED


class PspCaptures:
    """Captures and voids of authorised payments, idempotent per (operation, key)."""

    def __init__(self, psp: "Psp", banks: "Banks", streams: "Streams") -> None:
        self.psp = psp
        self.banks = banks
        self.env = psp.env
        self._counters = psp.metrics.counters
        self._latency = make_sampler(psp.cfg.latency, streams.stream("psp.captures.latency"))
        self._decisions = streams.stream("psp.captures.decisions")
        self._answers: dict[tuple[str, int], ReplyCode] = {}
        """(operation, key) -> the stored answer (IN_FLIGHT while processing)."""
        self._unkeyed = 0
        """Captures executed without a key (their settlement rows get keys -1, -2, ...)."""
        self.executed: dict[tuple[str, int], int] = {}
        """(operation, order id) -> times the PSP executed it (took it to the bank)."""

    def capture(self, order_id: int, amount_minor: int, currency: int, key: int | None, on_reply: OnReply) -> None:
        """Capture ``amount_minor`` of the order's authorisation; ``on_reply`` gets the answer, or
        never (lost)."""
        self._send(CAPTURE, order_id, amount_minor, currency, key, on_reply)

    def void(self, order_id: int, key: int | None, on_reply: OnReply) -> None:
        """Cancel the order's authorisation: the issuer releases the hold."""
        self._send(VOID, order_id, 0, 0, key, on_reply)

    def _send(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
              on_reply: OnReply) -> None:
        counters = self._counters
        counters["psp.requests"] += 1
        counters[f"psp.{operation}_requests"] += 1
        psp, env = self.psp, self.env
        psp.metrics.series.count("psp_requests", env.now)
        call_after(env, psp._network(), partial(self._arrive, operation, order_id, amount_minor, currency, key, on_reply))

    def _arrive(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
                on_reply: OnReply, _event: object) -> None:
        psp, env = self.psp, self.env
        now = env.now
        if psp._stopped_at_edge(now, on_reply):
            return
        if key is not None:
            stored = self._answers.get((operation, key))
            if stored is _IN_FLIGHT:
                self._counters["psp.conflicts"] += 1
                psp._reply(Reply(ReplyCode.CONFLICT), on_reply, False)
                return
            if stored is not None:
                self._counters[f"psp.{operation}_replays"] += 1
                psp._reply(Reply(stored), on_reply, False)
                return
            self._answers[(operation, key)] = _IN_FLIGHT
        delay = self._latency()
        for extra in psp.faults.extra_latency:
            delay += extra()
        error_p = psp.cfg.error_probability + psp.faults.error_probability
        if error_p > 0.0 and self._decisions.random() < error_p:
            call_after(env, delay, partial(self._fail, operation, key, on_reply))
            return
        call_after(env, self.banks.delay_s(delay),
                   partial(self._at_bank, operation, order_id, amount_minor, currency, key, now, on_reply))

    def _fail(self, operation: str, key: int | None, on_reply: OnReply, _event: object) -> None:
        """Spontaneous 5xx: nothing done, the key is free again."""
        self._counters["psp.errors"] += 1
        if key is not None:
            self._answers.pop((operation, key), None)
        self.psp._reply(Reply(ReplyCode.ERROR_5XX), on_reply, False)

    def _at_bank(self, operation: str, order_id: int, amount_minor: int, currency: int, key: int | None,
                 admitted_at: float, on_reply: OnReply, _event: object) -> None:
        psp, now = self.psp, self.env.now
        done = (operation, order_id)
        self.executed[done] = self.executed.get(done, 0) + 1
        if operation == CAPTURE:
            code = self.banks.capture(order_id, amount_minor, now)
            if code == _APPROVED:
                self._counters["psp.captures_committed"] += 1
                day = math.floor((now + psp.faults.clock_skew_s - psp.cfg.settlement_cutoff_s) / DAY_S)
                if key is None:  # a key-less capture: a settlement key of its own
                    self._unkeyed += 1
                row_key = key if key is not None else -self._unkeyed
                psp._settle(day, order_id, amount_minor, currency, now, row_key, admitted_at)
        else:
            code = self.banks.void(order_id)
        if key is not None:
            self._answers[(operation, key)] = code
        psp._reply(Reply(code), on_reply, code == _APPROVED)
