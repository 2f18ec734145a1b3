"""Draw a system graph (``sim.config.graph``) as PNG and SVG: solid arrows are synchronous calls, dashed
arrows asynchronous hand-offs (Kafka topics, webhooks, files); boxes show instance counts."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.atomic import write_bytes_atomic
from sim.config.graph import SYNC
from sim.reports.figures import new_figure, png, svg

COLOURS = {"client": "#dbe9f6", "service": "#cfe8cf", "store": "#f3e3c3", "topic": "#f7d3d3", "external": "#e3e3e3"}
KIND_NAMES = {"client": "client", "service": "our service", "store": "store / queue", "topic": "Kafka topic",
              "external": "PSP and card network"}


def node_text(attrs: dict) -> str:
    """The box text: name, ×instances, and a detail line."""
    text = attrs["label"]
    if attrs.get("instances"):
        text += f" ×{attrs['instances']}"
    if attrs.get("detail"):
        text += f"\n{attrs['detail']}"
    return text


X_STEP, Y_STEP = 2.4, 1.1


def _positions(g: nx.DiGraph) -> dict:
    return {node: (at[0] * X_STEP, at[1] * Y_STEP) for node, at in g.nodes(data="at")}


def _arc_middle(ax, source: tuple, target: tuple, rad: float) -> tuple[float, float]:
    """The middle of matplotlib's ``arc3`` curve from ``source`` to ``target`` (data coordinates)."""
    (x1, y1), (x2, y2) = ax.transData.transform([source, target])
    dx, dy = x2 - x1, y2 - y1
    middle = ((x1 + x2) / 2 + rad * dy / 2, (y1 + y2) / 2 - rad * dx / 2)
    return tuple(ax.transData.inverted().transform(middle))


def figure(g: nx.DiGraph) -> Figure:
    """The system graph as a Figure (text at 10 pt: legible at 100 % in a report)."""
    positions = _positions(g)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fig = new_figure(2.5 + 0.95 * (max(xs) - min(xs)), 2.4 + 1.25 * (max(ys) - min(ys)))
    fig.set_layout_engine("none")
    ax = fig.subplots()
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 2.0)
    boxes = {}
    for node, attrs in g.nodes(data=True):
        x, y = positions[node]
        boxes[node] = ax.text(
            x, y, node_text(attrs), ha="center", va="center", fontsize=10, zorder=3,
            bbox={"boxstyle": "round,pad=0.4", "fc": COLOURS.get(attrs.get("kind"), "white"), "ec": "#555555"},
        )
    fig.canvas.draw()  # lay out the boxes so arrows can be clipped to them
    for source, target, attrs in g.edges(data=True):
        sync = attrs.get("mode") == SYNC
        back = positions[target][0] < positions[source][0] - X_STEP / 2
        span = abs(positions[target][0] - positions[source][0]) / X_STEP
        rad = (0.55 if span >= 3 else 0.2) if back else 0.06
        arrow = ax.annotate(
            "", xy=positions[target], xytext=positions[source], zorder=2,
            arrowprops={
                "arrowstyle": "-|>", "color": "#222222" if sync else "#b03030", "lw": 1.2,
                "linestyle": "-" if sync else (0, (4, 3)),
                "patchA": boxes[source].get_bbox_patch(), "patchB": boxes[target].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad}", "shrinkA": 2, "shrinkB": 2,
            },
        )
        label = attrs.get("label") or ""
        if attrs.get("group"):
            label = f"group {attrs['group']}"
        if label:
            x, y = _arc_middle(ax, positions[source], positions[target], rad)
            ax.text(x, y, label, fontsize=9, ha="center", va="center",
                    color=arrow.arrow_patch.get_edgecolor(), zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    legend = [
        Line2D([0], [0], color="#222222", lw=1.2, label="synchronous call"),
        Line2D([0], [0], color="#b03030", lw=1.2, linestyle=(0, (4, 3)), label="asynchronous (topic, webhook, file)"),
    ] + [Patch(fc=COLOURS[k], ec="#555555", label=KIND_NAMES[k]) for k in COLOURS
         if any(kind == k for _, kind in g.nodes(data="kind"))]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=10, frameon=False)
    ax.set_title(f"{g.graph.get('name', 'model')} ({g.graph.get('wiring', '')} wiring)", fontsize=12)
    ax.axis("off")
    fig.tight_layout()
    return fig


def draw(g: nx.DiGraph, out_base: Path, suffixes: tuple[str, ...] = (".png", ".svg")) -> list[Path]:
    """Write ``out_base`` + each suffix (PNG and/or SVG); returns the paths written."""
    fig = figure(g)
    written = []
    for suffix in suffixes:
        path = out_base.with_name(out_base.name + suffix)
        write_bytes_atomic(path, png(fig) if suffix == ".png" else svg(fig))
        written.append(path)
    return written
