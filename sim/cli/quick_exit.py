"""A command's process ends without a last garbage collection of everything it imported.

At exit CPython clears every module and collects the cycles among what they held (functions and
their globals, classes, pydantic's validators, numpy, pandas…): about a tenth of a second after
a command has printed its last line, for memory the operating system reclaims anyway. Freezing
the garbage collector's objects at exit (``gc.freeze``) skips that pass; objects that no cycle
holds are still freed (and files closed) as the modules are cleared. Registered by ``main``, so it
runs only when the process is about to end (a test or notebook calling ``main`` is unaffected
until its own exit).
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def exit_quickly() -> None:
    """Freeze the collector's objects when this process exits (once, however often it is called)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
