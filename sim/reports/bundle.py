"""The report folder of a run or a comparison: HTML, Markdown, JSON, CSV and the plots.

Everything is rendered from the JSON-ready results into a temporary folder that replaces the
output folder in one rename (``write_folder_atomic``): a reader never sees half a report.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Callable

from markupsafe import Markup, escape

from sim import __version__
from sim.reports import money, run_figures, tables
from sim.reports.drawing import IN_PROCESS, Drawing, Drawn
from sim.reports.output import results_json
from sim.reports.pages import render_pages, with_images
from sim.atomic import write_folder_atomic
from sim.config.kpis import KPIS
from sim.config.yaml_writer import yaml_text

_PLOTS = run_figures.PLOTS
_PAGES = "sim.reports.pages"
"""Where the pages are rendered (named: a helper imports jinja2, this process need not)."""
RUN_FILES = ("report.html", "summary.md", "results.json", "metrics.csv", "timeseries.png", "latency_cdf.png",
             "system_graph.png")
COMPARE_FILES = ("report.html", "summary.md", "results.json", "metrics.csv", "kpis.csv", "pareto.png",
                 "psp_rate.png", "latency_cdf.png")
"""Each figure is rendered once, as PNG (embedded in report.html, linked from the Markdown)."""


def metrics_csv(series: dict, end_s: float | None = None, variant: str | None = None) -> list[list]:
    """Rows of metrics.csv: ``t_s`` (bin start), ``bin_s`` (bin width: a count per bin divided by
    it is a rate per second), then ``count.NAME`` (events in the bin) and ``gauge.NAME`` (largest
    value in the bin) for every series."""
    bin_s = series["bin_s"]
    columns = [(f"count.{n}", v) for n, v in series["counts"].items()]
    columns += [(f"gauge.{n}", v) for n, v in series["gauges"].items()]
    length = max((len(v) for _, v in columns), default=0)
    if end_s is not None:
        length = min(length, int(end_s / bin_s + 1e-9) + 1)
    rows = []
    for i in range(length):
        row = ([variant] if variant is not None else []) + [round(i * bin_s, 6), bin_s]
        row += [values[i] if i < len(values) else 0 for _, values in columns]
        rows.append(row)
    header = (["variant"] if variant is not None else []) + ["t_s", "bin_s"] + [name for name, _ in columns]
    return [header] + rows


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


class _Pages:
    """A report's HTML and Markdown pages, rendered on a helper while its figures are drawn
    (``sim.reports.pages``), each figure's base64 filled in once the figures are in."""

    def __init__(self, drawing: Drawing, templates: tuple[str, str], context: dict, names: list[str]) -> None:
        self.templates, self.context, self.names = templates, context, names
        self.pending = drawing.call(f"{_PAGES}:render_pages", *templates, context, names)

    def filled(self, images: dict[str, bytes]) -> tuple[str, str]:
        """(HTML, Markdown) with ``images`` in place; rendered again here without a figure that
        came out as nothing (the pages were rendered with every figure asked for)."""
        html, md = (self.pending.result() if list(images) == self.names
                    else render_pages(*self.templates, self.context, list(images)))
        return with_images(html, images), md


def _system_graph(model_config: dict, folder: Path) -> bytes:
    """The system graph picture (``sim.config.graph`` drawn by ``sim.reports.system_graph``): drawn
    once per model and then copied from the cache, so a cached one costs no matplotlib import."""
    from sim.reports.graph_cache import system_graph_files

    def draw(config: dict, out: Path) -> None:
        from sim.config.graph import build_graph
        from sim.config.model import SystemModel
        from sim.reports.system_graph import draw as draw_graph

        draw_graph(build_graph(SystemModel.model_validate(config)), out, (".png",))

    system_graph_files(model_config, folder / "system_graph", draw, suffixes=(".png",))
    return (folder / "system_graph.png").read_bytes()


def _saved(drawn: dict[str, Drawn], folder: Path) -> dict[str, bytes]:
    """Each drawn figure's PNG bytes, written as ``<name>.png`` (a figure that came out as None,
    say no services to show, is left out)."""
    images = {}
    for name, figure in drawn.items():
        data = figure.result()
        if data is not None:
            (folder / f"{name}.png").write_bytes(data)
            images[name] = data
    return images


