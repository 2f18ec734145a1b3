"""The design's service-level objectives held (``slo:`` in the model; see ``sim.config.slo``).

Amplification, latency, goodput and time to recover are KPIs a run reports; an SLO turns a bound
on them into an oracle, so exploration treats a retry storm or a system that never recovers like
a broken invariant."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.domain.orders import OrderState, as_numpy
from sim.oracles.base import Violation
from sim.runners.kpis import goodput_counts, time_to_recover

if TYPE_CHECKING:
    from sim.world import World


def slo_met(world: "World") -> list[Violation]:
    violations = []
    for name, check in world.model.slo:
        if check is None:
            continue
        observed = MEASURES[name](world)
        if observed is not None and not check.holds(observed):
            violations.append(Violation("slo", f"{name} = {observed:g}, the SLO requires {check}"))
    return violations


def psp_requests_per_order(world: "World") -> float | None:
    count = len(world.orders)
    return world.metrics.counters.get("psp.requests", 0) / count if count else None


def p99_latency_ms(world: "World") -> float | None:
    latency_s = as_numpy(world.orders.latency_s).astype(np.float64)
    ended = latency_s[latency_s >= 0]
    return float(np.quantile(ended, 0.99)) * 1000.0 if ended.size else None


def goodput_per_s(world: "World") -> float:
    succeeded = int((np.frombuffer(bytes(world.orders.state), dtype=np.uint8) == int(OrderState.SUCCESS)).sum())
    return succeeded / world.load_end_s


def time_to_recover_s(world: "World") -> float:
    """The worst fault's time to recover (0 without faults; a fault with no goodput before it
    has nothing to recover to and is left out)."""
    goodput, bin_s = goodput_counts(world), world.metrics.series.bin_s
    worst = 0.0
    for window in world.fault_windows:
        status, seconds = time_to_recover(goodput, bin_s, window.start_s, window.end_s)
        if status == "recovered":
            worst = max(worst, seconds)
        elif status == "not_recovered":
            worst = max(worst, world.end_s - window.end_s)
    return worst


def success_rate(world: "World") -> float | None:
    count = len(world.orders)
    state = np.frombuffer(bytes(world.orders.state), dtype=np.uint8)
    return float((state == int(OrderState.SUCCESS)).sum()) / count if count else None


MEASURES = {
    "psp_requests_per_order": psp_requests_per_order,
    "p99_latency_ms": p99_latency_ms,
    "goodput_per_s": goodput_per_s,
    "time_to_recover_s": time_to_recover_s,
    "success_rate": success_rate,
}
