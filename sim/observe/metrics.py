"""Streaming statistics whose memory does not grow with the number of payments.

- counters: named integers (outcomes, attempts, dangerous paths hit)
- histograms: log-bucketed, ~1 % relative error, for latency percentiles
- time series: fixed time bins of counts (rates) and gauges (queue depth, lag)
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Protocol, Sequence, Final

import numpy as np


_GROWTH: Final = 1.02
_LOG_GROWTH: Final = math.log(_GROWTH)
_FLOOR: Final = 1e-6  # values below a microsecond fall in the zero bucket
_EDGE: Final = 1e-9
"""A bucket position (in buckets) this close to an integer is rechecked with ``math.log``: numpy's
and libm's logarithms differ by a few units in the last place, ~1e-13 buckets here."""
_log: Final = math.log
_floor: Final = math.floor


ADD_ALL_SLICE = 1 << 16
"""Values :meth:`Histogram.add_all` takes at a time (bounds its temporaries to a few MiB)."""


class Histogram:
    """Log-bucketed histogram of positive values (seconds) with constant memory.

    ``counts[i]`` is the number of values in bucket ``i`` (from ``_FLOOR * _GROWTH**i``): a list,
    whose ``+=`` the interpreter specialises (a dict's ``get`` is a method call). Bucket 1395 is
    already at a million seconds, so the list stays short."""

    __slots__ = ("counts", "count", "total", "minimum", "maximum", "zeros")

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0
        self.zeros = 0

    def add(self, value: float) -> None:
        """One observation (on the hot path: the constants are module globals, not class
        attributes; ``floor``, not ``int``, which is the same here, the logarithm being >= 0)."""
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        if value < _FLOOR:
            self.zeros += 1
            return
        index = _floor(_log(value / _FLOOR) / _LOG_GROWTH)
        counts = self.counts
        try:
            counts[index] += 1
        except IndexError:  # the first value this far up: the list grows to it
            counts.extend([0] * (index + 1 - len(counts)))
            counts[index] = 1

    def add_all(self, values: Sequence[float] | np.ndarray) -> None:
        """Many observations, recorded exactly as :meth:`add` one by one would: the end-of-run
        histogram of every order's latency, in numpy rather than a Python step per value.

        Exactly, bit for bit: the running total is a sequential sum (``cumsum``; numpy's ``sum``
        adds pairwise, in another order), and numpy's ``log`` may differ from ``math.log`` in the
        last bits, so the few values that land within a hair of a bucket edge get their bucket
        from ``math.log``, as :meth:`add` computes it.

        In slices of :data:`ADD_ALL_SLICE` values, so its temporaries (a dozen float64 arrays) stay
        small however many orders a run had; float32 values are widened a slice at a time (the
        same values ``astype`` would give)."""
        column = np.asarray(values)
        for start in range(0, column.size, ADD_ALL_SLICE):
            self._add_slice(np.asarray(column[start:start + ADD_ALL_SLICE], dtype=np.float64))

    def _add_slice(self, values: np.ndarray) -> None:
        """:meth:`add_all` of one slice (float64)."""
        if not values.size:
            return
        self.count += int(values.size)
        self.total = float(np.cumsum(np.concatenate(([self.total], values)))[-1])
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        positive = values[values >= _FLOOR]
        self.zeros += int(values.size - positive.size)
        if not positive.size:
            return
        exact = np.log(positive / _FLOOR) / _LOG_GROWTH
        indexes = np.floor(exact).astype(np.int64)
        for at in np.nonzero(np.abs(exact - np.rint(exact)) < _EDGE)[0].tolist():
            indexes[at] = _floor(_log(float(positive[at]) / _FLOOR) / _LOG_GROWTH)
        counts = self.counts
        per_bucket = np.bincount(indexes)
        if len(per_bucket) > len(counts):
            counts.extend([0] * (len(per_bucket) - len(counts)))
        for index in np.nonzero(per_bucket)[0].tolist():
            counts[index] += int(per_bucket[index])

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def quantile(self, q: float) -> float:
        """The value below which a fraction ``q`` of observations fall (bucket midpoint)."""
        if not self.count:
            return math.nan
        rank = q * self.count
        seen = self.zeros
        if seen >= rank and self.zeros:
            return 0.0
        for index, n in enumerate(self.counts):
            if not n:
                continue
            seen += n
            if seen >= rank:
                low = _FLOOR * _GROWTH**index
                return min(self.maximum, max(self.minimum, low * (1 + _GROWTH) / 2))
        return self.maximum

    def merge(self, other: "Histogram") -> None:
        counts = self.counts
        if len(counts) < len(other.counts):
            counts.extend([0] * (len(other.counts) - len(counts)))
        for index, n in enumerate(other.counts):
            counts[index] += n
        self.count += other.count
        self.total += other.total
        self.zeros += other.zeros
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    def summary(self) -> dict[str, int | float | None]:
        return {
            "count": self.count,
            "mean": _finite(self.mean),
            "p50": _finite(self.quantile(0.50)),
            "p95": _finite(self.quantile(0.95)),
            "p99": _finite(self.quantile(0.99)),
            "max": _finite(self.maximum if self.count else math.nan),
        }


