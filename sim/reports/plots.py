"""The pictures of a report, built only from JSON-ready results (so a report can be redrawn from
``results.json``) with matplotlib's object API (``sim.reports.figures``: no backend switched).

Time series are plotted generically: every count series (as a rate per second) and every gauge in
``results["series"]`` that is ever above zero gets a panel (the PSP's load and the goodput share
one, the consumer groups' lags another), with the fault windows shaded and named in a legend, so a
series a component adds later appears without changing this module. Time axes read in seconds,
minutes or hours by the run's length; a quiet drain is cut off so that it does not dominate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from sim import format as fmt
from sim.reports.figures import (FONT_PT, SMALL_PT, TITLE_Y, fault_legend, integer_ticks, lean_layout, new_figure, png,
                                 shade_faults, stacked_on_one_time_axis, svg, time_axis)
from sim.reports.series_view import (IDLE_BUSY_SHARE, WASTED_SHARE_SHOWN, ordered_series, services_shown,
                                     shown_bins, shown_end_s)

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
SERIES_LABELS = {
    "goodput": "goodput\n(successful orders/s)",
    "psp_requests": "PSP request rate\n(req/s)",
    "dlq_depth": "DLQ depth\n(messages)",
    "in_flight_orders": "orders in flight",
    "stuck_orders": "stuck orders\n(in flight too long)",
    "psp_wasted": "PSP charges answered\nafter the caller left (/s)",
    "kafka.rebalances": "Kafka consumer\nrebalances (/s)",
}
MAX_POINTS = 1500


def _label(name: str, kind: str) -> str:
    if name in SERIES_LABELS:
        return SERIES_LABELS[name]
    if name.startswith("lag."):
        return f"consumer lag,\n{name[4:]} (messages)"
    return f"{name}\n(per s)" if kind == "count" else name


def _xy(values: list, bin_s: float, kind: str, end_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(values, dtype=float)
    if kind == "count":
        y = y / bin_s
    if end_s is not None:
        shown = shown_bins(bin_s, end_s)
        y = y[:shown]
        if kind == "count" and y.size < shown:  # a count's missing bins counted nothing
            y = np.pad(y, (0, shown - y.size))
    x = np.arange(y.size) * bin_s
    if y.size > MAX_POINTS:  # keep peaks visible: max over groups of bins
        group = int(np.ceil(y.size / MAX_POINTS))
        pad = (-y.size) % group
        y = np.pad(y, (0, pad)).reshape(-1, group).max(axis=1)
        x = np.arange(y.size) * bin_s * group
    return x, y


def _drain_note(ax, load_end_s: float | None, shown_s: float, end_s: float | None, unit_s: float) -> str:
    """A dotted line where the drain starts; the caption's words on a cut-off quiet drain."""
    note = ""
    if load_end_s and load_end_s < shown_s:
        ax.axvline(load_end_s / unit_s, color="#555555", lw=0.8, ls=":", zorder=1)
    if end_s is not None and shown_s < end_s - 1e-9:
        note = f"; nothing happened after {fmt.duration(shown_s)} (the rest of the drain, to {fmt.duration(end_s)}, is not shown)"
    return note


