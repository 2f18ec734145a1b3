"""SimPy's process, resumed by compiled code: :class:`Process` is ``simpy.Process`` with the same
``_resume``, written out here so the native build (:mod:`sim.native`) compiles it.

A payment resumes a generator ~12 times (a Kafka partition worker per message, a buyer's session
per checkout, a payment service thread per request); SimPy's ``_resume`` runs as interpreted Python
each time. :class:`Process` keeps SimPy's behaviour line for line, the same events in the same
order with the same ids, so results do not change, and :meth:`sim.kernel.engine.Engine.process`
starts every process of the model with it. Pure Python, it is SimPy's own loop and costs the same.

One difference, in what a crash shows: SimPy strips its ``_resume`` frame from a failed process's
traceback; compiled code adds no frame of its own, so nothing is stripped here.

SimPy internals: ``_generator``, ``_target``, ``_ok``, ``_value``, ``_defused`` and the
environment's ``_active_proc``, as SimPy 4.1's ``Process._resume`` uses them.
"""

from __future__ import annotations

from typing import Any

import simpy
from simpy.events import _describe_frame


class Process(simpy.Process):
    """A ``simpy.Process`` whose ``_resume`` is compiled (see the module's docstring)."""

    def _resume(self, event: Any) -> None:
        """Resume the generator with ``event``'s value (or throw its exception into it) until it
        yields an event not yet triggered, or ends; then trigger this process with its result."""
        env: Any = self.env
        env._active_proc = self
        generator: Any = self._generator
        while True:
            try:
                if event._ok:
                    event = generator.send(event._value)
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
            try:
                callbacks = event.callbacks
            except AttributeError:
                raise RuntimeError(
                    f'\n{_describe_frame(generator.gi_frame)}Invalid yield value "{event}"') from None
            if callbacks is not None:
                # Not triggered yet: resume when it is.
                callbacks.append(self._resume)
                break
        self._target = event
        env._active_proc = None
