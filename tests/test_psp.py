"""Exact timelines of the PSP, the card scheme and the issuing banks.

Constant latencies make every time exact: network 10 ms each way, PSP 100 ms, scheme 0,
bank 50 ms. A plain approve: arrival 0.01, bank decides at 0.16, reply at 0.17.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import simpy

from sim.components.bank import Banks
from sim.components.idempotency import IdempotencyStore, params_fingerprint
from sim.components.psp import (
    DEFINITE_FAILURE,
    DEFINITE_SUCCESS,
    RETRYABLE,
    ChargeRequest,
    Psp,
    Reply,
    ReplyCode,
)
from sim.config.model import BanksConfig, PspConfig, SchemeConfig, WebhookConfig
from sim.domain.orders import Checkouts, Orders
from sim.domain.population import Card, Population
from sim.domain.truth import GroundTruth
from sim.observe.metrics import Metrics
from sim.config.policies import RetryPolicy, RetryStrategy
from sim.rng import Streams

A = ReplyCode.APPROVED
CARDS = (Card("4111111111111111", 0, 0), Card("4000056655665556", 1, 1), Card("4242424242424242", 2, 0))


class World:
    """A PSP with two-way logs: replies as (time, code), webhooks as (time, order, code)."""

    def __init__(self, psp: dict | None = None, banks: dict | None = None, seed: int = 1,
                 orders: "Orders | None" = None) -> None:
        psp_fields = dict(
            network_latency="10ms",
            latency="100ms",
            error_probability=0.0,
            pending_probability=0.0,
            pending_resolution="30s",
            webhook=WebhookConfig(delay="1s", duplicate_probability=0.0),
            # unlimited, free API work: the exact timelines of the PSP's logic (capacity has its own tests)
            api_latency=None,
            concurrency_limit=None,
            rate_limit=None,
        )
        psp_fields.update(psp or {})
        bank_fields = dict(latency="50ms", decline_limit_probability=0.0, error_probability=0.0, servers=None)
        bank_fields.update(banks or {})
        self.env = simpy.Environment()
        self.metrics = Metrics()
        self.truth = GroundTruth()
        streams = Streams(seed)
        population = Population(3, ("Shop",), CARDS, ("EUR", "USD"))
        self.banks = Banks(
            self.env, BanksConfig(**bank_fields), SchemeConfig(latency="0s"), population, streams, self.truth, self.metrics
        )
        for buyer in range(3):
            self.banks.balance_minor[buyer] = 100_000
        self.psp = Psp(self.env, PspConfig(**psp_fields), self.banks, population, streams, self.metrics,
                       orders=orders)
        self.log: list[tuple] = []
        self.hooks: list[tuple] = []
        self.psp.connect(lambda order_id, code: self.hooks.append((round(self.env.now, 9), order_id, code)))

    @property
    def counters(self):
        return self.metrics.counters

    def at(self, t: float, fn, *args) -> None:
        event = self.env.timeout(t)
        event.callbacks.append(lambda _e: fn(*args))

    def _on_reply(self, tag):
        def on_reply(reply: Reply) -> None:
            entry = (round(self.env.now, 9), reply.code)
            if reply.retry_after_s:
                entry += (reply.retry_after_s,)
            if tag is not None:
                entry = (tag,) + entry
            self.log.append(entry)

        return on_reply

    def charge(self, t: float, key: int = 7, amount: int = 1000, order: int | None = None, card: int = 0, tag=None):
        request = ChargeRequest(key=key, order_id=key if order is None else order, amount_minor=amount, currency=0, card_token=card)
        self.at(t, self.psp.charge, request, self._on_reply(tag))

    def query(self, t: float, key: int = 7, tag="q") -> None:
        self.at(t, self.psp.query, key, self._on_reply(tag))

    def run(self, until: float | None = None) -> None:
        self.env.run(until=until)


def test_code_sets():
    assert DEFINITE_SUCCESS == {A}
    assert DEFINITE_FAILURE == {ReplyCode.DECLINED_FUNDS, ReplyCode.DECLINED_LIMIT, ReplyCode.INVALID}
    assert RETRYABLE == {ReplyCode.ERROR_5XX, ReplyCode.RATE_LIMITED, ReplyCode.CONFLICT, ReplyCode.UNAVAILABLE}


def test_approve_timeline_debits_and_records_capture():
    w = World()
    w.charge(0.0, key=7, amount=1234)
    w.run()
    assert w.log == [(0.17, A)]
    assert w.hooks == [(1.16, 7, A)]
    assert w.banks.balance_minor[0] == 100_000 - 1234
    assert w.truth.captures_of(7) == 1
    assert w.truth.captured_minor_by_currency == {0: 1234}
    assert w.counters["psp.requests"] == 1
    assert w.counters["psp.charges_committed"] == 1
    assert w.counters["psp.bank_attempts"] == 1
    assert w.counters["psp.key_expired_reuse"] == 0
    assert w.metrics.series.counts["psp_requests"] == [1]


def test_idempotent_replay_same_answer_no_new_effect():
    w = World()
    w.charge(0.0)
    w.charge(1.0)
    w.run()
    assert w.log == [(0.17, A), (1.02, A)]  # the replay skips processing: network round trip only
    assert w.truth.captures_of(7) == 1
    assert w.banks.balance_minor[0] == 100_000 - 1000
    assert w.counters["psp.idempotent_replays"] == 1
    assert w.counters["psp.bank_attempts"] == 1
    assert w.hooks == [(1.16, 7, A)]  # no webhook for a replay


def test_replay_of_a_decline_is_the_same_decline():
    w = World()
    w.banks.balance_minor[0] = 500
    w.charge(0.0)
    w.charge(1.0)
    w.run()
    assert w.log == [(0.17, ReplyCode.DECLINED_FUNDS), (1.02, ReplyCode.DECLINED_FUNDS)]
    assert w.counters["psp.bank_attempts"] == 1


def test_stored_fingerprint_is_params_fingerprint():
    """The PSP computes the fingerprint inline; it must stay the store's documented one."""
    w = World()
    w.charge(0.0, key=7, amount=1234, order=9, card=2)
    w.run()
    seq = w.psp._store.find(7, w.env.now, float("inf"))
    assert w.psp._store.fingerprint(seq, 7) == params_fingerprint(9, 1234, 0, 2)
    assert params_fingerprint(9, 1234, 0, 2) != params_fingerprint(9, 1235, 0, 2)


