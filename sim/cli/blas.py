"""One BLAS thread for a command: numpy's OpenBLAS starts a thread per core when numpy is imported,
and each spins for a while before it sleeps, about 0.1 s of CPU a process on two cores, taken from
the drawing helpers warming up beside the simulation (and from the other sweep worker). Nothing a
command runs multiplies matrices large enough to gain from threads, and a process without them is
also safer to fork (the drawing helpers). Set before numpy is imported; a value the user set is kept."""

from __future__ import annotations

import os

BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}
"""Environment a command's numpy reads at import (inherited by its sweep workers and helpers)."""


def one_blas_thread() -> None:
    """Ask numpy's BLAS for one thread, unless the user chose a number (no effect once numpy is imported)."""
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)
