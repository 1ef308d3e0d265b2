"""ganaug report: one self-contained HTML file, rendered by headless Chromium without errors."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from ganaug.errors import GanaugError
from ganaug.report import build_report

from .helpers import run_cli

# Injected at the top of <head> of a copy of the report: records page errors and console.error calls, then on load
# writes the image count, the images that did not decode and the errors into the DOM for --dump-dom.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || (e.target && e.target.tagName))), true);
const __ce = console.error;
console.error = (...a) => { window.__errors.push('console.error: ' + a.join(' ')); __ce.apply(console, a); };
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)).map(i => i.alt);
  const pre = document.createElement('pre');
  pre.id = 'ganaug-probe';
  pre.textContent = JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    return shutil.copytree(tiny_run, tmp_path / "run")


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed; .ci/run installs the Debian packages chromium and chromium-driver")
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)")
    return found


def _chrome(binary: str, profile, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
    ]  # fmt: skip
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def _probe(binary: str, html_path, tmp_path) -> dict:
    probed = tmp_path / f"probe-{html_path.name}"
    probed.write_text(html_path.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = _chrome(binary, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="ganaug-probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the page did not finish loading: {proc.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    result["console"] = [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line]
    return result


def test_report_is_self_contained(run_copy):
    path = build_report(run_copy)
    assert path == run_copy / "report.html"
    page = path.read_text(encoding="utf-8")
    for section in ("samples", "interpolation", "timeline", "curves", "features", "memorisation", "config"):
        assert f'<section id="{section}">' in page, section
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(sources) >= 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).verify()
    assert "http://" not in page and "https://" not in page and "Not measured yet" in page
    (run_copy / "export" / "evaluation.md").write_text("| arm | acc |\n| --- | --- |\n| real only | 0.9 |\n")
    assert "<td>real only</td>" in build_report(run_copy).read_text(encoding="utf-8")


def test_report_renders_in_headless_chromium(run_copy, tmp_path):
    binary = _chromium()
    path = build_report(run_copy)
    result = _probe(binary, path, tmp_path)
    assert result["images"] >= 6 and result["broken"] == [] and result["errors"] == [] and result["console"] == []
    shot = tmp_path / "report.png"
    _chrome(binary, tmp_path / "profile", "--window-size=1200,2400", f"--screenshot={shot}", path.as_uri())
    with Image.open(shot) as image:
        assert image.size == (1200, 2400)
    # the probe does catch a picture that does not decode
    bad = tmp_path / "bad.html"
    bad.write_text(
        path.read_text(encoding="utf-8").replace("</body>", '<img alt="bad" src="data:image/png;base64,AAAA"></body>')
    )
    assert _probe(binary, bad, tmp_path)["broken"] == ["bad"]


def test_report_of_a_run_still_training_uses_its_latest_checkpoint(run_copy):
    shutil.rmtree(run_copy / "export")
    page = build_report(run_copy).read_text(encoding="utf-8")
    assert "the EMA generator of checkpoint step 4" in page and '<section id="interpolation">' in page


def test_report_on_a_run_with_no_log_is_a_clear_error(tmp_path, run_copy):
    empty = tmp_path / "fresh"
    empty.mkdir()
    shutil.copy(run_copy / "fit_config.json", empty / "fit_config.json")
    with pytest.raises(GanaugError, match="no training log yet"):
        build_report(empty)
    proc = run_cli("report", str(empty))
    assert proc.returncode == 1 and "no training log yet" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(GanaugError, match="not a ganaug run folder"):
        build_report(tmp_path)
