"""Every example's problems — the root cause and the checks folded under it — and the seed's reports
showing exactly those problems first, each with its symptoms folded, like the seed's own report
(one problem for the EPP that never loaded its plugins config, one for the route that bypasses the
pool)."""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from golden.mdcheck import assert_no_empty_sections, sections

from llmd_doctor.renderers.html import render_html
from llmd_doctor.renderers.markdown import render_markdown
from llmd_doctor.renderers.summary import render_step_summary
from llmd_doctor.renderers.text import TextStyle, render_text
from llmd_doctor.report import Report
from llmd_doctor.run import RunOptions, diagnose

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEED = "seed-rosa-epp-segfault"
EPP = ("epp.config", ["epp.config", "inferencepool.endpoint-picker", "epp.deployment", "epp.logs"])
ROUTE = ("httproute.backends", ["httproute.backends", "inferencepool.status"])
# example -> [(root, checks of the problem, root first)], in the order to fix them.
PROBLEMS: dict[str, list[tuple[str, list[str]]]] = {
    "healthy": [],
    "healthy-agentgateway": [],
    "healthy-envoy-ai-gateway": [],
    "healthy-gke": [],
    "healthy-kgateway": [],
    "healthy-v0.4-istio-1.28": [],
    SEED: [EPP, ROUTE],
}


@cache
def report(name: str) -> Report:
    return diagnose(RunOptions(bundle=str(EXAMPLES / name)))


def test_the_table_covers_every_example_bundle() -> None:
    bundles = sorted(p.parent.name for p in EXAMPLES.glob("*/bundle.yaml"))
    assert bundles == sorted(PROBLEMS)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_problems_of_every_example(name: str) -> None:
    doc = report(name).to_dict()
    assert [(p["root"], p["checks"]) for p in doc["problems"]] == PROBLEMS[name]
    # Every judged warn/fail result is in exactly one problem; one next step per problem, same order.
    bad = [c["id"] for c in doc["checks"] if c["status"] in ("warn", "fail") and c["suppressed"] is None]
    assert sorted(i for p in doc["problems"] for i in p["checks"]) == sorted(bad)
    assert [s["problem"] for s in doc["next_steps"]] == [p["id"] for p in doc["problems"]]
    assert [s["check"] for s in doc["next_steps"]] == [p["root"] for p in doc["problems"]]
    if not PROBLEMS[name]:
        assert doc["summary"]["verdict"] == "healthy"


# ---- the seed, in every human format -------------------------------------------------------------


def test_seed_markdown_shows_exactly_two_problems_first_with_symptoms_folded() -> None:
    md = render_markdown(report(SEED))
    assert_no_empty_sections(md)
    heads = [(level, h) for level, h, _ in sections(md)]
    assert heads[0] == (1, "llm-d deployment status report — 2 problems")
    assert heads[1] == (2, "❌ 2 problems")  # the first section after the verdict
    cards = [h for level, h in heads if level == 3 and re.match(r"\d+\. ", h)]
    assert [c.split(" ", 2)[:2] for c in cards] == [["1.", "❌"], ["2.", "⚠️"]]
    assert cards[0].endswith("is given no plugins config (-configFile/-configText missing)")
    assert "bypassing InferencePool" in cards[1]
    one, two = md.split("\n### 1. ", 1)[1].split("\n### 2. ", 1)
    two = two.split("\n## ", 1)[0]
    assert "- **Root cause:** Endpoint picker flags and config (`epp.config`)" in one
    assert "- **Fix:** Give the EPP an EndpointPickerConfig" in one and "next step" not in one
    assert "- **Docs:** `llmd-doctor explain epp.config`" in one
    for root, checks in (EPP, ROUTE):
        card = one if root == "epp.config" else two
        folded = re.findall(r"^- \S+ `([a-z.-]+)` (?:failed|warning): ", card, re.M)
        assert folded == checks[1:], (root, folded)
    # The seed's own facts, in the first problem: the crash, where, and the empty config flags.
    for fact in ("CrashLoopBackOff", "SIGSEGV", "scheduler.go:40", "NewSchedulerWithConfig", 'configFile="" configText=""',
                 "47 restarts", "ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1"):
        assert fact in one, fact
    # Then the next steps (one per problem, in order), and what works last, collapsed.
    steps = md.split("## 📋 Next steps", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^(\d+)\. \*\*.*?\*\* \(`([a-z.-]+)`, problem (\d)\)", steps, re.M) == [
        ("1", "epp.config", "1"), ("2", "httproute.backends", "2")]
    assert md.index("## 📋 Next steps") < md.index("## 🔧 Impact analysis") < md.index("<summary>✅ What works")
    assert "docs/checks.md" not in md