def timeseries_figure(series: dict, fault_windows: list[dict], end_s: float | None = None,
                      load_end_s: float | None = None, shown_s: float | None = None) -> Figure:
    """A panel per series, except that the PSP's requests, the charges it answered after the
    caller left and the goodput share one (throughput against goodput: a retry storm is the gap
    between them), and so do the consumer groups' lags (which group fell behind, against the
    others that kept up); a panel whose series are never above zero is named in the title instead
    of drawn (a flat line says nothing a word does not). Fault windows shaded and named; dotted
    line: the drain starts. ``shown_s``: where the time axis ends, when ``series`` was cut there
    (``series_view.cut_series``)."""
    items = [item for item in ordered_series(series) if len(item[2]) and not item[0].startswith(SERVICE_PREFIXES)]
    panels, flat = [], []
    for members in _panels(items):
        if any(_ever_above_zero(values) for _name, _kind, values in members):
            panels.append(members)
        else:
            flat += [name for name, _kind, _values in members]
    if not panels and items:  # nothing ever happened: the first panel drawn all the same
        panels = _panels(items)[:1]
        flat = [name for name in flat if name not in {member[0] for member in panels[0]}]
    shown = shown_end_s(series, end_s, load_end_s) if shown_s is None else shown_s
    fig = new_figure(10, 1.45 * max(1, len(panels)) + 1.2)
    axes = fig.subplots(max(1, len(panels)), 1, squeeze=False)[:, 0]
    bin_s = series["bin_s"]
    unit_s = time_axis(axes[-1], shown)
    note = ""
    for ax, members in zip(axes, panels):
        top = 0.0
        for index, (name, kind, values) in enumerate(members):
            x, y = _xy(values, bin_s, kind, shown)
            colour = ((PALETTE[0] if kind == "count" else PALETTE[2]) if len(members) == 1
                      else LINE_COLOURS.get(name, PALETTE[index % len(PALETTE)]))
            ax.step(x / unit_s, y, where="post", lw=1.0, color=colour, label=LINE_LABELS.get(name, name.removeprefix(LAG_PREFIX)))
            top = max(top, float(y.max(initial=0.0)))
        kind = members[0][1]
        shade_faults(ax, fault_windows, unit_s)
        note = _drain_note(ax, load_end_s, shown, end_s, unit_s)
        ax.set_ylabel(_panel_label(members), rotation=0, ha="right", va="center", fontsize=SMALL_PT)
        ax.tick_params(labelsize=SMALL_PT)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.number(v)))
        ax.set_ylim(0, max(1.0, top * (1.3 if len(members) > 1 else 1.08)))  # room for the legend above the lines
        if kind == "gauge":
            integer_ticks(ax)
        if len(members) > 1:
            ax.legend(fontsize=SMALL_PT, loc="upper right", ncols=len(members), frameon=False)
        ax.grid(alpha=0.25)
    stacked_on_one_time_axis(axes, shown / unit_s)
    fault_legend(fig, fault_windows, loc="outside lower center", ncols=3)
    never = f"; never above 0: {', '.join(_one_line(_label(name, 'gauge')) for name in flat)}" if flat else ""
    fig.suptitle(f"{fmt.duration(bin_s)} bins, counts shown per second; dotted line: the drain starts{note}{never}",
                 fontsize=SMALL_PT, x=0.01, ha="left")
    return lean_layout(fig, axes[:-1])


LAG_PREFIX = "lag."
LAGS_LABEL = "consumer lag\n(messages)"
RATES = ("psp_requests", "psp_wasted", "goodput")
"""The series drawn together as the PSP's load against what it achieved (per second)."""
RATES_LABEL = "per second"
LINE_LABELS = {"psp_requests": "PSP requests", "psp_wasted": "answered after the caller left",
               "goodput": "goodput (successful orders)"}
"""A line's name in a panel it shares (a lag's line is its consumer group)."""
LINE_COLOURS = {"psp_requests": PALETTE[0], "psp_wasted": PALETTE[1], "goodput": PALETTE[2]}


def _ever_above_zero(values: list) -> bool:
    return any(value > 0 for value in values)


def _one_line(label: str) -> str:
    return label.replace("\n(", " (").replace("\n", " ")


def _panel_label(members: list[tuple[str, str, list]]) -> str:
    name, kind, _ = members[0]
    if len(members) == 1:
        return _label(name, kind)
    return LAGS_LABEL if name.startswith(LAG_PREFIX) else RATES_LABEL


def _panels(items: list[tuple[str, str, list]]) -> list[list[tuple[str, str, list]]]:
    """The time-series figure's panels: each series alone, except the PSP's load and the goodput
    (:data:`RATES`) and the consumer groups' lags (``lag.<group>``), each group together in the
    panel where the first of it comes."""
    panels: list[list] = []
    shared: dict[str, list] = {}
    for item in items:
        group = "rates" if item[0] in RATES else "lags" if item[0].startswith(LAG_PREFIX) else None
        if group is None:
            panels.append([item])
        elif group not in shared:
            shared[group] = [item]
            panels.append(shared[group])
        else:
            shared[group].append(item)
    if "rates" in shared:
        shared["rates"].sort(key=lambda item: RATES.index(item[0]))
    return panels


HUMAN_TICKS_MS = (1.0, 10.0, 100.0, 1e3, 1e4, 6e4, 6e5, 3.6e6, 3.6e7)
"""Latency ticks a person reads at a glance: 1 ms, 10 ms, 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h, 10 h."""


