"""Property tests.

- Random workloads × random fault schedules (drawn before ``env.run()``, docs/design.md §11.4) against the
  correct designs: every oracle holds. Profile ``ci`` keeps it modest; ``HYPOTHESIS_PROFILE=deep``
  goes further locally.
- Stateful tests: the PSP's idempotency store, and the ledger and wallet, each against a
  ten-line reference model.
"""

from __future__ import annotations

import simpy
from helpers import MODELS
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sim.components.idempotency import ABSENT, EXPIRED, IdempotencyStore
from sim.domain.microtimes import to_micros
from sim.components.dlq import DeadLetterQueue
from sim.components.ledger import PSP_RECEIVABLE, Ledger
from sim.components.wallet import Wallet
from sim.config.model import LedgerConfig, WalletConfig
from sim.domain.orders import Checkouts, Orders
from sim.observe.metrics import Metrics
from sim.rng import Streams
from sim.runners.explore import load_model_file, model_currencies, plans, run_plan, usable_kinds
from sim.runners.swarm import catalogue

_KINDS: dict[str, list] = {}


def _model(name: str):
    path = (MODELS / name).as_posix()
    if name not in _KINDS:
        model, data = load_model_file(path)
        kinds, _ = usable_kinds(catalogue()[0], model, data, path)
        _KINDS[name] = [model, data, path, kinds]
    return _KINDS[name]


@given(st.data())
def test_every_oracle_holds_on_the_async_design_under_random_faults(data):
    _every_oracle_holds(data, "async-kafka.yaml")


