"""Kafka model: exact timelines of delivery, commits, crashes, stalls, outages and poison pills."""

from __future__ import annotations

import pytest
import simpy

from sim.components.dlq import DeadLetterQueue, PoisonPillError, consume_order_ids
from sim.components.kafka import TRIM_BATCH, ConsumerGroup, Message, OrderIdHandler, Topic
from sim.observe.metrics import Metrics


def build(partitions: int, instances: int, service_s: float = 1.0, **group_kwargs):
    """A topic and a started group whose handler logs (now, partition, offset, owner) at start."""
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", partitions, metrics)
    log: list[tuple] = []
    group: ConsumerGroup

    def handler(msg: Message):
        log.append((env.now, msg.partition, msg.offset, group.assignment[msg.partition]))
        yield env.timeout(service_s)

    group = ConsumerGroup(
        env, topic, "executor", instances, handler, metrics=metrics, **group_kwargs
    )
    group.start()
    return env, topic, group, _Live(metrics), log


class _Live:
    """The run's counters as read now (``metrics.counters`` adds in what its ``Count`` fields
    counted since the last read; a dictionary taken before the run would miss those)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def __getitem__(self, name: str) -> int:
        return self.metrics.counters[name]

    def __iter__(self):
        return iter(self.metrics.counters)

    def keys(self):
        return self.metrics.counters.keys()


def at(env: simpy.Environment, t: float, action) -> None:
    """Run ``action()`` at simulated time ``t``."""
    env.timeout(t - env.now).callbacks.append(lambda _e: action())


def test_in_order_within_partition_commit_after_and_idle_wakeup():
    env = simpy.Environment()
    topic = Topic(env, "pay", 1)
    log = []
    group: ConsumerGroup

    def handler(msg):
        log.append((env.now, msg.offset, msg.value, group.committed[0]))
        yield env.timeout(1)

    group = ConsumerGroup(env, topic, "g", 1, handler)
    group.start()
    assert [topic.publish(7, v) for v in "abc"] == [0, 1, 2]
    at(env, 5.5, lambda: topic.publish(3, "d"))
    env.run(until=10)
    # committed == offset while handling: commit happens after the handler, not before
    assert log == [(0, 0, "a", 0), (1, 1, "b", 1), (2, 2, "c", 2), (5.5, 3, "d", 3)]
    assert group.committed == [4]
    assert group.lag() == 0


def test_a_published_record_has_every_field_of_a_message():
    env = simpy.Environment()
    topic = Topic(env, "pay", 3)
    env.run(until=2.5)
    assert topic.publish(7, "v") == 0
    # equality compares every field: one that publish forgot to set would raise AttributeError
    assert list(topic._parts[1].log) == [Message("pay", 1, 0, 7, "v", 2.5)]


def test_round_robin_assignment_over_sorted_live_instances():
    env, topic, group, counters, _ = build(4, 3, session_timeout_s=10, rebalance_pause_s=3)
    assert group.assignment == [0, 1, 2, 0]
    group.crash(1)
    env.run(until=12.9)
    assert group.assignment == [None] * 4  # revoked, pausing
    env.run(until=13.1)
    assert group.assignment == [0, 2, 0, 2]
    assert group.live_instances() == [0, 2]
    assert counters["kafka.rebalances"] == 1


def test_partitions_are_consumed_concurrently():
    env, topic, group, _, log = build(2, 1)
    for key in (0, 1, 0, 1):
        topic.publish(key, None)
    env.run(until=5)
    assert log == [(0, 0, 0, 0), (0, 1, 0, 0), (1, 0, 1, 0), (1, 1, 1, 0)]


def test_crash_redelivers_uncommitted_message_after_session_timeout_and_pause():
    env, topic, group, counters, log = build(
        2, 2, session_timeout_s=10, rebalance_pause_s=3
    )
    for k in range(4):
        topic.publish(2 * k, None)  # partition 0
    for k in range(20):
        topic.publish(2 * k + 1, None)  # partition 1, busy throughout
    at(env, 2.5, lambda: group.crash(0))  # mid-way through partition 0 offset 2
    at(env, 20.5, lambda: group.restart(0))
    env.run(until=26)
    p0 = [(t, off, owner) for t, p, off, owner in log if p == 0]
    # crash noticed at 12.5; partition 1's worker finishes its message (13) before the pause
    # (13 -> 16); instance 1 takes partition 0 from committed offset 2: offset 2 again.
    assert p0 == [(0, 0, 0), (1, 1, 0), (2, 2, 0), (16, 2, 1), (17, 3, 1)]
    p1 = [t for t, p, _, _ in log if p == 1]
    # restart at 20.5 rebalances without waiting: finish 20-21, pause 21-24
    assert p1 == list(range(13)) + [16, 17, 18, 19, 20, 24, 25]
    assert group.assignment == [0, 1]
    assert counters["kafka.pay.redelivered"] == 1
    assert counters["kafka.pay.delivered"] == 25
    assert counters["kafka.rebalances"] == 2


def test_restart_before_the_session_timeout_rebalances_and_resumes_the_partitions():
    """A pod restarted faster than session.timeout joins as a new member: the group rebalances at
    once and the crashed instance's partitions are consumed again (regression: they stayed idle)."""
    env, topic, group, counters, log = build(2, 2, session_timeout_s=10, rebalance_pause_s=3)
    for k in range(4):
        topic.publish(2 * k, None)  # partition 0
    for k in range(20):
        topic.publish(2 * k + 1, None)  # partition 1, busy throughout
    at(env, 2.5, lambda: group.crash(0))  # mid-way through partition 0 offset 2
    at(env, 5.5, lambda: group.restart(0))  # before the crash would be noticed (12.5)
    env.run(until=13)
    p0 = [(t, off, owner) for t, p, off, owner in log if p == 0]
    # restart at 5.5: partition 1 finishes its message (6), pause 6 -> 9, instance 0 resumes at offset 2
    assert p0 == [(0, 0, 0), (1, 1, 0), (2, 2, 0), (9, 2, 0), (10, 3, 0)]
    assert [t for t, p, _, _ in log if p == 1] == [0, 1, 2, 3, 4, 5, 9, 10, 11, 12]
    assert group.committed[0] == 4
    assert counters["kafka.rebalances"] == 1  # the stale session expiry at 12.5 changes nothing


