"""Draw a system graph (``sim.config.graph``) as PNG and SVG: solid arrows are synchronous calls, dashed
arrows asynchronous hand-offs (Kafka topics, webhooks, files); boxes show instance counts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.config.graph import SYNC  # noqa: E402

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


def draw(g: nx.DiGraph, out_base: Path) -> list[Path]:
    """Write ``out_base``.png and .svg; returns the paths written."""
    plt.rcParams["svg.hashsalt"] = "paychaos"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    positions = _positions(g)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fig, ax = plt.subplots(figsize=(2.5 + 0.95 * (max(xs) - min(xs)), 2.2 + 1.1 * (max(ys) - min(ys))))
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 2.0)
    boxes = {}
    for node, attrs in g.nodes(data=True):
        x, y = positions[node]
        boxes[node] = ax.text(
            x, y, node_text(attrs), ha="center", va="center", fontsize=8, zorder=3,
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
            ax.text(x, y, label, fontsize=6.5, ha="center", va="center",
                    color=arrow.arrow_patch.get_edgecolor(), zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    legend = [
        Line2D([0], [0], color="#222222", lw=1.2, label="synchronous call"),
        Line2D([0], [0], color="#b03030", lw=1.2, linestyle=(0, (4, 3)), label="asynchronous (topic, webhook, file)"),
    ] + [Patch(fc=COLOURS[k], ec="#555555", label=KIND_NAMES[k]) for k in COLOURS
         if any(kind == k for _, kind in g.nodes(data="kind"))]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4, fontsize=7, frameon=False)
    ax.set_title(f"{g.graph.get('name', 'model')} ({g.graph.get('wiring', '')} wiring)", fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    written = []
    for suffix in (".png", ".svg"):
        path = out_base.with_name(out_base.name + suffix)
        _save_atomic(fig, path)
        written.append(path)
    plt.close(fig)
    return written


def _save_atomic(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        metadata = {"Date": None} if path.suffix == ".svg" else {"Software": None}
        fig.savefig(tmp, dpi=150, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
