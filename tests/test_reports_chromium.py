"""Every report type (run, compare, sweep) in a real headless Chromium at 1024 px: no console
errors, every figure loads and is shown large enough to read, and no element runs past the page's
width. A screenshot is kept (its path is printed; run pytest with -s to see it).

Chromium is Debian's package, installed by ``.ci/install-chromium`` (which ``.ci/run`` calls). Under
``CI=true`` a missing Chromium FAILS these tests; on a developer's machine they are skipped with the
reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from helpers import write_scenario

from sim.cli import main

WIDTH = 1024
MIN_FIGURE_PX = (320, 160)
"""A figure shown smaller than this (width, height in CSS px) is too small to read."""
MIN_SCALE = 0.75
"""A figure shown at less than this fraction of its pixel size has text too small to read."""
PROBE = """
<script>
window.addEventListener("error", e => console.error("page error: " + e.message), true);
window.addEventListener("load", () => {
  const width = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
  const overflow = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".scroll, pre")) continue;  // scrolls inside its own box: the page does not overflow
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) overflow.push(name(el) + " ends at " + Math.round(r.right));
  }
  const images = Array.from(document.images).map(i => {
    const r = i.getBoundingClientRect();
    return {alt: i.alt, loaded: i.complete && i.naturalWidth > 0, width: r.width, height: r.height,
            scale: i.naturalWidth ? r.width / i.naturalWidth : 0};
  });
  const out = document.createElement("pre");
  out.id = "paychaos-probe";
  out.textContent = "PROBE" + "<<" + encodeURIComponent(JSON.stringify({width, overflow: overflow.slice(0, 20), images,
                                              scrollWidth: document.documentElement.scrollWidth})) + ">>" + "END";
  document.body.appendChild(out);
});
</script>
"""


def _binary(which=shutil.which) -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = which(name)
        if found:
            return found
    return None


def require_chromium(environ=os.environ, which=shutil.which) -> str:
    """The browser's path; a missing one fails under CI (``CI=true``) and skips elsewhere."""
    binary = _binary(which)
    if binary is None:
        message = "Chromium is not installed: run .ci/install-chromium (as root) or install Debian's 'chromium'"
        if environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " — CI must run the browser tests, not skip them")
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_chromium()