def latency_cdf_figure(cdfs: dict[str, dict]) -> Figure:
    """End-to-end latency CDFs (log x axis in human units), one line per run or variant."""
    fig = new_figure(8, 3.8)
    ax = fig.subplots()
    for index, (label, cdf) in enumerate(cdfs.items()):
        if cdf["latency_ms"]:
            x = np.maximum(np.asarray(cdf["latency_ms"]), 1e-3)
            ax.plot(x, cdf["quantiles"], lw=1.6, color=PALETTE[index % len(PALETTE)], label=label)
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    ax.set_xticks([t for t in HUMAN_TICKS_MS if low <= t <= high] or [low, high])
    ax.minorticks_off()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.duration(v / 1000.0)))
    ax.set_xlabel("end-to-end latency, order created → final state (log scale)", fontsize=SMALL_PT)
    ax.set_ylabel("fraction of orders", fontsize=SMALL_PT)
    ax.tick_params(labelsize=SMALL_PT)
    for q in (0.5, 0.95, 0.99):
        ax.axhline(q, color="#999999", lw=0.6, ls=":")
    ax.grid(alpha=0.25, which="major")
    if cdfs:
        ax.legend(fontsize=SMALL_PT, loc="lower right")
    ax.set_title("latency CDF (dotted: p50, p95, p99)", fontsize=FONT_PT, y=TITLE_Y)
    return lean_layout(fig)


LANES = ("payment service", "executor", "PSP", "card scheme", "issuing bank", "DLQ")
BANK_DECIDED = {"APPROVED", "DECLINED_FUNDS", "DECLINED_LIMIT"}
"""Reply codes the issuing bank decided (reached through the card scheme)."""


def _words(code: str) -> str:
    return code.lower().replace("_", " ")


def sequence_steps(sample: dict) -> list[tuple[float | None, str, str, str, bool]]:
    """(t or None, from lane, to lane, label, is_reply) arrows for one traced order. A request is
    drawn at the time it was sent, its reply (or timeout) when it came back; the scheme and bank
    hops of a charge the bank decided sit between the two, untimed (the PSP does not trace them)."""
    steps: list[tuple[float | None, str, str, str, bool]] = [
        (sample["created_at_s"], "payment service", "executor", f"order {sample['order']} persisted", False)]
    sent = False
    for t, what in sample["events"]:
        parts = what.split(":")
        if parts[0] == "executor" and len(parts) == 3 and parts[1] in ("charge", "query"):
            if parts[2] == "sent":
                steps.append((t, "executor", "PSP", f"{parts[1]} request", False))
                sent = True
                continue
            if not sent:  # a trace without send times: the request, untimed
                steps.append((None, "executor", "PSP", f"{parts[1]} request", False))
            sent = False
            if parts[1] == "charge" and parts[2] in BANK_DECIDED:
                steps.append((None, "PSP", "card scheme", "authorise", False))
                steps.append((None, "card scheme", "issuing bank", "authorise", False))
                steps.append((None, "issuing bank", "PSP", _words(parts[2]), True))
            label = "timeout: no reply" if parts[2] == "timeout" else f"{parts[1]} reply: {_words(parts[2])}"
            steps.append((t, "PSP", "executor", label, True))
        elif parts[0] == "executor" and len(parts) == 3 and parts[1] == "dead_lettered":
            steps.append((t, "executor", "DLQ", f"dead-lettered ({_words(parts[2])})", False))
        elif parts[0] == "webhook":
            steps.append((t, "PSP", "payment service", f"webhook: {_words(parts[-1])}", True))
        else:
            steps.append((t, "executor", "payment service", f"{parts[0]}: {_words(parts[-1])}", True))
    return steps


def _step_time(t: float | None, start: float | None) -> str:
    """The left column of a sequence diagram: the first message at its simulated time (to the
    millisecond), each later one as the time since it, so a 5 ms hop late in a run stays visible."""
    if t is None or start is None:
        return ""
    if t == start:
        return f"{t:,.3f} s"
    return f"+{fmt.duration(t - start)}"


