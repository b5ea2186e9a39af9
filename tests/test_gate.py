"""The CI gate: exit codes for every flag combination that matters, --wait (healthy, fail fast,
timeout), --junit beside any format, the GitHub step summary.

Most cases use checks from a --checks-dir written here (fixed statuses), so they do not move when
the built-in checks change; the seed example covers the real fail-fast case (47 restarts)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from scenario import Scenario

from llmd_doctor.cli import main
from llmd_doctor.model import ExitCode

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-rosa-epp-segfault")
HEALTHY = str(ROOT / "examples" / "healthy")

FIXTURE_CHECKS = '''
import os
from llmd_doctor.model import Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Forbidden


def _simple(id, status, message, *evidence):
    @check(id, title=id, area="gate", severity=Severity.MAJOR, remediation=f"fix {id}")
    def run(ctx):
        yield Finding(status, message, f"Pod/ns/{id}", tuple(evidence))
    return run


gate_pass = _simple("gate.pass", Status.PASS, "fine")
gate_warn = _simple("gate.warn", Status.WARN, "degraded")
gate_fail = _simple("gate.fail", Status.FAIL, "0/1 Ready, CrashLoopBackOff",
                    "Pod/ns/p: Running, not Ready, CrashLoopBackOff (c), 2 restarts")
gate_crashloop = _simple("gate.crashloop", Status.FAIL, "0/1 Ready",
                         "Pod/ns/p: Running, not Ready, CrashLoopBackOff (c), 12 restarts")
gate_imagepull = _simple("gate.imagepull", Status.FAIL, "0/1 Ready",
                         "Pod/ns/p: Pending, not Ready, ImagePullBackOff (vllm)")
gate_unschedulable = _simple("gate.unschedulable", Status.FAIL, "Pending",
                             "FailedScheduling: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu")
gate_scaleup = _simple("gate.scaleup", Status.FAIL, "Pending",
                       "FailedScheduling: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu",
                       "TriggeredScaleUp: pod triggered scale-up")
gate_config_error = _simple("gate.configerror", Status.FAIL, "0/1 Ready",
                            "Pod/ns/p: Pending, not Ready, CreateContainerConfigError (vllm)")


@check("gate.error", title="gate.error", area="gate", severity=Severity.MAJOR)
def gate_error(ctx):
    raise Forbidden("list", "pods", "ns")
    yield


@check("gate.flaky", title="gate.flaky", area="gate", severity=Severity.MAJOR)
def gate_flaky(ctx):
    """Fails until it has run GATE_FLAKY_RUNS times (the count kept in the file GATE_FLAKY)."""
    path = os.environ["GATE_FLAKY"]
    runs = int(open(path).read() or 0) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(runs))
    ok = runs >= int(os.environ.get("GATE_FLAKY_RUNS", "2"))
    yield Finding(Status.PASS if ok else Status.FAIL, f"run {runs}", "Pod/ns/flaky")
'''


@pytest.fixture
def checks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    d = tmp_path / "checks"
    d.mkdir()
    (d / "gate_fixture.py").write_text(FIXTURE_CHECKS)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return str(d)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def gate(capsys: pytest.CaptureFixture[str], checks_dir: str, only: str, *flags: str, cmd: str = "check") -> int:
    fmt = ("-o", "json") if cmd == "check" else ("--format", "json")
    code, out, _ = run(capsys, cmd, "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", only, *fmt, *flags)
    json.loads(out)  # always one document on stdout
    return code


@pytest.mark.parametrize(
    ("only", "flags", "expected"),
    [
        ("gate.pass", (), ExitCode.OK),
        ("gate.warn", (), ExitCode.OK),
        ("gate.fail", (), ExitCode.FINDINGS),
        ("gate.warn", ("--fail-on", "warn"), ExitCode.FINDINGS),
        ("gate.pass", ("--fail-on", "warn"), ExitCode.OK),
        ("gate.fail", ("--fail-on", "fail"), ExitCode.FINDINGS),
        ("gate.fail", ("--fail-on", "never"), ExitCode.OK),
        ("gate.warn", ("--fail-on", "never"), ExitCode.OK),
        ("gate.error", (), ExitCode.OK),
        ("gate.error", ("--fail-on-error",), ExitCode.COULD_NOT_CHECK),
        ("gate.error,gate.fail", ("--fail-on-error",), ExitCode.FINDINGS),  # findings come first
        ("gate.error,gate.warn", ("--fail-on", "never", "--fail-on-error"), ExitCode.COULD_NOT_CHECK),
        ("gate.fail", ("--exit-zero",), ExitCode.OK),
        ("gate.error,gate.fail", ("--fail-on", "warn", "--fail-on-error", "--exit-zero"), ExitCode.OK),
    ],
)
def test_check_exit_codes(capsys: pytest.CaptureFixture[str], checks_dir: str, only: str,
                          flags: tuple[str, ...], expected: ExitCode) -> None:
    assert gate(capsys, checks_dir, only, *flags) == expected


@pytest.mark.parametrize(
    ("only", "flags", "expected"),
    [
        ("gate.fail", (), ExitCode.OK),  # a report gates only when asked
        ("gate.fail", ("--fail-on", "fail"), ExitCode.FINDINGS),
        ("gate.warn", ("--fail-on", "warn"), ExitCode.FINDINGS),
        ("gate.warn", ("--fail-on", "fail"), ExitCode.OK),
        ("gate.error", ("--fail-on-error",), ExitCode.COULD_NOT_CHECK),
        ("gate.fail", ("--fail-on", "fail", "--exit-zero"), ExitCode.OK),
    ],
)
def test_report_exit_codes(capsys: pytest.CaptureFixture[str], checks_dir: str, only: str,
                           flags: tuple[str, ...], expected: ExitCode) -> None:
    assert gate(capsys, checks_dir, only, *flags, cmd="report") == expected


def test_examples_gate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert run(capsys, "check", "--bundle", SEED)[0] == ExitCode.FINDINGS
    assert run(capsys, "check", "--bundle", SEED, "--fail-on", "never")[0] == ExitCode.OK
    assert run(capsys, "report", "--bundle", SEED)[0] == ExitCode.OK
    assert run(capsys, "report", "--bundle", SEED, "--fail-on", "fail")[0] == ExitCode.FINDINGS


# ---- --wait ---------------------------------------------------------------------------------------


def test_wait_times_out_with_exit_4(capsys: pytest.CaptureFixture[str], checks_dir: str) -> None:
    started = time.monotonic()
    code, out, err = run(capsys, "check", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", "gate.fail",
                         "--wait", "1500ms", "--interval", "100ms", "-o", "json")
    assert code == ExitCode.WAIT_TIMEOUT
    assert time.monotonic() - started < 10
    assert err.count("not healthy yet (gate.fail)") >= 1 and "--wait 1500ms ran out after" in err
    assert "ran out after 1 run;" not in err  # it did re-run
    assert json.loads(out)["summary"]["fail"] == 1  # the last run's report, one document
    # --exit-zero still wins; a report waits the same way.
    assert run(capsys, "check", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", "gate.fail",
               "--wait", "100ms", "--interval", "50ms", "--exit-zero")[0] == ExitCode.OK
    assert run(capsys, "report", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", "gate.fail",
               "--wait", "100ms", "--interval", "50ms")[0] == ExitCode.WAIT_TIMEOUT


def test_wait_stops_when_healthy(capsys: pytest.CaptureFixture[str], checks_dir: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_FLAKY", str(tmp_path / "runs"))
    monkeypatch.setenv("GATE_FLAKY_RUNS", "3")
    code, out, err = run(capsys, "check", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", "gate.flaky",
                         "--wait", "30s", "--interval", "10ms")
    assert code == ExitCode.OK
    assert "healthy after 3 runs" in err and "[FAIL]" not in out
    assert (tmp_path / "runs").read_text() == "3"


@pytest.mark.parametrize(
    ("only", "stuck"),
    [
        ("gate.crashloop", "CrashLoopBackOff (c), 12 restarts"),
        ("gate.imagepull", "ImagePullBackOff"),
        ("gate.unschedulable", "FailedScheduling"),
        ("gate.configerror", "CreateContainerConfigError"),
    ],
)
def test_wait_fails_fast_on_states_waiting_cannot_fix(capsys: pytest.CaptureFixture[str], checks_dir: str,
                                                      only: str, stuck: str) -> None:
    started = time.monotonic()
    code, _, err = run(capsys, "check", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", only,
                       "--wait", "1m", "--interval", "20s")
    assert code == ExitCode.FINDINGS and time.monotonic() - started < 10
    assert "not waiting: " in err and stuck in err and "waiting will not fix this" in err
    assert "not healthy yet" not in err


@pytest.mark.parametrize("only", ["gate.fail", "gate.scaleup"])
def test_wait_keeps_waiting_on_states_that_can_recover(capsys: pytest.CaptureFixture[str], checks_dir: str,
                                                       only: str) -> None:
    """A young CrashLoopBackOff (2 restarts) and a pod the cluster autoscaler is making room for."""
    code, _, err = run(capsys, "check", "--bundle", HEALTHY, "--checks-dir", checks_dir, "--only", only,
                       "--wait", "100ms", "--interval", "50ms")
    assert code == ExitCode.WAIT_TIMEOUT and "not waiting" not in err


def test_wait_fails_fast_on_the_seed_crashloop(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's EPP has restarted 47 times: waiting cannot fix it, exit 1 at once (not 4)."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    started = time.monotonic()
    code, out, err = run(capsys, "check", "--bundle", SEED, "--wait", "10m", "-o", "json")
    assert code == ExitCode.FINDINGS and time.monotonic() - started < 10
    assert "not waiting: Pod/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q" in err and "47 restarts" in err
    assert "epp.deployment" in err
    assert json.loads(out)["summary"]["verdict"] == "degraded"


def test_wait_on_a_young_crashloop_times_out(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The same EPP after 2 restarts may still come up: --wait waits, then exits 4."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    sc = Scenario.example("seed-rosa-epp-segfault")
    pod = sc.find_prefix("Pod", "ms-llm-d-epp-")
    for cs in pod["status"]["containerStatuses"]:
        cs["restartCount"] = min(int(cs.get("restartCount") or 0), 2)
    bundle = sc.write(tmp_path / "young")
    code, _, err = run(capsys, "check", "--bundle", str(bundle), "--wait", "200ms", "--interval", "100ms")
    assert code == ExitCode.WAIT_TIMEOUT, err
    assert "not waiting" not in err and "epp.deployment" in err


@pytest.mark.parametrize(("flag", "value"), [("--wait", "soon"), ("--interval", "0s"), ("--wait", "-1s")])
def test_bad_durations_are_usage_errors(capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    argv = ["check", "--bundle", SEED, flag, value] + (["--wait", "1s"] if flag == "--interval" else [])
    code, out, err = run(capsys, *argv)
    assert code == ExitCode.USAGE and out == "" and err.startswith("llmd-doctor: error: ")


# ---- side outputs -----------------------------------------------------------------------------------


def test_junit_beside_any_format(capsys: pytest.CaptureFixture[str], checks_dir: str, tmp_path: Path) -> None:
    for i, argv in enumerate((["check"], ["check", "-o", "json"], ["report", "--format", "markdown"],
                              ["report", "-o", "html", "--file", str(tmp_path / "r.html")])):
        junit = tmp_path / f"junit-{i}.xml"
        code, out, _ = run(capsys, *argv, "--bundle", HEALTHY, "--checks-dir", checks_dir,
                           "--only", "gate.*", "--skip", "gate.flaky", "--junit", str(junit))
        root = ET.parse(junit).getroot()
        assert root.get("tests") == "9" and root.get("errors") == "1"
        if argv == ["check", "-o", "json"]:
            json.loads(out)
    code, _, err = run(capsys, "check", "--bundle", HEALTHY, "--junit", str(tmp_path / "no" / "dir" / "j.xml"))
    assert code == ExitCode.USAGE and "cannot write" in err


def test_github_step_summary_is_appended(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(capsys, "check", "--bundle", SEED, "-o", "json")
    assert code == ExitCode.FINDINGS
    json.loads(out)  # the summary goes to the file, never to stdout
    run(capsys, "report", "--bundle", HEALTHY, "--format", "json")
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "### ⚠️ llmd-doctor: degraded" in text and "`epp.logs`" in text and "**Next steps**" in text
    assert "### ✅ llmd-doctor: healthy" in text
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "s.md"))
    code, _, err = run(capsys, "check", "--bundle", SEED)
    assert code == ExitCode.FINDINGS and "warning: cannot append to $GITHUB_STEP_SUMMARY" in err


def test_the_ci_docs_bundle_job_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/ci.md's GitHub Actions workflow parses, and its bundle job's llmd-doctor commands work."""
    import shlex

    import yaml

    doc = (ROOT / "docs" / "ci.md").read_text()
    workflow = yaml.safe_load(doc.split("```yaml\n", 1)[1].split("\n```", 1)[0])
    steps = workflow["jobs"]["bundle"]["steps"]
    run_lines = [line for s in steps for line in str(s.get("run", "")).splitlines() if line.startswith("llmd-doctor ")]
    assert len(run_lines) == 2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    for line in run_lines:
        argv = [a.replace("examples/", f"{ROOT}/examples/") for a in shlex.split(line)[1:]]
        code, _, err = run(capsys, *argv)
        assert code == 0, (line, err)
    assert ET.parse(tmp_path / "llmd-doctor-junit.xml").getroot().tag == "testsuites"
    assert (tmp_path / "llmd-doctor-report.html").read_text().startswith("<!DOCTYPE html>")
    assert "llmd-doctor: degraded" in (tmp_path / "summary.md").read_text()
    kind = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["kind"]["steps"])
    for flag in ("--wait 10m", "--interval 15s", "--fail-on-error", "--junit llmd-doctor-junit.xml"):
        assert flag in kind