@pytest.mark.parametrize(
    ("commit", "expected", "committed_at_crash"),
    [
        (
            "after",
            [(0, "start", 0), (1, "end", 0), (1, "start", 1), (2, "end", 1), (2, "start", 2),
             (15.5, "start", 2), (16.5, "end", 2), (16.5, "start", 3), (17.5, "end", 3)],
            [2, 0],
        ),
        (
            "before",  # offset 2 was committed before handling: the crash loses it for good
            [(0, "start", 0), (1, "end", 0), (1, "start", 1), (2, "end", 1), (2, "start", 2),
             (15.5, "start", 3), (16.5, "end", 3)],
            [3, 0],
        ),
    ],
)
def test_commit_mode_decides_whether_a_crash_loses_or_redelivers(
    commit, expected, committed_at_crash
):
    env = simpy.Environment()
    topic = Topic(env, "pay", 2)
    log = []

    def handler(msg):
        log.append((env.now, "start", msg.offset))
        yield env.timeout(1)
        log.append((env.now, "end", msg.offset))

    group = ConsumerGroup(env, topic, "g", 2, handler, commit=commit,
                          session_timeout_s=10, rebalance_pause_s=3)
    group.start()
    for _ in range(4):
        topic.publish(0, None)
    env.run(until=2.5)
    group.crash(0)
    assert group.committed == committed_at_crash
    env.run(until=30)
    assert log == expected
    assert group.committed == [4, 0]


def test_crash_abandons_handler_at_once_and_runs_its_cleanup():
    env = simpy.Environment()
    topic = Topic(env, "pay", 1)
    db = simpy.Resource(env, capacity=1)
    log = []

    def handler(msg):
        try:
            with db.request() as req:
                yield req
                log.append((env.now, "start"))
                yield env.timeout(5)
                log.append((env.now, "done"))
        finally:
            log.append((env.now, "cleanup"))

    group = ConsumerGroup(env, topic, "g", 1, handler)
    group.start()
    topic.publish(0, None)
    at(env, 2, lambda: group.crash(0))
    env.run(until=9)
    assert log == [(0, "start"), (2, "cleanup")]
    assert db.count == 0
    assert group.committed == [0]


