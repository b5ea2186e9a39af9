"""JUnit XML: a JUnit parser accepts it; one suite per area, one case per check; one failure per
problem (on its root cause, its symptoms in the text; a symptom's own case is skipped, naming its
root); error / skipped / suppressed; warnings fail only when the gate fails on warnings."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from golden.synthetic import synthetic_report

from llmd_doctor.renderers.junit import render_junit


def _cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml.encode())
    return {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}


def test_structure_and_counts() -> None:
    report = synthetic_report()
    root = ET.fromstring(render_junit(report).encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == list(report.by_area())
    assert sum(int(s.get("tests", 0)) for s in suites) == len(report.results) == int(root.get("tests", 0))
    for s in suites:
        cases = s.findall("testcase")
        assert int(s.get("tests", 0)) == len(cases)
        assert int(s.get("failures", 0)) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(s.get("errors", 0)) == sum(1 for c in cases if c.find("error") is not None)
        assert int(s.get("skipped", 0)) == sum(1 for c in cases if c.find("skipped") is not None)
    # One failure per failing problem (epp.logs, with epp.deployment folded in); the warn problem
    # fails only under --fail-on warn; skipped: the symptom, the blocked check and the skipped one.
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "1", "3")
    warn = ET.fromstring(render_junit(report, fail_on="warn").encode())
    assert warn.get("failures") == str(len(report.problems)) == "2"


def test_statuses_map_to_junit_elements() -> None:
    cases = _cases(render_junit(synthetic_report()))
    failure = cases["epp.logs"].find("failure")
    assert failure is not None and "nil-pointer SIGSEGV" in failure.get("message", "")
    assert failure.get("type") == "fail:critical"
    body = failure.text or ""
    assert "evidence: scheduling.NewSchedulerWithConfig(...) scheduler.go:40" in body and "fix: Add `-configFile" in body
    assert "lost: cache-aware routing, prefix-cache optimization, saturation-aware scheduling" in body
    assert "symptom: [fail] epp.deployment  Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)" in body
    assert "blocked: epp.config (not run until epp.logs is fixed)" in body
    assert "docs: llmd-doctor explain epp.logs (https://docs.example.org/llmd-doctor/checks.html#epp-logs)" in body
    assert "\\x1b[31m" in body  # a control character from a log line is shown, not emitted
    assert cases["epp.deployment"].find("skipped").get("message") == (
        "symptom of epp.logs (fail): Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)")
    assert cases["rbac.epp"].find("error") is not None
    assert cases["epp.config"].find("skipped").get("message") == "blocked by epp.logs"
    assert cases["e2e.routing"].find("skipped").get("message") == "no routing probe recorded"
    warn = cases["httproute.backends"]
    assert warn.find("failure") is None and (warn.findtext("system-out") or "").startswith("WARNING: ")
    assert list(cases["cluster.access"]) == []  # a pass is an empty testcase
    assert cases["epp.logs"].get("classname") == "llmd-doctor.epp"
    assert "docs/checks.md" not in render_junit(synthetic_report())


def test_suppressed_results_are_skipped_not_failed() -> None:
    report = synthetic_report()
    for r in report.results:
        if r.id in ("epp.logs", "epp.deployment"):
            r.suppressed = "epp.* until 2027-01-01: EPP rollout (JIRA-1)"
    root = ET.fromstring(render_junit(report).encode())
    cases = {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}
    assert root.get("failures") == "0"
    assert cases["epp.logs"].find("skipped").get("message", "").startswith(
        "suppressed: epp.* until 2027-01-01: EPP rollout (JIRA-1) (fail: EPP crashed")


def test_warnings_fail_when_the_gate_fails_on_warnings() -> None:
    cases = _cases(render_junit(synthetic_report(), fail_on="warn"))
    assert cases["httproute.backends"].find("failure").get("type") == "warn:major"


def test_a_junit_parser_accepts_it(tmp_path) -> None:  # noqa: ANN001
    junitparser = pytest.importorskip("junitparser")
    path = tmp_path / "junit.xml"
    path.write_text(render_junit(synthetic_report()), encoding="utf-8")
    xml = junitparser.JUnitXml.fromfile(str(path))
    results: dict[str, list[str]] = {}
    for suite in xml:
        for case in suite:
            results[case.name.split(":")[0]] = [type(r).__name__ for r in case.result]
    assert results["epp.logs"] == ["Failure"] and results["rbac.epp"] == ["Error"]
    assert results["epp.deployment"] == ["Skipped"]
    assert results["epp.config"] == ["Skipped"] and results["cluster.access"] == []
    assert sum(s.tests for s in xml) == 10
