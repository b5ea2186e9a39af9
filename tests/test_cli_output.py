"""kubectl's output conventions on the real entry point: -o/--output FORMAT on check, report and
list-checks, --file, -q/--quiet, --color with NO_COLOR/FORCE_COLOR, "did you mean", --timeout,
and usage that names `kubectl llmd-doctor` when kubectl runs the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer
from fakeapi.server import Fault

from llmd_doctor.cli.main import prog_name
from llmd_doctor.cli.output import choose_format, color_enabled

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-rosa-epp-segfault")
HEALTHY = str(ROOT / "examples" / "healthy")
BIN = Path(sys.executable).parent
CliRun = Callable[..., tuple[int, str, str]]  # the `cli` fixture (conftest.py)


# ---- -o/--output is the format; --file writes it -----------------------------------------------------


@pytest.mark.parametrize("cmd", ["check", "report"])
def test_every_format_on_check_and_report(cli: CliRun, cmd: str) -> None:
    outs = {}
    for fmt in ("text", "json", "markdown", "html", "junit"):
        code, outs[fmt], err = cli(cmd, "--bundle", SEED, "-o", fmt)
        assert code == (1 if cmd == "check" else 0), (fmt, err)
    assert "[FAIL] epp.logs" in outs["text"]
    assert json.loads(outs["json"])["summary"]["verdict"] == "degraded"  # one document on stdout
    assert outs["markdown"].startswith("# llm-d deployment status report")
    assert outs["html"].startswith("<!DOCTYPE html>")
    assert ET.fromstring(outs["junit"].encode()).tag == "testsuites"


def test_default_formats(cli: CliRun) -> None:
    assert "[FAIL] epp.logs" in cli("check", "--bundle", SEED)[1]
    assert cli("report", "--bundle", SEED)[1].startswith("# llm-d deployment status report")


def test_file_takes_the_format_of_o_or_of_its_extension(cli: CliRun, tmp_path: Path) -> None:
    code, out, err = cli("check", "--bundle", SEED, "--file", str(tmp_path / "r.json"))
    assert code == 1 and out == "" and f"wrote the json report to {tmp_path / 'r.json'}" in err
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["verdict"] == "degraded"
    cli("check", "--bundle", SEED, "-o", "markdown", "--file", str(tmp_path / "r.txt"))
    assert (tmp_path / "r.txt").read_text().startswith("# llm-d deployment status report")  # -o wins
    cli("report", "--bundle", SEED, "--file", str(tmp_path / "junit.xml"))
    assert ET.parse(tmp_path / "junit.xml").getroot().tag == "testsuites"
    cli("report", "--bundle", SEED, "--file", str(tmp_path / "notes"))  # no known extension: the default
    assert (tmp_path / "notes").read_text().startswith("# llm-d deployment status report")


def test_choose_format() -> None:
    assert choose_format(None, None, "text") == "text"
    assert choose_format(None, "a/b.HTML", "markdown") == "html"
    assert choose_format("json", "a.html", "text") == "json"
    assert choose_format(None, None, "markdown", alias="junit") == "junit"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report", "--output", "status.html"], "to write a file use --file status.html"),
        (["check", "-o", "./out"], "to write a file use --file ./out"),
        (["check", "-o", "yaml"], "'yaml' is not one of text, json, markdown, html, junit"),
        (["list-checks", "-o", "markdown"], "'markdown' is not one of text, wide, name, json, yaml"),
        (["explain", "epp.logs", "-o", "html"], "'html' is not one of text, json, markdown"),
        (["check", "--only", "epp.log"], "no check matches 'epp.log'; did you mean epp.logs?"),
        (["check", "--skip", "modelservers.logs"], "no check matches 'modelservers.logs'; did you mean model-servers.logs?"),
        (["check", "--only", "epp.log", "--skip", "nope"],
         "no check matches 'epp.log' (did you mean epp.logs?), 'nope'; see `llmd-doctor list-checks`"),
        (["check", "--timeout", "soon"], "Invalid value for --timeout: 'soon' is not a duration"),
    ],
)
def test_usage_errors_are_one_line(cli: CliRun, argv: list[str], expected: str) -> None:
    code, out, err = cli(*argv[:1], "--bundle", SEED, *argv[1:]) if argv[0] in ("check", "report") else cli(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("llmd-doctor: error: ") and expected in err, err


def test_an_unknown_id_is_reported_once_even_when_repeated(cli: CliRun) -> None:
    _, _, err = cli("check", "--bundle", SEED, "--only", "epp.log", "--only", "epp.log,epp.log", "--wait", "1s")
    assert err == "llmd-doctor: error: no check matches 'epp.log'; did you mean epp.logs?\n"


def test_list_checks_formats(cli: CliRun) -> None:
    _, text, _ = cli("list-checks")
    assert text.splitlines()[0].split() == ["ID", "SEVERITY", "TITLE"]
    assert any(line.split()[:2] == ["epp.logs", "critical"] for line in text.splitlines())
    _, wide, _ = cli("list-checks", "-o", "wide")
    assert wide.splitlines()[0].split() == ["ID", "SEVERITY", "AREA", "REQUIRES", "PROTECTS", "TITLE"]
    assert any(line.split()[:4] == ["epp.logs", "critical", "epp", "cluster.access"] for line in wide.splitlines())
    _, names, _ = cli("list-checks", "-o", "name")
    ids = names.split()
    assert "epp.logs" in ids and "cluster.access" in ids and len(ids) == len(text.splitlines()) - 1
    _, js, _ = cli("list-checks", "-o", "json")
    _, ym, _ = cli("list-checks", "-o", "yaml")
    assert json.loads(js) == yaml.safe_load(ym)
    logs = {r["id"]: r for r in json.loads(js)}["epp.logs"]
    assert logs["docs"] == "llmd-doctor explain epp.logs" and logs["requires"] == ["cluster.access"]


# ---- -q/--quiet ------------------------------------------------------------------------------------------


def test_quiet_text_prints_nothing_and_the_exit_code_tells(cli: CliRun) -> None:
    assert cli("check", "--bundle", SEED, "-q") == (1, "", "")
    assert cli("check", "--bundle", HEALTHY, "--quiet") == (0, "", "")


def test_quiet_machine_formats_keep_stdout_and_silence_progress(cli: CliRun, tmp_path: Path) -> None:
    # The seed's EPP is past its CrashLoopBackOff back-off: --wait says so on stderr, unless -q.
    code, out, err = cli("check", "--bundle", SEED, "-o", "json", "--wait", "5m")
    assert code == 1 and "not waiting: " in err
    code, out_q, err_q = cli("check", "--bundle", SEED, "-o", "json", "--wait", "5m", "-q")
    assert code == 1 and err_q == "" and json.loads(out_q)["summary"] == json.loads(out)["summary"]
    code, out, err = cli("report", "--bundle", SEED, "--file", str(tmp_path / "r.md"), "-q")
    assert (code, out, err) == (0, "", "") and (tmp_path / "r.md").read_text().startswith("# llm-d")


def test_quiet_still_prints_errors(cli: CliRun) -> None:
    code, out, err = cli("check", "--bundle", "/no/such/bundle", "-q")
    assert code == 2 and out == "" and "bundle not found: /no/such/bundle" in err


# ---- --color ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "env", "tty", "coloured"),
    [
        ("auto", {}, False, False),
        ("auto", {}, True, True),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # https://no-color.org: an empty value is unset
        ("auto", {"FORCE_COLOR": "1"}, False, True),  # https://force-color.org: even when piped
        ("auto", {"FORCE_COLOR": "0"}, False, True),  # any non-empty value
        ("auto", {"FORCE_COLOR": ""}, False, False),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR wins
        ("auto", {"TERM": "dumb"}, True, False),
        ("always", {"NO_COLOR": "1"}, False, True),  # the flag wins over the environment
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_color_decision(monkeypatch: pytest.MonkeyPatch, flag: str, env: dict[str, str], tty: bool,
                        coloured: bool) -> None:
    monkeypatch.delenv("TERM", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty, raising=False)
    assert color_enabled(flag) is coloured


def test_color_flag_on_the_real_output(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    _, plain, _ = cli("check", "--bundle", SEED)  # captured stdout is no terminal
    assert "\x1b[" not in plain and "[FAIL] epp.logs" in plain
    _, always, _ = cli("check", "--bundle", SEED, "--color", "always")
    assert "\x1b[" in always and "✖" in always
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in cli("check", "--bundle", SEED)[1]
    _, never, _ = cli("check", "--bundle", SEED, "--color", "never")
    assert never == plain
    monkeypatch.setenv("NO_COLOR", "1")
    _, report_text, _ = cli("report", "--bundle", SEED, "-o", "text", "--color", "always")
    assert "\x1b[" in report_text
    code, out, err = cli("check", "--bundle", SEED, "--color", "sometimes")
    assert code == 2 and "'sometimes' is not one of 'auto', 'always', 'never'" in err


def test_color_never_is_plain_ascii_decorations(cli: CliRun) -> None:
    _, out, _ = cli("check", "--bundle", SEED, "--color", "never", "-v")
    assert "[FAIL]" in out and "[ok]" in out and not any(s in out for s in ("✖", "✔", "\x1b["))


# ---- --timeout: the total deadline of a live run ----------------------------------------------------------


def test_timeout_is_the_deadline_of_a_live_run(cli: CliRun, tmp_path: Path) -> None:
    """Pods hang for 30 s; --timeout 2s ends their read: an error naming the deadline, the rest read."""
    with FakeApiServer(SEED, fault=lambda m, p, q: Fault(delay_s=30.0) if p == "/api/v1/pods" else None) as srv:
        code, out, err = cli("check", "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--no-probe",
                             "-o", "json", "--timeout", "2s")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["epp.deployment"]["status"] == "error", err
    assert "deadline of 2s passed" in checks["epp.deployment"]["message"]
    assert checks["gateway.programmed"]["status"] == "pass"  # what was read in time is judged


def test_timeout_from_the_config_file(tmp_path: Path) -> None:
    from llmd_doctor.cli.app import run_options
    from llmd_doctor.config import load

    (tmp_path / "c.yaml").write_text("timeout: 2m\n")
    cfg = load(str(tmp_path / "c.yaml"))
    args = (None, None, None, None, "10s", 500, None, None, None)
    assert run_options(*args, config=cfg).deadline == 120
    assert run_options(*args, config=cfg, timeout="90s").deadline == 90  # the flag wins
    assert run_options(*args).deadline is None


# ---- the program's name in usage and help -----------------------------------------------------------------


def test_prog_name() -> None:
    assert prog_name("/usr/local/bin/kubectl-llmd_doctor") == "kubectl llmd-doctor"
    assert prog_name("C:/bin/kubectl-llmd_doctor.exe") == "kubectl llmd-doctor"
    assert prog_name("/usr/bin/llmd-doctor") == "llmd-doctor"
    assert prog_name("kubectl-llmd_doctor", ["--show-completion"]) == "llmd-doctor"


@pytest.mark.skipif(not (BIN / "kubectl-llmd_doctor").exists(), reason="the package is not installed as a script")
def test_usage_says_kubectl_llmd_doctor_when_run_as_the_plugin(tmp_path: Path) -> None:
    env = {"PATH": str(BIN), "HOME": str(tmp_path), "NO_COLOR": "1"}
    plugin = subprocess.run([BIN / "kubectl-llmd_doctor", "check", "--help"], capture_output=True, text=True, env=env)
    assert plugin.returncode == 0 and plugin.stdout.startswith("Usage: kubectl llmd-doctor check [OPTIONS]")
    bad = subprocess.run([BIN / "kubectl-llmd_doctor", "check", "--nope"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "No such option" in bad.stderr
    plain = subprocess.run([BIN / "llmd-doctor", "check", "--help"], capture_output=True, text=True, env=env)
    assert plain.stdout.startswith("Usage: llmd-doctor check [OPTIONS]")
