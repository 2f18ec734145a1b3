"""The benchmarks' peak RSS is the measured process's own: a worker spawned from a large process
must not report the parent's size (Linux keeps ``ru_maxrss`` across fork and exec)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from bench.measure import peak_rss_mib, rss_mib

BALLAST_MIB = 256


def test_a_spawned_worker_reports_its_own_peak_not_its_parents():
    ballast = b"\x01" * (BALLAST_MIB * 2**20)  # pages written, so resident
    parent = rss_mib()
    assert parent >= BALLAST_MIB and peak_rss_mib() >= parent
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        child = pool.submit(peak_rss_mib).result()
    del ballast
    assert 0 < child < parent - BALLAST_MIB / 2, (child, parent)
