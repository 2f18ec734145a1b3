"""The kernel's light events: objects SimPy's loop pops and fires like its own events, without
SimPy's ``Event`` machinery (no ``__dict__``, no value argument, no delay check). Compiled, their
fields are C struct fields, which the engine's loop and the processes read directly.

- :class:`Light`: what they share, ``callbacks``. A light event never fails (``_ok`` is always
  True), so the loop does not check.
- :class:`Step`: a component's own object scheduled as an event (a PSP charge, a webhook chain).
- :class:`Wait`: what a process waits on (a Timeout without the machinery).
- :class:`Answer`: a wait its callee fires later with a value (a PSP's reply).

Schedule them with the helpers of :mod:`sim.kernel.scheduling`.
"""

from __future__ import annotations

from typing import Any


def run_callbacks(callbacks: Any, event: Any) -> None:
    """Call each of ``callbacks`` (a fired event's, already detached from it) with ``event``, in
    order, as SimPy's loop does. A list or a tuple (a light event's), looped over by index when
    compiled: a generic ``for`` over an untyped value builds an iterator and calls it per item
    (~500 instructions a payment in the loop alone)."""
    if type(callbacks) is tuple:
        handlers: tuple[Any, ...] = callbacks
        for handler in handlers:
            handler(event)
    elif type(callbacks) is list:
        waiters: list[Any] = callbacks
        for waiter in waiters:
            waiter(event)
    else:
        for callback in callbacks:
            callback(event)


class Light:
    """A light event: SimPy's loop needs only its ``callbacks`` (and ``_ok``, always True)."""

    __slots__ = ("callbacks",)
    callbacks: Any
    """SimPy's ``callbacks``: the handlers the loop calls (a list or a tuple), None once fired."""


class Step(Light):
    """A component's own object scheduled as an event: the loop pops it and calls its handlers
    with it, so one object per charge (say) replaces a partial, a bound method and an event per
    step. Subclasses add ``__slots__`` for their state and no ``__init__`` (the component fills
    the slots: a frame per object saved). Schedule one with :func:`schedule_step`, at most once
    at a time."""

    __slots__ = ()
    _ok = True


class Wait(Light):
    """What a process waits on: a Timeout without the Event machinery (no dict, no value
    argument, no delay check: callers pass delays >= 0). ``_value`` is what the wait returns to
    the process (``None`` unless a callback sets it before the process resumes)."""

    __slots__ = ("_ok", "_value")
    _ok: bool
    _value: object


class Answer(Wait):
    """A wait its callee fires later with a value (:func:`~sim.kernel.scheduling.succeed_after`):
    what a caller yields, or waits on for no longer than a timeout
    (:func:`~sim.kernel.scheduling.first_of`), in place of a SimPy ``Event`` (made and fired
    without its Python ``__init__``, its dict and its generic attribute reads: ~2k instructions a
    PSP call). Subclasses add ``__slots__ = ()`` and nothing else."""

    __slots__ = ()

    def __init__(self) -> None:
        self.callbacks = []
        self._ok = False
        self._value = None

    @property
    def processed(self) -> bool:
        """It has fired and its waiters have run (SimPy's ``processed``)."""
        return self.callbacks is None

    @property
    def value(self) -> Any:
        """What it fired with (AttributeError before, as SimPy's ``value``)."""
        if not self._ok:
            raise AttributeError(f"{self!r} has not fired yet")
        return self._value
