"""Buyers, sellers and cards, generated once per run with Faker from their own seeded stream.

Faker costs tens of microseconds a call, so payments draw from this population instead of calling
it. Card numbers live here and in the PSP's vault only: the platform sees tokens (ints).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    buyer: int
    bank: int


@dataclass(frozen=True, slots=True)
class Population:
    buyer_names: tuple[str, ...]
    seller_names: tuple[str, ...]
    cards: tuple[Card, ...]
    """Index = card token: buyer ``b`` holds card ``b``."""
    currencies: tuple[str, ...]

    @property
    def buyers(self) -> int:
        return len(self.buyer_names)

    @property
    def sellers(self) -> int:
        return len(self.seller_names)


def generate_population(
    rng: random.Random, buyers: int, sellers: int, banks: int, currencies: tuple[str, ...]
) -> Population:
    """A population drawn from ``rng`` (Faker is seeded from it, never from global state)."""
    fake = Faker("en_US")
    fake.seed_instance(rng.getrandbits(64))
    buyer_names = tuple(fake.name() for _ in range(buyers))
    seller_names = tuple(fake.company() for _ in range(sellers))
    cards = tuple(
        Card(number=fake.credit_card_number(card_type="visa16"), buyer=b, bank=rng.randrange(banks))
        for b in range(buyers)
    )
    return Population(buyer_names, seller_names, cards, tuple(currencies))
