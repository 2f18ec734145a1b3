"""A command's start without ``importlib.metadata``: two libraries ask it a question at start-up
that no command needs answered.

SimPy looks up its own version when it is imported (``importlib.metadata.version("simpy")``), and
pydantic, building its first validator, lists the entry points of every installed distribution
for plugins. Importing ``importlib.metadata`` (``email``, ``zipfile``, ``csv``…) and scanning the
environment's dist-info folders is ~110 M instructions, ~6 % of a command's start to its first
simulation (callgrind), on the path the user waits on.

- :func:`without_plugin_scan` registers pydantic's plugin loader as finding no plugin: the
  command line runs pydantic without plugins (a pydantic plugin observes validation, and the
  command line validates only its own files).
- :func:`import_simpy` imports SimPy with ``importlib.metadata`` standing aside; its
  ``__version__`` is looked up when first asked for.

Each leaves a library that is already imported as it is (a process that imported it first, a
test or a notebook calling ``main``, keeps the real one), and ``importlib.metadata`` imported
later is the real one (``tests/test_lean_imports.py``).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

PLUGIN_LOADER = "pydantic.plugin._loader"
"""Where pydantic finds its plugins (``get_plugins``), importing ``importlib.metadata``."""


def without_plugin_scan() -> None:
    """Register pydantic's plugin loader as one that finds no plugin, unless pydantic loaded its own."""
    if PLUGIN_LOADER in sys.modules:
        return
    loader = ModuleType(PLUGIN_LOADER, "pydantic's plugin loader, finding no plugin (sim.cli.lean_imports)")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = loader


def _no_plugins() -> tuple:
    return ()


class _NotLookedUp(ModuleNotFoundError):
    """What the stand-in answers for a distribution's version (SimPy then leaves ``__version__`` unset)."""


def import_simpy() -> None:
    """Import SimPy with a stand-in for ``importlib.metadata`` (unless either is imported already);
    ``simpy.__version__`` is then looked up on first use. A SimPy that cannot be imported is left
    for its real import to report."""
    if "simpy" in sys.modules or "importlib.metadata" in sys.modules:
        return
    stand_in = ModuleType("importlib.metadata", "a stand-in while SimPy is imported (sim.cli.lean_imports)")
    stand_in.PackageNotFoundError = _NotLookedUp  # type: ignore[attr-defined]
    stand_in.version = _not_looked_up  # type: ignore[attr-defined]
    package = sys.modules["importlib"]
    sys.modules["importlib.metadata"] = stand_in
    package.metadata = stand_in  # type: ignore[attr-defined]  # what `importlib.metadata.version` reads
    try:
        simpy = importlib.import_module("simpy")
    except ImportError:
        return
    finally:
        del sys.modules["importlib.metadata"]
        del package.metadata  # type: ignore[attr-defined]
    if "__version__" not in simpy.__dict__:
        simpy.__dict__["__getattr__"] = _simpy_version


def _not_looked_up(name: str) -> str:
    raise _NotLookedUp(name)


def _simpy_version(name: str) -> Any:
    """``simpy.__version__``, asked of the real ``importlib.metadata`` (then kept)."""
    if name != "__version__":
        raise AttributeError(f"module 'simpy' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    simpy = sys.modules["simpy"]
    simpy.__dict__.pop("__getattr__", None)
    try:
        simpy.__version__ = version("simpy")
    except PackageNotFoundError:  # as SimPy's own import leaves it: no __version__
        raise AttributeError("module 'simpy' has no attribute '__version__'") from None
    return simpy.__version__
