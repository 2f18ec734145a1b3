"""A dict of int to int in about 25 bytes an entry instead of ~110: per-order totals kept all run.

The ledger keeps, per refunded or disputed order, what it booked back: a few per cent of millions
of orders, each a dict entry holding two int objects. :class:`IntMap` keeps the keys and values
in two int64 ``array`` columns, in insertion order, with an open-addressing index of int32 slots
(a power of two, at most two thirds full). A key or value beyond 64 bits turns the map into a
plain dict (same reads, same order). It reads and compares like a dict. Removal (:meth:`discard`,
rare) marks the entry gone: its row stays until the map is cleared, and a key put again goes to the
end, as in a dict.
"""

from __future__ import annotations

import operator
from array import array
from typing import Final, Iterator

_EMPTY: Final = -1
_MIN_SLOTS: Final = 8


class IntMap:
    """``key -> value``, both ints, in insertion order, read like a ``dict``."""

    __slots__ = ("_keys", "_values", "_slots", "_dict", "_gone")

    def __init__(self) -> None:
        self._keys = array("q")
        self._values = array("q")
        self._slots = array("i", [_EMPTY]) * _MIN_SLOTS  # slot -> entry, or _EMPTY
        self._dict: dict[int, int] | None = None  # every entry, once one does not fit 64 bits
        self._gone: set[int] = set()  # entries removed (their rows stay; the index may still point at them)

    def _find(self, key: int) -> int:
        """The slot holding ``key``, or the empty slot where it would go."""
        slots, keys = self._slots, self._keys
        mask = len(slots) - 1
        slot = (key * 0x9E3779B1) & mask
        while True:
            entry = slots[slot]
            if entry == _EMPTY or keys[entry] == key:
                return slot
            slot = (slot + 1) & mask

    def __len__(self) -> int:
        plain = self._dict
        return len(plain) if plain is not None else len(self._keys) - len(self._gone)

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def get(self, key: object, default: int | None = None) -> int | None:
        """As ``dict.get``; any integer-like key (a numpy integer too) reads as its int."""
        try:
            number = operator.index(key)  # type: ignore[arg-type]  # (TypeError: not an integer)
        except TypeError:
            return default
        plain = self._dict
        if plain is not None:
            return plain.get(number, default)
        if not -(1 << 63) <= number < (1 << 63):
            return default
        entry = self._slots[self._find(number)]
        if entry == _EMPTY or (self._gone and entry in self._gone):
            return default
        return self._values[entry]

    def __getitem__(self, key: object) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: object, value: object) -> None:
        self.put(operator.index(key), operator.index(value))  # type: ignore[arg-type]  # (TypeError: not integers)

    def put(self, key: int, value: int) -> None:
        """``self[key] = value`` for ints (the ledger's call: no conversion)."""
        plain = self._dict
        if plain is not None:
            plain[key] = value
            return
        if not (-(1 << 63) <= key < (1 << 63) and -(1 << 63) <= value < (1 << 63)):
            self._to_dict()[key] = value
            return
        slot = self._find(key)
        entry = self._slots[slot]
        if entry != _EMPTY and not (self._gone and entry in self._gone):
            self._values[entry] = value
            return
        self._slots[slot] = len(self._keys)  # a new row (for a key removed before: at the end)
        self._keys.append(key)
        self._values.append(value)
        if 3 * len(self._keys) > 2 * len(self._slots):
            self._grow()

    def _grow(self) -> None:
        """Twice the slots, every entry placed again."""
        slots = array("i", [_EMPTY]) * (2 * len(self._slots))
        self._slots = slots
        mask = len(slots) - 1
        gone = self._gone
        for entry, key in enumerate(self._keys):
            if gone and entry in gone:
                continue
            slot = (key * 0x9E3779B1) & mask
            while slots[slot] != _EMPTY:
                slot = (slot + 1) & mask
            slots[slot] = entry

    def _to_dict(self) -> dict[int, int]:
        plain = dict(zip(self.keys(), self.values()))
        self.clear()
        self._dict = plain
        return plain

    def discard(self, key: int) -> None:
        """Remove ``key`` if present (``dict.pop(key, None)``)."""
        plain = self._dict
        if plain is not None:
            plain.pop(key, None)
            return
        if not -(1 << 63) <= key < (1 << 63):
            return
        entry = self._slots[self._find(key)]
        if entry != _EMPTY:
            self._gone.add(entry)

    def clear(self) -> None:
        self._keys, self._values = array("q"), array("q")
        self._slots = array("i", [_EMPTY]) * _MIN_SLOTS
        self._dict = None
        self._gone = set()

    def keys(self) -> list[int]:
        plain = self._dict
        if plain is not None:
            return list(plain)
        gone = self._gone
        if gone:
            return [key for entry, key in enumerate(self._keys) if entry not in gone]
        return self._keys.tolist()

    def values(self) -> list[int]:
        plain = self._dict
        if plain is not None:
            return list(plain.values())
        gone = self._gone
        if gone:
            return [value for entry, value in enumerate(self._values) if entry not in gone]
        return self._values.tolist()

    def items(self) -> list[tuple[int, int]]:
        return list(zip(self.keys(), self.values()))

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        """Equal to a dict (or map) with the same items, whatever their order, as dicts compare."""
        if isinstance(other, IntMap):
            return dict(self.items()) == dict(other.items())
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"IntMap({dict(self.items())!r})"