def _sequence_panel(ax, sample: dict) -> None:
    steps = sequence_steps(sample)
    xs = {lane: i for i, lane in enumerate(LANES)}
    n = len(steps)
    for lane, x in xs.items():
        ax.plot([x, x], [-0.2, n + 0.3], color="#999999", lw=0.8, zorder=1)
        ax.text(x, n + 0.6, lane, ha="center", va="bottom", fontsize=SMALL_PT, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.3", "fc": "#eef3fa", "ec": "#8aa"})
    start = next((t for t, *_ in steps if t is not None), None)
    for row, (t, src, dst, label, reply) in enumerate(steps):
        y = n - row - 0.4
        bad = any(w in label for w in ("unavailable", "timeout", "dead", "error", "declined", "rate limited"))
        colour = "#b03030" if bad else "#222222"
        ax.annotate("", xy=(xs[dst], y), xytext=(xs[src], y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1, "ls": "--" if reply else "-"})
        ax.text((xs[src] + xs[dst]) / 2, y + 0.08, label, ha="center", va="bottom", fontsize=SMALL_PT, color=colour)
        ax.text(-0.45, y, _step_time(t, start), ha="right", va="center", fontsize=SMALL_PT,
                color="#444444", family="monospace")
    ax.set_xlim(-1.5, len(LANES) - 0.5)
    ax.set_ylim(-0.5, n + 1.4)
    ax.axis("off")
    attempts = sample["psp_attempts"]
    ax.set_title(f"{sample['label']}: order {sample['order']} → {sample['state']} "
                 f"({attempts} charge attempt{'s' if attempts != 1 else ''})", fontsize=FONT_PT, loc="left", y=TITLE_Y)


def sequence_figure(samples: list[dict]) -> Figure:
    """A sequence diagram per sample order, one under the other (lanes: payment service, executor,
    PSP, card scheme, issuing bank, DLQ); left column: simulated time of each message."""
    heights = [len(sequence_steps(s)) for s in samples] or [2]
    fig = new_figure(10, sum(0.36 * h + 1.1 for h in heights))
    axes = fig.subplots(max(1, len(samples)), 1, squeeze=False, height_ratios=[h + 2 for h in heights])[:, 0]
    for ax, sample in zip(axes, samples):
        _sequence_panel(ax, sample)
    if not samples:
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no sample orders", ha="center")
    return lean_layout(fig, contained=axes if samples else ())


def psp_rate_figure(exemplars: dict[str, dict], fault_windows: list[dict], end_s: float | None = None,
                    load_end_s: float | None = None) -> Figure:
    """PSP request rate over time, one panel per variant (same seed: common random numbers), with
    a zoom on the seconds around the end of the last PSP fault."""
    names = list(exemplars)
    psp_windows = [w for w in fault_windows if w["target"] == "psp"] or fault_windows
    first = next(iter(exemplars.values()))["series"] if exemplars else {"bin_s": 1.0}
    shown = max((shown_end_s(e["series"], end_s, load_end_s) for e in exemplars.values()), default=end_s or 1.0)
    fig = new_figure(11, 1.25 * len(names) + 1.6)
    axes = fig.subplots(len(names), 2, squeeze=False, width_ratios=[2.2, 1])
    top = max((max(e["series"]["counts"].get("psp_requests", [0]) or [0]) / e["series"]["bin_s"]
               for e in exemplars.values()), default=1.0) or 1.0
    zoom = (psp_windows[-1]["end_s"] - 5, psp_windows[-1]["end_s"] + 20) if psp_windows else None
    zoom_top = top
    if zoom:
        zoom_top = max((max(e["series"]["counts"].get("psp_requests", [])[
            int(zoom[0] / e["series"]["bin_s"]):int(zoom[1] / e["series"]["bin_s"]) + 1], default=0) / e["series"]["bin_s"]
            for e in exemplars.values()), default=0.0) or top
    unit_s = time_axis(axes[-1, 0], shown)
    time_axis(axes[-1, 1], 0.0)
    for row, name in enumerate(names):
        series = exemplars[name]["series"]
        x, y = _xy(series["counts"].get("psp_requests", []), series["bin_s"], "count", shown)
        colour = PALETTE[row % len(PALETTE)]
        for column, ax in enumerate(axes[row]):
            scale = 1.0 if column == 1 else unit_s
            ax.step(x / scale, y, where="post", lw=0.9, color=colour)
            shade_faults(ax, fault_windows, scale)
            ax.set_ylim(0, (zoom_top if column == 1 else top) * 1.05)
            ax.tick_params(labelsize=SMALL_PT)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.number(v)))
            ax.grid(alpha=0.25)
            if column == 1 and zoom:
                ax.axvline(zoom[0] + 5, color="#b03030", lw=0.8, ls="--")
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=SMALL_PT)
    stacked_on_one_time_axis(axes[:, 0], shown / unit_s)
    low, high = zoom or axes[-1, 1].get_xlim()
    stacked_on_one_time_axis(axes[:, 1], high, low)
    axes[0, 0].set_title(f"PSP request rate (req/s per {fmt.duration(first['bin_s'])} bin), whole run",
                         fontsize=FONT_PT, y=TITLE_Y)
    axes[0, 1].set_title("zoom: recovery (dashed line = PSP back)", fontsize=FONT_PT, y=TITLE_Y)
    fault_legend(fig, fault_windows, loc="outside lower center", ncols=3)
    return lean_layout(fig, axes[:-1].ravel())


