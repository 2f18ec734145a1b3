"""The reports' Jinja environments (HTML autoescaped; Markdown as written), made on first use.

jinja2 is imported when a report is rendered, not when the report code is: a command imports its
report code before its simulations, and renders after them while the drawing helpers finish its
figures, so jinja2's import is paid while this process would only wait.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sim import format as fmt

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"


def _environment(**options) -> "jinja2.Environment":
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, **options)
    env.filters["num"] = fmt.number  # every number a template prints goes through the one formatter
    return env


@cache
def html() -> "jinja2.Environment":
    """Templates rendering HTML (every value escaped)."""
    return _environment(autoescape=True)


@cache
def markdown() -> "jinja2.Environment":
    """Templates rendering Markdown (values as they are; block tags leave no blank lines)."""
    return _environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