def test_concurrent_same_key_gets_409():
    w = World()
    w.charge(0.0, tag="first")
    w.charge(0.05, tag="double-click")
    w.run()
    assert w.log == [("double-click", 0.07, ReplyCode.CONFLICT), ("first", 0.17, A)]
    assert w.truth.captures_of(7) == 1
    assert w.counters["psp.conflicts"] == 1


def test_same_key_different_parameters_is_invalid():
    w = World()
    w.charge(0.0)
    w.charge(0.05, amount=999, tag="in flight")
    w.charge(1.0, amount=2000, tag="done")
    w.charge(2.0, card=1, tag="other card")
    w.run()
    assert w.log == [
        ("in flight", 0.07, ReplyCode.INVALID),
        (0.17, A),
        ("done", 1.02, ReplyCode.INVALID),
        ("other card", 2.02, ReplyCode.INVALID),
    ]
    assert w.truth.captures_of(7) == 1
    assert w.counters["psp.invalid"] == 3


def test_with_the_order_table_only_unusual_fingerprints_are_stored_and_replays_still_check_them():
    """With the merchant's order table, a charge carrying its order's own key, amount, currency and
    card stores no fingerprint (it is derived from the order); any other stores its own, and a
    reuse of either key is still replayed or answered INVALID by the parameters it carries."""
    checkouts = Checkouts()
    orders = Orders(checkouts)
    checkouts.add(0, 0, 0, 0, 8, 0.0)  # key 0, buyer 0, card 0: orders 0..7
    orders.add_all(0, [(0, 1000, 0, line) for line in range(8)], 0.0)
    w = World(orders=orders)
    w.charge(0.0, key=7)  # order 7's own parameters
    w.charge(0.0, key=5, amount=999)  # another amount than order 5's
    w.charge(0.0, key=4, card=1)  # another card
    w.charge(0.0, key=6, order=3)  # a key that is not its order's id
    w.run()
    store = w.psp._store
    seq = {key: store.find(key, w.env.now, float("inf")) for key in (7, 5, 4, 6)}
    assert sorted(store._odd_prints) == sorted((seq[5], seq[4], seq[6]))
    w.charge(1.0, key=7, tag="7 same")
    w.charge(1.0, key=7, amount=999, tag="7 other")
    w.charge(1.0, key=5, amount=999, tag="5 same")
    w.charge(1.0, key=5, tag="5 usual")
    w.charge(1.0, key=6, order=3, tag="6 same")
    w.run()
    assert {tag: code for tag, _at, code in w.log[4:]} == {
        "7 same": A, "7 other": ReplyCode.INVALID, "5 same": A, "5 usual": ReplyCode.INVALID, "6 same": A}


