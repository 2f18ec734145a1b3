"""``sim.reports.template_env``: the report templates' environments, made on first use, so a
command's report code imports jinja2 only when it renders (after its simulations, while the
drawing helpers finish the figures)."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT

from sim.reports import template_env


def test_importing_the_report_code_imports_no_jinja2():
    probe = ("import sys; import sim.reports.bundle, sim.reports.sweep_report; print('jinja2' in sys.modules); "
             "from sim.reports import template_env; template_env.html(); print('jinja2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.split() == ["False", "True"]


def test_html_escapes_markdown_does_not_and_both_format_numbers():
    source = "{{ text }} {{ value|num }}"
    html = template_env.html().from_string(source).render(text="<b>", value=1234567)
    markdown = template_env.markdown().from_string(source).render(text="<b>", value=1234567)
    assert html.startswith("&lt;b&gt; ") and markdown.startswith("<b> ")
    assert html.split(" ", 1)[1] == markdown.split(" ", 1)[1] != "1234567"  # the one formatter's thousands
    assert template_env.html() is template_env.html()  # made once
