"""The event loop the model runs on: SimPy's environment with ``run(until=t)`` in one loop.

SimPy's ``run`` calls ``step()`` once per event; the model runs ~15 events per payment, so that
call is a measurable share of a run. :class:`Engine` pops and fires events in ``run`` itself, with
SimPy's exact rules: the stop event is scheduled and put back as SimPy does (same event ids,
urgent priority, so events at exactly ``until`` do not run), callbacks run in order, and a failed event
nobody defused crashes the run. Anything else (``step``, ``run()`` without a time, ``run`` until an
event) is SimPy's own code.

``now`` is a plain attribute here, set with SimPy's ``_now`` wherever the clock moves (this loop,
``step``): the model reads the time ~10 times a payment, and SimPy's ``now`` is a property call.
"""

from __future__ import annotations

from heapq import heappop
from typing import Any

import simpy
from simpy.events import URGENT


_BEFORE_URGENT = -1


class Engine(simpy.Environment):
    """A ``simpy.Environment`` whose ``run(until=<time>)`` does not call ``step`` per event."""

    now: float = 0.0
    """The current time: a plain attribute kept equal to SimPy's ``_now`` (which SimPy's own code
    reads and writes), not SimPy's property, whose call the model pays ~10 times a payment."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.now = self._now

    def step(self) -> None:
        """SimPy's step, with ``now`` set to the time of the event it is about to pop."""
        queue = self._queue
        if queue:
            self.now = queue[0][0]
        super().step()

    def run(self, until: Any = None) -> Any:
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = simpy.Event(self)
        stop._ok = True
        stop._value = None
        self.schedule(stop, URGENT, at - self._now)
        queue = self._queue
        while True:
            now, _, _, event = heappop(queue)  # never empty: ``stop`` is queued
            self._now = self.now = now
            if event is stop:
                # SimPy's stop callback raises StopSimulation inside step(), which puts the stop
                # event back, urgent and without callbacks (it takes an event id, and the next
                # run pops it first): the same here, so every later event id matches SimPy's.
                stop.callbacks = []
                self.schedule(stop, _BEFORE_URGENT)
                return None
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
