"""The PSP's webhooks: at-least-once notification of each final answer to the merchant's sink —
delayed, sometimes duplicated (a second delivery chain), each delivery maybe lost and redelivered
up to ``max_deliveries`` times."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, MutableMapping, Final

from sim.components.psp_api import ReplyCode
from sim.kernel.scheduling import Step, schedule_step

if TYPE_CHECKING:
    import random

    import simpy

    from sim.components.psp_faults import PspFaults
    from sim.config.distributions import Sampler
    from sim.config.model import WebhookConfig

_CODES: Final = tuple(ReplyCode)

WebhookSink = Callable[[int, ReplyCode], None]
"""Called with (order_id, final code) per delivery."""


class _Delivery(Step):
    """One webhook delivery chain (first attempt and redeliveries), scheduled as its own event
    (a :class:`Step`). A duplicate is a second chain."""

    __slots__ = ("order_id", "code", "attempt")

    order_id: int
    code: ReplyCode
    attempt: int


class Webhooks:
    """The webhook sender of one PSP. ``sink`` is the merchant's endpoint (None: nobody listens,
    nothing is drawn); the ``webhook_reorder`` fault swaps it for a while."""

    def __init__(
        self, env: "simpy.Environment", cfg: "WebhookConfig", faults: "PspFaults", rng: "random.Random",
        delay: "Sampler", counters: MutableMapping[str, int], sink: WebhookSink | None = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self._duplicate_p = cfg.duplicate_probability
        self._loss_p = cfg.loss_probability
        """The configuration's probabilities, read per delivery: fields, not pydantic lookups."""
        self.sink = sink
        self._faults = faults
        self._rng = rng
        self._delay = delay
        self._counters = counters
        self._to_attempt = (self._attempt,)

    def send(self, order_id: int, code: int) -> None:
        """Notify a final outcome. A duplicate is a second delivery chain (drawn in this order:
        the first chain's delay, the duplicate decision, the second chain's delay). One loop, not
        a method per chain: this runs for every final answer."""
        if self.sink is None:
            return
        reply_code = _CODES[code]  # (a new name: compiled, ``code`` is an int and keeps no enum)
        faults = self._faults
        env = self.env
        for duplicate in (False, True):
            delay = self._delay()
            for extra in faults.webhook_delay_extra:
                delay += extra()
            delivery = _Delivery()
            delivery.order_id = order_id
            delivery.code = reply_code
            delivery.attempt = 1
            schedule_step(env, delivery, self._to_attempt, delay)
            if duplicate:
                return
            duplicate_p = self._duplicate_p + faults.webhook_duplicate_probability
            if not (duplicate_p > 0.0 and self._rng.random() < duplicate_p):
                return
            self._counters["psp.webhook_duplicates"] += 1

    def _attempt(self, delivery: _Delivery) -> None:
        loss_p = self._loss_p + self._faults.webhook_loss_probability
        if loss_p > 0.0 and self._rng.random() < loss_p:
            cfg = self.cfg
            if delivery.attempt < cfg.max_deliveries:
                delivery.attempt += 1
                schedule_step(self.env, delivery, self._to_attempt, cfg.redelivery_interval_s)
            else:
                self._counters["psp.webhook_lost"] += 1
            return
        sink = self.sink
        if sink is not None:
            self._counters["psp.webhooks_delivered"] += 1
            sink(delivery.order_id, delivery.code)
