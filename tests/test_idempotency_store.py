"""The compact idempotency store against a ten-line reference model (a plain dict), for dense
order-id keys, far keys (the dict side) and keys that move between them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.components.idempotency import ABSENT, EXPIRED, IdempotencyStore
from sim.domain.microtimes import to_micros

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


@given(OPS)
def test_store_matches_reference(ops):
    retention, ttl = 10.0, 4.0
    store, ref = IdempotencyStore(retention), Reference(retention)
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
            assert (store.fingerprint(found), store.code(found)) == (fingerprint, code)


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