def test_key_expires_after_ttl_and_reuse_charges_again():
    w = World(psp={"idempotency_ttl_s": 60.0})
    w.charge(0.0)
    w.charge(30.0, tag="within ttl")
    w.charge(100.0, tag="after ttl")
    w.run()
    assert w.log == [(0.17, A), ("within ttl", 30.02, A), ("after ttl", 100.17, A)]
    assert w.truth.captures_of(7) == 2  # the double charge a too-short TTL causes
    assert w.counters["psp.key_expired_reuse"] == 1
    assert w.counters["psp.idempotent_replays"] == 1


def test_fault_key_ttl_overrides_only_when_shorter():
    w = World()  # configured TTL 24 h
    w.psp.faults.key_ttl_s = 10.0
    w.charge(0.0)
    w.charge(5.0, tag="5s")
    w.charge(20.0, tag="20s")
    w.run()
    assert w.log == [(0.17, A), ("5s", 5.02, A), ("20s", 20.17, A)]
    assert w.truth.captures_of(7) == 2
    assert w.counters["psp.key_expired_reuse"] == 1

    w = World(psp={"idempotency_ttl_s": 60.0})
    w.psp.faults.key_ttl_s = 3600.0  # longer than configured: no effect
    w.charge(0.0)
    w.charge(100.0)
    w.run()
    assert w.truth.captures_of(7) == 2


def test_reply_lost_after_commit_then_retry_replays():
    w = World()
    w.psp.faults.reply_lost_probability = 1.0
    w.charge(0.0)
    w.run(until=3.0)
    assert w.log == []  # the caller times out: an indefinite outcome...
    assert w.truth.captures_of(7) == 1  # ...but the charge happened
    assert w.counters["psp.reply_lost_after_commit"] == 1
    assert w.counters["psp.reply_lost"] == 0
    w.psp.faults.reply_lost_probability = 0.0
    w.charge(2.0)  # relative to now (3.0): a retry with the same key at 5.0
    w.run()
    assert w.log == [(5.02, A)]
    assert w.truth.captures_of(7) == 1
    assert w.counters["psp.idempotent_replays"] == 1


def test_lost_decline_is_not_counted_as_lost_after_commit():
    w = World()
    w.banks.balance_minor[0] = 10
    w.psp.faults.reply_lost_probability = 1.0
    w.charge(0.0)
    w.run()
    assert w.log == []
    assert w.counters["psp.reply_lost"] == 1
    assert w.counters["psp.reply_lost_after_commit"] == 0


