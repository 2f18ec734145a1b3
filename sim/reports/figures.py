"""What every report figure shares: a backend-free Figure, human time axes, fault-window shading
with a legend that names the fault, and PNG rendering.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure`` on an Agg canvas of
its own), never through ``pyplot``: importing the reports switches no backend, so a notebook keeps
Jupyter's inline backend.
"""

from __future__ import annotations

import io

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator
from PIL import Image

from sim import format as fmt

DPI = 110
"""Pixels per inch of the PNGs; a 10-inch figure is 1,100 px wide, shown at about 100 % in a report."""
FONT_PT = 10
SMALL_PT = 9
TITLE_Y = 1.0
"""Every axes title at a fixed height (``set_title(..., y=TITLE_Y)``): left to itself, matplotlib
measures the tick labels on every draw to lift a title above any at the top, and no figure here
has ticks at the top; the pixels are the same, the draw a sixth cheaper."""
FAULT_COLOURS = ("#f4b183", "#9dc3e6", "#c9a0dc", "#a9d18e", "#ffd966", "#bdbdbd")
PNG_COMPRESS_LEVEL = 1
"""zlib's level for the PNGs: the same pixels as the default level 6 in about two thirds of the
encoding time (a report's largest figure: 67 → 40 ms of CPU; a sweep's line plot 28 → 8 ms), for
files 2-23 % larger. A figure drawn after the last simulation is on the path a user waits on."""
TEXT_HINTING = "no_hinting"
"""FreeType's hinting of a PNG's text: none. matplotlib's default forces FreeType's auto-hinter,
which snaps each glyph to the pixel grid; at these 110 dpi the text reads the same without it
(looked at side by side), and the draw is 5-10 % cheaper (measured: time series 130 → 120 ms of
CPU, latency CDF 49 → 45 ms, sequence diagram 137 → 120 ms)."""
TIME_UNITS = (("h", 3600.0, 3 * 3600.0), ("min", 60.0, 180.0), ("s", 1.0, 0.0))
"""(name, seconds, from a span of): minutes for runs of 3 min or more, hours from 3 h."""


def new_figure(width_in: float, height_in: float) -> Figure:
    """A Figure with its own Agg canvas and constrained layout (no pyplot, no global backend)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def lean_layout(fig: Figure, inner_x=(), contained=()) -> Figure:
    """Leave out of the constrained layout what cannot move it, the same pixels for less work: every
    axes' spines (they lie on its edges; their outward tick marks sit within the tick labels, and
    measuring them updates every tick once more per layout pass); the x axis of ``inner_x``,
    panels above another with the same x axis, whose tick labels are hidden (their tick marks
    stick out less than the gap between the panels); and everything drawn in ``contained``, axes
    whose texts and arrows are placed within their limits (only their titles are laid out). About
    a tenth of a figure's draw (``tests/test_figures_png.py`` holds the pixels equal)."""
    for ax in fig.axes:
        for spine in ax.spines.values():
            spine.set_in_layout(False)
    for ax in inner_x:
        ax.xaxis.set_in_layout(False)
    for ax in contained:
        titles = (ax.title, ax._left_title, ax._right_title)
        for artist in ax.get_children():
            if not any(artist is title for title in titles):
                artist.set_in_layout(False)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes: one draw (with the layout), then the opaque pixels as RGB (the
    figure's white background leaves nothing for an alpha channel to say: a quarter less to
    compress) with no timestamp metadata, so the same results give the same bytes. Compressed at
    zlib's fastest level (:data:`PNG_COMPRESS_LEVEL`), its text unhinted (:data:`TEXT_HINTING`)."""
    canvas = fig.canvas
    with rc_context({"text.hinting": TEXT_HINTING}):  # read as the text is measured and drawn
        canvas.draw()  # the canvas's own draw: one pass with the layout (``savefig`` draws twice under a layout engine)
    width, height = canvas.get_width_height(physical=True)
    rgb = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="png", dpi=(fig.dpi, fig.dpi), compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def svg(fig: Figure) -> bytes:
    """The figure as SVG bytes (stable ids, no date), for when a vector copy is asked for."""
    buffer = io.BytesIO()
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "paychaos", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def time_unit(span_s: float) -> tuple[str, float]:
    """The unit a time axis spanning ``span_s`` reads in: s, min or h."""
    for name, seconds, from_span in TIME_UNITS:
        if span_s >= from_span:
            return name, seconds
    return "s", 1.0


def time_axis(ax, span_s: float, label: str = "simulated time") -> float:
    """Label ``ax``'s x axis in the unit that suits ``span_s``; returns that unit in seconds
    (divide x values by it)."""
    name, seconds = time_unit(span_s)
    ax.set_xlabel(f"{label} ({name})", fontsize=SMALL_PT)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.number(round(v, 6))))
    return seconds


def stacked_on_one_time_axis(axes, end: float, start: float = 0.0) -> None:
    """Panels stacked over one time axis from ``start`` to ``end`` (in the axis' unit), ticked only at the
    bottom: the inner panels get the bottom's vertical gridlines drawn as plain lines, and no
    ticks of their own (making, placing and measuring every panel's tick marks and hidden tick
    labels was a fifth of a stacked figure's draw). Built without ``sharex``: shared axes share
    one tick locator, so the inner panels' could not be turned off alone."""
    bottom = axes[-1]
    for ax in axes:
        ax.set_xlim(start, end)
    ticks = [t for t in bottom.xaxis.get_major_locator().tick_values(start, end) if start <= t <= end]
    for ax in axes[:-1]:
        ax.xaxis.set_major_locator(NullLocator())
        ax.vlines(ticks, 0, 1, transform=ax.get_xaxis_transform(), colors=GRID_COLOUR, linewidths=0.8,
                  alpha=0.25, zorder=1.5)


GRID_COLOUR = "#b0b0b0"
"""matplotlib's default grid colour (``grid.color``), for gridlines drawn as lines."""


def integer_ticks(ax) -> None:
    """Whole-number ticks on the y axis (messages, orders: there is no half a message)."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def fault_colours(fault_windows: list[dict]) -> dict[str, str]:
    """A colour per fault kind, in order of first appearance."""
    colours: dict[str, str] = {}
    for window in fault_windows:
        kind = _fault_name(window)
        colours.setdefault(kind, FAULT_COLOURS[len(colours) % len(FAULT_COLOURS)])
    return colours


def _fault_name(window: dict) -> str:
    return f"{window.get('kind', 'fault')} ({window.get('target', '?')})"


def shade_faults(ax, fault_windows: list[dict], unit_s: float) -> None:
    """Shade every fault window in its kind's colour."""
    colours = fault_colours(fault_windows)
    for window in fault_windows:
        ax.axvspan(window["start_s"] / unit_s, window["end_s"] / unit_s, color=colours[_fault_name(window)],
                   alpha=0.45, lw=0, zorder=0)


def fault_legend(fig_or_ax, fault_windows: list[dict], **kwargs) -> None:
    """A legend naming each shaded fault kind (proxy patches: nothing is drawn at t = 0)."""
    colours = fault_colours(fault_windows)
    if not colours:
        return
    handles = [Patch(color=colour, alpha=0.45, label=f"fault: {name}") for name, colour in colours.items()]
    fig_or_ax.legend(handles=handles, fontsize=SMALL_PT, **kwargs)
