"""Light events for the hot path: a plain function call scheduled on the SimPy event loop, a
wait for a process, a wake-up run at once.

- :func:`call_after`, for the many "in d seconds, do this" steps nobody waits on (a PSP's network
  trips and bank answers, webhooks, a database write whose result a callback handles, the
  timeout timer).
- :func:`sleep`, for a process's "wait d seconds" (a service's latency, a database call).
- :func:`until_fired` and :func:`fire_now`, for an idle process woken by a callback of the loop
  (an idle consumer by a publish, an idle buyer session by an arrival).

SimPy's loop needs only ``callbacks`` and ``_ok`` of what it pops, and a process only those and
``_value`` of what it yields. These take the same event id from ``env.schedule`` as a Timeout
would, so they run in exactly the place ``env.timeout(d)`` would, at about half the cost (no
Event dict, no value argument, no per-call delay check: callers pass delays >= 0). None of them
can be combined with ``|`` or ``&``: use ``env.timeout`` there. ``sleep`` and ``call_after`` push
a short wait onto the near heap themselves (see :mod:`sim.engine`; on a plain SimPy environment,
its one heap), a Python call less per event; longer waits go through ``env.schedule`` (SimPy
internals: re-run the digest checks on a SimPy upgrade).
"""

from __future__ import annotations

from heapq import heappush
from typing import Callable

import simpy
from simpy.events import NORMAL

from sim.engine import NEAR_S


class _Call:
    """A scheduled function call: what the event loop needs of an event and nothing else."""

    __slots__ = ("callbacks",)
    _ok = True


class Wait:
    """What a process waits on: a Timeout without the Event machinery (no dict, no value
    argument, no delay check: callers pass delays >= 0). ``_value`` is what the wait returns to
    the process (``None`` unless a callback sets it before the process resumes)."""

    __slots__ = ("callbacks", "_ok", "_value")


def sleep(env: simpy.Environment, delay_s: float) -> Wait:
    """An event ``delay_s`` (>= 0) from now for a process to ``yield``, scheduled exactly where
    ``env.timeout(delay_s)`` would be (same event id)."""
    wait = Wait()
    wait.callbacks = []
    wait._ok = True
    wait._value = None
    if delay_s < NEAR_S:  # Engine.schedule's near heap, inlined (a plain SimPy queue too)
        heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), wait))
    else:
        env.schedule(wait, NORMAL, delay_s)
    return wait


def until_fired() -> Wait:
    """An event for a process to ``yield`` until someone calls :func:`fire_now` on it (nothing
    scheduled: a wake-up that costs no event unless it happens)."""
    wait = Wait()
    wait.callbacks = []
    return wait


def fire_now(event: simpy.Event | Wait) -> None:
    """Trigger ``event`` and run its callbacks at once, as the event loop does when it pops an
    event: same simulated time, no heap round trip. Only from the loop itself (an event's
    callback, e.g. a producer's ack), never from inside a process, where resuming another process
    would nest the two."""
    event._ok = True
    event._value = None
    callbacks, event.callbacks = event.callbacks, None
    for callback in callbacks:
        callback(event)


def call_after(env: simpy.Environment, delay_s: float, callback: Callable[[object], None]) -> None:
    """Call ``callback(event)`` ``delay_s`` (>= 0) from now."""
    call = _Call()
    call.callbacks = (callback,)
    if delay_s < NEAR_S:  # Engine.schedule's near heap, inlined (a plain SimPy queue too)
        heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), call))
    else:
        env.schedule(call, NORMAL, delay_s)


def wake(env: simpy.Environment, wait: Wait, value: object = None) -> None:
    """Trigger ``wait`` with ``value`` now, through the event queue (so it is safe from inside a
    process: the waiting process resumes after the current one yields)."""
    wait._ok = True
    wait._value = value
    env.schedule(wait, NORMAL, 0.0)