def pareto_figure(stats: dict[str, dict], front: list[str]) -> Figure:
    """Success rate vs PSP requests per order, one colour per variant named in the legend with its
    p99 (no labels on the points: they overlap); Pareto-optimal variants outlined and starred.
    Drawn as a few collections (the bars, the caps, the circles, the stars) with the legend's
    entries made for it, not an errorbar and a scatter per variant: a third of the figure's CPU,
    the one figure a comparison still draws after its last run."""
    fig = new_figure(9, 4.6)
    ax = fig.subplots()
    points, handles = [], []
    for index, (name, s) in enumerate(stats.items()):
        x, y = s["psp_requests_per_order"]["mean"], s["success_rate"]["mean"]
        if x is None or y is None:
            continue
        p99 = s["p99_latency_ms"]["mean"]
        on_front = name in front
        colour = PALETTE[index % len(PALETTE)]
        hw_x, hw_y = s["psp_requests_per_order"]["half_width"], s["success_rate"]["half_width"]
        points.append((x, y * 100, hw_x, None if hw_y is None else hw_y * 100, colour, on_front))
        handles.append(Line2D([], [], linestyle="none", marker="*" if on_front else "o", markersize=POINT_SIZE ** 0.5,
                              markerfacecolor=colour, alpha=0.9, markeredgecolor="black" if on_front else "none",
                              markeredgewidth=1.2,
                              label=f"{'★ ' if on_front else ''}{name} (p99 {fmt.duration(None if p99 is None else p99 / 1000)})"))
    with_bars = [p for p in points if p[2] is not None and p[3] is not None]
    if with_bars:
        bars = [[(x - hw_x, y), (x + hw_x, y)] for x, y, hw_x, _hw_y, _c, _f in with_bars]
        bars += [[(x, y - hw_y), (x, y + hw_y)] for x, y, _hw_x, hw_y, _c, _f in with_bars]
        colours = [p[4] for p in with_bars] * 2
        ax.add_collection(LineCollection(bars, colors=colours, linewidths=0.9, zorder=2))
        ends_x = [(x + side * hw_x, y) for x, y, hw_x, _hw_y, _c, _f in with_bars for side in (-1, 1)]
        ends_y = [(x, y + side * hw_y) for x, y, _hw_x, hw_y, _c, _f in with_bars for side in (-1, 1)]
        cap_colours = [p[4] for p in with_bars for _side in (-1, 1)]
        for marker, ends in (("|", ends_x), ("_", ends_y)):
            ax.scatter(*zip(*ends), s=CAP_SIZE, marker=marker, c=cap_colours, linewidths=0.9, zorder=2)
    for on_front in (False, True):
        part = [p for p in points if p[5] == on_front]
        if part:
            ax.scatter([p[0] for p in part], [p[1] for p in part], s=POINT_SIZE, c=[p[4] for p in part],
                       marker="*" if on_front else "o", alpha=0.9, edgecolors="black" if on_front else "none",
                       linewidths=1.2, zorder=3)
    ax.set_xlabel("PSP requests per order (load on the PSP; lower is better)", fontsize=SMALL_PT)
    ax.set_ylabel("success rate (%; higher is better)", fontsize=SMALL_PT)
    ax.tick_params(labelsize=SMALL_PT)
    ax.set_title("success rate against PSP load (bars: 95 % CI)", fontsize=FONT_PT, y=TITLE_Y)
    ax.grid(alpha=0.25)
    ax.margins(0.15)
    fig.legend(handles=handles, fontsize=SMALL_PT, loc="outside right upper")
    return lean_layout(fig)


