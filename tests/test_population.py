"""The population: drawn once per run from its own stream; buyer names made on demand."""

from __future__ import annotations

import random

from sim.domain.population import generate_population


def _population(seed: int):
    return generate_population(random.Random(seed), buyers=500, sellers=7, banks=3, currencies=("EUR",))


def test_population_is_deterministic_per_stream_and_buyer_names_are_stable():
    a, b, other = _population(1), _population(1), _population(2)
    assert a == b and a != other
    assert a.buyers == 500 and len(a.cards) == 500 and len(a.seller_names) == 7
    names = [a.buyer_name(i) for i in (0, 1, 499)]
    assert names == [b.buyer_name(i) for i in (0, 1, 499)]  # the same, whatever was asked before
    assert len(set(names)) == 3 and all(" " in name for name in names)
    assert [other.buyer_name(i) for i in (0, 1, 499)] != names
    assert {card.bank for card in a.cards} <= {0, 1, 2} and [c.buyer for c in a.cards] == list(range(500))
