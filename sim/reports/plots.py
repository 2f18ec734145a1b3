"""The pictures of a report, drawn with matplotlib's Agg backend (no display needed).

Each ``*_figure`` function returns a Figure built only from JSON-ready results, so a report can
be redrawn from ``results.json``. Time series are plotted generically: every count series (as a
rate per second) and every gauge in ``results["series"]`` gets a panel, with the fault windows
shaded, so a series a component adds later appears without changing this module.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

plt.rcParams["svg.hashsalt"] = "paychaos"  # stable ids: the same results give the same SVG
FAULT_COLOUR = "#f4b183"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
FIRST_SERIES = ("goodput", "psp_requests")
SERIES_LABELS = {
    "goodput": "goodput (successful orders/s)",
    "psp_requests": "PSP request rate (req/s)",
    "dlq_depth": "DLQ depth",
    "in_flight_orders": "orders in flight",
    "stuck_orders": "stuck orders",
}
MAX_POINTS = 1500


def _label(name: str, kind: str) -> str:
    if name in SERIES_LABELS:
        return SERIES_LABELS[name]
    if name.startswith("lag."):
        return f"consumer lag, {name[4:]} (messages)"
    return f"{name} (per s)" if kind == "count" else name


def ordered_series(series: dict) -> list[tuple[str, str, list]]:
    """(name, "count"|"gauge", values) for every series, goodput and PSP rate first."""
    items = [(n, "count", v) for n, v in series.get("counts", {}).items()]
    items += [(n, "gauge", v) for n, v in series.get("gauges", {}).items()]
    return sorted(items, key=lambda item: (FIRST_SERIES.index(item[0]) if item[0] in FIRST_SERIES else 99, item[0]))


def _xy(values: list, bin_s: float, kind: str, end_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(values, dtype=float)
    if kind == "count":
        y = y / bin_s
    if end_s is not None:
        y = y[: int(end_s / bin_s + 1e-9) + 1]
    x = np.arange(y.size) * bin_s
    if y.size > MAX_POINTS:  # keep peaks visible: max over groups of bins
        group = int(np.ceil(y.size / MAX_POINTS))
        pad = (-y.size) % group
        y = np.pad(y, (0, pad)).reshape(-1, group).max(axis=1)
        x = np.arange(y.size) * bin_s * group
    return x, y


def _shade(ax, fault_windows: list[dict], label: bool = False) -> None:
    for index, window in enumerate(fault_windows):
        ax.axvspan(window["start_s"], window["end_s"], color=FAULT_COLOUR, alpha=0.35, lw=0,
                   label=("fault active" if label and index == 0 else None))


def timeseries_figure(series: dict, fault_windows: list[dict], end_s: float | None = None) -> Figure:
    """One panel per series; fault windows shaded."""
    items = [item for item in ordered_series(series) if len(item[2])]
    fig, axes = plt.subplots(max(1, len(items)), 1, figsize=(10, 1.7 * max(1, len(items)) + 0.6),
                             sharex=True, squeeze=False)
    bin_s = series["bin_s"]
    for ax, (name, kind, values) in zip(axes[:, 0], items):
        x, y = _xy(values, bin_s, kind, end_s)
        ax.step(x, y, where="post", lw=0.9, color=PALETTE[0] if kind == "count" else PALETTE[2])
        _shade(ax, fault_windows)
        ax.set_ylabel(_label(name, kind), rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25)
    axes[-1, 0].set_xlabel("simulated time (s)", fontsize=8)
    if fault_windows:
        axes[0, 0].axvspan(0, 0, color=FAULT_COLOUR, alpha=0.35, label="fault active")
        axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.suptitle(f"time series ({bin_s:g} s bins; counts shown per second)", fontsize=9)
    fig.tight_layout()
    return fig


def latency_cdf_figure(cdfs: dict[str, dict]) -> Figure:
    """End-to-end latency CDFs (log x axis), one line per run or variant."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for index, (label, cdf) in enumerate(cdfs.items()):
        if cdf["latency_ms"]:
            x = np.maximum(np.asarray(cdf["latency_ms"]), 1e-3)
            ax.plot(x, cdf["quantiles"], lw=1.4, color=PALETTE[index % len(PALETTE)], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end latency, order created → final state (ms, log scale)", fontsize=8)
    ax.set_ylabel("fraction of orders", fontsize=8)
    for q in (0.5, 0.95, 0.99):
        ax.axhline(q, color="#999999", lw=0.6, ls=":")
    ax.grid(alpha=0.25, which="both")
    if len(cdfs) > 1 or any(cdfs):
        ax.legend(fontsize=7, loc="lower right")
    ax.set_title("latency CDF", fontsize=9)
    fig.tight_layout()
    return fig


LANES = ("payment service", "executor", "PSP", "DLQ")


def _sequence_steps(sample: dict) -> list[tuple[float, str, str, str, bool]]:
    """(t, from lane, to lane, label, is_reply) arrows for one traced order."""
    steps = [(sample["created_at_s"], "payment service", "executor", f"order {sample['order']} persisted", False)]
    for t, what in sample["events"]:
        parts = what.split(":")
        if parts[0] == "executor" and len(parts) == 3 and parts[1] in ("charge", "query"):
            steps.append((t, "executor", "PSP", parts[1], False))
            steps.append((t, "PSP", "executor", parts[2].lower().replace("_", " "), True))
        elif parts[0] == "executor" and len(parts) == 3 and parts[1] == "dead_lettered":
            steps.append((t, "executor", "DLQ", f"dead-lettered ({parts[2].replace('_', ' ')})", False))
        else:
            steps.append((t, "executor" if parts[0] != "webhook" else "PSP", "payment service",
                          f"{parts[0]}: {parts[-1].lower()}", True))
    return steps


def sequence_figure(samples: list[dict]) -> Figure:
    """A sequence diagram per sample order (lanes: payment service, executor, PSP, DLQ)."""
    panels = max(1, len(samples))
    heights = [max(3, len(_sequence_steps(s))) for s in samples] or [3]
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 1.2 + 0.42 * max(heights)), squeeze=False)
    for ax, sample in zip(axes[0], samples):
        steps = _sequence_steps(sample)
        xs = {lane: i for i, lane in enumerate(LANES)}
        n = len(steps)
        for lane, x in xs.items():
            ax.plot([x, x], [0, n + 0.5], color="#999999", lw=0.8, zorder=1)
            ax.text(x, n + 0.8, lane, ha="center", va="bottom", fontsize=8, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.3", "fc": "#eef3fa", "ec": "#8aa"})
        for row, (t, src, dst, label, reply) in enumerate(steps):
            y = n - row - 0.2
            colour = "#b03030" if any(w in label for w in ("unavailable", "timeout", "dead", "error")) else "#222222"
            ax.annotate("", xy=(xs[dst], y), xytext=(xs[src], y),
                        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.0, "ls": "--" if reply else "-"})
            ax.text((xs[src] + xs[dst]) / 2, y + 0.08, label, ha="center", va="bottom", fontsize=6.5, color=colour)
            ax.text(-0.55, y, f"{t:.3f}s", ha="right", va="center", fontsize=6, color="#555555")
        ax.set_xlim(-1.4, len(LANES) - 0.5)
        ax.set_ylim(-0.3, n + 1.5)
        ax.axis("off")
        ax.set_title(f"{sample['label']}: order {sample['order']} → {sample['state']} "
                     f"({sample['psp_attempts']} charge attempt{'s' if sample['psp_attempts'] != 1 else ''})",
                     fontsize=8)
    if not samples:
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, "no sample orders", ha="center")
    fig.tight_layout()
    return fig