def test_no_reply_fault_swallows_without_effect():
    w = World()
    w.psp.faults.no_reply_probability = 1.0
    w.charge(0.0)
    w.run(until=3.0)
    assert w.log == [] and w.hooks == []
    assert w.truth.captures_of(7) == 0
    assert w.counters["psp.bank_attempts"] == 0
    assert w.counters["psp.no_reply"] == 1
    w.psp.faults.no_reply_probability = 0.0
    w.charge(0.0)  # the retry at 3.0 is processed afresh: the key was never stored
    w.run()
    assert w.log == [(3.17, A)]
    assert w.truth.captures_of(7) == 1


def test_decline_for_insufficient_funds_moves_no_money():
    w = World()
    w.banks.balance_minor[0] = 999
    w.charge(0.0, amount=1000)
    w.run()
    assert w.log == [(0.17, ReplyCode.DECLINED_FUNDS)]
    assert w.hooks == [(1.16, 7, ReplyCode.DECLINED_FUNDS)]
    assert w.banks.balance_minor[0] == 999
    assert w.truth.captures_of(7) == 0
    assert w.psp.settlement_file() == []


def test_limit_decline_and_decline_surge():
    w = World(banks={"decline_limit_probability": 1.0})
    w.charge(0.0)
    w.run()
    assert w.log == [(0.17, ReplyCode.DECLINED_LIMIT)]
    w = World()
    w.banks.decline_surge_probability = 1.0
    w.charge(0.0)
    w.run()
    assert w.log == [(0.17, ReplyCode.DECLINED_LIMIT)]
    assert w.banks.balance_minor[0] == 100_000


def test_outage_answers_unavailable_and_stacks():
    w = World()
    w.psp.faults.outage += 1
    w.psp.faults.outage += 1  # two overlapping outages
    w.charge(0.0, key=1)
    w.query(0.0, key=1)
    w.at(1.0, lambda: setattr(w.psp.faults, "outage", w.psp.faults.outage - 1))
    w.charge(2.0, key=2)
    w.at(3.0, lambda: setattr(w.psp.faults, "outage", w.psp.faults.outage - 1))
    w.charge(4.0, key=3)
    w.run()
    assert w.log == [
        (0.02, ReplyCode.UNAVAILABLE),
        ("q", 0.02, ReplyCode.UNAVAILABLE),
        (2.02, ReplyCode.UNAVAILABLE),
        (4.17, A),
    ]
    assert w.truth.capture_count == 1
    assert w.counters["psp.unavailable"] == 3


def test_partial_outage_and_extra_error_fault():
    w = World()
    w.psp.faults.partial_outage_fraction = 1.0
    w.charge(0.0)
    w.run()
    assert w.log == [(0.02, ReplyCode.UNAVAILABLE)]
    assert w.truth.capture_count == 0


def test_spontaneous_5xx_charges_nothing_and_frees_the_key():
    w = World()
    w.psp.faults.error_probability = 1.0
    w.charge(0.0)
    w.query(0.05)
    w.run(until=1.0)
    assert w.log == [("q", 0.07, ReplyCode.IN_FLIGHT), (0.12, ReplyCode.ERROR_5XX)]
    assert w.counters["psp.bank_attempts"] == 0
    w.psp.faults.error_probability = 0.0
    w.charge(0.0)  # retry at 1.0 with the same key: processed, not replayed
    w.run()
    assert w.log[2:] == [(1.17, A)]
    assert w.truth.captures_of(7) == 1


def test_rate_limit_answers_429_with_retry_after():
    w = World()
    w.psp.faults.rate_limit_per_s = 1.0
    w.psp.faults.retry_after_s = 2.0
    w.charge(0.0, key=1)
    w.charge(0.1, key=2)
    w.charge(0.2, key=3)
    w.charge(1.5, key=4)  # a token has refilled
    w.run()
    assert w.log == [
        (0.12, ReplyCode.RATE_LIMITED, 2.0),
        (0.17, A),
        (0.22, ReplyCode.RATE_LIMITED, 2.0),
        (1.67, A),
    ]
    assert w.counters["psp.rate_limited"] == 2
    assert {o for _, o, _ in w.hooks} == {1, 4}


