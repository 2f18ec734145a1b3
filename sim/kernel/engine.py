"""The event loop the model runs on: SimPy's environment with a two-heap event queue and
``run(until=t)`` in one loop.

**The queue.** SimPy keeps every pending event in one heap of ``(time, priority, event id,
event)`` tuples, and every heap comparison is a tuple comparison (an equality test, then an order
test). The model keeps ~60 events pending, almost all of them long waits (webhook retries, PENDING
polls, slow bank answers), while nearly every event it runs was scheduled a few milliseconds
earlier. :class:`Engine` puts events scheduled less than :data:`NEAR_S` ahead on SimPy's heap (the
near heap, a handful of entries) and the others on a far heap, and pops whichever head comes first
in SimPy's order (time, then priority, then event id): the same order as one heap, with a third of
the comparisons (~6% of a run). Compiled, both heaps hold :class:`sim.kernel.queue.Entry` objects
ordered by compiled comparisons, not SimPy's tuples (see :mod:`sim.kernel.queue`), and events
:data:`DISTANT_S` or more ahead wait on a third heap until they are due next (a day piles up tens of
thousands of sleeping refunds and chargebacks; the far heap keeps the next minute's few hundred).

**The loop.** SimPy's ``run`` calls ``step()`` once per event; ``run(until=<time>)`` here pops and
fires events itself, with SimPy's rules: the stop event is scheduled and put back as SimPy does
(same event ids, urgent priority, so events at exactly ``until`` do not run), callbacks run in
order, and a failed event nobody defused crashes the run. ``run()`` without a time, or until an
event, is SimPy's own loop over :meth:`Engine.step`.

``now`` is a plain attribute here, set with SimPy's ``_now`` wherever the clock moves: the model
reads the time ~10 times a payment, and SimPy's ``now`` is a property call.

SimPy internals this relies on: its ``_queue`` (touched only by ``schedule``, ``peek`` and
``step``, all overridden here, and by :mod:`sim.kernel.scheduling`; empty when compiled), ``_eid``
and ``_now``.
Re-run ``tests/test_engine.py`` and the results digests on any SimPy upgrade.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count
from types import MethodType
from typing import Any, Callable

import simpy
from simpy.core import EmptySchedule, Infinity, StopSimulation
import simpy.events
from typing import Final

from sim.kernel import queue as native_queue
from sim.kernel.light import Light, run_callbacks
from sim.kernel.process import Process
from sim.kernel.queue import order_of


_heappush: Final = heappush
_heappop: Final = heappop
"""``heapq``'s functions as constants: compiled, a C static each (a module-global name is a
dictionary lookup on every call, twice an event)."""

_INFINITY: Final = Infinity
"""SimPy's infinity (no event), as a constant."""

URGENT: Final = 0
NORMAL: Final = 1
"""SimPy's two priorities, as constants compiled code folds in (SimPy's are module names it would
look up on every use)."""
assert (URGENT, NORMAL) == (simpy.events.URGENT, simpy.events.NORMAL)
_BEFORE_URGENT = -1

NEAR_S: Final = 0.05
"""Events scheduled less than this ahead go to the near heap, the others to the far heap. Any
value gives the same order; this one gives the fewest comparisons on the baseline's latencies
(0.01 s and 1 s cost ~1.5% and ~4% more instructions per payment)."""

DISTANT_S: Final = 60.0
"""Compiled: events scheduled this far ahead or more go to a third heap, the distant one, and move
to the far heap when its head is no later than the far heap's. Refunds and chargebacks sleep for
minutes to days, so a long day piles up tens of thousands of them; kept apart, the far heap holds
only the next minute's few hundred events and stays in the CPU's cache. Any value gives the same
order (the distant head moves before anything later can be popped)."""

Entry = tuple[float, int, int, Any]
"""A queue entry, SimPy's (time, priority, event id, event): the event a SimPy event or one of the
kernel's light events (:mod:`sim.kernel.scheduling`), which SimPy's loop takes alike, so ``Any``
(compiled, a narrower type would be checked on every pop)."""


