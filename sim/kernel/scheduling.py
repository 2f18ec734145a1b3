"""Light events for the hot path: a plain function call or a component's own step object
scheduled on the SimPy event loop, a wait for a process, a wake-up run at once, and the other
things components would otherwise do by hand with SimPy's private names.

- :func:`call_after`, for the many "in d seconds, do this" steps nobody waits on (a PSP's network
  trips and bank answers, webhooks, a database write whose result a callback handles, the
  timeout timer).
- :class:`Step` and :func:`schedule_step`, for a component that carries one object from step to
  step (a PSP charge, a webhook delivery chain): the object is the event.
- :func:`sleep`, for a process's "wait d seconds" (a service's latency, a database call).
- :func:`until_fired`, :func:`fire_now` and :func:`wake_up`, for an idle process woken by a callback
  of the loop (an idle consumer by a publish, an idle buyer session by an arrival); :func:`wake`,
  for one woken with a value through the queue (a thread handed to a waiting request).
- :func:`succeed_after`, :func:`resume_with`, :func:`timeout_calling` and :func:`active_process`:
  a wait that fires later with a value, the value a process resumes with, a Timeout with a
  callback, the running process.
- :func:`first_of`, for "wait for this event, but no longer than t": SimPy's
  ``event | env.timeout(t)`` without its ``Condition`` (a pure-Python event, its check callbacks and
  its value: ~15k instructions).

SimPy's loop needs only ``callbacks`` and ``_ok`` of what it pops, and a process only those and
``_value`` of what it yields. These take the same event id from ``env.schedule`` as a Timeout
would, so they run in exactly the place ``env.timeout(d)`` would, at about half the cost (no
Event dict, no value argument, no per-call delay check: callers pass delays >= 0). None of them
can be combined with ``|`` or ``&``: use :func:`first_of`, or ``env.timeout`` with SimPy's
events. On the engine they are scheduled by a compiled call of its ``schedule`` (see
:mod:`sim.kernel.engine`), on a plain SimPy environment (tests, validation models) straight onto
its heap. SimPy internals: re-run
``tests/test_engine.py`` and the results digests on a SimPy upgrade.
"""

from __future__ import annotations

from heapq import heappush
from operator import attrgetter
from typing import Any, Callable, Union

import simpy

from sim.kernel.engine import NEAR_S, NORMAL, Engine
from sim.kernel.queue import COMPILED
from sim.kernel.light import Answer, Step, Wait, run_callbacks

__all__ = [
    "Answer", "Step", "Wait", "Waitable", "active_process", "call_after", "clock", "engine_of", "fire_now", "first_of",
    "resume_with", "schedule_step", "sleep", "succeed_after", "timeout_calling", "until_fired", "wake", "wake_up",
]


def _at(env: simpy.Environment, event: Any, delay_s: float) -> None:
    """Schedule ``event`` (normal priority) ``delay_s`` from now, with the event id a ``Timeout``
    would take: on the engine's heaps by a compiled call; on a plain SimPy environment (tests,
    validation models), onto its one heap."""
    if isinstance(env, Engine):
        env.schedule(event, NORMAL, delay_s)
    elif delay_s < NEAR_S:
        queue: list[Any] = env._queue  # (SimPy types it as a list of Event entries)
        heappush(queue, (env._now + delay_s, NORMAL, next(env._eid), event))
    else:
        env.schedule(event, simpy.events.NORMAL, delay_s)


Waitable = Union[simpy.Event, Wait]
"""What a process of the model yields: a SimPy event or a light :class:`Wait`."""


def sleep(env: simpy.Environment, delay_s: float) -> Wait:
    """An event ``delay_s`` (>= 0) from now for a process to ``yield``, scheduled exactly where
    ``env.timeout(delay_s)`` would be (same event id)."""
    wait = Wait()
    wait.callbacks = []
    wait._ok = True
    wait._value = None
    _at(env, wait, delay_s)
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
    if COMPILED:
        run_callbacks(callbacks, event)
    else:  # (as Python, a call costs more than the loop it saves)
        for callback in callbacks:
            callback(event)


def call_after(env: simpy.Environment, delay_s: float, callback: Callable[[object], None]) -> None:
    """Call ``callback(event)`` ``delay_s`` (>= 0) from now."""
    call = Step()
    call.callbacks = (callback,)
    _at(env, call, delay_s)


def schedule_step(env: simpy.Environment, step: Step, handlers: tuple[Callable[..., None], ...], delay_s: float) -> None:
    """Call each of ``handlers`` (a tuple built once per component) with ``step`` ``delay_s``
    (>= 0) from now, scheduled exactly where ``env.timeout(delay_s)`` would be."""
    step.callbacks = handlers
    _at(env, step, delay_s)


