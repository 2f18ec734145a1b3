"""Rows of the report tables, shared by the HTML and the Markdown renderers (one source of truth)."""

from __future__ import annotations

from sim import format as fmt
from sim.config.kpis import KPI_GROUPS, KPIS
from sim.reports.series_view import IDLE_BUSY_SHARE, WASTED_SHARE_SHOWN, cut_series, peak, services_shown
from sim.runners.kpis import AFTER_RECOVERY_S, RECOVERY_WINDOW_S


EXPECTATION_MEANINGS = {
    "stuck": "orders not final at the end of the run, whoever is still working on them",
    "lost_payments": "orders not final at the end that nobody is still working on",
}
"""What an expectation counts, where two sound alike."""


def verdict_rows(data: dict) -> list[dict]:
    """One row per oracle and expectation: {ok, name, detail}, what failed first (a reader looks
    for it), each group in its own order."""
    rows = [{"ok": v["passed"], "name": v["oracle"], "detail": v["description"]
             + ("" if v["passed"] else f" — {v['count']} violation(s): "
                + "; ".join(x["message"] for x in v["violations"][:3]))} for v in data["oracles"]]
    rows += [{"ok": e["held"], "name": f"expect {e['name']} {e['expected']}",
              "detail": fmt.observed(e["name"], e["observed"], e["expected"])
              + (f" ({EXPECTATION_MEANINGS[e['name']]})" if e["name"] in EXPECTATION_MEANINGS else "")}
             for e in data["expectations"]]
    return sorted(rows, key=lambda row: row["ok"])  # stable: failures first, each in its order


def failed_names(data: dict, at_most: int = 3) -> str:
    """What failed, for the report's banner: up to ``at_most`` checks by name (an expectation with
    what was observed), then how many more; empty when everything held."""
    failed = [f"{v['oracle']} ({v['count']:,} violation{'s' if v['count'] != 1 else ''})"
              for v in data["oracles"] if not v["passed"]]
    failed += [f"expect {e['name']} {e['expected']} ({fmt.observed(e['name'], e['observed'], e['expected'])})"
               for e in data["expectations"] if not e["held"]]
    named = failed[:at_most]
    more = len(failed) - len(named)
    return "; ".join(named) + (f"; and {more} more" if more else "")


ORACLE_KPIS = {
    "no_double_charge": ("double_charges", "captured_twice_minor"),
    "nothing_lost": ("stuck",),
    "clearing_closed": ("clearing_open_past_deadline",),
}
"""The key indicators that count what an oracle checks: their cards are marked when it fails."""


def kpi_rows(data: dict) -> list[dict]:
    """{label, value, ci} per KPI; CIs when the run was replicated. A money KPI of a run in several
    currencies reads in each (``11,704.95 EUR + 7,090.10 USD``), from ``kpis_by_currency``."""
    replications = data.get("replications") or {}
    stats = replications.get("kpis")
    scenario = data["config"]["scenario"]
    currency = fmt.workload_currency(scenario)
    split, split_stats = data.get("kpis_by_currency") or {}, replications.get("kpis_by_currency") or {}
    failed = {e["name"] for e in data["expectations"] if not e["held"]}
    failed |= {key for v in data["oracles"] if not v["passed"] for key in ORACLE_KPIS.get(v["oracle"], ())}
    rows = []
    for kpi in KPIS:
        key = kpi.key
        parts = split.get(key)
        if parts is not None and (not stats or key in split_stats):
            rows.append({**_split_row(kpi, parts, split_stats.get(key)), "failed": key in failed})
            continue
        row = {"key": key, "label": fmt.money_label(kpi.label, key, scenario), "better": kpi.better,
               "value": fmt.value(key, data["kpis"][key], currency=currency), "mean": "", "ci": "",
               "failed": key in failed}  # an expectation on it, or an oracle counting it, failed: the card is marked
        if stats:
            row["mean"] = fmt.value(key, stats[key]["mean"], currency=currency)
            row["ci"] = fmt.interval(key, stats[key], currency)
        rows.append(row)
    return rows