def psp_rate_figure(exemplars: dict[str, dict], fault_windows: list[dict], end_s: float | None = None) -> Figure:
    """PSP request rate over time, one panel per variant (same seed: common random numbers), with
    a zoom on the seconds around the end of the last PSP fault."""
    names = list(exemplars)
    psp_windows = [w for w in fault_windows if w["target"] == "psp"] or fault_windows
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 1.5 * len(names) + 0.8), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2, 1]})
    top = max((max(e["series"]["counts"].get("psp_requests", [0]) or [0]) / e["series"]["bin_s"]
               for e in exemplars.values()), default=1.0) or 1.0
    zoom = (psp_windows[-1]["end_s"] - 5, psp_windows[-1]["end_s"] + 20) if psp_windows else None
    zoom_top = top
    if zoom:
        zoom_top = max((max(e["series"]["counts"].get("psp_requests", [])[
            int(zoom[0] / e["series"]["bin_s"]):int(zoom[1] / e["series"]["bin_s"]) + 1], default=0) / e["series"]["bin_s"]
            for e in exemplars.values()), default=0.0) or top
    for row, name in enumerate(names):
        series = exemplars[name]["series"]
        x, y = _xy(series["counts"].get("psp_requests", []), series["bin_s"], "count", end_s)
        colour = PALETTE[row % len(PALETTE)]
        for column, ax in enumerate(axes[row]):
            ax.step(x, y, where="post", lw=0.8, color=colour)
            _shade(ax, fault_windows)
            ax.set_ylim(0, (zoom_top if column == 1 else top) * 1.05)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.25)
            if column == 1 and zoom:
                ax.set_xlim(*zoom)
                ax.axvline(zoom[0] + 5, color="#b03030", lw=0.8, ls="--")
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    axes[0, 0].set_title("PSP request rate (req/s), whole run", fontsize=9)
    axes[0, 1].set_title("zoom: recovery (dashed line = PSP back)", fontsize=9)
    axes[-1, 0].set_xlabel("simulated time (s)", fontsize=8)
    axes[-1, 1].set_xlabel("simulated time (s)", fontsize=8)
    fig.tight_layout()
    return fig


