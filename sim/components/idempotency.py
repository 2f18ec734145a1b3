"""The PSP's idempotency-key store: key → (parameters fingerprint, stored answer, first use).

Entries live in columns (arrays) in order of first use, which is also their expiry order, so
expired entries are purged lazily from the front on each access and memory is bounded by the
retention window. A key maps to its entry's sequence number; a re-used key gets a new entry and
the old one is dropped when its turn comes. Creation times are kept to the microsecond
(:class:`sim.domain.microtimes.MicrosColumn`: a "round" time reads back exactly).

Two horizons:

- the **TTL** (passed to :meth:`find`, may shrink at run time when a fault makes the PSP forget
  keys early): an entry at least this old is *expired* — it no longer answers, and a request
  reusing it creates a new entry;
- the **retention** (fixed, ≥ any TTL): expired entries are kept this long so that a reuse can
  still be recognised (and counted) as reuse of an expired key, then purged.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Callable, Final

from sim.domain.microtimes import CHUNK, MicrosColumn

if TYPE_CHECKING:
    from sim.domain.orders import Orders

ABSENT: Final = -1
"""``find``: the key is unknown (never seen, removed, or purged)."""
EXPIRED: Final = -2
"""``find``: the key is known but older than the TTL; treat as absent."""

_COMPACT_MIN: Final = CHUNK
_DENSE_GROWTH: Final = 1024
"""Slots the dense index grows by beyond the key that needs it."""
_DENSE_SLACK: Final = 1 << 16
"""A key up to this far beyond the dense index's end grows the index; a farther key (a fresh key
of the flawed design, a test's odd key) goes to the dict."""
_KEY_CHUNK_BITS: Final = 12
"""The dense index keeps one base per 4096 keys (see :class:`IdempotencyStore`)."""
_NO_ENTRY: Final = -32768
"""Dense index slot: no entry for this key on the dense side."""
_MAX_OFFSET: Final = 32767
_UNSET: Final = -(1 << 62)
"""Base of a chunk of keys none of which has had an entry yet."""
_REPLACED: Final = 0x80
"""Code-byte flag: the entry no longer answers for its key (replaced or removed)."""
_CODE: Final = 0x7F
_NONE: Final = float("inf")
"""``_head_at`` when no entry is retained."""


