"""The summary a person reads in the terminal after a run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from sim import format as fmt
from sim.reports.tables import EXPECTATION_MEANINGS, failed_names


def _fmt(value) -> str:
    return fmt.number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (
        "–" if value is None else str(value))


def print_run_summary(console: Console, data: dict, out_dir: Path | None, command: str | None = None) -> None:
    """The KPI table, one line per oracle and expectation, and ``reproduce: command`` (default: the
    recorded ``paychaos ...`` command)."""
    summary = data["summary"]
    table = Table(title=f"paychaos · {data['scenario']}" + (f" · {data['variant']}" if data["variant"] else "")
                  + f" · seed {data['seed']}", show_header=False)
    table.add_column("KPI", style="bold")
    table.add_column("value", justify="right")
    outcomes = summary["outcomes"]
    latency = summary.get("latency_ms") or {}
    rows = [
        ("checkouts / orders", f"{summary['checkouts']:,} / {summary['orders']:,}"),
        ("success / failed / dead-lettered",
         f"{outcomes['SUCCESS']:,} / {outcomes['FAILED']:,} / {outcomes['DEAD_LETTERED']:,}"),
        ("success rate", fmt.value("success_rate", summary["success_rate"])),
        ("double charges", _fmt(summary["double_charges"])),
        ("ledger balanced", "yes" if summary["ledger_balanced"] else "NO"),
        ("not final at the end (stuck)", _fmt(summary["stuck"])),
        ("… of which lost (nobody working on them)", _fmt(summary["lost_payments"])),
        ("p50 / p99 latency", f"{fmt.duration(_ms(latency.get('p50')))} / {fmt.duration(_ms(latency.get('p99')))}"),
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
                console.print(f"       {fmt.duration(t):>12}  {what}")
    for expectation in data["expectations"]:
        mark = "[green]✓[/green]" if expectation["held"] else "[red]✗[/red]"
        meaning = EXPECTATION_MEANINGS.get(expectation["name"])
        console.print(f" {mark} expect {expectation['name']} {expectation['expected']} "
                      f"({fmt.observed(expectation['name'], expectation['observed'], expectation['expected'])}"
                      + (f": {meaning})" if meaning else ")"))
    for claim in data.get("coverage", {}).get("required", []):
        mark = "[green]✓[/green]" if claim["held"] else "[red]✗[/red]"
        console.print(f" {mark} coverage {claim['path']} {claim['expected']} (hit {claim['observed']} times)")
    verdict = data["verdict"]
    failed = failed_names(data)
    if failed:  # what failed, once more where the eye lands: above the last lines
        console.print(f"[bold red]failed:[/bold red] {failed}", highlight=False)
    console.print(f"[bold]{'PASS' if verdict == 'pass' else 'FAIL'}[/bold]  reproduce: {command or data['command']}",
                  highlight=False)
    reps = data.get("replications")
    if reps:
        failed = sum(1 for v in reps["verdicts"] if v != "pass")
        console.print(f"replications: {reps['count']} ({failed} failed); KPIs with 95 % confidence intervals in the report")
    if out_dir is not None:
        print_report_path(console, out_dir)


def print_report_path(console: Console, out_dir: Path) -> None:
    """The summary's last line: where the report is."""
    console.print(f"report: {Path(out_dir) / 'report.html'}")


def _ms(value):
    return None if value is None else value / 1000.0
