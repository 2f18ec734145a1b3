"""The event loop the model runs on: SimPy's environment with ``run(until=t)`` in one loop.

SimPy's ``run`` calls ``step()`` once per event; the model runs ~15 events per payment, so that
call is a measurable share of a run. :class:`Engine` pops and fires events in ``run`` itself, with
SimPy's exact rules: the stop event is scheduled and put back as SimPy does (same event ids,
urgent priority, so events at exactly ``until`` do not run), callbacks run in order, and a failed event
nobody defused crashes the run. Anything else (``step``, ``run()`` without a time, ``run`` until an
event) is SimPy's own code.
"""

from __future__ import annotations

from heapq import heappop
from typing import Any

import simpy
from simpy.events import URGENT


_BEFORE_URGENT = -1


class Engine(simpy.Environment):
    """A ``simpy.Environment`` whose ``run(until=<time>)`` does not call ``step`` per event."""

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
            self._now, _, _, event = heappop(queue)  # never empty: ``stop`` is queued
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
