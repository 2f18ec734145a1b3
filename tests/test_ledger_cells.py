"""The ledger's balances kept in per-currency rows of cells (``Ledger._cells``) answer exactly what
the dictionary keyed by (account, currency) they replace answered: the same keys, in the order of
their first entry, the same sums, zeros included; a key written into ``balances`` stays."""

from __future__ import annotations

import random

import pytest
import simpy

from sim.components.dlq import DeadLetterQueue
from sim.components.ledger import ACCOUNT_BASE, PLATFORM_REVENUE, PSP_FEES, PSP_RECEIVABLE, Ledger
from sim.config.model import LedgerConfig
from sim.domain.orders import Checkouts, Orders
from sim.observe.metrics import Metrics
from sim.rng import Streams


def _ledger() -> Ledger:
    checkouts = Checkouts()
    return Ledger(simpy.Environment(), LedgerConfig(latency="1ms"), Orders(checkouts), checkouts, Streams(3),
                  Metrics(), DeadLetterQueue())


def _reference_post(balances: dict[tuple[int, int], int], account: int, currency: int, amount: int) -> None:
    """The dictionary the cells replace, posted to as it was."""
    key = (account, currency)
    balances[key] = balances.get(key, 0) + amount


@pytest.mark.parametrize("seed", range(5))
def test_cells_answer_as_the_dictionary_did(seed):
    rng = random.Random(seed)
    ledger, reference = _ledger(), {}
    for _ in range(2000):
        account = rng.choice([rng.randrange(-8, 0), rng.randrange(0, 300)])
        currency = rng.randrange(0, 4) if rng.random() < 0.95 else 255
        amount = rng.randrange(-10_000, 10_000) if rng.random() < 0.9 else 0  # zero entries make keys too
        ledger._post(account, currency, amount)
        _reference_post(reference, account, currency, amount)
        if rng.random() < 0.01:  # read mid-run: later entries still show
            assert ledger.balances == reference
    assert list(ledger.balances.items()) == list(reference.items())  # same order of first entry
    assert ledger.entries == 2000
    for (account, currency), amount in reference.items():
        assert ledger.balance(account, currency) == amount
    assert ledger.balance(299_999, 0) == 0 and ledger.balance(1, 200) == 0 and ledger.balance(-9, 0) == 0


def test_a_payment_posts_its_entries_in_the_order_the_dictionary_had_them():
    """The inlined posting of a payment (receivable first, then the seller, revenue and fees)."""
    ledger = _ledger()
    orders = ledger.orders
    checkout = ledger.checkouts.add(0, 0, 0, 0, 1, 0.0)
    orders.add_all(checkout, [(41, 10_000, 1, 0)], 0.0)
    ledger.post_transaction(0)
    assert list(ledger.balances.items()) == [((PSP_RECEIVABLE, 1), 10_000), ((41, 1), -10_000)]
    assert ledger.seller_payable(41, 1) == 10_000 and ledger.entries == 2


def test_a_key_written_into_balances_stays_and_stray_accounts_are_refused():
    ledger = _ledger()
    ledger._post(PLATFORM_REVENUE, 0, -5)
    ledger.balances[(99, 4_000_000_000_000_000)] = 0  # as the card-data oracle's test writes one
    ledger._post(PSP_FEES, 0, 7)
    assert ledger.balances == {(PLATFORM_REVENUE, 0): -5, (99, 4_000_000_000_000_000): 0, (PSP_FEES, 0): 7}
    with pytest.raises(ValueError):
        ledger._post(-ACCOUNT_BASE - 1, 0, 1)
    with pytest.raises(ValueError):
        ledger._post(3, 256, 1)
