"""The HTML report: self-contained (nothing fetched), escaped, and it opens in headless Chromium
showing every failing check. CI installs Chromium with `apt-get install -y chromium`."""

from __future__ import annotations

import shutil
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
        if tag == "a" and a.get("href") and not str(a["href"]).startswith("#"):
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
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "@media print" in html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


def _dump_doms(exe: str, pages: dict[str, Path], tmp: Path) -> dict[str, str]:
    """Load each page in its own headless Chromium (in parallel) and return the rendered DOMs."""
    procs = {}
    for name, page in pages.items():
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={tmp / ('profile-' + name)}",
               "--dump-dom", page.as_uri()]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    doms = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"chromium failed on {name}: {err[-2000:]}"
        doms[name] = out
    return doms


def test_html_opens_in_headless_chromium_and_shows_every_failing_check(tmp_path: Path) -> None:
    exe = _chromium()
    from llmd_doctor.run import RunOptions, diagnose

    reports = {"synthetic": synthetic_report(), "seed": diagnose(RunOptions(bundle=str(SEED)))}
    pages = {}
    for name, report in reports.items():
        pages[name] = tmp_path / f"{name}.html"
        pages[name].write_text(render_html(report), encoding="utf-8")
    doms = _dump_doms(exe, pages, tmp_path)
    for name, report in reports.items():
        dom = doms[name]
        assert "<h1>" in dom and "Impact analysis" in dom, f"{name}: the page did not render"
        failing = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
        assert failing, name
        for r in failing:
            anchor = r.id.replace(".", "-")
            assert f'id="issue-{anchor}"' in dom, f"{name}: {r.id} has no issue card in the DOM"
            assert f"<code>{r.id}</code>" in dom
        assert "<script" not in dom
    # The seed's facts reach the rendered page; the synthetic evidence stays text.
    for fact in ("CrashLoopBackOff", "SIGSEGV", "scheduler.go:40", "NewSchedulerWithConfig"):
        assert fact in doms["seed"], fact
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in doms["synthetic"]
