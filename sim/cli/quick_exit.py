"""A command's process ends without a last garbage collection of everything it imported, and
does not rescan what it loaded before its simulations or what they left (:func:`pause`,
:func:`settle`, :func:`runs_done`).

At exit CPython clears every module and collects the cycles among what they held (functions and
their globals, classes, pydantic's validators, numpy, pandas…): about a tenth of a second after
a command has printed its last line, for memory the operating system reclaims anyway. Freezing
the garbage collector's objects at exit (``gc.freeze``) skips that pass; objects that no cycle
holds are still freed (and files closed) as the modules are cleared. Registered by ``main``, so it
runs only when the process is about to end (a test or notebook calling ``main`` is unaffected
until its own exit).

The ``paychaos`` command itself ends with :func:`end_process`: once its output is flushed and
nothing it started is still running, it leaves without tearing its modules down one by one
(about 0.02 s after the last line a user reads, for memory the operating system reclaims anyway).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from typing import NoReturn

_registered = False


def exit_quickly() -> None:
    """Freeze the collector's objects when this process exits (once, however often it is called)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True


_paused = False


def pause() -> None:
    """No garbage collection while a command imports and reads its input (a full collection
    early in a process, about 0.03 s, rescans what the imports just made), until :func:`settle`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def settle() -> None:
    """Move everything loaded so far (modules, classes, pydantic's validators, the input) out of the
    garbage collector's reach before a command's simulations, and collect again if :func:`pause`
    stopped it: a full collection during a run would otherwise scan those ~60,000 objects again
    (about 0.04 s each time, most of what it scans), and forked drawing helpers share their pages
    untouched. Garbage among them that only a cycle holds is not freed until :func:`unsettle`
    (``main`` calls it when the command is done, for a process that goes on: a test, a notebook)."""
    global _paused
    gc.freeze()
    if _paused:
        gc.enable()
        _paused = False


def runs_done() -> None:
    """Move what the simulations left out of the garbage collector's reach once they are over:
    their results, which the report only reads, and the last run's world, which only a collection
    of its cycles would free (a comparison's: ~44,000 objects, one collection of ~0.03 s on the way
    to its report). Left for the process's end, as :func:`settle` leaves the imports; given back by
    :func:`unsettle` in a process that goes on."""
    gc.freeze()


def unsettle() -> None:
    """Give what :func:`settle` moved back to the garbage collector (and collect again, had a
    command paused collection and failed before settling)."""
    global _paused
    gc.unfreeze()
    if _paused:
        gc.enable()
        _paused = False


def end_process(code: int) -> NoReturn:
    """End this process with exit status ``code`` (the console script's last step).

    Its output is flushed and logging's handlers are closed first; then, unless a thread or a
    child process it started is still running (they get the ordinary exit, which waits for or
    stops them as they were built to be), the process ends at once (``os._exit``): no module
    teardown, no exit handlers left to run (the drawing helpers and process pools are stopped
    by then; their handlers would find nothing to do)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``paychaos … | head``): nothing more to say
            pass
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    if _still_running():
        sys.exit(code)
    os._exit(code)


def _still_running() -> bool:
    """A thread other than this one that is not a daemon, or a child process still alive."""
    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.main_thread()):
        return True
    multiprocessing = sys.modules.get("multiprocessing")
    return bool(multiprocessing is not None and multiprocessing.active_children())
