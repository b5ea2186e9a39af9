"""`llmd-doctor report` on the real examples: the seed's facts computed into the Markdown report,
every format, -o/--format and --file, --template, and its usage errors.

Substring facts, not golden files: the built-in checks are still growing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from golden.mdcheck import assert_no_empty_sections, sections

from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-rosa-epp-segfault")
HEALTHY = str(ROOT / "examples" / "healthy")


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def section(md: str, heading_start: str) -> str:
    """The text of the first section whose heading starts with `heading_start`, subsections included."""
    secs = sections(md)
    for i, (level, heading, body) in enumerate(secs):
        if heading.startswith(heading_start):
            text = list(body)
            for lvl, h, b in secs[i + 1:]:
                if lvl <= level:
                    break
                text += [f"{'#' * lvl} {h}", *b]
            return "\n".join(text)
    raise AssertionError(f"no section {heading_start!r}")


def test_seed_markdown_report_carries_the_seeds_facts(capsys: pytest.CaptureFixture[str]) -> None:
    code, md, err = run(capsys, "report", "--bundle", SEED, "--format", "markdown")
    assert code == 0 and err == ""
    assert_no_empty_sections(md)
    assert md.startswith("# llm-d deployment status report — 2 problems\n\n⚠️ **Verdict: DEGRADED**")
    # The problems first: the EPP's plugins config with its symptoms, then the route bypassing the pool.
    problems = section(md, "❌ 2 problems")
    epp, route = problems.split("\n### 2. ", 1)
    assert epp.lstrip().startswith("### 1. ❌ llm-d-inference-scheduler v0.2.1")
    for fact in ("CrashLoopBackOff", "nil-pointer SIGSEGV", 'configFile="" configText=""', "scheduler.go:40",
                 "NewSchedulerWithConfig", "47 restarts", "ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1"):
        assert fact in epp, fact
    assert "```text" in epp  # evidence in code fences
    assert "- **Fix:** Give the EPP an EndpointPickerConfig" in epp and "-configFile /etc/epp/epp-config.yaml" in epp
    assert "`epp.logs` failed: Pod/llm-d/ms-llm-d-epp-" in epp  # a symptom, folded under its root
    assert "HTTPRoute/llm-d/ms-llm-d-epp-route sends traffic straight to Service" in route
    assert "`inferencepool.status` warning:" in route
    # What still works, and what is missing, from the capabilities.
    impact = section(md, "🔧 Impact analysis")
    works = impact.split("### What works", 1)[1].split("### What's missing", 1)[0]
    assert "**Gateway routing**" in works
    missing = impact.split("### What's missing", 1)[1]
    for cap in ("Cache-aware routing", "Prefix-cache optimization", "Saturation-aware scheduling"):
        assert f"**{cap}**" in missing, cap
    assert "lost because of problem 1 (`epp.config`) and problem 2 (`httproute.backends`)" in missing
    status = section(md, "🎯 Current status")
    assert "**Advanced features**: ❌ **BLOCKED** by `epp.config`, `httproute.backends`" in status
    # Next steps: one per problem (schema 2), root cause first: the EPP's plugins config, whose fix
    # also fixes its symptoms, then the route that bypasses the pool.
    steps = section(md, "📋 Next steps")
    numbered = re.findall(r"^(\d+)\. (.*)$", steps, re.M)
    assert [n for n, _ in numbered] == ["1", "2"], numbered
    assert "`epp.config`" in numbered[0][1] and "-configFile /etc/epp/epp-config.yaml" in numbered[0][1]
    assert "`httproute.backends`" in numbered[1][1]
    assert "`epp.logs`" in steps.split("2. ", 1)[0]  # a symptom the first step fixes
    assert "Docs: `llmd-doctor explain epp.config`" in steps
    conclusion = section(md, "🏆 Conclusion")
    assert "unavailable because of Endpoint picker flags and config (`epp.config`)" in conclusion
    assert "End-to-end test" not in md  # the bundle records no probe
    # What works, last and collapsed.
    works = md.split("<summary>✅ What works: ", 1)[1].split("</details>", 1)[0]
    assert "Gateway/llm-d/llm-d-infra-inference-gateway" in works and "Programmed" in works


def test_healthy_markdown_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, md, _ = run(capsys, "report", "--bundle", HEALTHY)
    assert code == 0
    assert_no_empty_sections(md)
    assert md.startswith("# llm-d deployment status report: healthy\n\n✅ **Verdict: HEALTHY** — unverified: ")
    assert "<summary>✅ What works: " in md and "Endpoint picker" in md


def test_every_format_and_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "report", "--bundle", SEED, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["schema_version"] == "2" and doc["summary"]["verdict"] == "degraded"
    assert {c["id"]: c["status"] for c in doc["checks"]}["epp.logs"] == "fail"
    assert [p["root"] for p in doc["problems"]] == ["epp.config", "httproute.backends"]
    assert doc["next_steps"][0]["check"] == "epp.config" and "unblocks" in doc["next_steps"][0]
    _, out, _ = run(capsys, "report", "--bundle", SEED, "--format", "junit")
    root = ET.fromstring(out.encode())
    assert root.tag == "testsuites" and root.get("failures") == "1"  # one failing problem (the route's warns)
    target = tmp_path / "report.html"
    code, out, err = run(capsys, "report", "--bundle", SEED, "-o", "html", "--file", str(target))
    assert code == 0 and out == "" and f"wrote the html report to {target} (verdict: degraded)" in err
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="issue-epp-logs"' in html
    _, out, _ = run(capsys, "report", "--bundle", SEED, "--file", "-")
    assert out.startswith("# llm-d deployment status report")
    # --format/-f stays as -o's alias; without either, the --file extension picks the format.
    _, out, _ = run(capsys, "report", "--bundle", SEED, "-f", "json")
    assert json.loads(out)["summary"]["verdict"] == "degraded"
    code, out, err = run(capsys, "report", "--bundle", SEED, "--file", str(tmp_path / "r.html"), "-q")
    assert code == 0 and out == "" and err == ""
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_user_template(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = tmp_path / "short.md.j2"
    t.write_text("{{ v.verdict }}: {% for i in v.issues %}{{ i.check.id }} {% endfor %}\n")
    code, out, _ = run(capsys, "report", "--bundle", SEED, "--template", str(t))
    assert code == 0 and out.startswith("degraded: ") and "epp.logs" in out
    h = tmp_path / "page.html.j2"
    h.write_text('{% extends "builtin/report.html.j2" %}{% block footer %}<footer>ours</footer>{% endblock %}')
    _, out, _ = run(capsys, "report", "--bundle", SEED, "-f", "html", "--template", str(h))
    assert "<footer>ours</footer>" in out and "Generated by llmd-doctor" not in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--format", "json", "--template", "x.j2"], "--template applies to -o markdown or html, not json"),
        (["--template", "/no/such.j2"], "template not found: /no/such.j2"),
        (["--format", "pdf"], "'pdf' is not one of text, json, markdown, html, junit"),
        (["-o", "json", "--format", "html"], "-o/--output json and --format html disagree"),
        (["--file", "/no/such/dir/r.md"], "cannot write /no/such/dir/r.md"),
        # `report --output FILE` wrote a file before -o became the format: point to --file.
        (["--output", "status.html"], "'status.html' is not a format (text, json, markdown, html, junit); "
                                      "to write a file use --file status.html"),
        (["-o", "out/report"], "to write a file use --file out/report"),
    ],
)
def test_report_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = run(capsys, "report", "--bundle", SEED, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("llmd-doctor: error: ") and expected in err


def test_bad_template_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t = tmp_path / "bad.md.j2"
    t.write_text("{% for %}")
    code, out, err = run(capsys, "report", "--bundle", SEED, "--template", str(t))
    assert code == 2 and out == "" and "bad.md.j2, line 1" in err


def test_report_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from llmd_doctor.cli import main\n"
        "try:\n    main(['report', '--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'jinja2', 'httpx', 'urllib3', 'markupsafe')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NO_COLOR": "1"}).stdout
    assert "--format" in out and out.strip().splitlines()[-1] == "[]"


# ---- the end-to-end section, from the real prober's records -------------------------------------------

GW = "http://gw.test"
ANSWER = {"id": "chatcmpl-a892106c", "object": "chat.completion", "model": "meta-llama/Llama-3.2-3B-Instruct",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 = 4."}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 44, "total_tokens": 53, "completion_tokens": 9}}


def _probed_bundle(tmp_path: Path, httpx_mock, example: str, chat: dict) -> Path:  # noqa: ANN001
    """Probe a mocked gateway (as a live run does) and write the scenario as a bundle with probes/."""
    import httpx
    from scenario import Scenario

    from llmd_doctor.probes import ProbeOptions, run_probes

    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models",
                            json={"object": "list", "data": [{"id": ANSWER["model"]}]})
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", is_reusable=True, is_optional=True, **chat)
    sc = Scenario.example(example)
    snap = sc.snapshot()
    snap.source.kind = "live"
    with httpx.Client() as client:
        sc.data.probes.update(run_probes(snap, ProbeOptions(client=client, gateway_url=GW, prefix_requests=0,
                                                            stream=False)))
    return sc.write(tmp_path / example)


def test_report_shows_the_recorded_chat_completion(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   httpx_mock) -> None:  # noqa: ANN001
    bundle = _probed_bundle(tmp_path, httpx_mock, "healthy", {"json": ANSWER})
    code, md, _ = run(capsys, "report", "--bundle", str(bundle))
    assert code == 0
    assert_no_empty_sections(md)
    e2e = section(md, "🚀 End-to-end test: succeeded")
    assert "`POST http://gw.test/v1/chat/completions` (`meta-llama/Llama-3.2-3B-Instruct`) → HTTP 200" in e2e
    assert "The other models" not in e2e  # one model
    assert "$ curl -sS -X POST http://gw.test/v1/chat/completions" in e2e and '"model": "meta-llama/Llama-3.2-3B-Instruct"' in e2e
    assert '"content": "2 + 2 = 4."' in e2e and "```json" in e2e
    assert "chat completion through the gateway succeeded" in section(md, "🏆 Conclusion")


def test_report_shows_every_model_probed_and_those_not(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        httpx_mock) -> None:  # noqa: ANN001
    """A gateway serving several models: the first model's exchange in full, then one line per other
    model (its outcome) and per model not probed (why); the conclusion counts them."""
    import httpx
    from scenario import Scenario

    from llmd_doctor.probes import ProbeOptions, run_probes
    from llmd_doctor.probes.chat import PROMPT

    models = ["meta-llama/Llama-3.2-3B-Instruct", "lora-sql", "lora-broken", "lora-extra"]
    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models",
                            json={"object": "list", "data": [{"id": m} for m in models]})
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", status_code=404,
                            match_json={"model": "lora-broken", "messages": [{"role": "user", "content": PROMPT}],
                                        "max_tokens": 16, "temperature": 0}, is_optional=True,
                            json={"error": {"message": "The model `lora-broken` does not exist."}})
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", is_reusable=True, is_optional=True,
                            json=ANSWER)
    sc = Scenario.example("healthy")
    snap = sc.snapshot()
    snap.source.kind = "live"
    from llmd_doctor.probes import target as target_mod

    with httpx.Client() as client, pytest.MonkeyPatch.context() as mp:
        mp.setattr(target_mod, "MAX_MODELS", 3)
        sc.data.probes.update(run_probes(snap, ProbeOptions(client=client, gateway_url=GW, prefix_requests=0,
                                                            stream=False)))
    code, md, _ = run(capsys, "report", "--bundle", str(sc.write(tmp_path / "multi")))
    e2e = section(md, "🚀 End-to-end test: succeeded")
    assert "2 of the 3 models probed answered; 1 more was not probed. The other models:" in e2e, e2e
    assert "- ✅ `lora-sql`: HTTP 200 in" in e2e
    assert "- ❌ `lora-broken`: HTTP 404" in e2e
    assert "- ⏭️ `lora-extra`: not probed: over the cap of 3 models per run" in e2e
    assert "2 of the 3 models probed answered; 1 more was not probed." in section(md, "🏆 Conclusion")
    html_code, html, _ = run(capsys, "report", "--bundle", str(tmp_path / "multi"), "--format", "html")
    assert "<code>lora-broken</code>: HTTP 404" in html
    assert re.search(r'class="badge s-skip">[^<]*</span> <code>lora-extra</code>: not probed', html), html


def test_report_shows_a_failed_chat_completion(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               httpx_mock) -> None:  # noqa: ANN001
    bundle = _probed_bundle(tmp_path, httpx_mock, "seed-rosa-epp-segfault",
                            {"status_code": 503, "text": "no healthy upstream", "headers": {"server": "istio-envoy"}})
    _, md, _ = run(capsys, "report", "--bundle", str(bundle))
    assert_no_empty_sections(md)
    e2e = section(md, "💥 End-to-end test: failed")
    assert "HTTP 503" in e2e and "no healthy upstream" in e2e
