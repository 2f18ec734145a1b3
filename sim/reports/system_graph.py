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


def _arc_point(ax, source: tuple, target: tuple, rad: float, t: float) -> tuple[float, float]:
    """The point at ``t`` (0 at ``source``, 1 at ``target``) of matplotlib's ``arc3`` curve between
    two points in data coordinates (a quadratic Bézier drawn in display coordinates), in display
    coordinates."""
    (x1, y1), (x2, y2) = ax.transData.transform([source, target])
    dx, dy = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2 + rad * dy, (y1 + y2) / 2 - rad * dx
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t ** 2
    return a * x1 + b * cx + c * x2, a * y1 + b * cy + c * y2


LABEL_SPOTS = (0.0, -1 / 6, 1 / 6, -1 / 3, 1 / 3, -0.42, 0.42)
"""Where an edge's label may go: the middle of the arrow's visible part, then further towards
either end (fractions of that part), the first spot clear of every box and label taken."""


def _place_label(ax, label, source: tuple, target: tuple, rad: float, boxes: tuple, taken: list) -> None:
    """Move ``label`` (a Text) onto its edge's arrow where it covers no box and no other label.

    The arrow runs between the two boxes (``boxes``: their extents in display coordinates), so
    its middle is not the middle of the curve between the boxes' centres: a short edge leaving a
    wide box would put its label on the box. ``taken``: the extents already used, to which the
    label's is added."""
    curve = [(t / 50, _arc_point(ax, source, target, rad, t / 50)) for t in range(51)]
    low = max((t for t, point in curve if boxes[0].contains(*point)), default=0.0)
    high = min((t for t, point in curve if boxes[1].contains(*point)), default=1.0)
    if high <= low:  # overlapping boxes: the curve's middle
        low, high = 0.0, 1.0
    middle, span = (low + high) / 2, high - low
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    fallback = None
    for text in dict.fromkeys((label.get_text(), _two_lines(label.get_text()))):  # on two lines when one does not fit
        label.set_text(text)
        for spot in LABEL_SPOTS:
            label.set_position(to_data.transform(_arc_point(ax, source, target, rad, middle + spot * span)))
            extent = label.get_window_extent(renderer).expanded(1.15, 1.3)
            if spot == 0.0:
                fallback = (text, label.get_position(), extent)  # the narrowest text in the middle
            if not any(extent.overlaps(other) for other in taken):
                taken.append(extent)
                return
    text, position, extent = fallback
    label.set_text(text)
    label.set_position(position)
    taken.append(extent)


def _two_lines(text: str) -> str:
    """``text`` broken at the space nearest its middle (unchanged without a space)."""
    spaces = [i for i, char in enumerate(text) if char == " "]
    if not spaces:
        return text
    cut = min(spaces, key=lambda i: abs(2 * i - len(text)))
    return text[:cut] + "\n" + text[cut + 1:]


def _rad(positions: dict, source: str, target: str) -> float:
    """How much an edge bends (``arc3``'s ``rad``): barely, except going back left, where it arcs
    over the boxes between its ends (high over the long way back)."""
    back = positions[target][0] < positions[source][0] - X_STEP / 2
    span = abs(positions[target][0] - positions[source][0]) / X_STEP
    return (0.55 if span >= 3 else 0.2) if back else 0.06


HEADROOM = 1.5
"""Layout units above the top row for the arcs going back over it; an arc that would rise higher
is bent less (:func:`_fitting_rad`)."""


def _fitting_rad(ax, source: tuple, target: tuple, rad: float) -> float:
    """``rad``, or less for an arc whose crest would rise within a tenth of the headroom of the
    axes' top (arcs bend in display space: their crest depends on the page's aspect)."""
    top = ax.transData.transform((0, ax.get_ylim()[1] - HEADROOM / 10))[1]
    middle_y = (ax.transData.transform(source)[1] + ax.transData.transform(target)[1]) / 2
    crest = _arc_point(ax, source, target, rad, 0.5)[1]
    if crest <= top or crest <= middle_y:
        return rad
    return rad * (top - middle_y) / (crest - middle_y)


def figure(g: nx.DiGraph) -> Figure:
    """The system graph as a Figure (text at 10 pt: legible at 100 % in a report)."""
    positions = _positions(g)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    fig = new_figure(2.5 + 0.95 * (max(xs) - min(xs)), 1.9 + 1.25 * (max(ys) - min(ys)))
    fig.set_layout_engine("none")
    ax = fig.subplots()
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(min(ys) - 0.6, max(ys) + HEADROOM)
    boxes = {}
    for node, attrs in g.nodes(data=True):
        x, y = positions[node]
        boxes[node] = ax.text(
            x, y, node_text(attrs), ha="center", va="center", fontsize=10, zorder=3,
            bbox={"boxstyle": "round,pad=0.4", "fc": COLOURS.get(attrs.get("kind"), "white"), "ec": "#555555"},
        )
    legend = [
        Line2D([0], [0], color="#222222", lw=1.2, label="synchronous call"),
        Line2D([0], [0], color="#b03030", lw=1.2, linestyle=(0, (4, 3)), label="asynchronous (topic, webhook, file)"),
    ] + [Patch(fc=COLOURS[k], ec="#555555", label=KIND_NAMES[k]) for k in COLOURS
         if any(kind == k for _, kind in g.nodes(data="kind"))]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=10, frameon=False)
    ax.set_title(f"{g.graph.get('name', 'model')} ({g.graph.get('wiring', '')} wiring)", fontsize=12)
    ax.axis("off")
    fig.tight_layout()  # the axes' place is final before the arcs are fitted and the labels placed
    fig.canvas.draw()  # lay out the boxes so arrows can be clipped to them
    renderer = fig.canvas.get_renderer()
    extents = {node: box.get_bbox_patch().get_window_extent(renderer) for node, box in boxes.items()}
    taken = list(extents.values())  # what a label must not cover: the boxes, then the labels placed
    for source, target, attrs in g.edges(data=True):
        sync = attrs.get("mode") == SYNC
        rad = _fitting_rad(ax, positions[source], positions[target], _rad(positions, source, target))
        arrow = ax.annotate(
            "", xy=positions[target], xytext=positions[source], zorder=2,
            arrowprops={
                "arrowstyle": "-|>", "color": "#222222" if sync else "#b03030", "lw": 1.2,
                "linestyle": "-" if sync else (0, (4, 3)),
                "patchA": boxes[source].get_bbox_patch(), "patchB": boxes[target].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad:.4f}", "shrinkA": 2, "shrinkB": 2,
            },
        )
        label = attrs.get("label") or ""
        if attrs.get("group"):
            label = f"group {attrs['group']}"
        if label:
            text = ax.text(0, 0, label, fontsize=9, ha="center", va="center",
                           color=arrow.arrow_patch.get_edgecolor(), zorder=4,
                           bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
            _place_label(ax, text, positions[source], positions[target], rad, (extents[source], extents[target]), taken)
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
