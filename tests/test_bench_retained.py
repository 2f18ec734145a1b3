"""``python -m bench.retained``: marginal bytes per payment by source line between two runs."""

from __future__ import annotations

import tracemalloc

from bench.retained import by_source, main


def test_by_source_divides_the_growth_by_the_payments(tmp_path):
    """Two snapshots, 1000 'payments' apart, where one line holds 64 bytes more per payment."""
    tracemalloc.start()
    try:
        held = [bytearray(64 * 10)]
        tracemalloc.take_snapshot().dump(str(tmp_path / "small"))
        held.append(bytearray(64 * 1000))  # grows by 64 bytes per payment between the runs
        tracemalloc.take_snapshot().dump(str(tmp_path / "large"))
    finally:
        tracemalloc.stop()
    rows = by_source((10, str(tmp_path / "small")), (1010, str(tmp_path / "large")))
    per_payment, source = rows[0]
    assert source.endswith("test_bench_retained.py:16") and 63.5 < per_payment < 65.5
    assert held


def test_bad_sizes_exit_2(capsys):
    assert main(["--payments", "500", "100"]) == 2
    assert "SMALL < LARGE" in capsys.readouterr().err
