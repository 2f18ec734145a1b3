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


def test_a_population_is_built_once_per_stream_state_and_sizes(monkeypatch):
    """The same stream state and sizes give the cached population and leave the stream where
    generating it would have; any other stream state or size builds afresh."""
    from sim.domain import population as module

    monkeypatch.setattr(module, "_cache", module.OrderedDict())
    built = []
    real = module._generate
    monkeypatch.setattr(module, "_generate", lambda *a: built.append(a[1:]) or real(*a))
    fresh_rng = random.Random(3)
    fresh = real(fresh_rng, 300, 5, 2, ("EUR",))
    rngs = [random.Random(3) for _ in range(3)]
    got = [generate_population(r, buyers=300, sellers=5, banks=2, currencies=("EUR",)) for r in rngs]
    assert len(built) == 1
    assert all(p == fresh for p in got)
    assert all(r.getstate() == fresh_rng.getstate() for r in rngs)
    generate_population(random.Random(3), buyers=301, sellers=5, banks=2, currencies=("EUR",))
    generate_population(random.Random(4), buyers=300, sellers=5, banks=2, currencies=("EUR",))
    generate_population(random.Random(3), buyers=300, sellers=5, banks=2, currencies=("EUR", "USD"))
    assert len(built) == 4
