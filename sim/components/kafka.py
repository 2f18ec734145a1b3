"""Kafka topics and consumer groups: partitions, offsets, commits, rebalances, redelivery.

What is modelled (docs/design.md §6), and what each fault does:

- A :class:`Topic` has P partitions, each an append-only log with integer offsets; a message goes
  to partition ``key % P``, so order holds only within a partition. During a broker outage
  ``publish`` returns ``None``: the producer retries; publishing twice *is* a producer duplicate.
- A :class:`ConsumerGroup` of N instances splits the partitions round-robin over its sorted live
  members. Each assigned partition has one long-lived worker process; partitions run concurrently.
  ``commit="after"`` (at-least-once): handle, then commit offset+1. ``commit="before"``
  (at-most-once): commit, then handle, so a crash mid-handling loses that message.
- ``crash``: the instance's workers are interrupted at once (the handler is abandoned mid-way);
  the group notices after ``session_timeout_s`` and rebalances. A rebalance is eager: every worker
  finishes its current message and commits, the group pauses ``rebalance_pause_s``, partitions
  are reassigned, and new workers start from the *committed* offset, so a message handled but not
  committed is delivered again.
- ``stall``: the instance's workers hang at their next commit point. Past ``max_poll_interval_s``
  the instance is expelled (rebalance); when it wakes its commit is rejected and it rejoins.
- ``stall(..., in_handler=True)`` (a *zombie*): the instance hangs inside a handler, at the
  handler's :meth:`ConsumerGroup.pause_point` (the executor: after its claim's check, before
  acting on it and calling the PSP), or as the handler starts when it has none. Past ``max_poll_interval_s`` it is
  expelled; the partition's next owner handles the same uncommitted record while the zombie is
  still inside its handler; the zombie then finishes it, and its commit is rejected.
- A handler exception (an uncaught poison pill) crashes its instance, which restarts after the
  session timeout and meets the same message again: the partition is blocked for good.

Cost: per message, a ``Message`` and the events the handler yields; an idle worker waits on one
shared per-partition event. Messages committed by every group are dropped from memory a few at
a time (:data:`TRIM_BATCH`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Final

import simpy

from sim.kernel.engine import Engine
from sim.kernel.scheduling import Wait, Waitable, call_after, clock, engine_of, until_fired, wake_up
from sim.observe.metrics import Count, Metrics

Handler = Callable[["Message"], Generator[Waitable, Any, Any]]

TRIM_BATCH: Final = 8
"""A commit drops what every group has committed only once this many messages may have piled up:
trimming at every commit cost a call per message. A partition holds at most 7 such stale records
(memory, and what the end-of-run card-data scan walks, stay small)."""


@dataclass
class Message:
    """One record of a partition log. (A plain dataclass with an ``__init__`` of its own: compiled,
    a class with fixed fields built by a native call; the dataclass's generated ``__init__``, or
    ``slots=True``, would keep a Python frame or a Python class on every record.)"""

    topic: str
    partition: int
    offset: int
    key: int
    value: Any
    produced_at: float

    def __init__(self, topic: str, partition: int, offset: int, key: int, value: Any, produced_at: float) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.produced_at = produced_at


class OrderIdHandler(NamedTuple):
    """A :data:`Handler` for a topic whose values are order ids, in two parts: ``process(order_id)``
    for an ``int`` value, ``reject(message)`` for anything else (a poison pill). A partition worker
    calls ``process`` itself: a Python frame less per message than a handler function that checks
    the value and returns ``process(value)``. Calling it is that handler function."""

    process: Callable[[int], Iterator[Any]]
    reject: Callable[["Message"], Iterator[Any]]

    def __call__(self, message: Message) -> Iterator[Any]:
        value = message.value
        return self.process(value) if type(value) is int else self.reject(message)


class _Partition:
    """An append-only log; offsets below ``base`` were committed by every group and dropped (a
    few more may be committed by every group and not dropped yet: see :data:`TRIM_BATCH`)."""

    __slots__ = ("log", "base", "end", "wake")

    def __init__(self) -> None:
        self.log: deque[Message] = deque()
        self.base = 0  # offset of log[0]
        self.end = 0  # offset the next message gets
        self.wake: Wait | None = None  # fired by the next publish, if someone waits


class Topic:
    """A Kafka topic: P partitions, each an append-only log with integer offsets."""

    def __init__(
        self, env: simpy.Environment, name: str, partitions: int, metrics: Metrics | None = None
    ) -> None:
        if partitions < 1:
            raise ValueError(f"topic {name!r}: partitions must be >= 1, got {partitions}")
        self.env = env
        self._engine: Engine | None = engine_of(env)
        """The engine, to read the time from (see ``engine_of``); None on a plain SimPy environment."""
        self.name = name
        self.partition_count = partitions
        self.available = True
        self._parts = [_Partition() for _ in range(partitions)]
        self._groups: list[ConsumerGroup] = []
        self._recovered: simpy.Event | None = None
        self._counters: dict[str, int] = metrics.counters if metrics is not None else Counter()
        self._c_published = f"kafka.{name}.published"
        self._published: Count = metrics.count(self._c_published) if metrics is not None else Count()
        self._c_failed = f"kafka.{name}.publish_failed"

    def set_available(self, up: bool) -> None:
        """Start (``False``) or end (``True``) a broker outage; recovery wakes waiting consumers.
        Commits and rebalances still go through during an outage (a simplification)."""
        self.available = up
        if up and self._recovered is not None:
            event, self._recovered = self._recovered, None
            event.succeed()

    def publish(self, key: int, value: object) -> int | None:
        """Append to partition ``key % P`` at ``env.now``; the offset, or ``None`` when the broker
        is unavailable (the producer must retry; producer duplicates are simply the caller
        publishing twice)."""
        return self.publish_all(((key, value),))

    def publish_all(self, records: Sequence[tuple[int, object]]) -> int | None:
        """Append ``(key, value)`` records in order, each to partition ``key % P``, at ``env.now``
        (one producer batch: the broker takes all of it or, when unavailable, none); the offset of
        the last record, or ``None``. One call per batch: a producer's batch is the hot path."""
        counters = self._counters
        if not self.available:
            counters[self._c_failed] += len(records)
            return None
        env = self.env
        engine = self._engine
        now = engine.now if engine is not None else clock(env)
        name = self.name
        parts = self._parts
        count = self.partition_count
        for key, value in records:
            p = key % count
            part = parts[p]
            offset = part.end
            part.log.append(Message(name, p, offset, key, value, now))
            part.end = offset + 1
            wake = part.wake
            if wake is not None:
                part.wake = None
                wake_up(env, wake)
        self._published.n += len(records)  # (never empty: ``offset`` would be unbound)
        return offset

    def end_offset(self, partition: int) -> int:
        """The offset the next message of ``partition`` will get."""
        return self._parts[partition].end

    def depth(self) -> int:
        """Messages appended but not yet committed by the slowest group, summed over partitions
        (every message ever published when no group subscribes)."""
        return sum(self.retained(p) for p in range(self.partition_count))

    def retained(self, partition: int) -> int:
        """Messages of ``partition`` the broker must keep: not yet committed by every group (its
        share of ``depth``; memory holds up to ``TRIM_BATCH - 1`` more until the next trim)."""
        return self._parts[partition].end - self._low(partition)

    def _low(self, p: int) -> int:
        """The first offset of partition ``p`` some group has not committed (its end when every
        group has): what a new group starts from."""
        if not self._groups:
            return self._parts[p].base
        return min(group.committed[p] for group in self._groups)

    def _recovery(self) -> simpy.Event:
        """The event a consumer waits on during an outage."""
        if self._recovered is None:
            self._recovered = self.env.event()
        return self._recovered

    def _trim(self, p: int) -> None:
        """Drop messages of partition ``p`` that every group has committed. Called by a commit
        only once :data:`TRIM_BATCH` committed messages may have piled up."""
        low = self._low(p)
        part = self._parts[p]
        base = part.base
        if low > base:
            popleft = part.log.popleft
            while base < low:
                popleft()
                base += 1
            part.base = low