class IdempotencyStore:
    """Compact, lazily purged key → answer store: 9 bytes of columns per retained entry (5 where
    the fingerprint is the key's usual one, see ``usual_print``), plus
    2 bytes per key for keys that are sequential order ids (a dense index), or one dict slot per
    retained key for any other key.

    The dense index stores an entry's sequence number as an int16 offset from ``seq − key`` of
    the first entry stored in its chunk of 4096 keys (``_dense_base``): order ids reach the PSP
    about in order, so ``seq − key`` drifts slowly and varies little within a chunk. An entry
    whose offset does not fit goes to the dict side.

    An entry does not store its key: the dense index may keep pointing at a purged entry (a
    sequence number before the oldest retained one reads as absent), and an entry that stopped
    answering for its key (replaced, removed) is marked in its code byte, so a purge knows which
    entries still held a key without looking the key up. Only keys on the dict side are
    remembered per entry (``_sparse_key``), to drop them from the dict on purge.

    ``usual_print(key)``, when given, is the fingerprint a request under ``key`` usually carries
    (None if there is no usual one): the PSP's for a key that is one of the merchant's order ids,
    that order's own parameters. An entry's fingerprint is then stored only where it differs
    (``_odd_prints``), saving the 4-byte column, and :meth:`fingerprint` needs the key."""

    __slots__ = ("retention_s", "_dense", "_dense_base", "_sparse", "_sparse_key", "_live", "_created", "_prints", "_codes",
                 "_base", "_head", "_head_at", "_usual_print", "_odd_prints")

    def __init__(self, retention_s: float, usual_print: Callable[[int], int | None] | None = None) -> None:
        self.retention_s = retention_s
        self._usual_print = usual_print
        self._odd_prints: dict[int, int] = {}  # sequence number -> fingerprint, where not the usual one
        self._dense = array("h")  # key -> sequence number − key − its chunk's base, or _NO_ENTRY; may be stale
        self._dense_base = array("q")  # per chunk of keys: ``seq − key`` of its first entry, or _UNSET
        self._sparse: dict[int, int] = {}  # key -> sequence number, for keys outside the index
        self._sparse_key: dict[int, int] = {}  # sequence number -> key, for entries of _sparse
        self._live = 0  # keys with an entry
        self._created = MicrosColumn()
        self._prints = array("i")  # 32-bit parameter fingerprints (without ``usual_print`` only)
        self._codes = bytearray()  # the answer, | _REPLACED once the entry no longer answers for its key
        self._base = 0  # sequence number of column index 0
        self._head = 0  # column index of the oldest entry not yet purged
        self._head_at = _NONE  # its creation time

    def __len__(self) -> int:
        """Keys currently retained (live or expired but not yet purged)."""
        return self._live

    def _forget(self, key: int, seq: int) -> None:
        """Drop ``key`` if entry ``seq`` answers for it."""
        if seq < self._base + self._head:
            return  # purged: it already answers for nothing
        dense = self._dense
        if 0 <= key < len(dense) and dense[key] != _NO_ENTRY \
                and key + self._dense_base[key >> _KEY_CHUNK_BITS] + dense[key] == seq:
            dense[key] = _NO_ENTRY
        elif self._sparse.get(key, -1) == seq:
            del self._sparse[key]
            del self._sparse_key[seq]
        else:
            return
        self._codes[seq - self._base] |= _REPLACED
        self._live -= 1

    def purge(self, now: float) -> None:
        """Forget entries at least ``retention_s`` old. (:meth:`find` and :meth:`add` make the
        same first check themselves: nothing to purge, no call.)"""
        limit = now - self.retention_s
        if self._head_at > limit:
            return
        created = self._created
        head = self._head
        size = len(created)
        codes = self._codes
        sparse_key = self._sparse_key
        seq = self._base + head
        at = self._head_at
        while at <= limit:
            if not codes[head] & _REPLACED:
                self._live -= 1
                if sparse_key:
                    key = sparse_key.pop(seq, None)
                    if key is not None:
                        del self._sparse[key]
            head += 1
            seq += 1
            at = created[head] if head < size else _NONE
        self._head_at = at
        if head >= _COMPACT_MIN and 2 * head >= size:
            cut = head - head % CHUNK  # whole chunks of the time column
            created.drop_front(cut)
            if self._usual_print is None:
                del self._prints[:cut]
            elif self._odd_prints:
                base = self._base + cut
                self._odd_prints = {seq: p for seq, p in self._odd_prints.items() if seq >= base}
            del codes[:cut]
            self._base += cut
            head -= cut
        self._head = head

    def find(self, key: int, now: float, ttl_s: float) -> int:
        """The entry (sequence number) answering for ``key`` at ``now``, or ABSENT / EXPIRED."""
        if self._head_at <= now - self.retention_s:
            self.purge(now)
        dense = self._dense
        seq = -1
        if 0 <= key < len(dense):
            offset = dense[key]
            if offset != _NO_ENTRY:
                seq = key + self._dense_base[key >> _KEY_CHUNK_BITS] + offset
        if seq >= 0:
            if seq < self._base + self._head:
                return ABSENT  # stale: purged
        elif self._sparse:
            seq = self._sparse.get(key, ABSENT)
            if seq < 0:
                return ABSENT
        else:
            return ABSENT
        if now - self._created[seq - self._base] >= ttl_s:
            return EXPIRED
        return seq

    def add(self, key: int, fingerprint: int | None, code: int, now: float, found: int | None = None,
            usual: bool | None = None) -> int:
        """A new entry for ``key`` (replacing any previous one); its sequence number.
        ``fingerprint`` is a signed 32-bit value (:func:`params_fingerprint`). ``found``: what
        :meth:`find` just answered for ``key`` at this ``now``, if the caller asked: ABSENT spares
        the second lookup (the PSP's path for every new key). ``usual``: whether ``fingerprint``
        is the key's usual one, if the caller knows (the PSP compares its request with the order):
        spares the ``usual_print`` call; ``fingerprint`` may then be None (it is not stored)."""
        if found == ABSENT:
            if self._head_at <= now - self.retention_s:
                self.purge(now)
        else:
            previous = self.find(key, now, math.inf)  # purges first
            if previous >= 0:
                self._forget(key, previous)  # the previous entry stops answering
        seq = self._base + len(self._codes)
        at = self._created.append(now)
        if self._head_at == _NONE:  # every earlier entry purged: this one is the oldest
            self._head_at = at
        usual_print = self._usual_print
        if usual_print is None:
            self._prints.append(fingerprint)  # type: ignore[arg-type]  # (given: no usual_print)
        else:
            if usual is None:  # the caller did not say: derive the key's usual fingerprint
                usual = usual_print(key) == fingerprint
            if not usual:
                self._odd_prints[seq] = fingerprint  # type: ignore[assignment]  # (given: not the usual one)
        self._codes.append(code)
        dense = self._dense
        if 0 <= key < len(dense) + _DENSE_SLACK:
            bases = self._dense_base
            if key >= len(dense):  # grown a block at a time: sequential keys need no growth per add
                dense.extend(array("h", [_NO_ENTRY]) * (key + 1 - len(dense) + _DENSE_GROWTH))
                chunks = (len(dense) >> _KEY_CHUNK_BITS) + 1
                if chunks > len(bases):
                    bases.extend(array("q", [_UNSET]) * (chunks - len(bases)))
            chunk = key >> _KEY_CHUNK_BITS
            base = bases[chunk]
            if base == _UNSET:
                base = bases[chunk] = seq - key
            offset = seq - key - base
            if -_MAX_OFFSET <= offset <= _MAX_OFFSET:
                dense[key] = offset
            else:  # far from its chunk's entries: the dict side
                dense[key] = _NO_ENTRY
                self._sparse[key] = seq
                self._sparse_key[seq] = key
        else:
            self._sparse[key] = seq
            self._sparse_key[seq] = key
        self._live += 1
        return seq

    def fingerprint(self, seq: int, key: int | None = None) -> int | None:
        """The fingerprint of entry ``seq``; ``key``, the key it answers for, is needed when the
        store was given ``usual_print``."""
        usual = self._usual_print
        if usual is None:
            return self._prints[seq - self._base]
        odd = self._odd_prints.get(seq)
        if odd is not None:
            return odd
        if key is None:
            raise TypeError("fingerprint(seq, key): this store derives usual fingerprints from the key")
        return usual(key)

    def code(self, seq: int) -> int:
        return self._codes[seq - self._base] & _CODE

    def set_code(self, seq: int, code: int) -> None:
        """Store the answer of entry ``seq`` (no effect if it was purged meanwhile)."""
        index = seq - self._base
        if index >= 0:
            codes = self._codes
            codes[index] = (codes[index] & _REPLACED) | code

    def remove(self, key: int, seq: int) -> None:
        """Forget ``key`` if entry ``seq`` still answers for it (after a retry-safe error)."""
        self._forget(key, seq)


def params_fingerprint(order_id: int, amount_minor: int, currency: int, card_token: int) -> int:
    """A signed 32-bit fingerprint of a charge's parameters (int hashing is not salted:
    deterministic). Two different parameter sets collide with probability 2^-32: a reused key
    with other parameters is then replayed instead of answered INVALID, once in four billion."""
    return (hash((order_id, amount_minor, currency, card_token)) & 0xFFFFFFFF) - 0x80000000


def order_print(orders: "Orders", key: int) -> int | None:
    """The fingerprint of a charge of order ``key`` for its own amount, currency and card (the
    usual request under an order-id key), or None if ``key`` is not an order id. An order's
    amount, currency and card never change once it is created."""
    if not 0 <= key < len(orders.state):
        return None
    return params_fingerprint(key, orders.amount_minor[key], orders.currency[key],
                              orders.checkouts.card_token[orders.checkout_of(key)])

