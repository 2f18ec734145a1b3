"""A plain function call scheduled on the SimPy event loop, for the many "in d seconds, do this"
steps nobody waits on (a PSP's network trips and bank answers, webhooks, a database write whose
result a callback handles, the timeout timer).

SimPy's loop needs only ``callbacks`` and ``_ok`` of what it pops. A ``_Call`` takes the same
event id from ``env.schedule`` as a Timeout would, so it runs in exactly the place
``env.timeout(d).callbacks.append(f)`` would, at about half the cost (no Timeout, no value, no
per-call delay check: callers pass delays >= 0).
"""

from __future__ import annotations

from typing import Callable

import simpy
from simpy.events import NORMAL


class _Call:
    """A scheduled function call: what the event loop needs of an event and nothing else."""

    __slots__ = ("callbacks",)
    _ok = True


def call_after(env: simpy.Environment, delay_s: float, callback: Callable[[object], None]) -> None:
    """Call ``callback(event)`` ``delay_s`` (>= 0) from now."""
    call = _Call()
    call.callbacks = (callback,)
    env.schedule(call, NORMAL, delay_s)
