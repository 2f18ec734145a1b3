"""Faker without its start-up scan (sim.faker_lean): the same draws as Faker, and the real package
whole once anything asks it for a name."""

from __future__ import annotations

import subprocess
import sys

from sim.domain.population import FAKER_PROVIDERS
from sim.faker_lean import Faker, lean_generator


def test_the_lean_generator_draws_what_fakers_own_does():
    from faker import Faker as Full

    lean, full = lean_generator("en_US", FAKER_PROVIDERS), Full("en_US", providers=FAKER_PROVIDERS)
    for fake in (lean, full):
        fake.seed_instance(2024)
    assert [lean.company() for _ in range(300)] == [full.company() for _ in range(300)]
    assert [lean.credit_card_number(card_type="visa16") for _ in range(100)] == [
        full.credit_card_number(card_type="visa16") for _ in range(100)]
    assert [lean.name() for _ in range(50)] == [full.name() for _ in range(50)]
    assert lean.random.getstate() == full.random.getstate()
    assert [(p.__provider__, p.__lang__) for p in lean.providers] == [
        (p.__provider__, p.__lang__) for p in full.providers]


def test_without_providers_it_is_fakers_own():
    from faker import Faker as Full

    assert type(Faker("en_US")) is Full


def test_a_population_skips_the_scan_and_faker_is_whole_afterwards():
    """In a fresh process: building a population imports no ``faker.config`` (the scan of every
    provider and locale); asking the package for a name afterwards runs its ``__init__``."""
    code = (
        "import random, sys\n"
        "from sim.domain.population import generate_population\n"
        "p = generate_population(random.Random(1), buyers=20, sellers=3, banks=2, currencies=('EUR',))\n"
        "assert 'faker.config' not in sys.modules, 'scanned'\n"
        "from faker import Faker, VERSION\n"
        "assert 'faker.config' in sys.modules and VERSION\n"
        "fake = Faker('en_US'); fake.seed_instance(3); print(fake.name())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert " " in done.stdout.strip()