def grouped(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """Rows with a ``key`` (a KPI's) in the report's groups (``KPI_GROUPS``), each group in its own
    order; a group with no row is left out."""
    by_key = {row["key"]: row for row in rows}
    groups = [(name, [by_key[key] for key in keys if key in by_key]) for name, keys in KPI_GROUPS]
    return [(name, members) for name, members in groups if members]


def _split_row(kpi, parts: dict, stats: dict | None) -> dict:
    """A money KPI's row in each currency of the run: the first run's value, and with replications
    each currency's mean and CI."""
    key = kpi.key
    row = {"key": key, "label": kpi.label, "better": kpi.better,
           "value": fmt.amounts(parts), "mean": "", "ci": ""}
    if stats:
        row["mean"] = fmt.amounts({code: stat["mean"] for code, stat in stats.items()})
        row["ci"] = "; ".join(fmt.interval(key, stat, code).replace(f" {code},", ",") for code, stat in stats.items())
    return row


def recovery_note(data: dict) -> str:
    """Why a recovery KPI may read 0 s or –: the windows it is measured over are shorter than the
    run's time bin (empty when the bin is fine enough)."""
    bin_s = data["series"]["bin_s"]
    if bin_s < RECOVERY_WINDOW_S and bin_s <= AFTER_RECOVERY_S / 2:
        return ""
    return (f"Measured in {fmt.duration(bin_s)} bins, coarser than the {fmt.duration(RECOVERY_WINDOW_S)} recovery "
            f"window and the {fmt.duration(AFTER_RECOVERY_S)} after a fault: time to recover reads 0 s when goodput "
            f"is back within the fault's last bin, and the peak after recovery is – when no whole bin follows the "
            f"fault. Set bin: 1s in the scenario to measure them.")


def services_note(data: dict) -> str:
    """What a run report says of its services when none did anything to draw (no services
    figure): that each had room, and how busy the busiest got (empty when a figure shows them)."""
    services = data["summary"].get("services", {})
    cut, shown = cut_series(data["series"], data.get("end_s"), data.get("load_end_s"))
    drawn, idle = services_shown(cut, services, shown)
    if drawn or not idle:
        return ""
    gauges, bin_s = cut["gauges"], cut["bin_s"]
    busy = {name: peak(gauges.get(f"busy.{name}", []), bin_s, shown) / services[name]["servers"] for name in idle}
    busiest = max(idle, key=lambda name: (busy[name], name))
    names = ", ".join(idle[:-1]) + " and " + idle[-1] if len(idle) > 1 else idle[0]
    return (f"Every service with finite capacity had room, so none is drawn: {names} never had a request "
            f"waiting for a server, {'were' if len(idle) > 1 else 'was'} never more than {_percent(IDLE_BUSY_SHARE)} "
            f"busy in a {fmt.duration(bin_s)} bin and wasted under {_percent(WASTED_SHARE_SHOWN)} of "
            f"{'their' if len(idle) > 1 else 'its'} work. The busiest, {busiest}, had at most "
            f"{_percent(busy[busiest])} of its {services[busiest]['servers']:,} servers busy.")


def _percent(share: float) -> str:
    """A share as a whole percentage, as the report writes it: ``20 %``."""
    return f"{100 * share:.0f} %"


def recovery_rows(data: dict) -> list[dict]:
    """Per fault window: when, time to recover (with the reason when it is 0 s or –), peak after."""
    rows = []
    coarse = bool(recovery_note(data))
    for r in data.get("recovery", []):
        ttr = fmt.value("time_to_recover_s", r["time_to_recover_s"])
        ttr = {"recovered": ttr + (" (goodput back within the bin; see note)" if coarse and r["time_to_recover_s"] == 0
                                   else " (goodput back to 90 % as soon as the fault ended)" if r["time_to_recover_s"] == 0 else ""),
               "not_recovered": f"not recovered (≥ {ttr}, the rest of the run)",
               "no_baseline": "– (no goodput before the fault)"}[r["recovery"]]
        peak = r["peak_psp_rate_after_per_s"]
        rows.append({"fault": f"#{r['fault']} {r['kind']}", "target": r["target"],
                     "window": fmt.window(r["start_s"], r["end_s"]), "ttr": ttr,
                     "peak_after": fmt.value("peak_psp_rate_per_s", peak) if peak is not None
                     else ("– (bin too coarse; see note)" if coarse else "–")})
    return rows


def comparison_rows(comp: dict) -> list[dict]:
    """Per KPI some variant has a value for: {label, cells: [{variant, text, diff, significant,
    rank}]} (a KPI no run measured, e.g. the payout delay without payouts, is listed by
    :func:`unmeasured_kpis` instead of as a row of dashes)."""
    currency = fmt.workload_currency(comp["config"])
    split_stats, split_diffs = comp.get("stats_by_currency"), comp.get("paired_differences_by_currency")
    constant = constant_kpis(comp)
    rows = []
    for kpi in KPIS:
        key = kpi.key
        if not comp["ranking"][key] or key in constant:
            continue
        split = split_stats is not None and key in split_stats[comp["baseline"]]
        ranks = {r["variant"]: r["rank"] for r in comp["ranking"][key]}
        cells = []
        for variant in comp["variants"]:
            stat = comp["stats"][variant][key]
            diff = comp["paired_differences"][variant][key]
            if split:
                text, diff_text = _split_ci(key, split_stats[variant][key]), _split_ci(key, split_diffs[variant][key], True)
                significant = any(fmt.significant(d) for d in split_diffs[variant][key].values())
            else:
                text, diff_text = fmt.ci(key, stat, currency=currency), fmt.ci(key, diff, signed=True, currency=currency)
                significant = fmt.significant(diff)
            cells.append({
                "variant": variant, "text": text, "rank": ranks.get(variant),
                "diff": "" if variant == comp["baseline"] or diff["mean"] is None else diff_text,
                "significant": significant,
            })
        rows.append({"key": key, "label": kpi.label if split else fmt.money_label(kpi.label, key, comp["config"]),
                     "better": kpi.better, "cells": cells})
    return rows


def _split_ci(key: str, per_currency: dict[str, dict], signed: bool = False) -> str:
    """A money KPI's mean and CI in each currency with something in it (``12.00 EUR ± 3.00;
    -1.50 USD ± 0.40``), or ``0`` when no currency has anything."""
    texts = [fmt.ci(key, stat, signed, code) for code, stat in per_currency.items()
             if stat["mean"] or stat.get("half_width")]
    return "; ".join(texts) or "0"


def constant_kpis(comp: dict) -> dict[str, str]:
    """The KPIs with one value in every variant and every replication, ``key -> "label value"``:
    nothing to compare, so said once above the table instead of as a row of equal cells (a money
    KPI of several currencies only when each currency's part is constant too)."""
    currency = fmt.workload_currency(comp["config"])
    split = (comp.get("stats_by_currency") or {}).get(comp["baseline"], {})
    constant = {}
    for kpi in KPIS:
        values = {run[kpi.key] for runs in comp.get("per_replication", {}).values() for run in runs}
        if len(values) != 1 or None in values:
            continue
        if kpi.key not in split:
            constant[kpi.key] = f"{kpi.label} {fmt.value(kpi.key, values.pop(), currency=currency)}"
            continue
        parts = [stats[kpi.key] for stats in comp["stats_by_currency"].values()]
        means = {code: stat["mean"] for code, stat in parts[0].items()}
        if all(stat["mean"] == means[code] and not stat.get("half_width")
               for per_code in parts for code, stat in per_code.items()):
            constant[kpi.key] = f"{kpi.label} {fmt.amounts(means)}"
    return constant


def unmeasured_kpis(comp: dict) -> list[str]:
    """Labels of the KPIs no variant's runs measured (the mechanism is off in this scenario)."""
    return [kpi.label for kpi in KPIS if not comp["ranking"][kpi.key]]