def test_handler_swallowing_the_crash_interrupt_does_not_commit():
    env = simpy.Environment()
    topic = Topic(env, "pay", 1)
    metrics = Metrics()
    log = []

    def handler(msg):
        try:
            yield env.timeout(5)
        except Exception:  # too broad: catches simpy.Interrupt too
            log.append((env.now, "swallowed"))
            yield env.timeout(1)

    group = ConsumerGroup(env, topic, "g", 1, handler, metrics=metrics)
    group.start()
    topic.publish(0, None)
    at(env, 2, lambda: group.crash(0))
    env.run(until=9)
    assert log == [(2, "swallowed")]
    assert group.committed == [0]
    assert metrics.counters["kafka.commit_rejected"] == 0


def test_stall_beyond_max_poll_interval_expels_rejects_commit_and_redelivers():
    env, topic, group, counters, log = build(
        1, 2, max_poll_interval_s=5, rebalance_pause_s=3, session_timeout_s=10
    )
    for _ in range(5):
        topic.publish(0, None)
    at(env, 0.5, lambda: group.stall(0, 10))
    env.run(until=30)
    # offset 0 handled by 0, which hangs 1 -> 11; expelled at 6; instance 1 owns it at 9 and
    # handles offset 0 again. At 11 the zombie's commit is rejected and it rejoins: instance 1
    # finishes offset 2 (12), pause to 15, partition back to instance 0.
    assert log == [(0, 0, 0, 0), (9, 0, 0, 1), (10, 0, 1, 1), (11, 0, 2, 1), (15, 0, 3, 0),
                   (16, 0, 4, 0)]
    assert counters["kafka.commit_rejected"] == 1
    assert counters["kafka.rebalances"] == 2
    assert counters["kafka.pay.redelivered"] == 1
    assert group.committed == [5]
    assert group.live_instances() == [0, 1]


@pytest.mark.parametrize("stall_s", [4.0, 5.0])
def test_stall_within_max_poll_interval_just_delays(stall_s):
    env, topic, group, counters, log = build(1, 2, max_poll_interval_s=5)
    for _ in range(3):
        topic.publish(0, None)
    at(env, 0.5, lambda: group.stall(0, stall_s))
    env.run(until=30)
    assert log == [(0, 0, 0, 0), (1 + stall_s, 0, 1, 0), (2 + stall_s, 0, 2, 0)]
    assert counters["kafka.rebalances"] == 0
    assert counters["kafka.commit_rejected"] == 0
    assert counters["kafka.pay.redelivered"] == 0


def test_broker_outage_fails_publishes_and_pauses_consumers_until_recovery():
    env, topic, group, counters, log = build(1, 1)
    for _ in range(3):
        topic.publish(0, None)
    attempts = []

    def producer():
        yield env.timeout(2.5)
        while True:
            offset = topic.publish(0, None)
            attempts.append((env.now, offset))
            if offset is not None:
                return
            yield env.timeout(1)

    env.process(producer())
    at(env, 1.5, lambda: topic.set_available(False))
    at(env, 10, lambda: topic.set_available(True))
    env.run(until=9)
    assert not topic.available
    assert group.committed == [2] and group.lag() == 1  # offset 2 waits for the broker
    env.run(until=20)
    assert [t for t, _, _, _ in log] == [0, 1, 10, 11]
    assert attempts == [(t + 0.5, None) for t in range(2, 10)] + [(10.5, 3)]
    assert counters["kafka.pay.publish_failed"] == 8
    assert counters["kafka.pay.published"] == 4


def test_uncaught_poison_pill_blocks_its_partition_while_others_progress():
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 2, metrics)
    log = []

    def handler(msg):
        log.append((env.now, msg.partition, msg.offset))
        yield env.timeout(1)
        if msg.value == "poison":
            raise ValueError("cannot deserialize")

    group = ConsumerGroup(env, topic, "g", 2, handler, session_timeout_s=10,
                          rebalance_pause_s=3, metrics=metrics)
    group.start()
    for value in ("ok", "poison", "ok"):
        topic.publish(0, value)
    for _ in range(100):
        topic.publish(1, "ok")
    env.run(until=50)
    # raise at 2: crash, restart and rebalance at 12 (partition 1 finishes 12-13), pause to 16:
    # poison again, raise at 17... a 15 s cycle; offset 2 is never reached.
    assert [(t, off) for t, p, off in log if p == 0] == [(0, 0), (1, 1), (16, 1), (31, 1), (46, 1)]
    assert [t for t, p, _ in log if p == 1] == (
        list(range(0, 13)) + list(range(16, 28)) + list(range(31, 43)) + list(range(46, 50))
    )
    assert group.committed == [1, 40]
    assert metrics.counters["kafka.handler_crashes"] == 4
    assert metrics.counters["kafka.pay.redelivered"] == 3
    assert isinstance(group.last_handler_error, ValueError)