def test_extra_latency_faults_add_up():
    w = World()
    w.psp.faults.extra_latency.append(lambda: 0.5)
    w.psp.faults.extra_latency.append(lambda: 0.25)
    w.charge(0.0)
    w.run()
    assert w.log == [(0.92, A)]


def test_pending_then_webhook_with_final_code():
    w = World(psp={"pending_probability": 1.0})
    w.charge(0.0)
    w.query(0.05, tag="q-inflight")
    w.query(1.0, tag="q-pending")
    w.charge(2.0, tag="retry")
    w.query(40.0, tag="q-final")
    w.run()
    # pending at 0.11, resolution 30 s later, bank 50 ms → final at 30.16, webhook +1 s
    assert w.log == [
        ("q-inflight", 0.07, ReplyCode.IN_FLIGHT),
        (0.12, ReplyCode.PENDING),
        ("q-pending", 1.02, ReplyCode.PENDING),
        ("retry", 2.02, ReplyCode.PENDING),
        ("q-final", 40.02, A),
    ]
    assert w.hooks == [(31.16, 7, A)]
    assert w.truth.first_capture_at[7] == pytest.approx(30.16)
    assert w.truth.captures_of(7) == 1
    assert w.counters["psp.pending"] == 1


def test_pending_storm_fault_and_pending_decline():
    w = World()
    w.psp.faults.pending_probability = 1.0
    w.banks.balance_minor[0] = 0
    w.charge(0.0)
    w.run()
    assert w.log == [(0.12, ReplyCode.PENDING)]
    assert w.hooks == [(31.16, 7, ReplyCode.DECLINED_FUNDS)]


def test_webhook_duplicate_with_independent_delay():
    w = World(psp={"webhook": WebhookConfig(delay="1s", duplicate_probability=1.0)})
    extra = itertools.chain([0.0, 5.0], itertools.repeat(0.0))
    w.psp.faults.webhook_delay_extra.append(lambda: next(extra))
    w.charge(0.0)
    w.run()
    assert w.hooks == [(1.16, 7, A), (6.16, 7, A)]
    assert w.counters["psp.webhook_duplicates"] == 1
    assert w.truth.captures_of(7) == 1


def test_webhook_reordering_from_independent_delays():
    w = World()
    delays = iter([9.0, 0.0])
    w.psp.faults.webhook_delay_extra.append(lambda: next(delays))
    w.charge(0.0, key=1)
    w.banks.balance_minor[1] = 0
    w.charge(0.1, key=2, card=1)
    w.run()
    assert w.hooks == [(1.26, 2, ReplyCode.DECLINED_FUNDS), (10.16, 1, A)]


def test_webhook_loss_then_redelivery():
    webhook = WebhookConfig(delay="1s", duplicate_probability=0.0, redelivery_interval="60s", max_deliveries=3)
    w = World(psp={"webhook": webhook})
    w.psp.faults.webhook_loss_probability = 1.0
    w.charge(0.0)
    w.run(until=70.0)  # deliveries at 1.16 and 61.16 lost
    w.psp.faults.webhook_loss_probability = 0.0
    w.run()
    assert w.hooks == [(121.16, 7, A)]
    assert w.counters["psp.webhook_lost"] == 0

    w = World(psp={"webhook": webhook.model_copy(update={"loss_probability": 1.0})})
    w.charge(0.0)
    w.run()
    assert w.hooks == []
    assert w.counters["psp.webhook_lost"] == 1
    assert w.env.now == pytest.approx(121.16)  # exactly max_deliveries attempts