@settings(max_examples=max(5, settings().max_examples // 3))
@given(st.data())
def test_every_oracle_holds_on_the_sync_design_under_random_faults(data):
    _every_oracle_holds(data, "sync-http.yaml")


def _every_oracle_holds(data, name: str) -> None:
    """A random workload and fault schedule (drawn before the run) on a correct model."""
    model, model_data, path, kinds = _model(name)
    plan = data.draw(plans(kinds, "property", model_currencies(model)))
    failing, messages = run_plan(plan, model, model_data, path)
    assert failing == (), messages


# --------------------------------------------------------------------------- idempotency store

RETENTION_S = 20.0


class IdempotencyStoreMachine(RuleBasedStateMachine):
    """The compact, lazily purged store against a dict of key → [seq, fingerprint, code, created]."""

    def __init__(self) -> None:
        super().__init__()
        self.store = IdempotencyStore(RETENTION_S)
        self.ref: dict[int, list] = {}
        self.now = 0.0
        self.next_seq = 0

    def _ref_find(self, key: int, ttl_s: float) -> int:
        self.ref = {k: e for k, e in self.ref.items() if e[3] > self.now - RETENTION_S}
        entry = self.ref.get(key)
        if entry is None:
            return ABSENT
        return EXPIRED if self.now - entry[3] >= ttl_s else entry[0]

    @rule(dt=st.sampled_from([0.0, 0.5, 3.0, 9.99, 10.0, 25.0]))
    def advance(self, dt):
        self.now += dt

    @rule(key=st.integers(0, 5), fingerprint=st.integers(-3, 3), code=st.integers(0, 10))
    def add(self, key, fingerprint, code):
        seq = self.store.add(key, fingerprint, code, self.now)
        assert seq == self.next_seq
        self.ref[key] = [seq, fingerprint, code, to_micros(self.now)]  # the store keeps times to the µs
        self.next_seq += 1

    @rule(key=st.integers(0, 5), ttl_s=st.sampled_from([1.0, 10.0, RETENTION_S]))
    def find(self, key, ttl_s):
        expected = self._ref_find(key, ttl_s)
        found = self.store.find(key, self.now, ttl_s)
        assert found == expected
        if found >= 0:
            entry = self.ref[key]
            assert (self.store.fingerprint(found), self.store.code(found)) == (entry[1], entry[2])

    @precondition(lambda self: self.ref)
    @rule(data=st.data(), code=st.integers(0, 10))
    def set_code(self, data, code):
        key = data.draw(st.sampled_from(sorted(self.ref)))
        self.store.set_code(self.ref[key][0], code)
        self.ref[key][2] = code

    @precondition(lambda self: self.ref)
    @rule(data=st.data(), stale=st.booleans())
    def remove(self, data, stale):
        key = data.draw(st.sampled_from(sorted(self.ref)))
        seq = self.ref[key][0] - (1 if stale else 0)  # a stale sequence number must not remove
        self.store.remove(key, seq)
        if not stale:
            del self.ref[key]

    @invariant()
    def retained_matches(self):
        self.store.purge(self.now)
        self.ref = {k: e for k, e in self.ref.items() if e[3] > self.now - RETENTION_S}
        assert len(self.store) == len(self.ref)


TestIdempotencyStore = IdempotencyStoreMachine.TestCase


# --------------------------------------------------------------------------- ledger and wallet

SELLERS, CURRENCIES = 3, 2


class BookkeepingMachine(RuleBasedStateMachine):
    """Ledger and wallet fed (possibly repeated) success events, against plain dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.env = simpy.Environment()
        self.checkouts = Checkouts()
        self.orders = Orders(self.checkouts)
        streams, metrics = Streams(7), Metrics()
        fixed = {"latency": "1ms"}
        dlq = DeadLetterQueue()
        self.ledger = Ledger(self.env, LedgerConfig(**fixed), self.orders, self.checkouts, streams, metrics, dlq)
        self.wallet = Wallet(self.env, WalletConfig(**fixed), self.orders, self.checkouts, SELLERS, CURRENCIES,
                             streams, metrics, dlq)
        self.ref_recorded: dict[int, int] = {}
        self.ref_payable: dict[tuple[int, int], int] = {}
        self.ref_wallet: dict[tuple[int, int], int] = {}

    @rule(seller=st.integers(0, SELLERS - 1), currency=st.integers(0, CURRENCIES - 1), amount=st.integers(1, 10**6))
    def new_order(self, seller, currency, amount):
        checkout = self.checkouts.add(len(self.checkouts), 0, 0, len(self.orders), 1, self.env.now)
        self.orders.add(checkout, seller, amount, currency, len(self.orders), self.env.now)

    def _order(self, data) -> int:
        return data.draw(st.integers(0, len(self.orders) - 1))

    @precondition(lambda self: len(self.orders))
    @rule(data=st.data())
    def deliver_to_ledger(self, data):
        o = self._order(data)
        self.env.process(self.ledger.record(o))
        self.env.run()
        if not self.ref_recorded.get(o):
            self.ref_recorded[o] = 1
            key = (self.orders.seller[o], self.orders.currency[o])
            self.ref_payable[key] = self.ref_payable.get(key, 0) + self.orders.amount_minor[o]

    @precondition(lambda self: len(self.orders))
    @rule(data=st.data())
    def deliver_to_wallet(self, data):
        o = self._order(data)
        before = self.wallet.times_applied(o)
        self.env.process(self.wallet.credit(o))
        self.env.run()
        if not before:
            key = (self.orders.seller[o], self.orders.currency[o])
            self.ref_wallet[key] = self.ref_wallet.get(key, 0) + self.orders.amount_minor[o]

    @invariant()
    def ledger_matches_reference(self):
        for o in range(len(self.orders)):
            assert self.ledger.times_recorded(o) == self.ref_recorded.get(o, 0)
        for seller in range(SELLERS):
            for currency in range(CURRENCIES):
                assert self.ledger.seller_payable(seller, currency) == self.ref_payable.get((seller, currency), 0)
                assert self.wallet.seller_balance(seller, currency) == self.ref_wallet.get((seller, currency), 0)
        for currency in range(CURRENCIES):
            total = sum(v for (_account, c), v in self.ledger.balances.items() if c == currency)
            assert total == 0
            receivable = self.ledger.balances.get((PSP_RECEIVABLE, currency), 0)
            assert receivable == sum(v for (_s, c), v in self.ref_payable.items() if c == currency)


TestBookkeeping = BookkeepingMachine.TestCase
