"""A sweep's findings: per KPI, the best and worst point and whether the difference beats the noise."""

from __future__ import annotations

from sim.reports.sweep_findings import findings

LABELS = {"success_rate": "success rate", "psp_requests_per_order": "PSP requests per order", "my_kpi": "my kpi"}


def _record(point: int, timeout_s: float, **kpis) -> dict:
    record = {"point": point, "timeout": timeout_s}
    for kpi, (mean, low, high) in kpis.items():
        record.update({kpi: mean, f"{kpi}_ci_low": low, f"{kpi}_ci_high": high})
    return record


def where(record: dict) -> str:
    return f"timeout {record['timeout']} s"


def test_the_best_and_worst_point_and_whether_their_intervals_overlap():
    records = [_record(0, 0.25, success_rate=(0.90, 0.89, 0.91), psp_requests_per_order=(3.0, 2.9, 3.1)),
               _record(1, 1.0, success_rate=(0.95, 0.94, 0.96), psp_requests_per_order=(1.2, 1.1, 3.0)),
               _record(2, 4.0, success_rate=(0.95, 0.93, 0.97), psp_requests_per_order=(1.5, 1.4, 1.6))]
    found = dict(findings(records, ["success_rate", "psp_requests_per_order"], LABELS, where))
    assert found["success rate (higher is better)"] == (
        "best 95.00 % at timeout 1.0 s (and 1 other point); worst 90.00 % at timeout 0.25 s; "
        "clearly (the 95 % intervals do not overlap).")
    assert found["PSP requests per order (lower is better)"] == (
        "best 1.20 at timeout 1.0 s; worst 3 at timeout 0.25 s; within the noise (the 95 % intervals overlap).")


def test_a_constant_kpi_a_single_seed_and_an_unranked_kpi():
    nan = float("nan")
    records = [_record(0, 1.0, success_rate=(1.0, 1.0, 1.0), psp_requests_per_order=(2.0, nan, nan), my_kpi=(1, 1, 1)),
               _record(1, 2.0, success_rate=(1.0, 1.0, 1.0), psp_requests_per_order=(1.0, nan, nan), my_kpi=(2, 2, 2))]
    found = dict(findings(records, ["success_rate", "psp_requests_per_order", "my_kpi"], LABELS, where))
    assert found["success rate (higher is better)"] == "100.00 % at every point."
    assert found["PSP requests per order (lower is better)"].endswith("one seed per point: no interval to tell it from the noise.")
    assert len(found) == 2  # a KPI with no known better direction is not judged
    assert findings([_record(0, 1.0, success_rate=(nan, nan, nan))], ["success_rate"], LABELS, where) == []


def test_a_kpi_has_one_value_only_when_every_run_measured_the_same():
    from sim.reports.sweep_findings import one_value

    assert one_value([{"k": 0}, {"k": 0.0}, {"k": 0}], "k") == 0.0
    assert one_value([{"k": 0}, {"k": 1}], "k") is None  # differs
    assert one_value([{"k": 2.5}, {"k": None}], "k") is None  # one run did not measure it
    assert one_value([{"k": float("nan")}, {"k": float("nan")}], "k") is None  # none measured it
    assert one_value([{"k": 3}, {}], "k") is None
