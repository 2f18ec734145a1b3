"""The report's PNG writer: the same pixels matplotlib's own PNG has (with the report's text
hinting), as RGB, the same bytes every time."""

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from sim.reports import plots, sweep_figures
from sim.reports.figures import TEXT_HINTING, new_figure, png


def _figure():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], color="#d62728")
    ax.fill_between([0, 1, 2], [0, 1, 1], [2, 4, 3], alpha=0.2)
    ax.set_title("a title", y=plots.TITLE_Y)
    return fig


def test_png_has_matplotlibs_pixels_without_an_alpha_channel():
    ours = Image.open(io.BytesIO(png(_figure())))
    reference = io.BytesIO()
    with matplotlib.rc_context({"text.hinting": TEXT_HINTING}):
        _figure().canvas.print_png(reference)
    theirs = Image.open(reference)
    assert ours.mode == "RGB" and theirs.mode == "RGBA"
    rgba = np.asarray(theirs)
    assert (rgba[..., 3] == 255).all()  # an opaque figure: the dropped channel said nothing
    assert np.array_equal(np.asarray(ours), rgba[..., :3])
    assert ours.info.get("dpi") is not None and round(ours.info["dpi"][0]) == round(_figure().dpi)


def test_png_bytes_are_the_same_every_time():
    assert png(_figure()) == png(_figure())


def test_a_fixed_title_height_draws_the_same_pixels_as_matplotlibs_own_placement():
    fixed, auto = _figure(), _figure()
    auto.axes[0].set_title("a title")  # matplotlib's placement, measured on every draw
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png(fixed)))), np.asarray(Image.open(io.BytesIO(png(auto)))))


def _full_layout(fig):
    """``fig`` with everything back in the constrained layout (as it was before ``lean_layout``)."""
    for ax in fig.axes:
        ax.xaxis.set_in_layout(True)
        for artist in ax.get_children():
            artist.set_in_layout(True)
    return fig


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A short run with a fault, finite-capacity services and sample orders: its JSON-ready data."""
    from helpers import SCENARIOS
    from sim.config.loader import load_scenario
    from sim.runners.replicate import Replicated, run_one

    loaded = load_scenario(SCENARIOS / "metastable-retry-storm.yaml")
    return Replicated([run_one(loaded, loaded.scenario.seed, None, samples=True)]).to_dict()


def _sweep_points():
    import pandas as pd

    return pd.DataFrame({"model.executor.psp_timeout": [0.3, 0.3, 2.0, 2.0], "workload.rate": [4.0, 8.0, 4.0, 8.0],
                         "success_rate": [0.91, 0.95, 0.97, 0.99], "success_rate_ci_low": [0.9, 0.93, 0.95, 0.98],
                         "success_rate_ci_high": [0.92, 0.97, 0.99, 1.0]})


def _pareto_stats():
    """A comparison's KPI statistics for variants with long names, one without a PSP rate."""
    def kpis(requests, success, p99_ms):
        return {"psp_requests_per_order": {"mean": requests, "half_width": 0.02},
                "success_rate": {"mean": success, "half_width": 0.004}, "p99_latency_ms": {"mean": p99_ms}}
    return {"no-retries": kpis(1.0, 0.93, 900.0),
            "exponential-backoff-full-jitter-retry-budget": kpis(1.2, 0.995, 4_200.0),
            "immediate-retries-without-idempotency-keys": kpis(3.4, 0.97, 12_500.0),
            "no-data": {"psp_requests_per_order": {"mean": None, "half_width": None},
                        "success_rate": {"mean": None, "half_width": None}, "p99_latency_ms": {"mean": None}}}


FIGURES = {
    "timeseries": lambda d: plots.timeseries_figure(d["series"], d["fault_windows"], d["end_s"], d["load_end_s"]),
    "services": lambda d: plots.services_figure(d["series"], d["summary"]["services"], d["fault_windows"],
                                                d["end_s"], d["load_end_s"]),
    "psp_rate": lambda d: plots.psp_rate_figure({"a": d, "b": d}, d["fault_windows"], d["end_s"], d["load_end_s"]),
    "sequence": lambda d: plots.sequence_figure(d["sample_orders"]),
    "latency_cdf": lambda d: plots.latency_cdf_figure({"a": d["latency_cdf"]}),
    "pareto": lambda d: plots.pareto_figure(_pareto_stats(), ["exponential-backoff-full-jitter-retry-budget"]),
    "line_plot": lambda d: sweep_figures._line_plot(_sweep_points(), "model.executor.psp_timeout", "workload.rate",
                                                    "success_rate", {"model.executor.psp_timeout": "s",
                                                                     "workload.rate": "/s"}),
    "heatmap": lambda d: sweep_figures.heatmap_figure(_sweep_points(), "model.executor.psp_timeout", "workload.rate",
                                                      "success_rate", {"model.executor.psp_timeout": "s",
                                                                       "workload.rate": "/s"}),
}


@pytest.mark.parametrize("name", FIGURES)
def test_a_lean_layout_draws_the_same_pixels_as_the_full_constrained_layout(small_run, name):
    """``lean_layout`` leaves out of the layout what cannot move it: the report figures come out
    pixel for pixel as they were."""
    assert small_run["sample_orders"] and small_run["summary"]["services"] and small_run["fault_windows"]
    lean = FIGURES[name](small_run)
    assert lean is not None and not any(s.get_in_layout() for ax in lean.axes for s in ax.spines.values())
    full = _full_layout(FIGURES[name](small_run))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png(lean)))), np.asarray(Image.open(io.BytesIO(png(full)))))


def test_panels_sharing_a_time_axis_leave_their_hidden_x_axes_out_of_the_layout(small_run):
    figure = FIGURES["timeseries"](small_run)
    assert len(figure.axes) > 2
    assert [ax.xaxis.get_in_layout() for ax in figure.axes] == [False] * (len(figure.axes) - 1) + [True]


@pytest.mark.parametrize("name", FIGURES)
def test_everything_drawn_in_a_report_figure_lies_within_it(small_run, name):
    """No title, label or legend runs off the picture (a long one-line title was cut off at the
    right edge of the services figure): after a draw, the box around everything the figure draws
    (matplotlib's own tight box, every artist counted) is inside the figure, to the pixel."""
    figure = _full_layout(FIGURES[name](small_run))
    png(figure)
    drawn = figure.get_tightbbox(figure.canvas.get_renderer())  # inches
    inside = figure.bbox_inches
    slack = 1.0 / figure.dpi
    assert (drawn.x0 >= inside.x0 - slack and drawn.y0 >= inside.y0 - slack
            and drawn.x1 <= inside.x1 + slack and drawn.y1 <= inside.y1 + slack), \
        f"{name}: drawn {drawn.bounds} beyond the figure {inside.bounds} (inches)"
