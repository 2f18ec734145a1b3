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
from sim.reports.output import REPORTS_DIR

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
CACHE_DIR = REPORTS_DIR / ".cache" / "templates"


def _environment(kind: str, **options) -> "jinja2.Environment":
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             bytecode_cache=_bytecode_cache(kind), **options)
    env.filters["num"] = fmt.number  # every number a template prints goes through the one formatter
    return env


def _bytecode_cache(kind: str) -> "jinja2.BytecodeCache | None":
    """The templates compiled once and kept under ``reports/.cache/templates/<kind>/`` (jinja2's
    own cache: keyed by each template's name and source, written atomically; a folder per
    environment, whose options the compiled code depends on), so a report spends no time
    compiling them (about 0.05 s a command); none where that folder cannot be made."""
    import jinja2

    folder = CACHE_DIR / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@cache
def html() -> "jinja2.Environment":
    """Templates rendering HTML (every value escaped)."""
    return _environment("html", autoescape=True)


@cache
def markdown() -> "jinja2.Environment":
    """Templates rendering Markdown (values as they are; block tags leave no blank lines)."""
    return _environment("markdown", autoescape=False, trim_blocks=True, lstrip_blocks=True)