def _finite(value: float) -> float | None:
    return None if value != value or value in (math.inf, -math.inf) else round(value, 6)


class TimeSeries:
    """Counts and gauges in fixed bins of simulated time."""

    def __init__(self, bin_s: float) -> None:
        self.bin_s = bin_s
        self.counts: dict[str, list[int]] = {}
        self.gauges: dict[str, list[int | float]] = {}
        """A gauge keeps the type of its values (a queue length stays an int in the results)."""

    def count(self, name: str, now: float, n: int = 1) -> None:
        series = self.counts.get(name)
        if series is None:
            series = self.counts[name] = []
        index = _floor(now / self.bin_s)  # now >= 0: floor is int, at a third of the cost
        if index >= len(series):
            series.extend([0] * (index + 1 - len(series)))
        series[index] += n

    def gauge(self, name: str, now: float, value: int | float) -> None:
        """Record ``value`` for the bin of ``now``; the largest value in a bin is kept."""
        series = self.gauges.get(name)
        if series is None:
            series = self.gauges[name] = []
        index = _floor(now / self.bin_s)  # now >= 0: floor is int, at a third of the cost
        if index >= len(series):
            series.extend([0.0] * (index + 1 - len(series)))
        if value > series[index]:
            series[index] = value

    def bins(self) -> int:
        lengths = [len(s) for s in self.counts.values()] + [len(s) for s in self.gauges.values()]
        return max(lengths, default=0)


class Count:
    """One named counter of :class:`Metrics` as a field: ``count.n += 1``. Compiled, a C integer
    field incremented in place; ``counters[name] += 1`` on the ``defaultdict`` is two dictionary
    lookups, a generic add and a new int object (~600 instructions; a payment counts ~17 times).
    For counters the hot path increments; :attr:`Metrics.counters` adds what they hold."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class Metrics:
    """All streaming observations of one run."""

    def __init__(self, bin_s: float = 10.0) -> None:
        self._counters: defaultdict[str, int] = defaultdict(int)
        self.raw_counters = self._counters
        """The dictionary of :attr:`counters` as it is, the :class:`Count` fields not added in:
        for code on the hot path that only adds to it (reading :attr:`counters` walks the fields)."""
        self._cells: list[Count] = []
        """The :class:`Count` fields handed out (see :meth:`count`), and their names."""
        self._cell_names: list[str] = []
        self.histograms: dict[str, Histogram] = {}
        self.series = TimeSeries(bin_s)

    @property
    def counters(self) -> defaultdict[str, int]:
        """Named counts. A defaultdict rather than a Counter: ``counters[name] += 1`` is on the
        hot path and a Counter (a Python subclass of dict) makes it three times slower. What the
        :class:`Count` fields hold is added in first (a field that counted nothing adds no key, as
        ``+= 1`` on the dictionary would not have), so whoever reads the counters through this
        attribute sees every count; a component that keeps the dictionary only adds to it."""
        counters = self._counters
        cells = self._cells
        for i in range(len(cells)):  # (read on the hot path too: a loop over a typed list, by index)
            cell = cells[i]
            if cell.n:
                counters[self._cell_names[i]] += cell.n
                cell.n = 0
        return counters

    def count(self, name: str) -> Count:
        """The counter ``name`` as a field to increment (``count.n += 1``; by at least 1, or a key
        of 0 would be missing from :attr:`counters`). One field per name, shared by every caller."""
        if name in self._cell_names:
            return self._cells[self._cell_names.index(name)]
        cell = Count()
        self._cells.append(cell)
        self._cell_names.append(name)
        return cell

    def histogram(self, name: str) -> Histogram:
        hist = self.histograms.get(name)
        if hist is None:
            hist = self.histograms[name] = Histogram()
        return hist


class Recorder(Protocol):
    """What a component that also serves under another name records into: a run's :class:`Metrics`,
    or a stand-in with the same two attributes and ``count`` (the secondary PSP's renames every key). Compiled, a
    parameter typed ``Metrics`` accepts only that class; one typed ``Recorder`` accepts either."""

    counters: Any
    series: Any

    def count(self, name: str) -> "Count": ...
