"""Rows of the report tables, shared by the HTML and the Markdown renderers (one source of truth)."""

from __future__ import annotations

from sim.reports import format as fmt
from sim.config.kpis import KPIS


def verdict_rows(data: dict) -> list[dict]:
    """One row per oracle and expectation: {ok, name, detail}."""
    rows = [{"ok": v["passed"], "name": v["oracle"], "detail": v["description"]
             + ("" if v["passed"] else f" — {v['count']} violation(s): "
                + "; ".join(x["message"] for x in v["violations"][:3]))} for v in data["oracles"]]
    rows += [{"ok": e["held"], "name": f"expect {e['name']} {e['expected']}",
              "detail": f"observed {e['observed']}"} for e in data["expectations"]]
    return rows


def kpi_rows(data: dict) -> list[dict]:
    """{label, value, ci} per KPI; CIs when the run was replicated."""
    stats = (data.get("replications") or {}).get("kpis")
    rows = []
    for kpi in KPIS:
        row = {"key": kpi.key, "label": kpi.label, "better": kpi.better,
               "value": fmt.value(kpi.key, data["kpis"][kpi.key]), "mean": "", "ci": ""}
        if stats:
            row["mean"] = fmt.value(kpi.key, stats[kpi.key]["mean"])
            row["ci"] = fmt.interval(kpi.key, stats[kpi.key])
        rows.append(row)
    return rows


def recovery_rows(data: dict) -> list[dict]:
    rows = []
    for r in data.get("recovery", []):
        ttr = {"recovered": fmt.value("time_to_recover_s", r["time_to_recover_s"]),
               "not_recovered": f"not recovered (≥ {fmt.value('time_to_recover_s', r['time_to_recover_s'])})",
               "no_baseline": "– (no goodput before the fault)"}[r["recovery"]]
        rows.append({"fault": f"#{r['fault']} {r['kind']}", "target": r["target"],
                     "window": f"{r['start_s']:g} s → {r['end_s']:g} s", "ttr": ttr,
                     "peak_after": fmt.value("peak_psp_rate_per_s", r["peak_psp_rate_after_per_s"])})
    return rows


def comparison_rows(comp: dict) -> list[dict]:
    """Per KPI: {label, cells: [{variant, text, diff, significant, rank}]}."""
    rows = []
    for kpi in KPIS:
        ranks = {r["variant"]: r["rank"] for r in comp["ranking"][kpi.key]}
        cells = []
        for variant in comp["variants"]:
            stat = comp["stats"][variant][kpi.key]
            diff = comp["paired_differences"][variant][kpi.key]
            cells.append({
                "variant": variant, "text": fmt.ci(kpi.key, stat), "rank": ranks.get(variant),
                "diff": "" if variant == comp["baseline"] or diff["mean"] is None else fmt.ci(kpi.key, diff, signed=True),
                "significant": fmt.significant(diff),
            })
        rows.append({"key": kpi.key, "label": kpi.label, "better": kpi.better, "cells": cells})
    return rows


def ranking_lines(comp: dict, keys: list[str]) -> list[str]:
    """``success rate: a > b > c`` lines, best first."""
    lines = []
    for key in keys:
        kpi = next(k for k in KPIS if k.key == key)
        ordered = " > ".join(f"{r['variant']} ({fmt.value(key, r['mean'])})" for r in comp["ranking"][key])
        lines.append(f"{kpi.label} ({kpi.better} is better): {ordered}")
    return lines
