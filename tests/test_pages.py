"""A report's pages rendered before its figures are in (``sim.reports.pages``): with each figure's
placeholder filled in, the same bytes as rendered with the images in place; a figure that came out
as nothing is left out of the page, not shown as a placeholder."""

from __future__ import annotations

import base64

import pytest
from helpers import write_scenario

from sim.reports import pages, template_env
from sim.reports.bundle import write_compare_report, write_run_report
from sim.runners.compare import run_comparison, summarize_comparison
from sim.runners.replicate import Replicated, run_one

SMALL = dict(duration="1m", drain="1m", seed=5, bin="1s", workload={"rate": "8/s", "buyers": 200, "sellers": 20},
             faults=[{"kind": "psp_outage", "at": "20s", "for": "10s"}])


@pytest.fixture()
def rendered(monkeypatch):
    """Every render_pages call: its arguments and what it gave."""
    calls = []
    real = pages.render_pages

    def recording(*args):
        calls.append((args, real(*args)))
        return calls[-1][1]

    monkeypatch.setattr(pages, "render_pages", recording)
    return calls


def _in_place(html_template: str, markdown_template: str, context: dict, images: dict[str, bytes]) -> tuple[str, str]:
    """The pages rendered the plain way: every image's base64 in the template's context."""
    encoded = {name: base64.b64encode(data).decode("ascii") for name, data in images.items()}
    return (template_env.html().get_template(html_template).render(images=encoded, **context),
            template_env.markdown().get_template(markdown_template).render(images=encoded, **context))


def _images(folder, names) -> dict[str, bytes]:
    return {name: (folder / f"{name}.png").read_bytes() for name in names}


def test_a_run_report_s_pages_are_the_ones_rendered_with_the_images_in_place(tmp_path, rendered):
    from sim.config.loader import load_scenario

    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="pages", **SMALL))
    data = Replicated([run_one(loaded, loaded.scenario.seed, samples=True)]).to_dict()
    write_run_report(tmp_path / "out", data)
    [((html_template, markdown_template, context, names), _pages)] = rendered
    assert {"timeseries", "latency_cdf", "sequence", "system_graph"} <= set(names)
    html, markdown = _in_place(html_template, markdown_template, context, _images(tmp_path / "out", names))
    assert (tmp_path / "out" / "report.html").read_text() == html
    assert (tmp_path / "out" / "summary.md").read_text() == markdown
    assert pages._MARK not in html


def test_a_comparison_s_pages_are_the_ones_rendered_with_the_images_in_place(tmp_path, rendered):
    from sim.config.loader import load_scenario

    variants = {"none": {"executor.retry": {"strategy": "none"}}, "fixed": {"executor.retry": {"strategy": "fixed"}}}
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="pages", variants=variants, **SMALL))
    comp = summarize_comparison(loaded, run_comparison(loaded, ["none", "fixed"], 2, None, 1), "none", "paychaos compare")
    write_compare_report(tmp_path / "out", comp)
    [((html_template, markdown_template, context, names), _pages)] = rendered
    html, markdown = _in_place(html_template, markdown_template, context, _images(tmp_path / "out", names))
    assert (tmp_path / "out" / "report.html").read_text() == html
    assert (tmp_path / "out" / "summary.md").read_text() == markdown


def test_a_figure_that_came_out_as_nothing_is_left_out_of_the_page(tmp_path, monkeypatch):
    from sim.config.loader import load_scenario
    from sim.reports import plots

    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", name="pages", **SMALL))
    data = Replicated([run_one(loaded, loaded.scenario.seed, samples=True)]).to_dict()
    monkeypatch.setattr(plots, "sequence_figure", lambda _orders: None)
    write_run_report(tmp_path / "out", data)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Sample payments" not in html and pages._MARK not in html  # rendered again without it
    assert not (tmp_path / "out" / "sequence.png").exists()


def test_placeholders_are_filled_with_each_png_s_base64():
    html = f'<img src="data:,{pages.placeholder("a")}"><img src="data:,{pages.placeholder("ab")}">'
    assert pages.with_images(html, {"a": b"\x89PNG", "ab": b"x"}) == '<img src="data:,iVBORw=="><img src="data:,eA==">'
