"""Terminal output: the verdict first, then the problems (root cause, fix, docs, symptoms one line
each, blocked checks under it), the next steps, what could not be checked, suppressed results muted;
quiet on success (what works is one line unless -v); plain ASCII without colour, colour on a terminal
unless NO_COLOR."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from golden.synthetic import healthy, synthetic_report

from llmd_doctor.cli import main
from llmd_doctor.cli.app import Spinner, run_options, use_color
from llmd_doctor.renderers.text import TextStyle, render_text

SEED = str(Path(__file__).resolve().parents[1] / "examples" / "seed-rosa-epp-segfault")


def test_quiet_on_success_and_verbose_lists_passes() -> None:
    out = render_text(healthy(synthetic_report()))
    assert "[ok]" not in out and "[FAIL]" not in out and "problems" not in out
    assert out.split("\n\n")[1] == "verdict: healthy - no check found a problem"
    assert "passed: Cluster 1, Gateway API 2, Model servers 1, Endpoint picker (EPP) 3, RBAC 1, End-to-end 1" in out
    assert out.rstrip().endswith("verdict: healthy") and len(out.splitlines()) <= 10
    verbose = render_text(healthy(synthetic_report()), TextStyle(verbose=True))
    assert "[ok] cluster.access" in verbose and "[skip] e2e.routing" in verbose and "passed: " not in verbose


def test_verdict_then_problems_then_steps_then_what_could_not_be_checked() -> None:
    out = render_text(synthetic_report(), TextStyle(width=100))
    assert out.isascii()
    blocks = out.split("\n\n")
    assert blocks[1].startswith("verdict: degraded - core inference works, but cache-aware routing")
    assert "  not verified: rbac.epp: forbidden" in blocks[1]
    assert blocks[2] == "2 problems"
    # As many problem blocks as the count says, numbered, root cause first.
    heads = [b.splitlines()[0] for b in blocks if re.match(r"\[(FAIL|WARN)\] \d+\. ", b)]
    assert [h.split(" ", 2)[:2] for h in heads] == [["[FAIL]", "1."], ["[WARN]", "2."]]
    order = [out.index(s) for s in ("verdict:", "2 problems", "[FAIL] 1.", "[WARN] 2.", "next steps",
                                     "could not check (1)", "passed: ", "4 passed, 1 warning")]
    assert order == sorted(order)
    assert all(len(line) <= 100 for line in out.splitlines())


def test_a_problem_block_fix_docs_symptoms_and_blocked() -> None:
    out = render_text(synthetic_report(), TextStyle(width=100))
    block = out.split("\n\n[FAIL] 1. ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[0].startswith('EPP crashed with a nil-pointer SIGSEGV in NewSchedulerWithConfig: configFile=""')
    assert "    root cause: epp.logs (Endpoint picker logs) on Pod/llm-d/epp-7c9f-abcde," in block
    assert any(line.startswith("    fix: Add `-configFile") for line in block)
    assert "    docs: llmd-doctor explain epp.logs (https://docs.example.org/llmd-doctor/checks.html#epp-logs)" in block
    assert "    symptoms (1, explained by epp.logs):" in block
    assert "      [FAIL] epp.deployment  Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)" in block
    assert block[-1].startswith("    [blocked] epp.config  not run until epp.logs is fixed")
    assert sum("epp.config" in line for line in out.splitlines()) == 1  # shown once, under its root cause
    assert sum("epp.deployment" in line for line in out.splitlines()) == 1  # a symptom, not a problem of its own
    steps = out.split("\nnext steps\n", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^  (\d)\. ([a-z.-]+): ", steps, re.M) == [("1", "epp.logs"), ("2", "httproute.backends")]
    errors = out.split("\ncould not check (1)\n", 1)[1].split("\n\n", 1)[0]
    assert errors.startswith("  [ERROR] rbac.epp  forbidden") and "docs: llmd-doctor explain rbac.epp" in errors
    assert "docs/checks.md" not in out


def test_verbose_shows_the_symptoms_evidence() -> None:
    out = render_text(synthetic_report(), TextStyle(width=100, verbose=True))
    symptom = out.split("[FAIL] epp.deployment", 1)[1].split("\n    [blocked]", 1)[0]
    assert "evidence: Available=False (MinimumReplicasUnavailable)" in symptom


def test_suppressed_results_are_counted_and_muted() -> None:
    rep = synthetic_report()
    for r in rep.results:
        if r.id in ("epp.logs", "epp.deployment"):
            r.suppressed = "epp.* until 2027-01-01: EPP rollout (JIRA-1)"
    out = render_text(rep, TextStyle(width=100))
    assert "\n1 problem\n" in out and "[FAIL] 1." not in out and "[WARN] 1. HTTPRoute/llm-d/route" in out
    muted = out.split("\nsuppressed (2, muted by the config file; not counted)\n", 1)[1].split("\n\n", 1)[0]
    assert muted.splitlines()[0].startswith("  [FAIL] epp.deployment  Deployment/llm-d/epp has 0/1 Ready pods")
    assert "         [suppressed: epp.* until 2027-01-01: EPP rollout (JIRA-1)]" in muted
    assert "4 passed, 1 warning, 2 failed (2 suppressed), 1 could not run, 1 skipped, 1 blocked" in out
    coloured = render_text(rep, TextStyle(color=True))
    assert "[dim][FAIL] epp.logs" in coloured  # muted: dim, no alarm symbol


def test_colour_markup_uses_symbols() -> None:
    out = render_text(synthetic_report(), TextStyle(color=True))
    assert "[bold red]✖[/] [bold]1. EPP crashed" in out and "[bold red]✖[/] epp.deployment" in out
    out = render_text(synthetic_report(), TextStyle(color=True, verbose=True))
    assert "[green]✔[/] cluster.access" in out


def test_use_color_follows_no_color_and_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color()
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: empty means unset
    assert use_color()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert not use_color()


def test_cli_colour_on_a_terminal_and_plain_with_no_color(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit):
        main(["check", "--bundle", SEED])
    plain = capsys.readouterr().out
    assert "\x1b[" not in plain and "[FAIL] epp.logs" in plain
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    with pytest.raises(SystemExit):
        main(["check", "--bundle", SEED])
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured and "✖" in coloured


def test_progress_spinner_only_for_a_live_cluster_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = (None, None, None, None, "10s", 500, None, None, None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    opts = run_options(*args)
    assert isinstance(opts.progress, Spinner)
    assert run_options(SEED, *args[1:]).progress is None  # a bundle reads in no time
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert run_options(*args).progress is None
    spinner = Spinner()
    spinner("listing pods")
    spinner("listing services")
    spinner.stop()
    spinner.stop()
    assert capsys.readouterr().out == ""  # never on stdout
