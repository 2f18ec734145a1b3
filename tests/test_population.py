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


def test_seller_names_and_cards_are_those_of_a_full_faker():
    """The population loads only the Faker providers it uses: the same names and card numbers a
    Faker with all of them makes from the same seed."""
    from faker import Faker

    from sim.domain.population import FAKER_PROVIDERS

    lean, full = Faker("en_US", providers=FAKER_PROVIDERS), Faker("en_US")
    for fake in (lean, full):
        fake.seed_instance(11)
    assert [lean.company() for _ in range(200)] == [full.company() for _ in range(200)]
    assert [lean.credit_card_number(card_type="visa16") for _ in range(50)] == [
        full.credit_card_number(card_type="visa16") for _ in range(50)]
    assert lean.random.getstate() == full.random.getstate()
