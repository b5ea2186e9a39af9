"""The command line on the bundled examples: JSON contract, exit codes, selection, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-rosa-epp-segfault")
HEALTHY = str(ROOT / "examples" / "healthy")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_seed_json_names_the_missing_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--bundle", SEED, "-o", "json")
    assert code == 1
    doc = json.loads(out)  # one document, nothing else on stdout
    assert doc["schema_version"] == "2"
    assert doc["tool"]["name"] == "llmd-doctor"
    assert doc["source"]["kind"] == "bundle" and doc["source"]["context"] == "rosa-prod"
    assert set(doc["summary"]) == {"pass", "warn", "fail", "error", "skip", "blocked", "suppressed", "verdict",
                                   "unverified"}
    assert any(u.startswith("end-to-end request") for u in doc["summary"]["unverified"])
    # Two problems, as in the seed's own report: the EPP that never loaded its config, the route around the pool.
    assert [(p["root"], sorted(p["checks"])) for p in doc["problems"]] == [
        ("epp.config", ["epp.config", "epp.deployment", "epp.logs", "inferencepool.endpoint-picker"]),
        ("httproute.backends", ["httproute.backends", "inferencepool.status"]),
    ]
    assert [s["problem"] for s in doc["next_steps"]] == [p["id"] for p in doc["problems"]]
    checks = {c["id"]: c for c in doc["checks"]}
    logs = checks["epp.logs"]
    assert logs["status"] == "fail"
    assert "nil-pointer SIGSEGV" in logs["message"] and 'configFile=""' in logs["message"]
    assert any("scheduler.go:40" in e for e in logs["evidence"])
    assert logs["objects"] == ["Pod/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q"]
    assert "-configFile" in logs["remediation"]
    assert logs["docs"] == "llmd-doctor explain epp.logs"  # followable after `pip install`
    for key in ("title", "area", "severity", "blocked_by", "capabilities"):
        assert key in logs
    assert "cache-aware routing" in logs["capabilities"]
    caps = {c["name"]: c for c in doc["capabilities"]}
    assert caps["cache-aware routing"]["status"] == "unavailable"
    assert "epp.logs" in caps["cache-aware routing"]["because"]


def test_healthy_example_exits_zero_without_fail(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--bundle", HEALTHY, "-o", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["summary"]["fail"] == 0 and doc["summary"]["error"] == 0
    assert all(c["status"] != "fail" for c in doc["checks"])


def test_text_output_is_plain_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--bundle", SEED)
    assert code == 1
    assert "[FAIL] epp.logs" in out and "\x1b[" not in out
    assert "fix:" in out and "docs: llmd-doctor explain epp.config" in out


def test_only_and_skip_take_ids_and_globs(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--bundle", SEED, "-o", "json", "--only", "epp.*", "--skip", "epp.logs")
    assert sorted(c["id"] for c in json.loads(out)["checks"]) == ["epp.config", "epp.deployment"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--bundle", "/no/such/bundle"], "bundle not found: /no/such/bundle"),
        (["check", "--no-such-flag"], "No such option"),
        (["check", "--bundle", SEED, "--only", "nope.*"], "no check matches 'nope.*'"),
        (["check", "--kubeconfig", "/no/kubeconfig"], "no kubeconfig at /no/kubeconfig"),
        (["check", "--bundle", SEED, "--request-timeout", "soon"], "is not a duration"),
        (["check", "--bundle", SEED, "-o", "xml"], "'xml' is not one of text, json, markdown, html, junit"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("llmd-doctor: error: ") and expected in err


def test_fail_on_and_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "--bundle", SEED, "--exit-zero")[0] == 0
    assert run(capsys, "check", "--bundle", SEED, "--fail-on", "never")[0] == 0
    assert run(capsys, "check", "--bundle", HEALTHY, "--fail-on", "warn")[0] in (0, 1)


def test_list_checks_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list-checks")
    assert code == 0 and "epp.logs" in out and "cluster.access" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("llmd-doctor ")


def test_help_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys\n"
        "from llmd_doctor.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'jinja2', 'httpx', 'urllib3')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NO_COLOR": "1"}).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_program_exits_with_its_code_and_all_its_output_without_tearing_down() -> None:
    """Run as a program, `main()` ends the process at once after flushing (no teardown of what was read):
    the exit code and the whole report are as before, and exit handlers never run."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "llmd_doctor", "check", "--bundle", SEED, "-o", "json"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1 and done.stderr == ""
    doc = json.loads(done.stdout)
    assert doc["summary"]["verdict"] == "degraded" and done.stdout.endswith("\n")
    wrapper = ("import sys, atexit; atexit.register(lambda: print('torn down', file=sys.stderr)); "
               "from llmd_doctor.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", wrapper, "check", "--bundle", SEED, "-o", "json"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1 and json.loads(done.stdout)["summary"] == doc["summary"]
    assert "torn down" not in done.stderr  # the process ended in main, before any exit handler


def test_an_output_that_cannot_be_flushed_leaves_the_exit_to_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed pipe on stdout: the fast exit steps aside, so the usual exit reports it as before."""
    import importlib

    main_module = importlib.import_module("llmd_doctor.cli.main")  # the module (the package exports main)

    class Closed:
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    exits: list[int] = []
    monkeypatch.setattr(sys, "stdout", Closed())
    monkeypatch.setattr(main_module.os, "_exit", exits.append)
    main_module._exit_without_teardown(1)
    assert exits == []
    monkeypatch.setattr(sys, "stdout", sys.stderr)
    main_module._exit_without_teardown(1)
    assert exits == [1]
