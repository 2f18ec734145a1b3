"""A column of simulated times kept to the microsecond, in about four bytes an entry.

Entries are grouped in fixed chunks of :data:`CHUNK` (4096) by position; a chunk holds its first
entry's time as an integer number of microseconds (8 bytes a chunk) and every entry holds its
time as an unsigned 32-bit microsecond offset from that base (71.6 minutes of range). A time that
does not fit (earlier than its chunk's base, more than 71 minutes later, not finite) is kept, exact,
in a small exceptions dict. The columns this serves (creation and capture times) are appended in
time order, so exceptions are rare.

A time reads back as ``(base_us + offset_us) / 1e6``: the double nearest to a whole number of
microseconds, so a "round" time (0.004 s, 86400.0 s) reads back exactly, and any other time to
within half a microsecond.
"""

from __future__ import annotations

from array import array
from typing import Final, Iterator

import numpy as np

CHUNK_BITS: Final = 12
CHUNK: Final = 1 << CHUNK_BITS
"""Entries per chunk (per stored base)."""
_MASK: Final = CHUNK - 1
_MAX_OFFSET_US: Final = 0xFFFFFFFF


def to_micros(at_s: float) -> float:
    """``at_s`` as stored: rounded to the microsecond (a non-finite time unchanged)."""
    try:
        return round(at_s * 1e6) / 1e6
    except (OverflowError, ValueError):
        return at_s


class MicrosColumn:
    """Append-only (plus overwrite and front trimming by whole chunks) column of times."""

    __slots__ = ("_bases", "_offsets", "_odd", "_base_us")

    def __init__(self) -> None:
        self._bases = array("q")  # per chunk: its first entry's time, integer µs
        self._offsets = array("I")  # per entry: µs after its chunk's base
        if self._offsets.itemsize != 4:
            raise RuntimeError("MicrosColumn needs a 32-bit array('I')")  # append relies on its range
        self._odd: dict[int, float] = {}  # entry -> time, where the offset does not fit
        self._base_us = 0  # the last chunk's base (``_bases[-1]``), read by every append

    def __len__(self) -> int:
        return len(self._offsets)

    def append(self, at_s: float) -> float:
        """Add ``at_s``; return it as stored, ``to_micros(at_s)`` (a caller that needs that value
        does not round twice). Written for the common case, a finite time inside the current
        chunk's range (three columns append per payment): the offset array itself rejects an
        offset out of its unsigned 32-bit range (OverflowError), and every other case, the first
        entry of a chunk included, goes to :meth:`_append_rare`."""
        offsets = self._offsets
        if len(offsets) & _MASK:
            try:
                micros = round(at_s * 1e6)  # OverflowError, ValueError: not finite
                offsets.append(micros - self._base_us)  # OverflowError: before the base or > 71 min after
                return micros / 1e6
            except (OverflowError, ValueError):
                pass
        return self._append_rare(at_s)

    def _append_rare(self, at_s: float) -> float:
        """:meth:`append` of the first entry of a chunk (its time becomes the chunk's base, 0 if
        not finite or beyond 64 bits), or of a time that does not fit its chunk (an exception)."""
        offsets = self._offsets
        index = len(offsets)
        try:
            micros = round(at_s * 1e6)
        except (OverflowError, ValueError):  # not finite
            micros = None
        if not index & _MASK:
            try:
                self._bases.append(micros if micros is not None else 0)
            except OverflowError:
                self._bases.append(0)
            self._base_us = self._bases[-1]
        offset = -1 if micros is None else micros - self._base_us
        if micros is not None and 0 <= offset <= _MAX_OFFSET_US:
            offsets.append(offset)
            return micros / 1e6
        offsets.append(0)
        at = self._odd[index] = at_s if micros is None else micros / 1e6
        return at

    def __getitem__(self, index: int) -> float:
        if index < 0:
            index += len(self._offsets)
        offset = self._offsets[index]  # IndexError past the end
        odd = self._odd
        if odd:
            at = odd.get(index)
            if at is not None:
                return at
        return (self._bases[index >> CHUNK_BITS] + offset) / 1e6

    def __setitem__(self, index: int, at_s: float) -> None:
        offsets = self._offsets
        if index < 0:
            index += len(offsets)
        offsets[index]  # IndexError past the end
        try:
            micros = round(at_s * 1e6)
        except (OverflowError, ValueError):
            micros = None
        offset = -1 if micros is None else micros - self._bases[index >> CHUNK_BITS]
        if 0 <= offset <= _MAX_OFFSET_US:
            offsets[index] = offset
            self._odd.pop(index, None)
        else:
            offsets[index] = 0
            self._odd[index] = at_s if micros is None else micros / 1e6

    def __iter__(self) -> Iterator[float]:
        return iter(self.to_numpy().tolist())

    def to_numpy(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Every time as float64 (a new array); entries ``start:stop`` only when given."""
        start, stop, _ = slice(start, stop).indices(len(self._offsets))
        if stop <= start:
            return np.zeros(0, np.float64)
        first = start >> CHUNK_BITS
        bases = np.frombuffer(self._bases, dtype=np.int64)[first:((stop - 1) >> CHUNK_BITS) + 1]
        skip = first << CHUNK_BITS
        micros = np.repeat(bases, CHUNK)[start - skip:stop - skip] + np.frombuffer(self._offsets, dtype=np.uint32)[start:stop]
        times = micros / 1e6
        for index, at in self._odd.items():
            if start <= index < stop:
                times[index - start] = at
        return times

    def drop_front(self, count: int) -> None:
        """Forget the first ``count`` entries (a multiple of :data:`CHUNK`); later ones move down."""
        if count & _MASK:
            raise ValueError(f"drop_front({count}): not a multiple of {CHUNK}")
        del self._bases[: count >> CHUNK_BITS]
        del self._offsets[:count]
        if self._odd:
            self._odd = {index - count: at for index, at in self._odd.items() if index >= count}