def test_caught_poison_pill_is_dead_lettered_and_the_partition_moves_on():
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 1, metrics)
    dlq = []

    def handler(msg):
        yield env.timeout(1)
        try:
            if msg.value == "poison":
                raise ValueError("cannot deserialize")
        except ValueError:
            dlq.append((env.now, msg.offset))

    group = ConsumerGroup(env, topic, "g", 1, handler, metrics=metrics)
    group.start()
    for value in ("ok", "poison", "ok"):
        topic.publish(0, value)
    env.run(until=10)
    assert dlq == [(2, 1)]
    assert group.committed == [3]
    assert metrics.counters["kafka.handler_crashes"] == 0


def test_no_live_instance_leaves_partitions_waiting_until_a_restart():
    env, topic, group, counters, log = build(1, 1, session_timeout_s=10, rebalance_pause_s=3)
    at(env, 0.5, lambda: group.crash(0))
    at(env, 0.7, lambda: group.crash(0))  # no-op: already dead
    at(env, 5, lambda: topic.publish(0, None))
    at(env, 6, lambda: topic.publish(0, None))
    env.run(until=19)
    assert group.live_instances() == []
    assert group.assignment == [None]
    assert group.lag() == 2
    at(env, 20, lambda: group.restart(0))
    at(env, 25, lambda: group.restart(0))  # no-op: already live
    env.run(until=40)
    assert [(t, off) for t, _, off, _ in log] == [(23, 0), (24, 1)]
    assert counters["kafka.rebalances"] == 2  # session expiry at 10.5, restart at 20


def test_lag_and_depth_follow_the_slowest_group_and_trim_memory():
    env = simpy.Environment()
    topic = Topic(env, "pay", 1)

    def handler_for(service_s):
        def handler(msg):
            yield env.timeout(service_s)
        return handler

    fast = ConsumerGroup(env, topic, "wallet", 1, handler_for(1))
    slow = ConsumerGroup(env, topic, "ledger", 1, handler_for(5))
    fast.start()
    slow.start()
    for _ in range(3):
        topic.publish(0, None)
    samples = []
    for t in (0.5, 3.5, 5.5, 15.5):
        env.run(until=t)
        samples.append((fast.lag(), slow.lag(), topic.depth(), topic.retained(0)))
    assert samples == [(3, 3, 3, 3), (0, 3, 3, 3), (0, 2, 2, 2), (0, 0, 0, 0)]
    assert topic.end_offset(0) == 3


def test_a_group_joining_late_starts_after_what_every_group_committed_even_if_still_held():
    env, topic, first, counters, log = build(1, 1)
    for i in range(5):
        topic.publish(0, i)
    env.run(until=10)
    assert first.committed == [5] and len(topic._parts[0].log) == 5  # fewer than TRIM_BATCH: held
    assert topic.depth() == 0 and topic.retained(0) == 0
    late_log = []

    def handler(msg):
        late_log.append((env.now, msg.offset, msg.value))
        yield env.timeout(1)

    late = ConsumerGroup(env, topic, "late", 1, handler)
    late.start()
    assert late.committed == [5] and late.lag() == 0
    topic.publish(0, 5)
    env.run(until=20)
    assert late_log == [(10, 5, 5)]  # only the new record: the old ones were committed by all
    assert [offset for _, _, offset, _ in log] == [0, 1, 2, 3, 4, 5]