def test_status_query_answers():
    w = World(psp={"idempotency_ttl_s": 60.0})
    w.banks.balance_minor[1] = 0
    w.query(0.0, key=99, tag="unknown")
    w.charge(0.0, key=7)
    w.query(0.05, key=7, tag="in flight")
    w.query(1.0, key=7, tag="done")
    w.charge(0.0, key=8, card=1)
    w.query(1.0, key=8, tag="declined")
    w.query(100.0, key=7, tag="expired")
    w.run()
    assert w.log == [
        ("unknown", 0.02, ReplyCode.NOT_FOUND),
        ("in flight", 0.07, ReplyCode.IN_FLIGHT),
        (0.17, A),
        (0.17, ReplyCode.DECLINED_FUNDS),
        ("done", 1.02, A),
        ("declined", 1.02, ReplyCode.DECLINED_FUNDS),
        ("expired", 100.02, ReplyCode.NOT_FOUND),
    ]
    assert w.counters["psp.queries"] == 5
    assert w.counters["psp.requests"] == 7


def test_settlement_file_cutoff_and_clock_skew():
    cutoff = 22 * 3600.0
    w = World(psp={"settlement_cutoff_s": cutoff})
    w.charge(0.0, key=1)  # captured at 0.16: before the first cut-off → day -1
    w.charge(cutoff + 100.0, key=2)  # after it → day 0
    w.charge(cutoff - 1.0, key=3)  # 0.84 s before the cut-off → day -1 ...
    w.run()
    w2 = World(psp={"settlement_cutoff_s": cutoff})
    w2.psp.faults.clock_skew_s = 2.0  # ... but a PSP clock 2 s fast puts it in day 0
    w2.charge(cutoff - 1.0, key=3)
    w2.run()
    assert w.psp.settlement_file() == [
        (-1, 1, 1000, 0, pytest.approx(0.16)),
        (-1, 3, 1000, 0, pytest.approx(cutoff - 0.84)),
        (0, 2, 1000, 0, pytest.approx(cutoff + 100.16)),
    ]
    assert w2.psp.settlement_file() == [(0, 3, 1000, 0, pytest.approx(cutoff - 0.84))]


@pytest.mark.filterwarnings("ignore:A custom validator is returning:UserWarning")  # retry.py, see test_policies
def test_bank_retry_multiplies_bank_attempts():
    retry = RetryPolicy(strategy=RetryStrategy.FIXED, max_attempts=3, base="1s")
    w = World(psp={"bank_retry": retry}, banks={"error_probability": 1.0})
    w.charge(0.0)
    w.run()
    # bank calls decided at 0.16, 1.21, 2.26; then 5xx back
    assert w.log == [(2.27, ReplyCode.ERROR_5XX)]
    assert w.counters["psp.bank_attempts"] == 3
    assert w.counters["banks.authorisations"] == 3
    assert w.truth.capture_count == 0
    assert w.hooks == []

    none = RetryPolicy(strategy=RetryStrategy.NONE, max_attempts=3)
    w = World(psp={"bank_retry": none}, banks={"error_probability": 1.0})
    w.charge(0.0)
    w.run()
    assert w.counters["psp.bank_attempts"] == 1

    w = World(banks={"error_probability": 1.0})  # default: no PSP→bank retry
    w.charge(0.0)
    w.query(1.0)
    w.run()
    assert w.log == [(0.17, ReplyCode.ERROR_5XX), ("q", 1.02, ReplyCode.NOT_FOUND)]
    assert w.counters["psp.bank_attempts"] == 1


def test_bank_retry_recovers_after_transient_bank_error():
    retry = RetryPolicy(strategy=RetryStrategy.FIXED, max_attempts=3, base="1s")
    w = World(psp={"bank_retry": retry}, banks={"error_probability": 1.0})
    w.at(0.5, lambda: setattr(w.banks, "cfg", w.banks.cfg.model_copy(update={"error_probability": 0.0})))
    w.charge(0.0)
    w.run()
    assert w.log == [(1.22, A)]
    assert w.counters["psp.bank_attempts"] == 2
    assert w.truth.captures_of(7) == 1