class _Cards(HTMLParser):
    """Problem cards (article.problem) with the ids of the checks folded under each."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, object]] = []
        self.h2: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article" and "problem" in str(a.get("class", "")).split():
            self.cards.append({"id": a.get("id"), "symptoms": []})
        elif tag == "li" and str(a.get("id", "")).startswith("issue-") and self.cards:
            self.cards[-1]["symptoms"].append(str(a["id"]).removeprefix("issue-"))  # type: ignore[union-attr]
        elif tag == "h2":
            self._in = "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h2" and data.strip():
            self.h2.append(data.strip())


def test_seed_html_shows_exactly_two_problems_first_with_symptoms_folded() -> None:
    html = render_html(report(SEED))
    p = _Cards()
    p.feed(html)
    assert p.h2[0] == "2 problems" and len(p.cards) == 2
    anchor = {"epp.config": "epp-config", "httproute.backends": "httproute-backends"}
    for card, (root, checks) in zip(p.cards, (EPP, ROUTE), strict=True):
        assert str(card["id"]).startswith(f"problem-{anchor[root]}")
        assert card["symptoms"] == [c.replace(".", "-") for c in checks[1:]]
    assert html.index('id="problems"') < html.index('id="steps"') < html.index('id="impact"') < html.index('id="working"')
    assert '<details class="section" id="working">' in html  # what works: collapsed
    assert "docs/checks.md" not in html


def test_seed_terminal_and_step_summary_lead_with_the_same_problems() -> None:
    text = render_text(report(SEED), TextStyle(width=100))
    lines = text.splitlines()
    # The header (source), then the verdict as the first block.
    assert text.split("\n\n")[1].startswith("verdict: degraded - core inference works, but cache-aware routing")
    assert lines[lines.index("2 problems") + 2].startswith("[FAIL] 1. llm-d-inference-scheduler v0.2.1")
    order = [text.index(s) for s in ("verdict: degraded", "2 problems", "[FAIL] 1.", "[WARN] 2.", "next steps", "passed: ")]
    assert order == sorted(order)
    summary = render_step_summary(report(SEED))
    assert summary.startswith("### ⚠️ llmd-doctor: degraded — 2 problems")
    rows = re.findall(r"^\| (❌|⚠️) \| (\d)\. .*? \| `([a-z.-]+)` \| (.*?) \|", summary, re.M)
    assert [(n, root, re.findall(r"`([a-z.-]+)`", sym)) for _, n, root, sym in rows] == [
        ("1", "epp.config", EPP[1][1:]), ("2", "httproute.backends", ROUTE[1][1:])]


def test_healthy_example_says_what_was_not_verified_beside_the_verdict() -> None:
    rep = report("healthy")
    assert rep.verdict == "healthy"
    e2e = "end-to-end request (probe not run: offline bundle (it holds no probes/e2e.json))"
    md = render_markdown(rep)
    assert md.startswith("# llm-d deployment status report: healthy\n\n✅ **Verdict: HEALTHY** — unverified: " + e2e)
    assert "problem" not in md.split("## 🔧", 1)[0].split("**Source:**", 1)[1]
    html = render_html(rep)
    assert '<span class="verdict v-healthy">HEALTHY</span> unverified: ' + e2e in html
    assert 'id="problems"' not in html
    text = render_text(rep, TextStyle(width=200))
    assert text.split("\n\n")[1].startswith("verdict: healthy - unverified: " + e2e)
    assert "problem" not in text