POINT_SIZE = 110
"""A variant's marker in the Pareto plot (points squared, as ``scatter`` takes it)."""
CAP_SIZE = 36
"""An error bar's cap: 6 points long, as ``errorbar(capsize=3)`` draws it."""


def save(fig: Figure, folder: Path, name: str, vector: bool = False) -> bytes:
    """Render ``fig`` once as ``name``.png in ``folder`` (and ``name``.svg only when ``vector``);
    return the PNG bytes for embedding."""
    data = png(fig)
    (folder / f"{name}.png").write_bytes(data)
    if vector:
        (folder / f"{name}.svg").write_bytes(svg(fig))
    return data


SERVICE_PREFIXES = ("queue.", "busy.")
"""Per-station gauges (sim/world.py): drawn by :func:`services_figure`, not one panel each."""


def services_figure(series: dict, services: dict[str, dict], fault_windows: list[dict], end_s: float | None = None,
                    load_end_s: float | None = None, shown_s: float | None = None) -> Figure | None:
    """One panel per finite-capacity service that queued, was busy or wasted work
    (``series_view.services_shown``): requests waiting (left axis) and the share of its servers
    busy (right axis, %), per bin, with fault windows shaded; the idle ones named in the title.
    None when no service did any of that.
    ``services``: each service's ``servers``, ``mean_queue``, ``utilisation`` and
    ``wasted_work_share`` (a run summary's, or just these); ``shown_s`` as in :func:`timeseries_figure`."""
    shown = shown_end_s(series, end_s, load_end_s) if shown_s is None else shown_s
    names, idle = services_shown(series, services, shown)
    if not names:
        return None
    gauges, bin_s = series["gauges"], series["bin_s"]
    fig = new_figure(10, 1.45 * len(names) + 1.2)
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    unit_s = time_axis(axes[-1], shown)
    for ax, name in zip(axes, names):
        servers = services[name]["servers"]
        x, queue = _xy(gauges[f"queue.{name}"], bin_s, "gauge", shown)
        ax.step(x / unit_s, queue, where="post", lw=1.0, color=PALETTE[1], label="waiting")
        ax.set_ylim(0, max(1.0, float(queue.max(initial=0.0)) * 1.08))
        integer_ticks(ax)
        busy_axis = ax.twinx()
        x, busy = _xy(gauges.get(f"busy.{name}", []), bin_s, "gauge", shown)
        busy_axis.step(x / unit_s, 100.0 * busy / servers, where="post", lw=1.0, color=PALETTE[0], label="busy")
        busy_axis.set_ylim(0, 105)
        busy_axis.tick_params(labelsize=SMALL_PT, colors=PALETTE[0])
        busy_axis.set_ylabel("% busy", fontsize=SMALL_PT, color=PALETTE[0])
        shade_faults(ax, fault_windows, unit_s)
        wasted = services[name].get("wasted_work_share") or 0.0
        ax.set_ylabel(f"{name}\n{servers:,} servers\nwaiting · {100 * wasted:.0f} % wasted", rotation=0, ha="right",
                      va="center", fontsize=SMALL_PT, color=PALETTE[1])
        ax.tick_params(labelsize=SMALL_PT)
        ax.grid(alpha=0.25)
    stacked_on_one_time_axis(axes, shown / unit_s)
    fault_legend(fig, fault_windows, loc="outside lower center", ncols=3)
    idle_line = (f"\nnot shown (never queued, at most {IDLE_BUSY_SHARE:.0%} busy, under {WASTED_SHARE_SHOWN:.0%} of its "
                 f"work wasted): {', '.join(idle)}"
                 if idle else "")
    fig.suptitle(f"per service, busiest first, sampled every {fmt.duration(bin_s)}: requests waiting (red, left) and "
                 "servers busy (blue, right);\nwasted = share of its work done for callers who had given up"
                 + idle_line, fontsize=SMALL_PT, x=0.01, ha="left")
    return lean_layout(fig, axes[:-1])
