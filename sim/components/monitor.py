"""The in-flight monitor: alerts on orders stuck in a non-terminal state, and asks the PSP.

It does not re-run payments: it applies what the PSP says it did (a definite answer) and leaves
the rest to a human, the DLQ and reconciliation. It asks the PSP the order's charges went to
(``Executor.psp_for``): with dual-PSP routing, an order that failed over is known only to the
secondary, and the primary's "no such payment" would leave it stuck for good.
"""

from __future__ import annotations

from typing import Generator

import simpy

from sim.components.executor import Executor
from sim.components.outcomes import DECLINES, Outcomes
from sim.components.psp import Reply, ReplyCode
from sim.config.model import MonitorConfig
from sim.domain.orders import OrderState, Orders
from sim.observe.metrics import Metrics

_QUERYABLE = frozenset({OrderState.EXECUTING, OrderState.PENDING, OrderState.UNKNOWN})


class InFlightMonitor:
    def __init__(
        self, env: simpy.Environment, cfg: MonitorConfig, orders: Orders, executor: Executor,
        outcomes: Outcomes, metrics: Metrics,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.orders = orders
        self.executor = executor
        self.outcomes = outcomes
        self.metrics = metrics
        self.alerted: dict[int, float] = {}
        """Orders alerted on, with the time of the first alert."""

    def start(self) -> None:
        self.env.process(self._watch())

    def _watch(self) -> Generator[simpy.Event, None, None]:
        env, orders, cfg = self.env, self.orders, self.cfg
        while True:
            yield env.timeout(cfg.interval_s)
            horizon = env.now - cfg.stuck_after_s
            stuck = [o for o in orders.in_flight if orders.created_at[o] <= horizon]
            self.metrics.series.gauge("stuck_orders", env.now, len(stuck))
            for order_id in stuck:
                if order_id not in self.alerted:
                    self.alerted[order_id] = env.now
                    self.metrics.counters["monitor.alerts"] += 1
                if cfg.query_psp and orders.state[order_id] in _QUERYABLE:
                    executor = self.executor
                    executor.psp_for(order_id).query(executor.key_for(order_id), self._answer_for(order_id))

    def _answer_for(self, order_id: int):
        def on_reply(reply: Reply) -> None:
            if reply.code == ReplyCode.APPROVED or reply.code in DECLINES:
                self.metrics.counters["monitor.resolved"] += 1
                self.env.process(self.outcomes.apply_and_publish(order_id, reply.code, "monitor"))

        return on_reply