def test_trimming_keeps_memory_bounded_over_10k_messages():
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 4, metrics)

    def handler(msg):
        yield env.timeout(0.0005)

    group = ConsumerGroup(env, topic, "g", 2, handler, metrics=metrics)
    group.start()
    peak = []
    held = []  # records in memory, the committed ones not yet dropped included

    def producer():
        for i in range(10_000):
            topic.publish(i, None)
            peak.append(max(topic.retained(p) for p in range(4)))
            held.append(max(len(part.log) for part in topic._parts))
            yield env.timeout(0.001)

    env.process(producer())
    env.run()
    assert max(peak) == 1
    # dropped TRIM_BATCH at a time: up to TRIM_BATCH - 1 committed ones and the new one
    assert max(held) == TRIM_BATCH
    assert [topic.retained(p) for p in range(4)] == [0, 0, 0, 0]
    assert all(len(part.log) < TRIM_BATCH for part in topic._parts)
    assert group.committed == [2500] * 4
    assert metrics.counters["kafka.pay.delivered"] == 10_000
    assert metrics.counters["kafka.pay.redelivered"] == 0


def test_same_chaos_gives_the_same_timeline():
    def run():
        env, topic, group, counters, log = build(3, 3, session_timeout_s=4, rebalance_pause_s=2,
                                                 max_poll_interval_s=3)
        for i in range(60):
            at(env, i * 0.3, lambda i=i: topic.publish(i * 7, i))
        at(env, 2.2, lambda: group.crash(1))
        at(env, 3.1, lambda: group.stall(2, 6))
        at(env, 9.0, lambda: group.restart(1))
        at(env, 11.0, lambda: topic.set_available(False))
        at(env, 12.5, lambda: topic.set_available(True))
        env.run(until=80)
        return log, dict(counters), list(group.committed)

    first = run()
    assert first == run()
    log, counters, committed = first
    assert counters["kafka.pay.publish_failed"] == 5  # no producer retry in this scenario
    assert sum(committed) == counters["kafka.pay.published"] == 55  # everything consumed
    # session expiry at 6.2 (the expulsion at 6.6 and the restart at 9.0 fold into it), then
    # the zombie rejoins at 9.6
    assert counters["kafka.rebalances"] == 2
    assert counters["kafka.pay.redelivered"] == 2
    assert counters["kafka.commit_rejected"] == 1


def test_publish_all_appends_a_batch_in_order_and_an_outage_refuses_all_of_it():
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 2, metrics)
    log = []

    def handler(msg):
        log.append((env.now, msg.partition, msg.offset, msg.value))
        yield env.timeout(1)

    group = ConsumerGroup(env, topic, "g", 1, handler, metrics=metrics)
    group.start()
    # records of one batch go to their own partitions; the offset returned is the last record's
    assert topic.publish_all([(0, "a"), (1, "b"), (2, "c")]) == 1
    topic.set_available(False)
    assert topic.publish_all([(1, "x"), (3, "y")]) is None  # none of the batch is appended
    assert [topic.end_offset(p) for p in (0, 1)] == [2, 1]
    topic.set_available(True)
    env.run(until=5)
    # the idle workers woke at once for the batch; partition 0 handled its two records in turn
    assert log == [(0, 0, 0, "a"), (0, 1, 0, "b"), (1, 0, 1, "c")]
    assert metrics.counters["kafka.pay.published"] == 3
    assert metrics.counters["kafka.pay.publish_failed"] == 2


@pytest.mark.parametrize("through_group", [True, False])
def test_an_order_id_handler_processes_order_ids_and_rejects_anything_else(through_group):
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 1, metrics)
    log = []

    def process(order_id):
        log.append((env.now, "order", order_id))
        yield env.timeout(1)

    def reject(message):
        log.append((env.now, "poison", message.offset))
        return iter(())

    handler = OrderIdHandler(process, reject)
    if not through_group:  # the plain handler function: the same log through the generic path
        handler = lambda message, handler=handler: handler(message)  # noqa: E731
    group = ConsumerGroup(env, topic, "g", 1, handler, metrics=metrics)
    group.start()
    for value in (7, "poison", 8.0, 9):
        topic.publish(0, value)
    env.run(until=10)
    assert log == [(0, "order", 7), (1, "poison", 1), (1, "poison", 2), (1, "order", 9)]
    assert group.committed == [4]


