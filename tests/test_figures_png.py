"""The report's PNG writer: the same pixels matplotlib's own PNG has, as RGB, the same bytes every time."""

import io

import numpy as np
from PIL import Image

from sim.reports import plots
from sim.reports.figures import new_figure, png


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