def test_psp_without_idempotency_charges_twice():
    w = World(psp={"idempotency": False})
    w.charge(0.0)
    w.charge(0.05)
    w.charge(1.0)
    w.run()
    assert w.log == [(0.17, A), (0.22, A), (1.17, A)]
    assert w.truth.captures_of(7) == 3
    assert w.counters["psp.idempotent_replays"] == 0
    assert [row[1] for row in w.psp.settlement_file()] == [7, 7, 7]


def test_tokenisation_keeps_card_numbers_out_of_requests():
    w = World()
    assert w.psp.vault_size == 3
    tokens = [w.psp.tokenise(card.number) for card in CARDS]
    assert tokens == [0, 1, 2]
    with pytest.raises(KeyError) as error:
        w.psp.tokenise("5555555555554444")
    assert "5555" not in str(error.value)
    request = ChargeRequest(key=1, order_id=1, amount_minor=10, currency=0, card_token=tokens[1])
    assert all(type(getattr(request, f)) is int for f in (field.name for field in dataclasses.fields(ChargeRequest)) if f != "deadline_s")
    assert not any(card.number in repr(request) for card in CARDS)


def test_same_seed_same_timeline_with_random_latencies():
    def run(seed: int) -> list:
        psp = {
            "network_latency": {"dist": "lognormal", "median": "15ms", "p99": "60ms"},
            "latency": {"dist": "exponential", "mean": "120ms"},
            "pending_probability": 0.2,
            "error_probability": 0.1,
        }
        w = World(psp=psp, banks={"latency": {"dist": "exponential", "mean": "80ms"}}, seed=seed)
        for i in range(50):
            w.charge(i * 0.01, key=i, order=i, card=i % 3, amount=100)
        w.run()
        return w.log + w.hooks

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_initial_balances_and_money_conservation():
    w = World()
    population = Population(2000, ("Shop",), tuple(Card(str(i), i, i % 4) for i in range(2000)), ("EUR",))
    banks = Banks(
        w.env, BanksConfig(balance_median_minor=200_000, low_balance_fraction=0.1), SchemeConfig(),
        population, Streams(5), w.truth, w.metrics,
    )
    balances = sorted(banks.balance_minor)
    assert banks.initial_total_minor == sum(balances)
    low = sum(1 for b in balances if b <= 2000)
    assert 150 <= low <= 260  # ~10 % low-balance buyers (+ the lognormal's own far tail)
    assert 150_000 <= balances[1000] <= 260_000  # median near the configured one

    w.charge(0.0, key=1, amount=300)
    w.charge(0.0, key=2, amount=700, card=1)
    w.charge(0.0, key=3, amount=10**9, card=2)  # declined
    w.run()
    moved = sum(w.truth.captured_minor_by_currency.values())
    assert moved == 1000
    assert w.banks.total_balance_minor == 3 * 100_000 - moved


def test_idempotency_store_memory_is_bounded_by_ttl_window():
    store = IdempotencyStore(retention_s=20.0)
    for i in range(100_000):
        now = i * 0.01
        assert store.find(i, now, 10.0) == -1
        store.add(i, 0, 0, now)
    assert len(store) <= 2001
    assert len(store._codes) <= 2 * 2001 + 4096
    # a key reused after the TTL but within retention is recognised as expired
    assert store.find(99_000, 999.99 + 5.0, 1.0) == -2


def test_many_keys_with_short_ttl_keep_the_store_small():
    w = World(psp={"idempotency_ttl_s": 1.0, "webhook": WebhookConfig(delay="1s", duplicate_probability=0.0)})
    w.psp.webhook_sink = None
    for i in range(2000):
        w.charge(i * 0.01, key=i, amount=1)
    w.run()
    assert len(w.log) == 2000
    assert w.psp.idempotency_entries <= 2 * 100 + 20