def succeed_after(env: simpy.Environment, wait: Wait, value: object, delay_s: float) -> None:
    """Fire the untriggered ``wait`` with ``value`` ``delay_s`` (>= 0) from now: what SimPy's
    ``event.succeed(value)`` does, later, as one event (no timeout in between)."""
    wait._ok = True
    wait._value = value
    _at(env, wait, delay_s)


class _FirstOf(Wait):
    """A :func:`first_of` wait; its :meth:`fire` is the callback both of its event and of its
    timer. (A method, not ``__call__``: compiled by mypyc 2.4, a native subclass that adds
    ``__call__`` crashed at the first write of an inherited field.)"""

    __slots__ = ("env", "fired")
    env: simpy.Environment
    fired: bool

    def fire(self, _event: object) -> None:
        """The first call fires the wait (through the queue, as SimPy's ``Condition.succeed``);
        later calls do nothing."""
        if not self.fired:
            self.fired = True
            self._ok = True
            _at(self.env, self, 0.0)


def first_of(env: simpy.Environment, event: Waitable, timeout_s: float) -> Wait:
    """A wait for a process to ``yield`` that fires when ``event`` fires or ``timeout_s`` (>= 0)
    has passed, whichever comes first; the process resumes with None, and tells which by looking
    at ``event`` (processed or not). The same event ids in the same order as SimPy's
    ``event | env.timeout(timeout_s)`` (the timer scheduled first, then ``event`` checked; the
    wake-up scheduled now when the first of them fires), so a result does not move. ``event``
    must not fail (a PSP's reply, a light wait)."""
    first = _FirstOf()
    first.callbacks = []
    first._ok = False
    first._value = None
    first.env = env
    first.fired = False
    fire = first.fire
    timer = Step()
    timer.callbacks = (fire,)
    _at(env, timer, timeout_s)
    callbacks = event.callbacks
    if callbacks is None:  # already processed: fires now, as a Condition built on it would
        fire(event)
    else:
        callbacks.append(fire)
    return first


def wake_up(env: simpy.Environment, wait: Wait) -> None:
    """Trigger an :func:`until_fired` wait: at once (:func:`fire_now`) when called from a callback
    of the loop, scheduled now (what ``Event.succeed`` does) when called from inside a process,
    where running the waiter at once would nest two processes."""
    wait._ok = True
    wait._value = None
    if env._active_proc is None:
        callbacks, wait.callbacks = wait.callbacks, None
        if COMPILED:
            run_callbacks(callbacks, wait)
        else:
            for callback in callbacks:
                callback(wait)
    else:
        _at(env, wait, 0.0)


def wake(env: simpy.Environment, wait: Wait, value: object = None) -> None:
    """Trigger ``wait`` with ``value`` now, through the event queue (so it is safe from inside a
    process: the waiting process resumes after the current one yields)."""
    wait._ok = True
    wait._value = value
    _at(env, wait, 0.0)


def resume_with(wait: Wait, value: object) -> None:
    """Set what a process waiting on ``wait`` receives when it resumes; from a callback of the
    wait, which runs before the process does."""
    wait._value = value


def timeout_calling(env: simpy.Environment, delay_s: float, callback: Callable[[object], None]) -> simpy.Timeout:
    """``env.timeout(delay_s)`` that calls ``callback(event)`` when it fires, before any process
    that yields it resumes (a "then" that needs no process)."""
    timeout = env.timeout(delay_s)
    timeout.callbacks.append(callback)
    return timeout


def clock(env: simpy.Environment) -> float:
    """``env.now``: compiled, on the engine a read of its field (``env.now`` on a value typed
    ``simpy.Environment`` is a generic attribute lookup that boxes a float: ~130 instructions, ~30
    times a payment); on a plain SimPy environment (tests, validation models), its ``now``."""
    if isinstance(env, Engine):
        return env.now
    return env.now


def engine_of(env: simpy.Environment) -> Engine | None:
    """``env`` as the kernel's engine, None for a plain SimPy environment (tests, validation
    models): for a component that reads the time on every request to keep, and read the time as
    ``engine.now if engine is not None else clock(env)``. Compiled, the engine's field as
    :func:`clock` reads it; as Python, an attribute read, where :func:`clock` is a call of an
    ``attrgetter`` (~500 instructions against ~100)."""
    return env if isinstance(env, Engine) else None


def active_process(env: simpy.Environment) -> simpy.Process | None:
    """The process running now (None from a callback of the loop): SimPy's ``active_process``
    without its property."""
    return env._active_proc


if not COMPILED:
    # As Python, a function frame per clock read costs ~3 times the attribute read it replaces;
    # ``attrgetter`` is a C call. (A compiled module calls the ``clock`` above directly, in C.)
    globals()["clock"] = attrgetter("now")
