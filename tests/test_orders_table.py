"""The compact orders table: what it derives (an order's checkout, its creation time, its cart
line) must equal what was stored, for recent orders (the in-flight ring) and old ones alike."""

from __future__ import annotations

import random

import numpy as np

from sim.domain.orders import RECENT, Checkouts, Orders


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