def test_the_models_own_rate_limit_and_a_stricter_fault_limit_take_turns():
    """The model's limit (1/s: a bucket of one) answers 429 with the model's Retry-After; a
    stricter fault's limit takes over with the fault's Retry-After and a full bucket of its own;
    a looser fault's limit changes nothing; when the fault ends the model's bucket starts full."""
    w = World(psp={"rate_limit": "1/s", "retry_after": "3s"})
    w.charge(0.00, key=1)
    w.charge(0.10, key=2)  # the model's bucket is empty
    faults = w.psp.faults

    def strict(on: bool) -> None:
        faults.rate_limit_per_s, faults.rate_limit_burst, faults.retry_after_s = (0.5, 2.0, 5.0) if on else (None, None, 1.0)

    w.at(1.00, strict, True)
    w.charge(1.00, key=3)  # the fault's bucket starts full: two tokens
    w.charge(1.10, key=4)
    w.charge(1.20, key=5)  # empty at the fault's rate
    w.at(1.50, strict, False)
    w.charge(1.50, key=6)  # the model's limit again, a full bucket
    w.charge(1.60, key=7)

    def loose() -> None:
        faults.rate_limit_per_s, faults.retry_after_s = 100.0, 9.0

    w.at(5.00, loose)
    w.charge(5.00, key=8)
    w.charge(5.10, key=9)  # still the model's limit: its Retry-After
    w.run()
    assert w.log == [
        (0.12, ReplyCode.RATE_LIMITED, 3.0), (0.17, A),
        (1.17, A), (1.22, ReplyCode.RATE_LIMITED, 5.0), (1.27, A),
        (1.62, ReplyCode.RATE_LIMITED, 3.0), (1.67, A),
        (5.12, ReplyCode.RATE_LIMITED, 3.0), (5.17, A),
    ]
    assert w.counters["psp.rate_limited"] == 4


def test_concurrency_limit_queues_charges_and_a_full_queue_gets_429_with_retry_after():
    # one slot, one place in the queue: the second charge waits for the first's answer (bank
    # included), the third is refused at once
    w = World(psp={"concurrency_limit": 1, "queue": {"max_queue": 1}, "retry_after": "2s"})
    w.charge(0.0, key=1, tag="a")
    w.charge(0.0, key=2, tag="b")
    w.charge(0.0, key=3, tag="c")
    w.run()
    assert w.log == [("c", 0.02, ReplyCode.RATE_LIMITED, 2.0), ("a", 0.17, A), ("b", 0.32, A)]
    stats = w.psp.slots.stats
    assert (stats.served, stats.waited, stats.rejected) == (2, 1, 1)


def test_a_replay_costs_its_api_work_in_a_slot():
    w = World(psp={"concurrency_limit": 1, "api_latency": "5ms"})
    w.charge(0.0, key=1, tag="first")
    w.charge(1.0, key=1, tag="replay")
    w.run()
    # first: 10 ms network + 5 ms API + 100 ms + 50 ms bank + 10 ms back; replay: 10 + 5 + 10 ms
    assert w.log == [("first", 0.175, A), ("replay", 1.025, A)]
    assert w.psp.slots.stats.served == 2


def test_work_the_caller_abandoned_is_done_and_counted_as_wasted():
    w = World(psp={"concurrency_limit": 1})
    request = ChargeRequest(key=1, order_id=1, amount_minor=1000, currency=0, card_token=0, deadline_s=0.1)
    w.at(0.0, w.psp.charge, request, w._on_reply("late"))
    w.run()
    assert w.truth.capture_count == 1  # the charge was made although its caller had given up at 0.1 s
    assert w.psp.slots.stats.wasted == 1


def test_deadline_propagation_drops_an_expired_charge_unserved():
    w = World(psp={"concurrency_limit": 1, "queue": {"drop_expired": True}})
    w.charge(0.0, key=1, tag="a")
    request = ChargeRequest(key=2, order_id=2, amount_minor=1000, currency=0, card_token=0, deadline_s=0.1)
    w.at(0.0, w.psp.charge, request, w._on_reply("expired"))
    w.run()
    assert sorted(w.log) == [("a", 0.17, A), ("expired", 0.17, ReplyCode.UNAVAILABLE)]
    assert w.truth.capture_count == 1 and w.psp.slots.stats.dropped == 1