class _Worker:
    """One partition consumed by one instance, for one assignment (until the next rebalance)."""

    __slots__ = ("instance", "partition", "proc", "idle", "gone", "stopping", "stall_s")

    def __init__(self, instance: int, partition: int, stall_s: float) -> None:
        self.instance = instance
        self.partition = partition
        self.proc: simpy.Process | None = None
        self.idle = False  # waiting for data or recovery: safe to interrupt
        self.gone = False  # interrupted by us (crash, revoke while idle): exit, never commit
        self.stopping = False  # rebalance: finish the current message, commit, exit
        self.stall_s = stall_s  # hang this long at the next commit point


class ConsumerGroup:
    """N instances sharing a topic's partitions, with Kafka's commit, crash and rebalance rules."""

    def __init__(
        self,
        env: simpy.Environment,
        topic: Topic,
        name: str,
        instances: int,
        handler: Handler | OrderIdHandler,
        *,
        commit: Literal["after", "before"] = "after",
        rebalance_pause_s: float = 3.0,
        session_timeout_s: float = 10.0,
        max_poll_interval_s: float = 300.0,
        max_poll_records: int = 1,
        metrics: Metrics | None = None,
    ) -> None:
        if instances < 1:
            raise ValueError(f"consumer group {name!r}: instances must be >= 1, got {instances}")
        if commit not in ("after", "before"):
            raise ValueError(f"consumer group {name!r}: commit must be 'after' or 'before'")
        for label, value in (
            ("rebalance_pause_s", rebalance_pause_s),
            ("session_timeout_s", session_timeout_s),
            ("max_poll_interval_s", max_poll_interval_s),
        ):
            if value < 0:
                raise ValueError(f"consumer group {name!r}: {label} must be >= 0, got {value}")
        self.env = env
        self.topic = topic
        self.name = name
        self.instances = instances
        self.handler = handler
        self.commit = commit
        self.rebalance_pause_s = rebalance_pause_s
        self.session_timeout_s = session_timeout_s
        self.max_poll_interval_s = max_poll_interval_s
        if max_poll_records < 1:
            raise ValueError(f"consumer group {name!r}: max_poll_records must be >= 1, got {max_poll_records}")
        self.max_poll_records = max_poll_records
        """Messages fetched per poll; with commit="before" a crash loses the rest of the poll."""
        partitions = topic.partition_count
        # A new group starts at the earliest offset some group has not committed (still held).
        self.committed: list[int] = [topic._low(p) for p in range(partitions)]
        self.assignment: list[int | None] = [None] * partitions  # the group's view: owner or None
        self.rebalances = 0
        self.last_handler_error: BaseException | None = None
        self._before = commit == "before"
        self._high = list(self.committed)  # first never-delivered offset, per partition
        self._workers: list[_Worker | None] = [None] * partitions  # current owners
        self._owned = 0  # non-None entries of _workers
        self._running: list[_Worker] = []  # every worker process alive, owners and zombies
        self._alive = [True] * instances  # the process runs
        self._member = [True] * instances  # the coordinator counts it in the group
        self._incarnation = [0] * instances  # bumped by crash and restart
        self._pending_stall = [0.0] * instances  # a stall asked while the instance owned nothing
        self._handler_stall = [0.0] * instances  # a stall inside the next handler to reach its pause point
        self._handler_stalls = 0  # instances with a handler stall armed (0: pause points cost one check)
        self.handler_pauses = False
        """The handler calls :meth:`pause_point` (set by whoever wires one): a handler stall waits
        for it; otherwise it falls as the handler starts."""
        self._dirty = False  # a rebalance was asked for
        self._coord_wake: simpy.Event | None = None
        self._stopped: simpy.Event | None = None  # triggered when the last owner exits
        self._started = False
        self._metrics = metrics
        self._counters: dict[str, int] = metrics.counters if metrics is not None else Counter()
        self._c_delivered = f"kafka.{topic.name}.delivered"
        self._delivered: Count = metrics.count(self._c_delivered) if metrics is not None else Count()
        self._c_redelivered = f"kafka.{topic.name}.redelivered"
        topic._groups.append(self)

    # ----------------------------------------------------------------------------- public

    def start(self) -> None:
        """Initial assignment, without a rebalance pause."""
        if self._started:
            raise RuntimeError(f"consumer group {self.name!r} was already started")
        self._started = True
        self.env.process(self._coordinate())  # type: ignore[arg-type]  # (SimPy's types know no Wait)
        self._assign()

    def crash(self, instance: int) -> None:
        """Kill ``instance`` now: its handlers are abandoned; the group notices after the
        session timeout. A no-op on a dead instance."""
        self._check(instance)
        if not self._alive[instance]:
            return
        self._alive[instance] = False
        self._incarnation[instance] += 1
        self._pending_stall[instance] = 0.0
        self._disarm(instance)
        incarnation = self._incarnation[instance]
        me = self.env.active_process
        for w in self._running:
            if w.instance == instance and not w.gone:
                w.gone = True
                if self._workers[w.partition] is w:
                    self._release(w)
                if w.proc is not me:
                    w.proc.interrupt("crash")  # type: ignore[union-attr]
        self._after(self.session_timeout_s, lambda: self._session_expired(instance, incarnation))

    def restart(self, instance: int) -> None:
        """Bring a crashed instance back (no memory of before); it rejoins at once, which
        rebalances. A no-op on a live instance."""
        self._check(instance)
        if self._alive[instance]:
            return
        self._alive[instance] = True
        self._incarnation[instance] += 1
        self._member[instance] = False  # a restarted consumer joins as a new member, even before
        self._join(instance)            # its old session timed out: that always rebalances

    def stall(self, instance: int, duration_s: float, in_handler: bool = False) -> None:
        """Make ``instance`` hang ``duration_s`` at its workers' next commit point (a slow
        downstream, a GC pause). Longer than ``max_poll_interval_s`` (counted from the start of
        the hang) gets it expelled. If it owns nothing now, the stall applies to the workers of
        its next assignment. ``in_handler``: the first of its workers to reach a pause point
        inside its handler hangs there instead (see :meth:`pause_point`): a zombie consumer."""
        self._check(instance)
        if duration_s <= 0 or not self._alive[instance]:
            return
        if in_handler:
            if not self._handler_stall[instance]:
                self._handler_stalls += 1
            self._handler_stall[instance] = duration_s
            return
        armed = False
        for w in self._workers:
            if w is not None and w.instance == instance:
                w.stall_s = duration_s
                armed = True
        if not armed:
            self._pending_stall[instance] = duration_s

    def pause_point(self) -> Generator[Waitable, Any, None]:
        """Called by a handler where a stall inside it matters (between reading a state and acting
        on it): hangs when the calling worker's instance has a handler stall armed, else returns at
        once. Only the group's own workers can hang here; another process passes through."""
        if not self._handler_stalls:
            return
        me = self.env.active_process
        for w in self._running:
            if w.proc is me and not w.gone:
                yield from self._handler_hang(w)
                return

    def _handler_hang(self, w: _Worker) -> Generator[Waitable, Any, None]:
        """Take ``w``'s instance's armed handler stall, if any, and hang it inside the handler."""
        duration = self._handler_stall[w.instance]
        if not duration:
            return
        self._disarm(w.instance)
        self._counters["kafka.handler_stalls"] += 1
        yield from self._hang_for(w, duration)

    def _disarm(self, instance: int) -> None:
        if self._handler_stall[instance]:
            self._handler_stall[instance] = 0.0
            self._handler_stalls -= 1

    def lag(self) -> int:
        """Sum over partitions of end offset minus committed offset."""
        return sum(part.end - c for part, c in zip(self.topic._parts, self.committed))

    def live_instances(self) -> list[int]:
        """Instances whose process runs (not crashed), in order."""
        return [i for i in range(self.instances) if self._alive[i]]

    def member_instances(self) -> list[int]:
        """Instances the group coordinator currently counts as members, in order."""
        return [i for i in range(self.instances) if self._member[i]]

    # ----------------------------------------------------------------------------- workers

    def _work(self, w: _Worker) -> Generator[Waitable, Any, None]:
        """Consume one partition from the committed offset until revoked, crashed or fenced."""
        p = w.partition
        topic = self.topic
        part = topic._parts[p]
        handler = self.handler
        process = handler.process if isinstance(handler, OrderIdHandler) else None
        before = self._before
        counters = self._counters
        delivered, c_redelivered = self._delivered, self._c_redelivered
        high = self._high
        committed = self.committed
        owners = self._workers
        pos = committed[p]
        poll_end = pos  # offset after the last record of the current poll
        batch: list[Message] = []  # commit="before": the poll, committed (maybe trimmed) before handling
        batch_start = pos
        max_poll = self.max_poll_records
        try:
            while not w.stopping:
                if pos == poll_end:  # poll: fetch up to max_poll_records messages
                    if not topic.available:
                        w.idle = True
                        yield topic._recovery()
                        w.idle = False
                        continue
                    end = part.end
                    if pos >= end:
                        w.idle = True
                        wake = part.wake
                        if wake is None:
                            wake = part.wake = until_fired()
                        yield wake
                        w.idle = False
                        continue
                    poll_end = pos + max_poll if pos + max_poll < end else end
                    if before:  # auto-commit style: the whole poll is committed before processing
                        start = pos - part.base
                        batch = [part.log[start + i] for i in range(poll_end - pos)]
                        batch_start = pos
                        if w.stall_s:
                            yield from self._hang(w)
                        if not self._may_commit(w):
                            return
                        committed[p] = poll_end
                        if poll_end - part.base >= TRIM_BATCH:
                            topic._trim(p)
                # commit="after": the record is still held (nothing past the committed offset is trimmed)
                msg = batch[pos - batch_start] if before else part.log[pos - part.base]
                pos += 1
                delivered.n += 1
                if pos <= high[p]:
                    counters[c_redelivered] += 1
                else:
                    high[p] = pos
                if self._handler_stalls and not self.handler_pauses:  # a zombie: hangs as the handler starts
                    yield from self._handler_hang(w)
                try:
                    if process is None:
                        yield from handler(msg)
                    else:  # ``handler(msg)``, without its frame
                        value = msg.value
                        yield from process(value) if type(value) is int else handler.reject(msg)  # type: ignore[union-attr]
                except simpy.Interrupt:
                    raise
                except Exception as exc:  # an uncaught poison pill crashes the instance
                    self._handler_failed(w, exc)
                    return
                if w.gone:  # crashed while the handler swallowed the interrupt
                    return
                if not before:
                    if w.stall_s:
                        yield from self._hang(w)
                    if owners[p] is not w and not self._may_commit(w):
                        return
                    committed[p] = pos
                    if pos - part.base >= TRIM_BATCH:
                        topic._trim(p)
        except simpy.Interrupt as exc:
            if not w.gone:  # not sent by us: something the handler waited on was interrupted
                self._handler_failed(w, exc)
        finally:
            self._exit(w)

    def _hang(self, w: _Worker) -> Generator[Waitable, Any, None]:
        """A stall at the commit point."""
        duration, w.stall_s = w.stall_s, 0.0
        yield from self._hang_for(w, duration)

    def _hang_for(self, w: _Worker, duration: float) -> Generator[Waitable, Any, None]:
        """Hang ``w`` for ``duration``; past max.poll.interval its instance is expelled."""
        limit = self.max_poll_interval_s
        if duration > limit:
            yield self.env.timeout(limit)
            if self._workers[w.partition] is w:
                self._expel(w.instance)
            yield self.env.timeout(duration - limit)
        else:
            yield self.env.timeout(duration)

    def _may_commit(self, w: _Worker) -> bool:
        """Whether ``w`` still owns its partition; a fenced zombie's commit is rejected."""
        if w.gone:  # defensive: crashed without the interrupt reaching us
            return False
        if self._workers[w.partition] is not w:
            self._counters["kafka.commit_rejected"] += 1
            self._join(w.instance)
            return False
        return True

    def _handler_failed(self, w: _Worker, exc: BaseException) -> None:
        """Crash the instance of a worker whose handler raised; restart it after the timeout."""
        self._counters["kafka.handler_crashes"] += 1
        self.last_handler_error = exc
        instance = w.instance
        if not self._alive[instance]:
            return
        self.crash(instance)
        incarnation = self._incarnation[instance]
        self._after(self.session_timeout_s, lambda: self._auto_restart(instance, incarnation))

    def _exit(self, w: _Worker) -> None:
        self._running.remove(w)
        if self._workers[w.partition] is w:
            self._release(w)

    def _release(self, w: _Worker) -> None:
        """Take the partition away from ``w``; wake the rebalance when no owner is left."""
        self._workers[w.partition] = None
        self._owned -= 1
        if self._owned == 0 and self._stopped is not None:
            event, self._stopped = self._stopped, None
            event.succeed()

    # ----------------------------------------------------------------------------- membership

    def _session_expired(self, instance: int, incarnation: int) -> None:
        if self._incarnation[instance] == incarnation and self._member[instance]:
            self._member[instance] = False
            self._request_rebalance()

    def _auto_restart(self, instance: int, incarnation: int) -> None:
        if self._incarnation[instance] == incarnation:
            self.restart(instance)

    def _expel(self, instance: int) -> None:
        """max.poll.interval exceeded: the instance leaves the group; its workers are fenced."""
        self._member[instance] = False
        for w in self._running:
            if w.instance == instance and self._workers[w.partition] is w:
                self._release(w)
                if w.idle:
                    w.gone = True
                    w.proc.interrupt("expelled")  # type: ignore[union-attr]
        self._request_rebalance()

    def _join(self, instance: int) -> None:
        """A live instance outside the group (re)joins it, which rebalances."""
        if self._alive[instance] and not self._member[instance]:
            self._member[instance] = True
            self._request_rebalance()

    def _request_rebalance(self) -> None:
        self._dirty = True
        if self._coord_wake is not None:
            event, self._coord_wake = self._coord_wake, None
            event.succeed()

    def _coordinate(self) -> Generator[Waitable, Any, None]:
        """Run eager rebalances: revoke all, wait for in-flight messages, pause, reassign.
        Membership changes during a rebalance are folded into its assignment."""
        env = self.env
        while True:
            if not self._dirty:
                self._coord_wake = env.event()
                yield self._coord_wake
            self.rebalances += 1
            self._counters["kafka.rebalances"] += 1
            if self._metrics is not None:
                self._metrics.series.count("kafka.rebalances", clock(env))
            for p in range(self.topic.partition_count):
                self.assignment[p] = None
            for w in self._workers:
                if w is None:
                    continue
                w.stopping = True
                if w.idle:
                    w.gone = True
                    self._release(w)
                    w.proc.interrupt("revoked")  # type: ignore[union-attr]
            if self._owned:
                self._stopped = env.event()
                yield self._stopped
            yield env.timeout(self.rebalance_pause_s)
            self._dirty = False
            self._assign()

    def _assign(self) -> None:
        """Round-robin over sorted members; a member that is dead but not yet noticed gets its
        partitions and leaves them idle until its session times out."""
        members = self.member_instances()
        if not members:
            return
        count = len(members)
        for p in range(self.topic.partition_count):
            instance = members[p % count]
            self.assignment[p] = instance
            if self._alive[instance]:
                w = _Worker(instance, p, self._pending_stall[instance])
                self._workers[p] = w
                self._owned += 1
                self._running.append(w)
                w.proc = self.env.process(self._work(w))  # type: ignore[arg-type]  # (SimPy's types know no Wait)
        for instance in members:
            self._pending_stall[instance] = 0.0

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        """Call ``action`` ``delay`` seconds from now (no process)."""
        call_after(self.env, delay, lambda _event: action())

    def _check(self, instance: int) -> None:
        if not self._started:
            raise RuntimeError(f"consumer group {self.name!r}: call start() first")
        if not 0 <= instance < self.instances:
            last = self.instances - 1
            raise ValueError(f"consumer group {self.name!r}: instance {instance} not in 0..{last}")
