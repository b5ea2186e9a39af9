"""The HTML report: self-contained (nothing fetched), escaped, and in headless Chromium at 1280×800
the seed's first problem card is on the first screen, evidence is at the body's font size, and every
failing check has its anchor. CI installs Chromium with `apt-get install -y chromium` (.ci/run)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from golden.synthetic import synthetic_report

from llmd_doctor.model import Status
from llmd_doctor.renderers.html import render_html

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-rosa-epp-segfault"


class _Resources(HTMLParser):
    """Every attribute or CSS that would make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.scripts = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "style":
            self._in_style = True
        for key in ("src", "srcset", "poster", "data", "action", "formaction"):
            if a.get(key):
                self.fetches.append(f"<{tag} {key}={a[key]}>")
        if tag == "link" and a.get("href"):
            self.fetches.append(f"<link href={a['href']}>")
        # A link is followed only when clicked: the page fetches nothing by itself. Only same-page
        # anchors and the https docs URL a configured docsUrl gives (class "docs").
        href = str(a.get("href") or "")
        if tag == "a" and href and not href.startswith("#") and not (
                href.startswith("https://") and a.get("class") == "docs"):
            self.fetches.append(f"<a href={a['href']}>")
        if "url(" in str(a.get("style") or ""):
            self.fetches.append(f"<{tag} style=url()>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and ("url(" in data or "@import" in data):
            self.fetches.append("css url()/@import")


def test_html_is_self_contained_and_escaped() -> None:
    html = render_html(synthetic_report())
    p = _Resources()
    p.feed(html)
    assert p.fetches == [] and p.scripts == 0
    # The docs reference: the explain command, and the configured URL as a link.
    assert ('<code>llmd-doctor explain epp.logs</code> <a class="docs" '
            'href="https://docs.example.org/llmd-doctor/checks.html#epp-logs">') in html
    assert "docs/checks.md" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "@media print" in html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


VIEWPORT = (1280, 800)
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
          "--disable-dev-shm-usage", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}")
# Appended to a test copy of a page (the report itself has no script): measures the layout as laid
# out at load and writes it into the DOM that --dump-dom prints.
_MEASURE = """<script>
(() => {
  const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const size = e => parseFloat(getComputedStyle(e).fontSize);
  const shown = [...document.querySelectorAll("body *")].filter(e => e.getClientRects().length &&
      [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()));
  const card = document.querySelector("article.problem");
  document.body.setAttribute("data-measure", JSON.stringify({
    viewport: [innerWidth, innerHeight], body: size(document.body), card: card ? box(card) : null,
    evidence: [...document.querySelectorAll("pre.evidence")].filter(e => e.getClientRects().length).map(size),
    smallest: Math.min(...shown.map(size)),
  }));
})();
</script>
"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


def _run_chromium(exe: str, jobs: dict[str, list[str]], tmp: Path) -> dict[str, str]:
    """Run each job (extra arguments) in its own headless Chromium, in parallel; their stdouts."""
    procs = {name: subprocess.Popen([exe, *_FLAGS, f"--user-data-dir={tmp / ('profile-' + name)}", *args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, args in jobs.items()}
    outs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"chromium failed on {name}: {err[-2000:]}"
        outs[name] = out
    return outs


def _measure(dom: str) -> dict:
    m = re.search(r'data-measure="([^"]*)"', dom)
    assert m, "the measuring script did not run"
    return json.loads(html_lib.unescape(m.group(1)))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_html_in_headless_chromium_first_problem_on_the_first_screen(tmp_path: Path) -> None:
    exe = _chromium()
    from llmd_doctor.run import RunOptions, diagnose

    reports = {"synthetic": synthetic_report(), "seed": diagnose(RunOptions(bundle=str(SEED)))}
    jobs: dict[str, list[str]] = {}
    for name, report in reports.items():
        html = render_html(report)
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
        measured = tmp_path / f"{name}-measured.html"
        measured.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        # The first screen as a reader sees it, beside the DOM (look at it when the layout changes).
        jobs[name] = [f"--screenshot={tmp_path / (name + '.png')}", "--dump-dom", measured.as_uri()]
    outs = _run_chromium(exe, jobs, tmp_path)

    for name, report in reports.items():
        assert _png_size(tmp_path / f"{name}.png") == VIEWPORT
        dom = outs[name]
        m = _measure(dom)
        # Layout depends on the width; the height measured while loading may be less than the
        # screenshot's (the window's frame), so the card is held to the 800 px of the screenshot.
        assert m["viewport"][0] == VIEWPORT[0], (name, m)
        card = m["card"]
        assert card is not None and 0 <= card["left"] < card["right"] <= VIEWPORT[0], (name, card)
        if name == "seed":  # the first problem card, whole, inside the first screen
            assert 0 <= card["top"] < card["bottom"] <= VIEWPORT[1], (name, card)
        else:  # (the synthetic header carries a source warning too): the card starts on it
            assert 0 <= card["top"] < VIEWPORT[1] / 2, (name, card)
        # Evidence at the body's font size; no text much smaller than the body (no 0.72 em).
        assert m["evidence"] and set(m["evidence"]) == {m["body"]}, (name, m)
        assert m["smallest"] >= 0.8 * m["body"], (name, m)
        # Every failing check has its anchor (its problem card or symptom line, or its error card).
        failing = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
        assert failing, name
        for r in failing:
            assert f'id="issue-{r.id.replace(".", "-")}"' in dom, f"{name}: {r.id} has no anchor in the DOM"
        assert f'<h2>{len(report.problems)} problem{"s" if len(report.problems) != 1 else ""}</h2>' in dom
        assert dom.count('<article class="card problem') == len(report.problems)
    # The seed's facts reach the rendered page; the synthetic evidence stays text.
    for fact in ("CrashLoopBackOff", "SIGSEGV", "scheduler.go:40", "NewSchedulerWithConfig"):
        assert fact in outs["seed"], fact
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in outs["synthetic"]