def write_run_report(out_dir: Path, data: dict, drawing: Drawing = IN_PROCESS,
                     meanwhile: Callable[[], None] | None = None) -> None:
    """The whole report folder of one (possibly replicated) run; its figures drawn by ``drawing``
    (or started during the run: ``sim.reports.early_figures``). ``meanwhile()`` is called once the
    rest is made and before the figures are waited for (the command's terminal summary)."""

    def fill(folder: Path) -> None:
        figures = run_figures.series_figures(data["series"], data["summary"].get("services", {}),
                                             data["fault_windows"], data.get("end_s"), data.get("load_end_s"))
        if data.get("sample_orders"):
            figures["sequence"] = run_figures.sequence_figure(data["sample_orders"])
        figures["latency_cdf"] = run_figures.latency_cdf_figure({data["variant"] or data["scenario"]: data["latency_cdf"]})
        # started first, the largest first: helpers draw while the rest is written (or started them during the run)
        drawn = {name: drawing.figure(*figure) for name, figure in figures.items()}
        (folder / "results.json").write_text(results_json(data), encoding="utf-8")
        (folder / "metrics.csv").write_text(_csv_text(metrics_csv(data["series"], data.get("end_s"))), encoding="utf-8")
        graph = _system_graph(data["config"]["model"], folder)
        kpis = tables.kpi_rows(data)
        context = {  # everything but the figures, made while the helpers draw them
            "d": data, "reps": data.get("replications"), "verdicts": tables.verdict_rows(data),
            "failed": tables.failed_names(data),
            "kpis": kpis, "recovery": tables.recovery_rows(data), "version": __version__,
            "money": money.money_rows(data),
            "kpi_groups": tables.grouped(kpis),
            "recovery_note": tables.recovery_note(data) if data.get("recovery") else "",
            "services_note": tables.services_note(data),
            "config_yaml": yaml_text(data["config"]),
        }
        pages = _Pages(drawing, ("run.html.j2", "summary.md.j2"), context, [*drawn, "system_graph"])
        if meanwhile is not None:
            meanwhile()
        images = _saved(drawn, folder)
        images["system_graph"] = graph
        html, md = pages.filled(images)
        (folder / "report.html").write_text(html, encoding="utf-8")
        (folder / "summary.md").write_text(md, encoding="utf-8")

    write_folder_atomic(out_dir, fill)


def _markdown_bold_to_html(text: str) -> Markup:
    return Markup(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", str(escape(text))))


def _psp_rate_figure(part: dict) -> tuple:
    """The PSP-rate figure of a comparison (or of its exemplar fields): its target and arguments."""
    return f"{_PLOTS}:psp_rate_figure", part["exemplars"], part["fault_windows"], part["end_s"], part.get("load_end_s")


def _compare_latency_figure(part: dict) -> tuple:
    """The latency CDF figure of a comparison (or of its exemplar fields): its target and arguments."""
    return f"{_PLOTS}:latency_cdf_figure", {v: e["latency_cdf"] for v, e in part["exemplars"].items()}


def start_exemplar_figures(drawing: Drawing, exemplar: dict) -> None:
    """Start the comparison figures that its variants' first runs alone decide (``exemplar``:
    ``sim.runners.compare.exemplar_fields``), the largest first: with R replications they are
    drawn while the other replications run, and :func:`write_compare_report` picks them up."""
    drawing.figure_early(*_psp_rate_figure(exemplar))
    drawing.figure_early(*_compare_latency_figure(exemplar))


def write_compare_report(out_dir: Path, comp: dict, drawing: Drawing = IN_PROCESS,
                         meanwhile: Callable[[], None] | None = None) -> None:
    """The whole report folder of a comparison; its figures drawn by ``drawing`` (or started early
    by :func:`start_exemplar_figures`). ``meanwhile()`` is called once the rest is made and before
    the figures are waited for (the command's terminal ranking)."""

    def fill(folder: Path) -> None:
        drawn = {  # started first, the largest first: helpers draw while the rest is written
            "psp_rate": drawing.figure(*_psp_rate_figure(comp)),
            "pareto": drawing.figure(f"{_PLOTS}:pareto_figure", comp["stats"], comp["pareto_front"]),
            "latency_cdf": drawing.figure(*_compare_latency_figure(comp)),
        }
        # a comparison's JSON (a MB, ~0.1 s: indented, so Python's own encoder) on a helper the
        # figures leave idle; taken from it only if done when needed, else made here
        json_text = drawing.call("sim.reports.output:results_json", comp)
        rows: list[list] = []
        for variant, exemplar in comp["exemplars"].items():
            part = metrics_csv(exemplar["series"], comp["end_s"], variant)
            rows += part if not rows else part[1:]
        (folder / "metrics.csv").write_text(_csv_text(rows), encoding="utf-8")
        kpi_rows = [["variant", "replication", "seed"] + [k.key for k in KPIS]]
        for variant, runs in comp["per_replication"].items():
            for index, (seed, kpis) in enumerate(zip(comp["seeds"], runs), start=1):
                kpi_rows.append([variant, index, seed] + ["" if kpis[k.key] is None else kpis[k.key] for k in KPIS])
        (folder / "kpis.csv").write_text(_csv_text(kpi_rows), encoding="utf-8")
        context = {"c": comp, "groups": tables.grouped(tables.comparison_rows(comp)), "unmeasured": tables.unmeasured_kpis(comp),
                   "constant": list(tables.constant_kpis(comp).values()),
                   "version": __version__,
                   "config_yaml": yaml_text(comp["config"])}
        context["recommendation_html"] = _markdown_bold_to_html(comp["recommendation"]["text"])
        pages = _Pages(drawing, ("compare.html.j2", "compare.md.j2"), context, list(drawn))
        if meanwhile is not None:
            meanwhile()
        html, md = pages.filled(_saved(drawn, folder))
        (folder / "summary.md").write_text(md, encoding="utf-8")
        (folder / "report.html").write_text(html, encoding="utf-8")
        (folder / "results.json").write_text(json_text.result(wait=False), encoding="utf-8")

    write_folder_atomic(out_dir, fill)
