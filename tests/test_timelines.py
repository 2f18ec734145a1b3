"""Exact timelines (SimPy style) of the executor's timeout semantics and the ledger's dedupe.

Latencies are constants so every time is exact: DB read 1 ms, write 3 ms (the executor claims an
order with one conditional write), network 10 ms each way,
PSP 100 ms, scheme 0, bank 50 ms, PSP call timeout 1 s, fixed 0.5 s backoff.
"""

from __future__ import annotations

import pytest

from sim.components.kafka import ConsumerGroup
from sim.components.ledger import Ledger
from sim.config.model import SystemModel
from sim.config.scenario import Scenario
from sim.domain.orders import OrderState
from sim.observe.trace import Trace
from sim.oracles.liveness import lost_orders, nothing_lost
from sim.config.topics import SUCCESS_TOPIC
from sim.world import build_world

CONSTANT_MODEL = {
    "name": "constant",
    "payment_service": {"database": {"write_latency": "3ms", "read_latency": "1ms"}},
    "kafka": {"publish_latency": "0ms"},
    "executor": {"psp_timeout": "1s", "retry": {"strategy": "fixed", "base": "500ms", "max_attempts": 3}},
    "psp": {"network_latency": "10ms", "latency": "100ms", "api_latency": None, "error_probability": 0, "pending_probability": 0,
            "webhook": {"delay": "1h", "duplicate_probability": 0}},
    "scheme": {"latency": "0ms"},
    "banks": {"latency": "50ms", "decline_limit_probability": 0, "error_probability": 0, "low_balance_fraction": 0},
    "wallet": {"latency": "2ms"},
    "ledger": {"latency": "2ms"},
}


def quiet_world(**model_overrides):
    """A world with no arrivals and constant latencies; tests place orders by hand."""
    data = {**CONSTANT_MODEL, **model_overrides}
    model = SystemModel.model_validate(data)
    scenario = Scenario.model_validate({"name": "t", "model": "unused.yaml", "duration": "1h", "drain": "0s",
                                        "workload": {"rate": 0, "buyers": 10, "sellers": 3}})
    return build_world(model, scenario, seed=1, trace=Trace(enabled=True))


def place_order(world, amount_minor=1000) -> int:
    checkout = world.checkouts.add(key=0, buyer=1, card_token=1, first_order=0, order_count=1, now=0.0)
    return world.orders.add(checkout, seller=2, amount_minor=amount_minor, currency=0, line=0, now=0.0)


def paid_order(world, amount_minor=1000) -> int:
    order = place_order(world, amount_minor)
    world.env.process(world.executor.execute(order))
    return order


def buyer_balance(world) -> int:
    return world.banks.balance_minor[world.population.cards[1].buyer]


def test_executor_timeout_is_indefinite_then_query_then_retry_with_the_same_key():
    world = quiet_world()
    env, psp = world.env, world.psp
    order = place_order(world)
    psp.faults.no_reply_probability = 1.0  # the first request is swallowed: nothing charged
    env.timeout(1.0).callbacks.append(lambda _e: setattr(psp.faults, "no_reply_probability", 0.0))
    env.process(world.executor.execute(order))
    env.run(until=5)
    assert world.trace.of(order) == [
        (1.003, "executor:charge:timeout"),       # claimed by one conditional write (3 ms), then a 1 s timeout
        (1.023, "executor:query:NOT_FOUND"),       # status query: 10 ms there, 10 ms back
        (1.693, "executor:charge:APPROVED"),       # 0.5 s backoff; 10 + 100 + 50 + 10 ms
        (1.696, "executor:APPROVED"),              # state written 3 ms later
    ]
    assert world.orders.state[order] == OrderState.SUCCESS
    assert world.orders.psp_attempts[order] == 2
    assert world.truth.captures_of(order) == 1


def test_executor_timeout_after_commit_queries_and_finds_the_charge_without_charging_again():
    world = quiet_world()
    env, psp = world.env, world.psp
    order = place_order(world)
    psp.faults.reply_lost_probability = 1.0  # the PSP charges, the reply never arrives
    env.timeout(1.0).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))
    env.process(world.executor.execute(order))
    env.run(until=5)
    assert world.trace.of(order) == [
        (1.003, "executor:charge:timeout"),
        (1.023, "executor:query:APPROVED"),  # the status query reveals the committed charge
        (1.026, "executor:APPROVED"),
    ]
    assert world.truth.captures_of(order) == 1
    assert world.orders.psp_attempts[order] == 1


def test_executor_without_status_query_retries_with_the_same_key_and_the_psp_replays():
    world = quiet_world(executor={**CONSTANT_MODEL["executor"], "status_query_after_timeout": False})
    env, psp = world.env, world.psp
    order = place_order(world)
    psp.faults.reply_lost_probability = 1.0
    env.timeout(1.0).callbacks.append(lambda _e: setattr(psp.faults, "reply_lost_probability", 0.0))
    env.process(world.executor.execute(order))
    env.run(until=5)
    assert world.trace.of(order) == [
        (1.003, "executor:charge:timeout"),
        (1.523, "executor:charge:APPROVED"),  # replayed at arrival: backoff 0.5 s + 10 ms + 10 ms
        (1.526, "executor:APPROVED"),
    ]
    assert world.truth.captures_of(order) == 1
    assert world.orders.psp_attempts[order] == 2