def test_a_missing_chromium_fails_under_ci_and_skips_elsewhere():
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_chromium({"CI": "true"}, lambda _name: None)
    with pytest.raises(pytest.skip.Exception):
        require_chromium({}, lambda _name: None)
    assert require_chromium({"CI": "true"}, lambda name: f"/usr/bin/{name}") == "/usr/bin/chromium"


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
               "--virtual-time-budget=5000", f"--window-size={WIDTH},2000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def _console_errors(stderr: str) -> list[str]:
    """Messages the page logged to the console (Chromium's own dbus/gpu noise is not the page's)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def probe(binary: str, page: Path, tmp: Path, name: str) -> tuple[dict, list[str]]:
    """What the page looks like in Chromium at ``WIDTH`` px: overflow and figures; console errors."""
    probed = tmp / f"{name}-probed.html"
    html = page.read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(binary, tmp / f"profile-{name}", "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r"PROBE&lt;&lt;([^&]*)&gt;&gt;END", dom.stdout)  # the result, not the script's text
    assert found, dom.stdout[-500:]
    return json.loads(unquote(found.group(1))), _console_errors(dom.stderr)


def problems(result: dict, errors: list[str], figures: int) -> list[str]:
    """Everything a reader would trip over; empty when the page is fine."""
    found = [f"console: {e}" for e in errors]
    if result["scrollWidth"] > result["width"] + 1:
        found.append(f"the page is {result['scrollWidth']} px wide in a {result['width']} px window")
    found += [f"overflows the page: {o}" for o in result["overflow"]]
    images = result["images"]
    if len(images) < figures:
        found.append(f"{len(images)} figures, expected at least {figures}")
    for image in images:
        if not image["loaded"]:
            found.append(f"figure did not load: {image['alt']}")
        elif image["width"] < MIN_FIGURE_PX[0] or image["height"] < MIN_FIGURE_PX[1]:
            found.append(f"figure too small: {image['alt']} ({image['width']:.0f}×{image['height']:.0f} px)")
        elif image["scale"] < MIN_SCALE:
            found.append(f"figure shrunk to {image['scale']:.0%}, text unreadable: {image['alt']}")
    return found


def _check(binary: str, page: Path, tmp: Path, name: str, figures: int) -> None:
    result, errors = probe(binary, page, tmp, name)
    assert problems(result, errors, figures) == []
    shot = tmp / f"{name}.png"
    taken = _chromium(binary, tmp / f"profile-{name}", f"--screenshot={shot}", page.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 50_000, taken.stderr[-2000:]
    print(f"\nscreenshot of the {name} report: {shot}")


SMALL = dict(duration="1m", drain="1m", seed=4, bin="1s", workload={"rate": "8/s", "buyers": 200, "sellers": 20},
             overrides={"psp.pending_probability": 0}, faults=[{"kind": "psp_outage", "at": "20s", "for": "15s"}],
             variants={"none": {"executor.retry": {"strategy": "none"}},
                       "exponential": {"executor.retry": {"strategy": "exponential", "max_attempts": 4}},
                       "immediate-with-a-long-name": {"executor.retry": {"strategy": "immediate", "max_attempts": 4}},
                       "full-jitter": {"executor.retry": {"strategy": "full_jitter", "max_attempts": 4}},
                       "decorrelated-jitter": {"executor.retry": {"strategy": "decorrelated_jitter",
                                                                  "max_attempts": 4}},
                       "fixed": {"executor.retry": {"strategy": "fixed", "max_attempts": 4}}})


def test_run_report_fits_the_page_and_shows_every_figure(chromium, tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0
    _check(chromium, tmp_path / "run" / "report.html", tmp_path, "run", figures=4)


def test_compare_report_of_six_variants_fits_1024_px(chromium, tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(tmp_path / "cmp")]) in (0, 1)
    _check(chromium, tmp_path / "cmp" / "report.html", tmp_path, "compare", figures=3)


def test_sweep_report_fits_the_page_and_shows_every_figure(chromium, tmp_path):
    write_scenario(tmp_path, "async-kafka.yaml", name="tiny", seed=5, duration="20s", drain="30s",
                   workload={"rate": "4/s", "buyers": 40, "sellers": 5})
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "name": "tiny-sweep", "scenario": "tiny.yaml", "replications": 2,
        "parameters": {"model.executor.psp_timeout": ["300ms", "2s"], "workload.rate": ["2/s", "4/s"]},
        "kpis": ["success_rate", "psp_requests_per_order", "p99_latency_ms", "customer_wait_p99_ms"]}))
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "sw"), "--executor", "serial"]) == 0
    _check(chromium, tmp_path / "sw" / "report" / "index.html", tmp_path, "sweep", figures=8)


def test_the_probe_catches_overflow_a_broken_a_tiny_and_a_shrunk_figure(chromium, tmp_path):
    """The checks above can fail: each kind of problem is caught."""
    from PIL import Image

    Image.new("RGB", (1400, 500), "white").save(tmp_path / "wide.png")
    page = tmp_path / "broken.html"
    page.write_text('<html><body style="margin:0"><img alt="missing" src="does-not-exist.png">'
                    '<img alt="tiny" src="wide.png" style="width:100px">'
                    '<img alt="shrunk" src="wide.png" style="max-width:100%">'
                    '<table><tr><td style="white-space:nowrap">' + "wide cell " * 200 + "</td></tr></table>"
                    "<script>undefinedCall()</script></body></html>")
    result, errors = probe(chromium, page, tmp_path, "broken")
    found = "\n".join(problems(result, errors, figures=4))
    for expected in ("figure did not load: missing", "figure too small: tiny", "figure shrunk to",
                     "overflows the page: table", "px wide in a", "undefinedCall", "3 figures, expected at least 4"):
        assert expected in found, (expected, found)
