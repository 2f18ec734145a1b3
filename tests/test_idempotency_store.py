"""The compact idempotency store against a ten-line reference model (a plain dict), for dense
order-id keys, far keys (the dict side) and keys that move between them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from sim.components.idempotency import ABSENT, EXPIRED, IdempotencyStore
from sim.domain.microtimes import CHUNK, to_micros

KEYS = st.one_of(st.integers(0, 40), st.integers(1 << 40, (1 << 40) + 3), st.integers(70_000, 70_003))
OPS = st.lists(st.tuples(st.sampled_from(["find", "add", "admit", "remove", "set_code"]), KEYS,
                         st.floats(0.0, 3.0), st.integers(0, 9)), max_size=120)


class Reference:
    def __init__(self, retention_s: float) -> None:
        self.retention_s = retention_s
        self.entries: dict[int, list] = {}  # key -> [seq, created, print, code]
        self.seq = 0

    def find(self, key, now, ttl):
        entry = self.entries.get(key)
        if entry is None or entry[1] <= now - self.retention_s:
            self.entries.pop(key, None)
            return ABSENT
        return EXPIRED if now - entry[1] >= ttl else entry[0]


def _usual(key: int) -> int | None:
    """Usual fingerprints for the dense keys, matching some of the values the operations add."""
    return key % 5 if key <= 40 else None


@pytest.mark.parametrize("usual", [None, _usual])
@given(ops=OPS)
def test_store_matches_reference(usual, ops):
    retention, ttl = 10.0, 4.0
    store, ref = IdempotencyStore(retention, usual), Reference(retention)
    now = 0.0
    for op, key, step, value in ops:
        now += step
        for k in list(ref.entries):  # the reference purges everything past retention
            if ref.entries[k][1] <= now - retention:
                del ref.entries[k]
        if op == "find":
            assert store.find(key, now, ttl) == ref.find(key, now, ttl)
        elif op == "add" or op == "admit":
            seq = None
            if op == "add":
                seq = store.add(key, value, value, now)
            else:  # the PSP's path: find, then add (passing what find answered) unless an entry answers
                found = store.find(key, now, ttl)
                assert found == ref.find(key, now, ttl)
                if found < 0:
                    seq = store.add(key, value, value, now, found)
            if seq is not None:
                assert seq == ref.seq
                ref.entries[key] = [seq, to_micros(now), value, value]  # the store keeps times to the µs
                ref.seq += 1
        elif key in ref.entries:
            seq = ref.entries[key][0]
            if op == "remove":
                store.remove(key, seq)
                del ref.entries[key]
            else:
                store.set_code(seq, value)
                ref.entries[key][3] = value
        store.purge(now)
        assert len(store) == len(ref.entries)
        for k, (seq, _created, fingerprint, code) in ref.entries.items():
            found = store.find(k, now, retention + 1)
            assert found == seq
            assert (store.fingerprint(found, k), store.code(found)) == (fingerprint, code)


def test_add_after_an_expired_find_replaces_the_expired_entry():
    """The PSP passes what find answered: EXPIRED still makes add drop the old entry (ABSENT
    alone spares the lookup)."""
    store = IdempotencyStore(10.0)
    old = store.add(5, 1, 0, 0.0)
    found = store.find(5, 5.0, 4.0)
    assert found == EXPIRED
    new = store.add(5, 2, 3, 5.0, found)
    assert len(store) == 1
    assert store.find(5, 5.0, 100.0) == new != old
    assert (store.fingerprint(new), store.code(new)) == (2, 3)
    assert store.find(6, 5.0, 4.0) == ABSENT
    other = store.add(6, 7, 1, 5.0, ABSENT)
    assert len(store) == 2 and store.find(6, 5.0, 4.0) == other


def test_usual_fingerprints_are_not_stored():
    """With ``usual_print``, an entry whose fingerprint is its key's usual one stores none (it is
    derived from the key); any other is stored and read back as it was given."""
    usual = {1: 100, 2: 200}.get
    store = IdempotencyStore(10.0, usual)
    a = store.add(1, 100, 0, 0.0)
    b = store.add(2, -5, 0, 0.0)  # other parameters than the usual ones
    c = store.add(3, 300, 0, 0.0)  # no usual fingerprint for this key
    assert store._odd_prints == {b: -5, c: 300} and len(store._prints) == 0
    assert (store.fingerprint(a, 1), store.fingerprint(b, 2), store.fingerprint(c, 3)) == (100, -5, 300)
    with pytest.raises(TypeError):
        store.fingerprint(a)


def test_purge_drops_stored_fingerprints_of_purged_entries():
    store = IdempotencyStore(1.0, lambda key: None)
    for i in range(3 * CHUNK):
        store.add(i, i, 0, i * 1e-4)
    assert len(store._odd_prints) == 3 * CHUNK
    store.purge(10.0)
    assert len(store) == 0 and store._odd_prints == {}


def test_a_key_whose_offset_does_not_fit_its_chunk_goes_to_the_dict():
    """The dense index keeps int16 offsets from its chunk's first ``seq − key``: an entry 40,000
    sequence numbers later than its chunk's first is kept on the dict side and found there."""
    store = IdempotencyStore(1e9)
    first = store.add(0, 1, 1, 0.0)
    for i in range(40_000):  # far keys (the dict side) move the sequence numbers on
        store.add((1 << 40) + i, 0, 0, 0.0)
    late = store.add(1, 2, 2, 0.0)
    assert late - first == 40_001 and store._sparse[1] == late
    assert store.find(0, 0.0, 10.0) == first and store.find(1, 0.0, 10.0) == late
    assert store.fingerprint(late) == 2 and len(store) == 40_002
    store.remove(1, late)
    assert store.find(1, 0.0, 10.0) == ABSENT and 1 not in store._sparse and len(store) == 40_001
    assert store.find(0, 0.0, 10.0) == first
