"""Buyers, sellers and cards, generated once per run with Faker from their own seeded stream.

Faker costs tens of microseconds a call, so payments draw from this population instead of calling
it. Card numbers live here and in the PSP's vault only: the platform sees tokens (ints).

A population is immutable, and the runs of a comparison (every variant, the same seeds) build the
same ones again: a process keeps the last few, keyed by the stream's state and the sizes, and hands
a rebuilt one out together with the stream state generating it would have left.
"""

from __future__ import annotations

import functools
import random
from collections import OrderedDict
from dataclasses import dataclass

from sim.faker_lean import Faker


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    buyer: int
    bank: int


@dataclass(frozen=True, slots=True)
class Population:
    buyers: int
    seller_names: tuple[str, ...]
    cards: tuple[Card, ...]
    """Index = card token: buyer ``b`` holds card ``b``."""
    currencies: tuple[str, ...]
    names_seed: int = 0

    def buyer_name(self, buyer: int) -> str:
        """Faker's name for ``buyer``, made on demand: names are for people reading a report, and
        a busy day has tens of thousands of buyers at ~60 µs a name (deterministic per buyer)."""
        fake = _name_faker()
        fake.seed_instance(hash((self.names_seed, buyer)))  # int hashing is not salted
        return fake.name()

    @property
    def sellers(self) -> int:
        return len(self.seller_names)


CACHED_POPULATIONS = 4
"""Populations a process keeps (a comparison's workers see one seed after another)."""
_cache: OrderedDict[tuple, tuple[Population, tuple]] = OrderedDict()


def generate_population(
    rng: random.Random, buyers: int, sellers: int, banks: int, currencies: tuple[str, ...]
) -> Population:
    """A population drawn from ``rng`` (Faker is seeded from it, never from global state); the
    same population, and ``rng`` left in the same state, whether or not it came from the cache."""
    key = (rng.getstate(), buyers, sellers, banks, tuple(currencies))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        population, after = hit
        rng.setstate(after)
        return population
    population = _generate(rng, buyers, sellers, banks, tuple(currencies))
    _cache[key] = (population, rng.getstate())
    while len(_cache) > CACHED_POPULATIONS:
        _cache.popitem(last=False)
    return population


def _generate(rng: random.Random, buyers: int, sellers: int, banks: int, currencies: tuple[str, ...]) -> Population:
    fake = Faker("en_US", providers=FAKER_PROVIDERS)
    fake.seed_instance(rng.getrandbits(64))
    seller_names = tuple(fake.company() for _ in range(sellers))
    cards = tuple(
        Card(number=fake.credit_card_number(card_type="visa16"), buyer=b, bank=rng.randrange(banks))
        for b in range(buyers)
    )
    return Population(buyers, seller_names, cards, tuple(currencies), names_seed=rng.getrandbits(64))


FAKER_PROVIDERS = ["faker.providers.person", "faker.providers.company", "faker.providers.credit_card"]
"""The providers the population draws from (company names take people's last names): loading all of
Faker's providers is most of its start-up, and the names and cards are the same either way (a test
holds them to a full Faker's)."""


@functools.lru_cache(maxsize=1)
def _name_faker() -> Faker:
    return Faker("en_US")
