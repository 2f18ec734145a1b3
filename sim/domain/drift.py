"""A column of integers that run about in step with their position, in about two bytes an entry.

The PSP's settlement file lists captures about in order id order, so ``order_id − row`` drifts
slowly. Entries are grouped in chunks of :data:`CHUNK` (4096) by position; a chunk keeps the
``value − position`` of its first entry (8 bytes a chunk) and every entry its own as an int16
offset from that (the trick of the idempotency store's dense index). A value whose offset does not
fit is kept, exact, in a small exceptions dict.
"""

from __future__ import annotations

from array import array
from typing import Final

import numpy as np

from sim.domain.microtimes import CHUNK, CHUNK_BITS

_MASK: Final = CHUNK - 1
_MAX_OFFSET: Final = 32767


class DriftColumn:
    """Append-only column of integers (any Python int), read by position or as numpy int64."""

    __slots__ = ("_bases", "_offsets", "_odd", "_base")

    def __init__(self) -> None:
        self._bases = array("q")  # per chunk: value − position of its first entry (0 if that does not fit)
        self._offsets = array("h")  # per entry: value − position − its chunk's base
        self._odd: dict[int, int] = {}  # position -> value, where the offset does not fit
        self._base = 0  # the last chunk's base, read by every append

    def __len__(self) -> int:
        return len(self._offsets)

    def append(self, value: int) -> None:
        offsets = self._offsets
        index = len(offsets)
        if not index & _MASK:  # the first of a chunk: its drift becomes the base
            drift = value - index
            self._bases.append(drift if -(1 << 62) <= drift < (1 << 62) else 0)
            self._base = self._bases[-1]
        offset = value - index - self._base
        if -_MAX_OFFSET <= offset <= _MAX_OFFSET:
            offsets.append(offset)
        else:
            offsets.append(0)
            self._odd[index] = value

    def __getitem__(self, index: int) -> int:
        """The value at ``index`` (IndexError past the end, from the columns)."""
        if index < 0:
            index += len(self._offsets)
        value = self._odd.get(index) if self._odd else None  # the exceptions hold only valid positions
        return value if value is not None else index + self._bases[index >> CHUNK_BITS] + self._offsets[index]

    def to_numpy(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Entries ``start:stop`` as a new int64 array (beyond 64 bits: OverflowError, as a numpy int64 column would)."""
        start, stop, _ = slice(start, stop).indices(len(self._offsets))
        if stop <= start:
            return np.zeros(0, np.int64)
        first = start >> CHUNK_BITS
        bases = np.frombuffer(self._bases, dtype=np.int64)[first:]
        skip = first << CHUNK_BITS
        values: np.ndarray = np.repeat(bases, CHUNK)[start - skip:stop - skip]
        values += np.frombuffer(self._offsets, dtype=np.int16)[start:stop]
        values += np.arange(start, stop, dtype=np.int64)
        for index, value in self._odd.items():
            if start <= index < stop:
                values[index - start] = value
        return values

    def tolist(self, start: int = 0) -> list[int]:
        """Entries ``start:`` as Python ints (exact, whatever their size)."""
        odd = self._odd
        if not odd:
            return self.to_numpy(start).tolist()
        return [self[index] for index in range(start, len(self._offsets))]
