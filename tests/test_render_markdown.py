"""The Markdown report: structure (no empty sections, balanced fences), escaping, the computed
sections for each verdict, the end-to-end section, and user templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden.mdcheck import assert_no_empty_sections, sections
from golden.synthetic import E2E_PROBE, healthy, synthetic_report

from llmd_doctor.model import CORE_CAPABILITIES, Finding, Status
from llmd_doctor.renderers.markdown import render_markdown
from llmd_doctor.renderers.templating import TemplateError, md_code, md_fence, md_inline


def test_degraded_report_has_every_section_and_none_empty() -> None:
    md = render_markdown(synthetic_report())
    assert_no_empty_sections(md)
    headings = [h for _, h, _ in sections(md)]
    for want in ("✅ Working components", "🔧 Impact analysis", "What works", "🎯 Current status",
                 "🚀 End-to-end test: succeeded", "📋 Next steps", "🏆 Conclusion"):
        assert want in headings, want
    assert any(h.startswith("❌ Current issues") for h in headings)
    # Root causes first: epp.logs (blocks epp.config; epp.deployment's fix defers to it) is step 1.
    steps = md.split("## 📋 Next steps", 1)[1]
    assert steps.index("`epp.logs`") < steps.index("`epp.deployment`") < steps.index("`httproute.backends`")
    assert "- Unblocks `epp.config`" in steps
    assert "kubectl rollout restart -n llm-d deploy/epp" in steps.split("```bash", 1)[1]
    # The blocked check hangs under its root cause, not as an issue of its own.
    issue = md.split("### ❌ Endpoint picker logs", 1)[1].split("\n### ", 1)[0]
    assert "**Blocked by this**" in issue and "`epp.config`" in issue
    assert "### ⛔" not in md
    assert "**Verdict:** ⚠️ degraded" in md
    conclusion = md.split("## 🏆 Conclusion", 1)[1]
    assert "provides its core functionality" in conclusion
    assert "Cache-aware routing, prefix-cache optimization and saturation-aware scheduling are unavailable" in conclusion


def test_healthy_report_has_no_issue_or_step_sections() -> None:
    md = render_markdown(healthy(synthetic_report()))
    assert_no_empty_sections(md)
    assert "Current issue" not in md and "Next steps" not in md
    assert "Verdict: HEALTHY" in md and "Nothing: no check took a capability away." in md
    assert "is healthy: all 9 checks that ran passed" in md


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
