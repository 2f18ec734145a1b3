"""The PSP's idempotency-key store: key → (parameters fingerprint, stored answer, first use).

Entries live in columns (arrays) in order of first use, which is also their expiry order, so
expired entries are purged lazily from the front on each access and memory is bounded by the
retention window. A key maps to its entry's sequence number; a re-used key gets a new entry and
the old one is dropped when its turn comes.

Two horizons:

- the **TTL** (passed to :meth:`find`, may shrink at run time when a fault makes the PSP forget
  keys early): an entry at least this old is *expired* — it no longer answers, and a request
  reusing it creates a new entry;
- the **retention** (fixed, ≥ any TTL): expired entries are kept this long so that a reuse can
  still be recognised (and counted) as reuse of an expired key, then purged.
"""

from __future__ import annotations

from array import array

ABSENT = -1
"""``find``: the key is unknown (never seen, removed, or purged)."""
EXPIRED = -2
"""``find``: the key is known but older than the TTL; treat as absent."""

_COMPACT_MIN = 4096
_DENSE_SLACK = 1 << 16
"""A key up to this far beyond the dense index's end grows the index; a farther key (a fresh key
of the flawed design, a test's odd key) goes to the dict."""


class IdempotencyStore:
    """Compact, lazily purged key → answer store: 25 bytes of columns per retained entry, plus
    4 bytes per key for keys that are sequential order ids (a dense index), or one dict slot per
    retained key for any other key."""

    __slots__ = ("retention_s", "_dense", "_sparse", "_live", "_keys", "_created", "_prints", "_codes",
                 "_base", "_head")

    def __init__(self, retention_s: float) -> None:
        self.retention_s = retention_s
        self._dense = array("i")  # key -> sequence number, -1 when none (keys 0..len-1)
        self._sparse: dict[int, int] = {}  # key -> sequence number, for keys outside the index
        self._live = 0  # keys with an entry
        self._keys = array("q")
        self._created = array("d")
        self._prints = array("q")
        self._codes = bytearray()
        self._base = 0  # sequence number of column index 0
        self._head = 0  # column index of the oldest entry not yet purged

    def __len__(self) -> int:
        """Keys currently retained (live or expired but not yet purged)."""
        return self._live

    def _seq(self, key: int) -> int:
        dense = self._dense
        if 0 <= key < len(dense):
            seq = dense[key]
            if seq >= 0:
                return seq
        if self._sparse:
            return self._sparse.get(key, -1)
        return -1

    def _forget(self, key: int, seq: int) -> None:
        """Drop ``key`` if entry ``seq`` answers for it."""
        dense = self._dense
        if 0 <= key < len(dense) and dense[key] == seq >= 0:
            dense[key] = -1
            self._live -= 1
        elif seq >= 0 and self._sparse.get(key, -1) == seq:
            del self._sparse[key]
            self._live -= 1

    def purge(self, now: float) -> None:
        """Forget entries at least ``retention_s`` old."""
        created = self._created
        head = self._head
        size = len(created)
        limit = now - self.retention_s
        if head >= size or created[head] > limit:
            return
        keys = self._keys
        seq = self._base + head
        while head < size and created[head] <= limit:
            self._forget(keys[head], seq)
            head += 1
            seq += 1
        if head >= _COMPACT_MIN and 2 * head >= size:
            del keys[:head]
            del created[:head]
            del self._prints[:head]
            del self._codes[:head]
            self._base += head
            head = 0
        self._head = head

    def find(self, key: int, now: float, ttl_s: float) -> int:
        """The entry (sequence number) answering for ``key`` at ``now``, or ABSENT / EXPIRED."""
        self.purge(now)
        seq = self._seq(key)
        if seq < 0:
            return ABSENT
        if now - self._created[seq - self._base] >= ttl_s:
            return EXPIRED
        return seq

    def add(self, key: int, fingerprint: int, code: int, now: float) -> int:
        """A new entry for ``key`` (replacing any previous one); its sequence number."""
        self.purge(now)
        seq = self._base + len(self._codes)
        self._keys.append(key)
        self._created.append(now)
        self._prints.append(fingerprint)
        self._codes.append(code)
        dense = self._dense
        if 0 <= key < len(dense) + _DENSE_SLACK:
            if key >= len(dense):
                dense.extend(array("i", [-1]) * (key + 1 - len(dense)))
            if self._sparse and self._sparse.pop(key, -1) >= 0:  # the key moves into the index
                self._live -= 1
            if dense[key] < 0:
                self._live += 1
            dense[key] = seq
        else:
            if self._sparse.get(key, -1) < 0:
                self._live += 1
            self._sparse[key] = seq
        return seq

    def fingerprint(self, seq: int) -> int:
        return self._prints[seq - self._base]

    def code(self, seq: int) -> int:
        return self._codes[seq - self._base]

    def set_code(self, seq: int, code: int) -> None:
        """Store the answer of entry ``seq`` (no effect if it was purged meanwhile)."""
        index = seq - self._base
        if index >= 0:
            self._codes[index] = code

    def remove(self, key: int, seq: int) -> None:
        """Forget ``key`` if entry ``seq`` still answers for it (after a retry-safe error)."""
        self._forget(key, seq)


def params_fingerprint(order_id: int, amount_minor: int, currency: int, card_token: int) -> int:
    """A 64-bit fingerprint of a charge's parameters (int hashing is not salted: deterministic)."""
    return hash((order_id, amount_minor, currency, card_token))
