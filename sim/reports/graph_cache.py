"""The system graph picture of a model, drawn once and then copied from a cache.

Every run report shows the model's system graph, identical for every run of the same model: the
drawing (networkx layout, a matplotlib rendering) cost a run several percent of its time. The
pictures are kept under ``reports/.cache/system_graph/`` keyed by a digest of the model's resolved
configuration, the paychaos version and the source of the code that builds and draws the graph, so
a changed model or changed drawing code draws afresh. Files are written atomically, so concurrent
runs may share the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from sim import __version__
from sim.reports.output import REPORTS_DIR

CACHE_DIR = REPORTS_DIR / ".cache" / "system_graph"
SUFFIXES = (".png", ".svg")
_DRAWING_CODE = ("config/graph.py", "reports/system_graph.py", "reports/figures.py")
"""Modules under ``sim/`` whose source is part of the key: change them and the cache misses."""


def graph_key(model_config: dict) -> str:
    """A digest of what the picture depends on: the model, the version, the drawing code."""
    digest = hashlib.sha256()
    digest.update(json.dumps(model_config, sort_keys=True, separators=(",", ":")).encode())
    digest.update(__version__.encode())
    root = Path(__file__).resolve().parent.parent
    for name in _DRAWING_CODE:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:32]


def system_graph_files(model_config: dict, out_base: Path, draw: Callable[[dict, Path], object],
                       cache_dir: Path | None = None, suffixes: tuple[str, ...] = SUFFIXES) -> None:
    """Write ``out_base`` + each of ``suffixes`` for the model: copied from the cache when drawn
    before, else ``draw(model_config, out_base)`` (which writes those files) and stored in the cache."""
    cache_dir = CACHE_DIR if cache_dir is None else Path(cache_dir)
    cached = cache_dir / graph_key(model_config)
    out_base = Path(out_base)
    if all(cached.with_suffix(s).is_file() for s in suffixes):
        for suffix in suffixes:
            shutil.copyfile(cached.with_suffix(suffix), out_base.with_suffix(suffix))
        return
    draw(model_config, out_base)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for suffix in suffixes:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=cache_dir)
            os.close(fd)
            shutil.copyfile(out_base.with_suffix(suffix), tmp)
            os.replace(tmp, cached.with_suffix(suffix))
    except OSError:
        pass  # a cache that cannot be written (read-only folder) only costs the next run a drawing