def pareto_figure(stats: dict[str, dict], front: list[str]) -> Figure:
    """Success rate vs PSP requests per order; marker area grows with p99 latency; the Pareto
    front is outlined."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    p99s = [s["p99_latency_ms"]["mean"] or 0.0 for s in stats.values()]
    largest = max(p99s) or 1.0
    for index, (name, s) in enumerate(stats.items()):
        x, y = s["psp_requests_per_order"]["mean"], s["success_rate"]["mean"]
        if x is None or y is None:
            continue
        p99 = s["p99_latency_ms"]["mean"] or 0.0
        on_front = name in front
        ax.scatter([x], [y * 100], s=60 + 500 * p99 / largest, color=PALETTE[index % len(PALETTE)], alpha=0.75,
                   edgecolors="black" if on_front else "none", linewidths=1.6, zorder=3)
        hw_x, hw_y = s["psp_requests_per_order"]["half_width"], s["success_rate"]["half_width"]
        if hw_x is not None and hw_y is not None:
            ax.errorbar([x], [y * 100], xerr=[hw_x], yerr=[hw_y * 100], color="#555555", lw=0.8, capsize=2, zorder=2)
        ax.annotate(f"{name}\np99 {p99:,.0f} ms" + (" ★" if on_front else ""), (x, y * 100),
                    textcoords="offset points", xytext=(8, 6), fontsize=7)
    ax.set_xlabel("PSP requests per order (load on the PSP; lower is better)", fontsize=8)
    ax.set_ylabel("success rate (%)", fontsize=8)
    ax.set_title("Pareto: success ↑, PSP load ↓, p99 latency ↓ (marker area ∝ p99; ★ outlined = Pareto-optimal)",
                 fontsize=8.5)
    ax.grid(alpha=0.25)
    ax.margins(0.2)
    fig.tight_layout()
    return fig


def save(fig: Figure, folder: Path, name: str) -> bytes:
    """Write ``name``.png and ``name``.svg into ``folder``; return the PNG bytes (for embedding)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    png = buffer.getvalue()
    (folder / f"{name}.png").write_bytes(png)
    fig.savefig(folder / f"{name}.svg", format="svg", metadata={"Date": None})
    plt.close(fig)
    return png