class Engine(simpy.Environment):
    """A ``simpy.Environment`` with a two-heap event queue and a ``run(until=<time>)`` that does
    not call ``step`` per event."""

    process: Callable[[Any], Process]  # type: ignore[assignment]  # an attribute over SimPy's BoundClass alias
    """``env.process(generator)`` starts a :class:`sim.kernel.process.Process` (SimPy's, resumed by
    compiled code)."""
    timeout: Callable[..., simpy.Timeout]  # type: ignore[assignment]
    event: Callable[[], simpy.Event]  # type: ignore[assignment]
    """SimPy's aliases, bound to this environment once in ``__init__`` as SimPy binds its own
    (``BoundClass.bind_early``, which sees only the class's own namespace, so without these a
    subclass pays a descriptor call and a new bound method on every ``env.timeout``)."""

    _now: float
    _queue: list[Any]
    _active_proc: Any
    """SimPy's own state, declared so that compiled code reads and writes it as fields of the
    engine, not through the instance's ``__dict__`` (the clock moves ~14 times a payment, and the
    running process is set and cleared on every resume)."""

    _next_eid: int = 0
    """The id the next scheduled event takes: SimPy's ``_eid`` counter as a plain int (compiled,
    an unboxed field; ``next`` on an ``itertools.count`` is a call through the builtins module)."""

    @property
    def _eid(self) -> count[int]:
        """SimPy's event-id counter, for code that reads it as SimPy's (``next(env._eid)``: the
        id the next event takes; reading does not take it)."""
        return count(self._next_eid)

    @_eid.setter
    def _eid(self, ids: count[int]) -> None:
        self._next_eid = next(ids)  # (SimPy's ``__init__`` sets a fresh ``count()``)

    now: float = 0.0
    """The current time: a plain attribute kept equal to SimPy's ``_now`` (which SimPy's own code
    reads and writes), not SimPy's property, whose call the model pays ~10 times a payment."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.process = MethodType(Process, self)
        self.timeout = MethodType(simpy.Timeout, self)
        self.event = MethodType(simpy.Event, self)
        self.now = self._now
        self._far: list[Entry] = []
        """SimPy's queue entries scheduled :data:`NEAR_S` or more ahead (SimPy's ``_queue`` holds
        the others)."""
        self._far_next = _INFINITY
        """The time of the first entry of ``_far`` (infinity when it is empty)."""
        self._native = native_queue.COMPILED
        """Compiled: the heaps are ``_near`` and ``_far_entries``, of :class:`sim.kernel.queue.Entry`
        (SimPy's ``_queue`` and ``_far`` stay empty); as Python, SimPy's tuples and ``heapq``."""
        self._near: list[native_queue.Entry] = []
        self._far_entries: list[native_queue.Entry] = []
        self._distant: list[native_queue.Entry] = []
        """Compiled: entries scheduled :data:`DISTANT_S` or more ahead, later than every entry of
        the far heap (each moves there, see :meth:`_bring_distant`, before one that is not)."""
        self._distant_next = _INFINITY
        """The time of the first entry of ``_distant`` (infinity when it is empty)."""
        self._spare: list[native_queue.Entry] = []
        """Compiled: popped entries for :meth:`schedule` to fill again (an allocation and a free
        saved per event), the first ``_spares`` of them free (a stack by index: popping and
        appending would resize the list back and forth)."""
        self._spares = 0

    def schedule(self, event: Any, priority: int = NORMAL, delay: float = 0) -> None:
        """SimPy's ``schedule``, onto the near or the far heap."""
        eid = self._next_eid
        self._next_eid = eid + 1
        if self._native:
            spares = self._spares
            if spares:  # an entry popped earlier, reused: no allocation and free (~250 instructions)
                spares -= 1
                self._spares = spares
                native = self._spare[spares]
                native.at = self._now + delay
                native.order = order_of(priority, eid)
                native.event = event
            else:
                native = native_queue.Entry(self._now + delay, order_of(priority, eid), event)
            if delay < NEAR_S:
                native_queue.push(self._near, native)
            elif delay < DISTANT_S:
                far_entries = self._far_entries
                native_queue.push(far_entries, native)
                self._far_next = far_entries[0].at
            else:
                distant = self._distant
                native_queue.push(distant, native)
                self._distant_next = distant[0].at
            return
        entry: Entry = (self._now + delay, priority, eid, event)
        if delay < NEAR_S:
            near: list[Any] = self._queue  # (SimPy types it as a list of Event entries)
            _heappush(near, entry)
        else:
            far = self._far
            _heappush(far, entry)
            self._far_next = far[0][0]

    def peek(self) -> float:
        if self._native:
            near = self._near
            first = min(self._far_next, self._distant_next)
            return min(near[0].at, first) if near else first
        queue = self._queue
        return min(queue[0][0], self._far_next) if queue else self._far_next

    def _pop_native(self) -> tuple[float, Any]:
        """The time and event of the next entry in SimPy's order (IndexError when every heap is
        empty): first the distant heap's due entries move to the far heap (:meth:`_bring_distant`),
        then the earlier of the near and far heaps' heads is popped."""
        if self._distant_next <= self._far_next:
            self._bring_distant()
        near = self._near
        far = self._far_entries
        if near:
            head = near[0]
            if head.at < self._far_next or (head.at == self._far_next and native_queue.before(head, far[0])):
                native_queue.pop(near)
                return head.at, self._spared(head)
        entry = native_queue.pop(far)
        self._far_next = far[0].at if far else _INFINITY
        return entry.at, self._spared(entry)

    def _bring_distant(self) -> None:
        """Move the distant heap's head to the far heap while it is no later than the far heap's
        (ties included): afterwards every distant entry is later than the far heap's head, so the
        near and far heads hold the next event in SimPy's order."""
        distant = self._distant
        far = self._far_entries
        while distant and distant[0].at <= self._far_next:
            native_queue.push(far, native_queue.pop(distant))
            self._far_next = far[0].at
        self._distant_next = distant[0].at if distant else _INFINITY

    def _spared(self, entry: native_queue.Entry) -> Any:
        """The event of a popped entry; the entry (its event let go) goes to the spares that
        :meth:`schedule` reuses. At most as many spares as entries were ever queued at once."""
        event = entry.event
        entry.event = None
        spare = self._spare
        spares = self._spares
        if spares < len(spare):
            spare[spares] = entry
        else:
            spare.append(entry)
        self._spares = spares + 1
        return event

    def _pop(self) -> Entry:
        """The first entry of both heaps: SimPy's order (time, priority, event id)."""
        queue: list[Entry] = self._queue  # (SimPy types it as a list of Event entries)
        far = self._far
        if queue:
            at = queue[0][0]
            if at < self._far_next or (at == self._far_next and queue[0] < far[0]):
                return _heappop(queue)  # type: ignore[no-any-return]
        entry: Entry = _heappop(far)
        self._far_next = far[0][0] if far else _INFINITY
        return entry

    def step(self) -> None:
        """SimPy's step on the two heaps."""
        try:
            if self._native:
                now, event = self._pop_native()
            else:
                now, _, _, event = self._pop()
        except IndexError:
            raise EmptySchedule() from None
        self._now = self.now = now
        callbacks, event.callbacks = event.callbacks, None
        run_callbacks(callbacks, event)
        if not event._ok and not hasattr(event, "_defused"):
            raise _failure(event)

    def run(self, until: Any = None) -> Any:
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        if isinstance(until, Process):
            return self._run_until_process(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = simpy.Event(self)
        stop._ok = True
        stop._value = None
        self.schedule(stop, URGENT, at - self._now)
        queue: list[Entry] = self._queue  # (SimPy types it as a list of Event entries)
        far = self._far
        native = self._native
        entry: Entry
        while True:
            # never empty: ``stop`` is queued
            if native:
                now, event = self._pop_native()
            else:
                # _pop, inlined. Entries typed: their fields are read unboxed, not through
                # generic item lookups and comparisons.
                if queue and (queue[0][0] < self._far_next or (queue[0][0] == self._far_next and queue[0] < far[0])):
                    entry = _heappop(queue)
                else:
                    entry = _heappop(far)
                    self._far_next = far[0][0] if far else _INFINITY
                now = entry[0]
                event = entry[3]
            self._now = self.now = now
            if event is stop:
                # SimPy's stop callback raises StopSimulation inside step(), which puts the stop
                # event back, urgent and without callbacks (it takes an event id, and the next
                # run pops it first): the same here, so every later event id matches SimPy's.
                stop.callbacks = []
                self.schedule(stop, _BEFORE_URGENT)
                return None
            if isinstance(event, Light):  # (never fails; its fields read directly)
                callbacks = event.callbacks
                event.callbacks = None
                if native:
                    run_callbacks(callbacks, event)
                else:  # (as Python, a call per event would cost more than the loop it saves)
                    for callback in callbacks:
                        callback(event)
                continue
            callbacks, event.callbacks = event.callbacks, None
            if native:
                run_callbacks(callbacks, event)
            else:
                for callback in callbacks:
                    callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                raise _failure(event)

    def _run_until_process(self, until: Process) -> Any:
        """SimPy's ``run(until=event)`` for one of the kernel's processes (not a ``simpy.Event``,
        which SimPy's ``run`` would take for a time): step until it ends, return its value."""
        if until.callbacks is None:
            return until.value
        until.callbacks.append(StopSimulation.callback)
        try:
            while True:
                self.step()
        except StopSimulation as stop:
            return stop.args[0]
        except EmptySchedule:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') from None


def _failure(event: simpy.Event) -> BaseException:
    """What a failed event nobody defused crashes the run with, as SimPy's ``step``: a copy of its
    exception (a new traceback), caused by the original."""
    exc = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    return exc
