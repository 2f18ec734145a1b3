"""The compiled hot path: the modules of :data:`COMPILED` built with mypyc into ``.native/`` (beside
the package, git-ignored), and the import hook that serves them only while they match the sources.

    python -m sim.native build    # compile (a no-op when .native/ matches the sources)
    python -m sim.native status   # whether the compiled modules are served, or why not

This package is the guard (cheap: it runs at ``import sim``); :mod:`.build` builds, with mypyc.

**Why.** The model's time is Python work spread over every component (docs/design.md §14.4);
compiling the hot path to C cuts the instructions per payment without changing a result.

**Never stale.** The build writes ``manifest.json``: the SHA-256 of each compiled module's source,
the interpreter it was built for and the extension file of each module. At ``import sim``,
:func:`install` compares those hashes with the sources; only if every one matches does it put a
finder first on ``sys.meta_path`` that loads the extension for a compiled module (all or none:
compiled modules call each other directly, so one stale module would run through another's copy).
Otherwise, or with ``PAYCHAOS_NATIVE=0``, nothing is installed and every module is the ``.py``.

**Never in the way.** A build that fails (no compiler, no mypy, a type error) prints one line and
leaves pure Python in place; ``make`` goes on. The build type-checks only the compiled modules:
every other import is opaque (``Any``) to it, so no other module's edit can make a compiled one
wrong.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Sequence

COMPILED: tuple[str, ...] = (
    # by self time in a cProfile of the throughput bench (pure Python), % of the run
    "sim.kernel.engine",  # 7.4
    "sim.components.kafka",  # 6.0
    "sim.components.psp",  # 5.3
    "sim.components.stations",  # 4.9
    "sim.domain.orders",  # 4.6
    "sim.components.checkout",  # 4.1
    "sim.components.ledger",  # 4.1
    "sim.kernel.scheduling",  # 3.8
    "sim.kernel.process",  # SimPy's Process, resumed ~12 times a payment
    "sim.kernel.light",  # the light events, read by the loop and the processes
    "sim.components.executor",  # 3.7
    "sim.components.payment_service",  # 2.8
    "sim.components.bank",  # 1.7
    "sim.components.wallet",  # 1.5
    "sim.components.producer",  # 1.5
    "sim.components.psp_webhooks",  # 1.3 (a Step subclass: compiled with Step, or it cannot subclass it)
    "sim.components.database",  # 1.2
    "sim.components.psp_settlement",  # 1.1
    "sim.components.idempotency",  # 1.1
    "sim.components.outcomes",  # 1.0
    "sim.observe.metrics",  # 1.0
    "sim.domain.truth",  # 1.0
    "sim.domain.microtimes",  # 0.9
    "sim.components.psp_authorisation",  # 0.8 (a Step subclass)
    "sim.policies.budget",  # 0.5
    "sim.components.refunds",  # 0.4
    "sim.components.chargebacks",  # 0.3
    "sim.components.fees",  # 0.2
    "sim.components.psp_api",  # the PSP's reply types, read on every answer
    "sim.components.psp_edge",
    "sim.components.psp_operations",
    "sim.components.executor_replies",
    "sim.components.deadlines",
    "sim.components.risk",
    "sim.kernel.queue",  # the engine's heaps, compiled entries and comparisons
    "sim.domain.drift",  # the settlement file's order ids, int16 offsets (read per capture row)
    "sim.domain.intmap",  # the ledger's per-order refund and chargeback totals
    "sim.components.psp_faults",  # the PSP's fault knobs, read ~12 times a payment (edge, processing, webhooks)
)
"""The modules compiled: the hot path of a payment, the columnar tables it appends to included
(their ``array`` columns are Python objects to mypyc, their numpy readers typed ``np.ndarray``).
Not compiled: everything that runs once per run (configuration, oracles, reports) or for a few
per cent of payments (``sim.domain.amounts``, ``sim.components.refund_table``)."""

ROOT = Path(__file__).resolve().parent.parent.parent
NATIVE_DIR = ROOT / ".native"
"""Where the build puts the extensions and the manifest (never the source tree)."""
MANIFEST = "manifest.json"
GROUP = "paychaos_native"
"""mypyc's group name: the shared library is ``paychaos_native__mypyc``."""
ENV_SWITCH = "PAYCHAOS_NATIVE"
"""``PAYCHAOS_NATIVE=0`` imports every module as pure Python."""


def source_path(module: str, root: Path = ROOT) -> Path:
    return root / (module.replace(".", "/") + ".py")


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interpreter() -> str:
    """What an extension is built for: it loads only into the same kind of interpreter."""
    return f"{sys.implementation.cache_tag} {importlib.machinery.EXTENSION_SUFFIXES[0]}"


class NativeFinder:
    """A ``sys.meta_path`` finder: the compiled extension of each module it was given (and of mypyc's
    shared library); None for every other module, which the usual finders then find."""

    def __init__(self, extensions: dict[str, Path]) -> None:
        self.extensions = extensions

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.extensions.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


status = "not installed"
"""Why the compiled modules are or are not served: ``compiled``, or the reason for pure Python."""


def check(native_dir: Path = NATIVE_DIR, root: Path = ROOT) -> tuple[dict[str, Path] | None, str]:
    """(extension of each module to serve, "compiled") when ``native_dir`` holds a build of every
    current source for this interpreter; (None, why not) otherwise."""
    try:
        manifest = json.loads((native_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None, "pure Python: no native build (make install, or python -m sim.native build)"
    if manifest.get("interpreter") != interpreter():
        return None, f"pure Python: the native build is for {manifest.get('interpreter')}, not {interpreter()}"
    for module, digest in manifest.get("sources", {}).items():
        source = source_path(module, root)
        if not source.is_file() or source_hash(source) != digest:
            return None, f"pure Python: {source.relative_to(root)} changed since the native build (make install)"
    extensions = {name: native_dir / file for name, file in manifest.get("extensions", {}).items()}
    missing = [name for name, file in extensions.items() if not file.is_file()]
    if missing or not extensions:
        return None, f"pure Python: the native build lacks {', '.join(missing) or 'every module'}"
    return extensions, "compiled"


def install() -> None:
    """Serve the compiled modules if the build matches the sources (at ``import sim``, before any
    compiled module is imported); otherwise leave the import system alone."""
    global status
    if os.environ.get(ENV_SWITCH, "1") == "0":
        status = f"pure Python: {ENV_SWITCH}=0"
        return
    if any(isinstance(finder, NativeFinder) for finder in sys.meta_path):
        return
    extensions, status = check()
    if extensions is not None:
        sys.meta_path.insert(0, NativeFinder(extensions))


def served() -> list[str]:
    """The modules imported so far from a compiled extension."""
    return sorted(name for name, module in sys.modules.items()
                  if name.startswith("sim.") and isinstance(getattr(module, "__spec__", None), importlib.machinery.ModuleSpec)
                  and isinstance(module.__spec__.loader, importlib.machinery.ExtensionFileLoader))
