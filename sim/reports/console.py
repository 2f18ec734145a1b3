"""The summary a person reads in the terminal after a run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_run_summary(console: Console, data: dict, out_dir: Path | None) -> None:
    summary = data["summary"]
    table = Table(title=f"paychaos · {data['scenario']}" + (f" · {data['variant']}" if data["variant"] else "")
                  + f" · seed {data['seed']}", show_header=False)
    table.add_column("KPI", style="bold")
    table.add_column("value", justify="right")
    outcomes = summary["outcomes"]
    rows = [
        ("checkouts / orders", f"{summary['checkouts']} / {summary['orders']}"),
        ("success / failed / dead-lettered", f"{outcomes['SUCCESS']} / {outcomes['FAILED']} / {outcomes['DEAD_LETTERED']}"),
        ("success rate", _fmt(summary["success_rate"])),
        ("double charges", _fmt(summary["double_charges"])),
        ("ledger balanced", "yes" if summary["ledger_balanced"] else "NO"),
        ("lost (stuck) payments", _fmt(summary["lost_payments"])),
        ("p50 / p99 latency (ms)", f"{_fmt(summary['p50_latency_ms'])} / {_fmt(summary['p99_latency_ms'])}"),
        ("PSP attempts per order", _fmt(summary["psp_attempts_per_order"])),
        ("PSP requests per order", _fmt(summary["psp_requests_per_order"])),
    ]
    if summary.get("reconciliation"):
        rec = summary["reconciliation"]
        rows.append(("reconciliation auto / hand / unknown", f"{rec['auto_fixed']} / {rec['by_hand']} / {rec['unknown']}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for verdict in data["oracles"]:
        mark = "[green]✓[/green]" if verdict["passed"] else "[red]✗[/red]"
        console.print(f" {mark} {verdict['oracle']}: {verdict['description']}"
                      + ("" if verdict["passed"] else f" — {verdict['count']} violation(s)"))
        for violation in verdict["violations"][:3]:
            console.print(f"     [red]{violation['message']}[/red]")
            for t, what in violation["events"][:12]:
                console.print(f"       {t:>12.3f}s  {what}")
    for expectation in data["expectations"]:
        mark = "[green]✓[/green]" if expectation["held"] else "[red]✗[/red]"
        console.print(f" {mark} expect {expectation['name']} {expectation['expected']} (observed {_fmt(expectation['observed'])})")
    for claim in data.get("coverage", {}).get("required", []):
        mark = "[green]✓[/green]" if claim["held"] else "[red]✗[/red]"
        console.print(f" {mark} coverage {claim['path']} {claim['expected']} (hit {claim['observed']} times)")
    verdict = data["verdict"]
    console.print(f"[bold]{'PASS' if verdict == 'pass' else 'FAIL'}[/bold]  reproduce: {data['command']}")
    reps = data.get("replications")
    if reps:
        failed = sum(1 for v in reps["verdicts"] if v != "pass")
        console.print(f"replications: {reps['count']} ({failed} failed); KPIs with 95% confidence intervals in the report")
    if out_dir is not None:
        console.print(f"report: {Path(out_dir) / 'report.html'}")
