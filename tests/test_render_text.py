"""Terminal output: quiet on success, grouped by area, blocked checks under their root cause,
fix/docs lines, plain ASCII without colour, colour on a terminal unless NO_COLOR."""

from __future__ import annotations

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
    assert "[ok]" not in out and "[FAIL]" not in out
    assert "Cluster  (1 passed)" in out and "verdict: healthy" in out
    assert len(out.splitlines()) <= 12
    verbose = render_text(healthy(synthetic_report()), TextStyle(verbose=True))
    assert "[ok] cluster.access" in verbose and "[skip] e2e.routing" in verbose


def test_problems_blocked_fix_and_docs() -> None:
    out = render_text(synthetic_report(), TextStyle(width=100))
    assert out.isascii()
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("  [FAIL] epp.logs"))
    block = lines[i:i + 14]
    assert any(line.startswith("      fix: Add `-configFile") for line in block)
    assert any(line == "      docs: docs/checks.md#epp-logs" for line in block)
    blocked = next(line for line in block if "epp.config" in line)
    assert blocked.startswith("      [blocked] epp.config  not run until epp.logs is fixed")
    assert sum("epp.config" in line for line in lines) == 1  # shown once, under its root cause
    assert "  [ERROR] rbac.epp  forbidden" in out and "  [WARN] httproute.backends" in out
    assert all(len(line) <= 100 for line in lines)


def test_colour_markup_uses_symbols() -> None:
    out = render_text(synthetic_report(), TextStyle(color=True))
    assert "[bold red]✖[/] epp.logs" in out and "[green]✔[/]" in out


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
