"""A second PSP for fallback (dual-PSP routing): the same ``Psp`` class, with its own random
streams (``secondary_psp.*``), its own idempotency store and its own counters (``secondary_psp.*``),
routing through the same card scheme and issuing banks (so a charge at both PSPs is a double
charge the oracles see)."""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING

from sim.components.psp import Psp

if TYPE_CHECKING:
    import simpy

    from sim.components.bank import Banks
    from sim.config.model import SecondaryPspConfig
    from sim.domain.orders import Orders
    from sim.domain.population import Population
    from sim.observe.metrics import Count, Metrics
    from sim.rng import Streams

NAME = "secondary_psp"


@functools.cache  # a few dozen names, renamed on every counter increment of the secondary PSP
def _rename(key: str) -> str:
    """``psp.requests`` → ``secondary_psp.requests``; ``psp_requests`` → ``secondary_psp_requests``."""
    if key.startswith("psp"):
        return NAME + key[3:]
    return f"{NAME}.{key}"


class _PrefixedStreams:
    def __init__(self, streams: "Streams") -> None:
        self._streams = streams

    def stream(self, name: str) -> random.Random:
        return self._streams.stream(_rename(name))


class _PrefixedCounters:
    __slots__ = ("_counters",)

    def __init__(self, target) -> None:
        self._counters = target

    def __getitem__(self, key: str) -> int:
        return self._counters[_rename(key)]

    def __setitem__(self, key: str, value: int) -> None:
        self._counters[_rename(key)] = value


class _PrefixedSeries:
    __slots__ = ("_series",)

    def __init__(self, series) -> None:
        self._series = series

    def count(self, name: str, now: float, n: int = 1) -> None:
        self._series.count(_rename(name), now, n)

    def gauge(self, name: str, now: float, value: float) -> None:
        self._series.gauge(_rename(name), now, value)


class _PrefixedMetrics:
    def __init__(self, metrics: "Metrics") -> None:
        self._metrics = metrics
        self.counters = _PrefixedCounters(metrics.counters)
        self.series = _PrefixedSeries(metrics.series)

    def count(self, name: str) -> "Count":
        return self._metrics.count(_rename(name))


def secondary_streams(streams: "Streams") -> "Streams":
    """The secondary PSP's random streams: the primary's names under ``secondary_psp.*`` (its
    refund API draws its own latencies and faults)."""
    return _PrefixedStreams(streams)  # type: ignore[return-value]


def build_secondary_psp(
    env: "simpy.Environment", cfg: "SecondaryPspConfig", banks: "Banks", population: "Population",
    streams: "Streams", metrics: "Metrics", orders: "Orders | None" = None,
) -> Psp:
    return Psp(env, cfg, banks, population, _PrefixedStreams(streams), _PrefixedMetrics(metrics),  # type: ignore[arg-type]
               name="secondary_psp", orders=orders)