def test_an_order_id_handler_whose_reject_raises_crashes_the_instance():
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 1, metrics)
    dlq = DeadLetterQueue()
    handled = []

    def process(order_id):
        handled.append((env.now, order_id))
        yield env.timeout(1)

    handler = consume_order_ids(process, dlq, "crash", "wallet", env, metrics.counters)
    group = ConsumerGroup(env, topic, "g", 1, handler, session_timeout_s=10, rebalance_pause_s=3,
                          metrics=metrics)
    group.start()
    for value in (1, "poison", 2):
        topic.publish(0, value)
    env.run(until=20)
    # raise at 1 (no wait: nothing to yield), restart at 11, rebalance pause to 14: poison again
    assert handled == [(0, 1)]
    assert isinstance(group.last_handler_error, PoisonPillError)
    assert metrics.counters["kafka.handler_crashes"] == 2
    assert metrics.counters["wallet.poison_pills"] == 2
    assert group.committed == [1] and dlq.entries == []


def build_pausing(instances: int = 2, **group_kwargs):
    """A one-partition group whose handler reads (0.5 s), passes the group's pause point, then
    acts (0.5 s), logging (now, offset, step)."""
    env = simpy.Environment()
    metrics = Metrics()
    topic = Topic(env, "pay", 1, metrics)
    log: list[tuple] = []
    group: ConsumerGroup

    def handler(msg: Message):
        log.append((env.now, msg.offset, "check"))
        yield env.timeout(0.5)
        yield from group.pause_point()
        log.append((env.now, msg.offset, "act"))
        yield env.timeout(0.5)

    group = ConsumerGroup(env, topic, "executor", instances, handler, metrics=metrics, **group_kwargs)
    group.handler_pauses = True
    group.start()
    return env, topic, group, _Live(metrics), log


def test_zombie_stalled_inside_its_handler_overlaps_the_next_owner():
    env, topic, group, counters, log = build_pausing(max_poll_interval_s=5, rebalance_pause_s=3, session_timeout_s=10)
    for _ in range(3):
        topic.publish(0, None)
    at(env, 0.2, lambda: group.stall(0, 10.2, in_handler=True))
    env.run(until=30)
    # Instance 0 checks offset 0 at 0 and hangs at its pause point 0.5 -> 10.7; expelled at 5.5,
    # pause to 8.5: instance 1 handles offset 0 again (8.5-9.5) while the zombie is still inside
    # its handler, then offsets 1 and 2. The zombie acts at 10.7, finishes at 11.2, its commit is
    # rejected and it rejoins (second rebalance: instance 1 finishes offset 2 at 11.5).
    assert log == [(0, 0, "check"), (8.5, 0, "check"), (9.0, 0, "act"), (9.5, 1, "check"), (10.0, 1, "act"),
                   (10.5, 2, "check"), (10.7, 0, "act"), (11.0, 2, "act")]
    assert counters["kafka.handler_stalls"] == 1
    assert counters["kafka.commit_rejected"] == 1
    assert counters["kafka.rebalances"] == 2
    assert counters["kafka.pay.redelivered"] == 1
    assert group.committed == [3]
    assert group.member_instances() == [0, 1]


def test_handler_stall_within_max_poll_interval_just_delays_and_passes_once():
    env, topic, group, counters, log = build_pausing(max_poll_interval_s=5)
    for _ in range(2):
        topic.publish(0, None)
    at(env, 0.2, lambda: group.stall(0, 4.0, in_handler=True))
    env.run(until=30)
    assert log == [(0, 0, "check"), (4.5, 0, "act"), (5.0, 1, "check"), (5.5, 1, "act")]
    assert counters["kafka.handler_stalls"] == 1
    assert counters["kafka.rebalances"] == 0


def test_handler_stall_without_a_pause_point_falls_as_the_handler_starts():
    env, topic, group, counters, log = build(1, 2, max_poll_interval_s=5, rebalance_pause_s=3, session_timeout_s=10)
    for _ in range(3):
        topic.publish(0, None)
    at(env, 0.5, lambda: group.stall(0, 10, in_handler=True))
    env.run(until=30)
    # Offset 0 handled 0-1 and committed; offset 1 hangs 1 -> 11 before its handler runs (expelled
    # at 6); instance 1 owns the partition at 9: offsets 1 and 2; the zombie handles offset 1 again
    # at 11, while the group still counts instance 1 its owner (12: commit rejected, rejoin).
    assert log == [(0, 0, 0, 0), (9, 0, 1, 1), (10, 0, 2, 1), (11, 0, 1, 1)]
    assert counters["kafka.handler_stalls"] == 1
    assert counters["kafka.commit_rejected"] == 1
    assert group.committed == [3]
