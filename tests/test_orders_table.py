"""The compact orders table: what it derives (an order's checkout, its creation time, its cart
line) must equal what was stored, for recent orders (the in-flight ring) and old ones alike."""

from __future__ import annotations

import random

import numpy as np

from sim.domain.orders import RECENT, Checkouts, Orders, column_chunks


def test_checkout_creation_time_and_line_read_back_for_every_order():
    rng = random.Random(5)
    checkouts = Checkouts()
    orders = Orders(checkouts)
    expected = []  # (checkout, created_at, line) per order
    now, line = 0.0, 0
    for key in range(3 * RECENT):
        now += rng.expovariate(10.0)
        count = rng.choice((1, 1, 2, 3))
        checkout = checkouts.add(key, buyer=key % 50, card_token=key % 50, first_order=len(orders),
                                 order_count=count, now=now)
        for _ in range(count):
            odd = rng.random() < 0.01  # an order added at another time, or with another cart line
            created = now + 0.25 if odd else now
            line += 7 if odd else 1
            orders.add(checkout, seller=1, amount_minor=100, currency=0, line=line, now=created)
            expected.append((checkout, created, line))
    assert len(orders) > 2 * RECENT  # old orders fall out of the ring: both paths are exercised
    for order_id, (checkout, created, line) in enumerate(expected):
        assert orders.checkout_of(order_id) == checkout
        assert abs(orders.created_at_of(order_id) - created) <= 5e-7  # kept to the microsecond
        assert orders.line[order_id] == line
    assert orders.checkout_column().tolist() == [c for c, _, _ in expected]
    assert np.allclose(orders.created_at_column(), [t for _, t, _ in expected], atol=5e-7, rtol=0)


def test_a_cart_added_at_once_reads_back_as_added_one_by_one():
    """``add_all`` works out once what a cart's orders share; every order must still read back
    its own checkout, creation time and line, odd ones included (an earlier checkout, another
    time, a line off the checkout's rule), and the tables must equal those built one order at a
    time."""
    rng = random.Random(11)
    now, line = 0.0, 0
    carts = []  # (key, checkout of its orders, lines, checkout's time, orders' time)
    for key in range(2 * RECENT):
        now += rng.expovariate(10.0)
        lines = []
        for _ in range(rng.choice((1, 2, 3))):
            jump = rng.random()  # now and then lines skipped; rarely so many the base leaves its chunk's int16 range
            line += 50_000 if jump < 0.002 else 7 if jump < 0.02 else 1
            lines.append((rng.randrange(300), rng.randrange(1, 10**6), rng.randrange(3), line))
        odd = rng.random()
        checkout = max(key - 1, 0) if odd < 0.02 else key  # now and then, orders of an earlier checkout
        carts.append((key, checkout, lines, now, now + 0.25 if odd < 0.04 else now))
    one_by_one, at_once = Orders(Checkouts()), Orders(Checkouts())
    expected = []  # (checkout, created, line) per order
    for key, checkout, lines, at, created in carts:
        for orders in (one_by_one, at_once):
            orders.checkouts.add(key, key % 50, key % 50, len(orders), len(lines), at)
        ids = at_once.add_all(checkout, lines, created)
        assert list(ids) == [one_by_one.add(checkout, *order, now=created) for order in lines]
        expected += [(checkout, created, order[3]) for order in lines]
    for name in ("seller", "amount_minor", "currency", "state", "flags", "latency_s", "psp_attempts"):
        assert getattr(at_once, name) == getattr(one_by_one, name), name
    assert list(at_once.in_flight) == list(range(len(at_once)))
    assert at_once.checkout_column().tolist() == [c for c, _, _ in expected]
    assert at_once.line_column().tolist() == [line for _, _, line in expected]
    assert np.allclose(at_once.created_at_column(), [t for _, t, _ in expected], atol=5e-7, rtol=0)
    for order_id, (checkout, created, line) in enumerate(expected):  # the ring and the odd tables
        assert at_once.checkout_of(order_id) == checkout
        assert abs(at_once.created_at_of(order_id) - created) <= 5e-7
        assert at_once.line_of(order_id) == line
    # a negative id counts from the end (as a column index would), never a ring slot's order
    assert at_once.checkout_of(-1) == expected[-1][0]
    assert at_once.checkout_of(-len(expected)) == expected[0][0]
    for order_id in range(0, len(at_once), 3):  # a third of the orders finished
        at_once.finished_at[order_id] = at_once.created_at_of(order_id) + 0.5 + order_id * 1e-4
    for name in ("checkout_column", "line_column", "created_at_column", "finished_at_column"):
        whole = getattr(at_once, name)()
        for size in (1000, 4096, 5000):  # chunks that split checkouts and microtime chunks, odd rows in them
            pieces = [getattr(at_once, name)(start, stop) for start, stop in column_chunks(len(at_once), size)]
            assert np.array_equal(np.concatenate(pieces), whole), (name, size)


def test_the_key_index_finds_every_checkout_however_far_its_key():
    """Keys skipped now and then (refused carts), runs of unseen keys, a key far ahead of its
    chunk's first checkout (kept apart: the int16 offset does not fit), keys added out of order."""
    rng = random.Random(9)
    checkouts = Checkouts()
    expected: dict[int, int] = {}
    key = 0
    for _ in range(3 * 4096):
        key += 1 if rng.random() < 0.9 else rng.randint(2, 40)
        expected[key] = checkouts.add(key, 0, 0, 0, 0, 0.0)
    for far in (key + 100_000, key + 100_001):  # keys far ahead, in a chunk of their own
        expected[far] = checkouts.add(far, 0, 0, 0, 0, 0.0)
    first = 1 << 20  # the first key of its chunk of 4096; then 40,000 checkouts of later chunks' keys
    expected[first] = checkouts.add(first, 0, 0, 0, 0, 0.0)
    for k in range(first + 4096, first + 4096 + 40_000):
        expected[k] = checkouts.add(k, 0, 0, 0, 0, 0.0)
    expected[first + 1] = checkouts.add(first + 1, 0, 0, 0, 0, 0.0)  # 40,000 beyond its chunk's first
    assert checkouts._odd_keys == {first + 1: len(checkouts) - 1}
    for k, checkout in expected.items():
        assert checkouts.find(k) == checkout
    seen = set(expected)
    assert all(checkouts.find(k) == -1 for k in range(key + 1) if k not in seen)
    assert checkouts.find(-1) == -1 and checkouts.find(10**9) == -1
