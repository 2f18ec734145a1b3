"""A report's pages, HTML and Markdown, rendered from its templates where jinja2 is already
imported: on a drawing helper (``sim.reports.drawing``), which imports this module while the
simulation runs, or in this process when there are no helpers.

jinja2's import (~0.02 s) was the largest single piece of what a command did after its
simulations besides waiting for its figures, on the core the last figures need too. The pages
are rendered before the figures are in: each figure's base64 stands as a placeholder
(:func:`placeholder`) that :func:`with_images` fills in once the PNGs are drawn. The pages are the
same bytes as rendered with the images in place (``tests/test_pages.py``).
"""

from __future__ import annotations

import base64
from typing import Any

from sim.reports import template_env

_MARK = "\x1epaychaos-image:"
"""Starts a placeholder: a character no template writes and autoescaping leaves as it is."""


def placeholder(name: str) -> str:
    """What a page shows where the base64 of the figure ``name`` goes."""
    return f"{_MARK}{name}\x1e"


def render_pages(html_template: str, markdown_template: str, context: dict[str, Any],
                 image_names: list[str]) -> tuple[str, str]:
    """The HTML page (each figure of ``image_names`` as its :func:`placeholder`) and the Markdown
    page (which links the figures' files: only their names matter to it), rendered with ``context``."""
    images = {name: placeholder(name) for name in image_names}
    return (template_env.html().get_template(html_template).render(images=images, **context),
            template_env.markdown().get_template(markdown_template).render(images=images, **context))


def with_images(html: str, images: dict[str, bytes]) -> str:
    """``html`` with each figure's placeholder replaced by its PNG's base64."""
    for name, data in images.items():
        html = html.replace(placeholder(name), base64.b64encode(data).decode("ascii"))
    return html
