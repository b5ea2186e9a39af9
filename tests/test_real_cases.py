"""Real failures from public trackers (tests/cases/*.yaml): each case is valid, builds into a bundle the
CLI reads without a crash, a `generic` case's failure text is unknown to checks/knowledge, and every
expectation holds: the check reports one of its statuses and names the cause with every word of
`names_cause` (in its message, evidence or fix). `python tests/cases/build.py` prints where each is named.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cases.build import (
    Expectation,
    case_files,
    cause_named,
    expectations,
    known_failure_text,
    load_case,
    read_case,
    validate,
    workload,
)

from llmd_doctor.cli import main
from llmd_doctor.registry import load_specs

CASES = case_files()
IDS = [p.stem for p in CASES]


def run_cli(capsys: pytest.CaptureFixture[str], bundle: Path) -> tuple[int, dict, str]:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--bundle", str(bundle), "-o", "json", "--no-probe"])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), json.loads(out), err


def test_there_are_twenty_real_cases_and_five_generic_ones() -> None:
    cases = [read_case(p) for p in CASES]
    generic_mini = [c for c in cases if c.get("category") == "generic"]
    assert len(cases) - len(generic_mini) >= 20
    assert len(generic_mini) >= 5


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_case_file_is_valid(path: Path) -> None:
    case = read_case(path)
    assert validate(case, path, [s.id for s in load_specs(plugins=False)]) == []
    assert str(case["source"]).startswith("https://")


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_case_builds_into_a_bundle_the_cli_reads(path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sc, expect = load_case(path)
    code, doc, err = run_cli(capsys, sc.write(tmp_path / path.stem))
    assert code in (0, 1), err
    assert "Traceback" not in err
    checks = {c["id"]: c for c in doc["checks"]}
    crashed = [c["id"] for c in doc["checks"] if c["message"].startswith("check crashed")]
    assert crashed == []
    assert {e.check for e in expect} <= set(checks)


@pytest.mark.parametrize("path", [p for p in CASES if read_case(p)["generic"]],
                         ids=[p.stem for p in CASES if read_case(p)["generic"]])
def test_generic_case_text_is_in_no_knowledge_file(path: Path) -> None:
    assert known_failure_text(read_case(path)) == []


EXPECTED = [(p, e) for p in CASES for e in expectations(read_case(p))]


def test_every_expectation_is_flagged_today() -> None:
    """No expectation is left for logic still to be built."""
    assert [f"{p.stem}:{e.check}" for p, e in EXPECTED if not e.flagged_today] == []


@pytest.mark.parametrize(("path", "expect"), EXPECTED, ids=[f"{p.stem}:{e.check}" for p, e in EXPECTED])
def test_expected_check_flags_the_failure_and_names_its_cause(path: Path, expect: Expectation) -> None:
    sc, _ = load_case(path)
    result = sc.run(expect.check)[expect.check]
    assert result.status.value in expect.status, result.message
    assert cause_named(result, expect.names_cause), (expect.names_cause, result.message, result.evidence)


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_pods_tell_the_same_story_as_their_workloads(path: Path) -> None:
    """A crash-looping pod has its exit code and restarts; a Pending one the scheduler's reason and an
    Event; the owning Deployment counts only Ready pods."""
    case = read_case(path)
    sc, _ = load_case(path)
    for w in case.get("workloads") or []:
        dep, _, pods = workload(sc, w["deployment"], w.get("namespace"))
        ready = sum(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
                    for p in pods)
        assert int(dep["status"].get("readyReplicas", 0)) == ready
        state = w.get("state") or {}
        if "crashloop" in state:
            for p in pods:
                cs = next(c for c in p["status"]["containerStatuses"] + p["status"].get("initContainerStatuses", [])
                          if c["name"] == state["crashloop"]["container"])
                assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and cs["restartCount"] > 0
                assert cs["lastState"]["terminated"]["exitCode"] == state["crashloop"]["exit_code"]
        if "pending" in state:
            events = {e["involvedObject"]["name"] for e in sc.all("Event") if e.get("reason") == "FailedScheduling"}
            for p in pods:
                assert p["status"]["phase"] == "Pending" and "nodeName" not in p["spec"]
                assert p["status"]["conditions"][0]["reason"] == "Unschedulable"
                assert p["metadata"]["name"] in events
