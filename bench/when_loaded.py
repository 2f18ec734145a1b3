"""Change a module the moment it is first imported, without importing it first.

A benchmark that wraps ``sim.runners.run.simulate`` must not import that module before the command
does: importing it imports SimPy and the model ahead of the command's own start, and the
measurement would be of another start. Imports only importlib.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Callable


class _WhenLoaded(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, name, path, target=None):  # noqa: ANN001 (the finder protocol)
        if name != self.name:
            return None
        sys.meta_path.remove(self)  # once: the real finders find it
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load, then = spec.loader.exec_module, self.then

        def exec_module(module: ModuleType) -> None:
            load(module)
            then(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def when_loaded(name: str, then: Callable[[ModuleType], None]) -> None:
    """Call ``then(module)`` right after module ``name`` is first executed (before whoever imported
    it sees it); now, if it is imported already."""
    if name in sys.modules:
        then(sys.modules[name])
    else:
        sys.meta_path.insert(0, _WhenLoaded(name, then))
