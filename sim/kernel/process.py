"""The model's processes: SimPy's ``Process`` as a compiled class with fixed fields.

A payment resumes a generator ~12 times (a Kafka partition worker per message, a buyer's session
per checkout, a payment service thread per request). SimPy's ``Process`` is a Python object with a
``__dict__``: each resume reads and writes ~8 of its attributes and of the event it waited on
through generic attribute lookups, ~8 % of a payment's instructions. :class:`Process` keeps
SimPy's behaviour line for line, the same events in the same order with the same event ids, so no
result changes; compiled by the native build (:mod:`sim.native`), its own fields are C struct
fields. :meth:`sim.kernel.engine.Engine.process` starts every process of the model with it.

It is an event as SimPy's loop, conditions (``&``, ``|``), interrupts and other processes see one
(``callbacks``, ``_ok``, ``_value``, ``_defused``, ``env``, the public properties), but not a
subclass of ``simpy.Event`` (a compiled class cannot have a Python base and keep fixed fields):
``isinstance(p, simpy.Process)`` is False, and ``env.run(until=p)`` is not supported.

One difference, in what a crash shows: SimPy strips its ``_resume`` frame from a failed process's
traceback; compiled code adds no frame of its own, so nothing is stripped here.

SimPy internals: ``PENDING``, ``Initialize``, ``Interruption`` and ``_describe_frame`` of SimPy
4.1's ``simpy.events``, and the environment's ``_active_proc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generator

import simpy
from simpy.events import PENDING, Initialize, Interruption, _describe_frame

from sim.kernel.light import Light, Wait

if TYPE_CHECKING:  # (the engine imports this module to start processes)
    from sim.kernel.engine import Engine


class Process:
    """A SimPy process with fixed fields (see the module's docstring)."""

    env: Engine
    callbacks: Any
    """SimPy's: a list while the process runs, None once its end has been processed."""
    _value: Any
    _ok: bool
    _defused: bool
    """Unset until defused: SimPy's loop asks ``hasattr(event, "_defused")``."""
    _generator: Any
    _send: Callable[[Any], Any]
    """``self._generator.send``, bound once: a call without a method lookup on every resume."""
    _target: Any
    _resume_callback: Callable[[Any], None]
    """``self._resume``, bound once (SimPy binds it anew on every wait; equal either way, so an
    interrupt still finds it among its target's callbacks)."""

    def __init__(self, env: Engine, generator: Generator[Any, Any, Any]) -> None:
        if not hasattr(generator, "throw"):
            raise ValueError(f"{generator} is not a generator.")
        self.env = env
        self.callbacks = []
        self._value = PENDING
        self._generator = generator
        self._send = generator.send
        self._resume_callback = self._resume
        self._target = Initialize(env, self)  # type: ignore[arg-type]  # an event as SimPy's loop sees one

    def _resume(self, event: Any) -> None:
        """Resume the generator with ``event``'s value (or throw its exception into it) until it
        yields an event not yet triggered, or ends; then trigger this process with its result."""
        env = self.env
        env._active_proc = self
        generator: Any = self._generator
        send = self._send
        while True:
            try:
                if isinstance(event, Wait):  # the usual wait (never fails; fields read directly)
                    event = send(event._value)
                elif event._ok:
                    event = send(event._value)
                else:
                    # The process must handle the failed event or fail itself: it gets its own
                    # copy of the exception (other processes may hold the original).
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = generator.throw(exc)
            except StopIteration as stop:
                event = None
                self._ok = True
                self._value = stop.args[0] if len(stop.args) else None
                env.schedule(self)
                break
            except BaseException as failure:
                event = None
                self._ok = False
                self._value = failure
                env.schedule(self)
                break
            if isinstance(event, Light):
                callbacks = event.callbacks
            else:
                try:
                    callbacks = event.callbacks
                except AttributeError:
                    raise RuntimeError(
                        f'\n{_describe_frame(generator.gi_frame)}Invalid yield value "{event}"') from None
            if callbacks is not None:
                # Not triggered yet: resume when it is.
                if type(callbacks) is list:  # (always, but for a foreign event's): a direct append
                    waiters: list[Any] = callbacks
                    waiters.append(self._resume_callback)
                else:
                    callbacks.append(self._resume_callback)
                break
        self._target = event
        env._active_proc = None

    def interrupt(self, cause: Any = None) -> None:
        """Throw ``simpy.Interrupt(cause)`` into the process, now (SimPy's ``interrupt``)."""
        Interruption(self, cause)  # type: ignore[arg-type]

    @property
    def is_alive(self) -> bool:
        """True until the generator has ended."""
        return self._value is PENDING

    @property
    def target(self) -> Any:
        """The event the process waits for."""
        return self._target

    @property
    def name(self) -> str:
        """The name of the generator's function."""
        return str(self._generator.__name__)

    @property
    def triggered(self) -> bool:
        return self._value is not PENDING

    @property
    def processed(self) -> bool:
        return self.callbacks is None

    @property
    def ok(self) -> bool:
        return self._ok

    @property
    def value(self) -> Any:
        """The generator's return value or exception (AttributeError while it runs, as SimPy)."""
        if self._value is PENDING:
            raise AttributeError(f"Value of {self!r} is not yet available")
        return self._value

    @property
    def defused(self) -> bool:
        return hasattr(self, "_defused")

    @defused.setter
    def defused(self, value: bool) -> None:
        self._defused = True

    def __and__(self, other: Any) -> simpy.events.Condition:
        return simpy.AllOf(self.env, [self, other])  # type: ignore[list-item]

    def __or__(self, other: Any) -> simpy.events.Condition:
        return simpy.AnyOf(self.env, [self, other])  # type: ignore[list-item]

    def __repr__(self) -> str:
        return f"<Process({self.name}) object at {id(self):#x}>"
