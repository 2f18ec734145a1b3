"""The HTML reports in a real headless Chromium: no console errors, every image loads, a
screenshot kept as an artifact (its path is printed; run pytest with -s to see it).

Chromium is Debian's package: installed here with apt-get when missing and possible (root, apt
present), otherwise the tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import write_scenario

from sim.cli import main

CHROMIUM = "/usr/bin/chromium"
PROBE = """
<script>
window.addEventListener("error", e => console.error("page error: " + e.message), true);
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 40));
  broken.forEach(b => console.error("image did not load: " + b));
  const out = document.createElement("pre");
  out.id = "paychaos-probe";
  out.textContent = "images=" + images.length + " broken=" + broken.length;
  document.body.appendChild(out);
});
</script>
"""


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip("Chromium is not installed and apt-get is not usable here (needs root): "
                        "install Debian's 'chromium' package to run this test")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, env=env,
                                 capture_output=True, text=True, timeout=900)
        if install.returncode != 0 or not Path(CHROMIUM).exists():
            pytest.skip(f"could not install Chromium with apt-get: {install.stderr.strip()[-300:]}")
    return CHROMIUM


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
               "--virtual-time-budget=5000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def _console_errors(stderr: str) -> list[str]:
    """Messages the page logged to the console (Chromium's own dbus/gpu noise is not the page's)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def _check(binary: str, report: Path, tmp: Path, name: str) -> None:
    probed = tmp / f"{name}-probed.html"
    html = report.read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(binary, tmp / f"profile-{name}", "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_errors(dom.stderr) == []
    images = html.count("<img")
    assert images >= 3
    assert f"images={images} broken=0" in dom.stdout, dom.stdout[-500:]
    shot = tmp / f"{name}.png"
    taken = _chromium(binary, tmp / f"profile-{name}", "--window-size=1280,2400", f"--screenshot={shot}",
                      report.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 50_000, taken.stderr[-2000:]
    assert _console_errors(taken.stderr) == []
    print(f"\nscreenshot of the {name} report: {shot}")


SMALL = dict(duration="1m", drain="1m", seed=4, bin="1s", workload={"rate": "8/s", "buyers": 200, "sellers": 20},
             overrides={"psp.pending_probability": 0}, faults=[{"kind": "psp_outage", "at": "20s", "for": "15s"}],
             variants={"none": {"executor.retry": {"strategy": "none"}},
                       "exponential": {"executor.retry": {"strategy": "exponential", "max_attempts": 4}}})


def test_run_report_renders_in_chromium(chromium, tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0
    _check(chromium, tmp_path / "run" / "report.html", tmp_path, "run")


def test_compare_report_renders_in_chromium(chromium, tmp_path):
    path = write_scenario(tmp_path, "async-kafka.yaml", **SMALL)
    assert main(["compare", str(path), "--replications", "2", "--workers", "1", "--out", str(tmp_path / "cmp")]) == 0
    _check(chromium, tmp_path / "cmp" / "report.html", tmp_path, "compare")


def test_the_probe_catches_a_broken_image(chromium, tmp_path):
    """The check above can fail: a report with a broken image and a script error is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<html><body><img alt="missing" src="does-not-exist.png"><script>undefinedCall()</script>'
                    + PROBE + "</body></html>")
    dom = _chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert "images=1 broken=1" in dom.stdout
    errors = _console_errors(dom.stderr)
    assert any("image did not load: missing" in e for e in errors)
    assert any("undefinedCall" in e for e in errors)