@pytest.mark.parametrize("dedupe, expected_records", [(True, 1), (False, 2)])
def test_ledger_dedupes_a_redelivered_event_by_event_id(dedupe, expected_records, monkeypatch):
    log = []
    original = Ledger.record

    def traced(ledger, order_id):
        before = ledger.times_recorded(order_id)
        yield from original(ledger, order_id)
        log.append((round(ledger.env.now, 6), order_id, "recorded" if ledger.times_recorded(order_id) > before else "deduped"))

    monkeypatch.setattr(Ledger, "record", traced)  # before the world is built: its consumer binds the method
    world = quiet_world(ledger={"latency": "2ms", "dedupe": dedupe})
    env = world.env
    order = place_order(world, amount_minor=700)
    world.orders.state[order] = OrderState.SUCCESS
    ledger = world.ledger
    topic = world.topics[SUCCESS_TOPIC]
    env.timeout(0.010).callbacks.append(lambda _e: topic.publish(order, order))
    env.timeout(0.020).callbacks.append(lambda _e: topic.publish(order, order))  # producer duplicate
    env.run(until=1)
    assert log == [(0.012, order, "recorded"), (0.022, order, "deduped" if dedupe else "recorded")]
    assert ledger.times_recorded(order) == expected_records
    assert ledger.seller_payable(2, 0) == 700 * expected_records
    assert isinstance(world.consumer_groups["ledger"], ConsumerGroup)


def test_database_connection_pool_queues_calls_first_come_first_served():
    """Two connections, 3 ms writes: five calls at t=0 finish at 3, 3, 6, 6, 9 ms; a call at 7 ms
    finds a free connection (freed at 6 ms) and finishes at 10 ms."""
    from sim.components.database import Database
    from sim.config.model import DatabaseConfig
    from sim.rng import Streams
    import simpy

    env = simpy.Environment()
    db = Database(env, DatabaseConfig(write_latency="3ms", connections=2), Streams(1))
    done = []

    def call(label):
        yield db.write()
        done.append((label, round(env.now, 6)))

    for label in "abcde":
        env.process(call(label))
    env.timeout(0.007).callbacks.append(lambda _e: env.process(call("f")))
    env.run()
    assert done == [("a", 0.003), ("b", 0.003), ("c", 0.006), ("d", 0.006), ("e", 0.009), ("f", 0.010)]
    assert db.pool.stats.waited == 3 and round(db.pool.stats.queue_area, 6) == 0.003 + 0.003 + 0.006


def test_database_without_a_pool_never_queues():
    from sim.components.database import Database
    from sim.config.model import DatabaseConfig
    from sim.rng import Streams
    import simpy

    env = simpy.Environment()
    db = Database(env, DatabaseConfig(write_latency="3ms", connections=None), Streams(1))
    done = []

    def call(label):
        yield db.write()
        done.append((label, round(env.now, 6)))

    for label in "abc":
        env.process(call(label))
    env.run()
    assert done == [("a", 0.003), ("b", 0.003), ("c", 0.003)] and db.pool.stats.waited == 0


@pytest.mark.parametrize("environment", ["simpy", "engine"])
def test_database_calls_wait_out_a_failover_and_only_while_it_lasts(environment):
    """3 ms calls: before any failover a call takes 3 ms; one made during a failover ending at
    t=1 s ends 3 ms after it; after it, 3 ms again (write, read and write_then alike)."""
    from sim.components.database import Database
    from sim.config.model import DatabaseConfig
    from sim.kernel.engine import Engine
    from sim.rng import Streams
    import simpy

    env = simpy.Environment() if environment == "simpy" else Engine()
    db = Database(env, DatabaseConfig(write_latency="3ms", read_latency="3ms", connections=None), Streams(1))
    done = []

    def calls(label):
        yield db.write()
        done.append((label, "write", round(env.now, 6)))
        yield db.read()
        done.append((label, "read", round(env.now, 6)))
        db.write_then(lambda _e: done.append((label, "write_then", round(env.now, 6))))

    env.process(calls("before"))
    env.timeout(0.5).callbacks.append(lambda _e: setattr(db, "unavailable_until", 1.0))
    env.timeout(0.6).callbacks.append(lambda _e: env.process(calls("during")))
    env.timeout(2.0).callbacks.append(lambda _e: env.process(calls("after")))
    env.run()
    assert done == [
        ("before", "write", 0.003), ("before", "read", 0.006), ("before", "write_then", 0.009),
        ("during", "write", 1.003), ("during", "read", 1.006), ("during", "write_then", 1.009),
        ("after", "write", 2.003), ("after", "read", 2.006), ("after", "write_then", 2.009),
    ]


def test_a_pending_order_is_in_flight_while_polled_and_lost_when_nobody_can_learn_its_outcome():
    world = quiet_world(psp={**CONSTANT_MODEL["psp"], "pending_probability": 1.0, "pending_resolution": "100s"},
                        executor={**CONSTANT_MODEL["executor"], "pending_poll": "60s"})
    env = world.env
    order = place_order(world)
    env.process(world.executor.execute(order))
    seen = []
    for t in (50, 110, 130):  # PSP answers PENDING at 0.113, hears from its bank at 100.113; polls sent at 60.126 and 120.146
        env.run(until=t)
        seen.append((t, OrderState(world.orders.state[order]).name, lost_orders(world)))
    assert seen == [(50, "PENDING", []), (110, "PENDING", []), (130, "SUCCESS", [])]
    assert world.trace.of(order)[-2:] == [(120.166, "executor:query:APPROVED"), (120.169, "status_poll:APPROVED")]

    orphan = world.orders.add(0, seller=2, amount_minor=500, currency=0, line=1, now=env.now)
    world.orders.transition(orphan, OrderState.PENDING, env.now)  # PENDING, yet no poller and no charge at the PSP
    assert lost_orders(world) == [orphan]
    world.executor.polling.add(orphan)  # polling a key the PSP does not know leads nowhere either
    assert lost_orders(world) == [orphan]
    assert [v.orders for v in nothing_lost(world)] == [[orphan]]
