"""The Markdown report: the verdict first, then the problems (root cause, fix inline, symptoms
folded), next steps, what could not be checked, suppressed results muted; structure (no empty
sections, balanced fences), escaping, each verdict, the end-to-end section, and user templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from golden.mdcheck import assert_no_empty_sections, sections
from golden.synthetic import E2E_PROBE, healthy, synthetic_report

from llmd_doctor.model import CORE_CAPABILITIES, Finding, Status
from llmd_doctor.renderers.markdown import render_markdown
from llmd_doctor.renderers.templating import TemplateError, md_code, md_fence, md_inline


def test_degraded_report_leads_with_the_verdict_and_the_problems() -> None:
    md = render_markdown(synthetic_report())
    assert_no_empty_sections(md)
    headings = [h for level, h, _ in sections(md) if level == 2]
    assert headings == ["❌ 2 problems", "📋 Next steps", "❗ Could not be checked", "🔧 Impact analysis",
                        "🎯 Current status", "🚀 End-to-end test: succeeded", "🏆 Conclusion"]
    assert md.startswith("# llm-d deployment status report — 2 problems\n\n⚠️ **Verdict: DEGRADED** — core inference "
                         "works, but cache-aware routing, prefix-cache optimization and saturation-aware scheduling are lost\n")
    assert "**Not verified:** rbac.epp: forbidden" in md.split("## ", 1)[0]  # beside the verdict
    # Two problem cards under "2 problems", root cause first; the symptom folded under its root.
    cards = re.findall(r"^### (\d+)\. (\S+) (.*)$", md, re.M)
    assert [(n, e) for n, e, _ in cards] == [("1", "❌"), ("2", "⚠️")]
    one = md.split("### 1. ", 1)[1].split("### 2. ", 1)[0]
    assert "- **Root cause:** Endpoint picker logs (`epp.logs`), failed (critical)" in one
    assert "- ❌ `epp.deployment` failed: Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)" in one
    assert "<summary>The symptoms in detail</summary>" in one and "47 restarts" in one
    assert "`epp.deployment` (Endpoint picker deployment) — docs: `llmd-doctor explain epp.deployment`:" in one
    assert "**Not run until it is fixed:** Endpoint picker flags and config (`epp.config`)" in one
    assert "### ⛔" not in md and "### ❌ Endpoint picker deployment" not in md  # no card of their own
    # The fix inline, with its command; the docs reference (explain, and the configured URL).
    assert "- **Fix:** Add `-configFile /etc/epp/config.yaml`" in one and "next step" not in one
    assert "kubectl rollout restart -n llm-d deploy/epp" in one.split("```bash", 1)[1]
    assert ("- **Docs:** `llmd-doctor explain epp.logs` (https://docs.example.org/llmd-doctor/checks.html#epp-logs)"
            in one)
    assert "docs/checks.md" not in md
    # Next steps: one per problem, in order; what each also fixes and unblocks.
    steps = md.split("## 📋 Next steps", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\d+\. \*\*.*?\*\* \(`([a-z.-]+)`, problem (\d)\)", steps, re.M) == [
        ("epp.logs", "1"), ("httproute.backends", "2")]
    assert "- Also fixes `epp.deployment`" in steps and "- Unblocks `epp.config`" in steps
    # What could not be checked, then the rest; what works last, collapsed.
    assert "### ❗ Endpoint picker RBAC (`rbac.epp`)" in md.split("## ❗ Could not be checked", 1)[1]
    assert md.index("## 🏆 Conclusion") < md.index("<summary>✅ What works: 4 checks passed</summary>")
    conclusion = md.split("## 🏆 Conclusion", 1)[1]
    assert "provides its core functionality" in conclusion
    assert ("Cache-aware routing, prefix-cache optimization and saturation-aware scheduling are unavailable because of "
            "Endpoint picker logs (`epp.logs`) and HTTPRoute backends (`httproute.backends`)") in conclusion
    missing = md.split("### What's missing", 1)[1].split("###", 1)[0]
    assert "— lost because of problem 1 (`epp.logs`) and problem 2 (`httproute.backends`)" in missing


def test_healthy_report_has_no_problem_or_step_sections() -> None:
    md = render_markdown(healthy(synthetic_report()))
    assert_no_empty_sections(md)
    assert "problem" not in md.split("**Source:**", 1)[1].split("## 🔧", 1)[0] and "Next steps" not in md
    assert md.startswith("# llm-d deployment status report: healthy\n\n✅ **Verdict: HEALTHY** — no check found a problem\n")
    assert "Nothing: no check took a capability away." in md
    assert "is healthy: all 9 checks that ran passed" in md


def test_unknown_verdict_says_plainly_what_could_not_be_seen() -> None:
    rep = synthetic_report()
    for r in rep.results:  # nothing failed, but the model servers could not be read
        if r.status in (Status.FAIL, Status.WARN, Status.BLOCKED) or r.id in ("model-servers.pods", "e2e.chat-completion"):
            r.status, r.message = Status.ERROR, f"forbidden: cannot list pods ({r.id})"
            r.findings = [Finding(Status.ERROR, r.message)]
    rep.probes = {}
    assert rep.verdict == "unknown" and not rep.problems
    md = render_markdown(rep)
    assert_no_empty_sections(md)
    assert md.startswith("# llm-d deployment status report: unknown\n\n❔ **Verdict: UNKNOWN** — could not see: "
                         "httproute.backends: forbidden: cannot list pods (httproute.backends);")
    assert "## ❗ Could not be checked" in md and "## ❌" not in md
    assert "could not see enough of the llm-d deployment" in md.split("## 🏆 Conclusion", 1)[1]


def test_suppressed_results_are_counted_as_such_and_shown_muted() -> None:
    rep = synthetic_report()
    for r in rep.results:
        if r.id in ("epp.logs", "epp.deployment"):
            r.suppressed = "epp.* until 2027-01-01: EPP rollout (JIRA-1)"
    md = render_markdown(rep)
    assert "**Checks:** 4 passed, 1 warning, 2 failed (2 suppressed), 1 could not run" in md
    assert md.startswith("# llm-d deployment status report — 1 problem\n") and "## ⚠️ 1 problem" in md
    muted = md.split("<summary>🔇 2 suppressed results", 1)[1].split("</details>", 1)[0]
    assert "- _`epp.logs` failed: EPP crashed" in muted and "suppressed: epp.\\* until 2027-01-01" in muted


def test_broken_report_says_inference_does_not_work() -> None:
    rep = synthetic_report()
    chat = next(r for r in rep.results if r.id == "e2e.chat-completion")
    chat.status, chat.message = Status.FAIL, "POST /v1/chat/completions: 503 no healthy upstream"
    chat.findings = [Finding(Status.FAIL, chat.message, "Gateway/llm-d/gw", ("HTTP 503", "no healthy upstream"))]
    rep.probes = {"e2e": {**E2E_PROBE, "status": 503, "body_excerpt": "no healthy upstream", "error_class": "503-no-upstream",
                          "hop": "model-servers"}}
    del rep.probes["e2e"]["response"]
    md = render_markdown(rep)
    assert_no_empty_sections(md)
    assert rep.verdict == "broken"
    assert "**Core inference**: ❌ **BROKEN** by `e2e.chat-completion`" in md
    assert "## 💥 End-to-end test: failed" in md
    assert "→ HTTP 503 in 0.84 s: 503-no-upstream (failing hop: model-servers)" in md
    assert "```text\nno healthy upstream\n```" in md
    assert "does not serve inference" in md.split("## 🏆 Conclusion", 1)[1]


def test_e2e_section_only_when_the_probe_ran() -> None:
    assert "End-to-end test" not in render_markdown(synthetic_report(probe=False))
    rep = synthetic_report()
    rep.probes = {"e2e": {"not_run": "no gateway address"}}
    assert "End-to-end test" not in render_markdown(rep)
    # The simple record shape: request is the JSON body.
    rep.probes = {"e2e": {"url": "http://gw/v1/chat/completions", "request": {"model": "m"}, "status": 200,
                          "response": {"choices": []}, "latency_s": 1.234}}
    md = render_markdown(rep)
    assert "`POST http://gw/v1/chat/completions` → HTTP 200 in 1.23 s" in md
    assert "-d '{\"model\": \"m\"}'" in md


def test_text_from_the_cluster_is_escaped() -> None:
    rep = synthetic_report()
    r = rep.results[0]
    r.message = "pod <b>x</b> has *bold* and _under_ and [link](http://evil) and snake_case_name"
    md = render_markdown(rep)
    assert r"pod \<b>x\</b> has \*bold\* and \_under\_ and \[link\](http://evil) and snake_case_name" in md
    # Evidence goes in fences longer than any backtick run it holds; control characters are shown.
    assert "````text\n" in md and "fence \\x1b[31m" in md and "\x1b" not in md


def test_markdown_filters() -> None:
    assert md_inline("run `kubectl get pods -l a=b_c` on <ns>") == "run `kubectl get pods -l a=b_c` on \\<ns>"
    assert md_code("a`b") == "``a`b``" and md_code("`x`") == "`` `x` ``"
    assert md_fence(["```", "x"], "text").startswith("````text\n")


def test_capabilities_drive_impact_and_status() -> None:
    rep = synthetic_report()
    md = render_markdown(rep)
    impact = md.split("## 🔧 Impact analysis", 1)[1].split("## 🎯", 1)[0]
    for cap in rep.capabilities:
        title = cap.name[:1].upper() + cap.name[1:]
        assert f"**{title}**" in impact, cap.name
    core = md.split("**Core inference**", 1)[1].split("**Advanced features**", 1)[0]
    assert all(c[:1].upper() + c[1:] in core for c in CORE_CAPABILITIES)


def test_user_template_can_extend_the_builtin(tmp_path: Path) -> None:
    t = tmp_path / "mine.md.j2"
    t.write_text('{% extends "builtin/report.md.j2" %}{% block conclusion %}\n## Our verdict\n\n{{ v.verdict }} '
                 "({{ report.results | length }} checks)\n{% endblock %}")
    md = render_markdown(synthetic_report(), str(t))
    assert "## Our verdict\n\ndegraded (10 checks)" in md and "## 🏆 Conclusion" not in md
    assert "## 📋 Next steps" in md
    (tmp_path / "bad.md.j2").write_text("{% if %}")
    with pytest.raises(TemplateError, match="bad.md.j2, line 1"):
        render_markdown(synthetic_report(), str(tmp_path / "bad.md.j2"))
    with pytest.raises(TemplateError, match="template not found"):
        render_markdown(synthetic_report(), str(tmp_path / "none.j2"))
    (tmp_path / "undef.md.j2").write_text("{{ v.no_such_field }}")
    with pytest.raises(TemplateError, match="no_such_field"):
        render_markdown(synthetic_report(), str(tmp_path / "undef.md.j2"))
