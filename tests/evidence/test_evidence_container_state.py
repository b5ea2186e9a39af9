"""is_crash / describe_state / termination on containerStatuses shaped as the API server returns them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmd_doctor.evidence import describe_state, is_crash, root_error, termination

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _pod_statuses(bundle: str, name_part: str) -> list[dict]:
    for path in (EXAMPLES / bundle).glob("*/pods.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            items = (doc or {}).get("items") if (doc or {}).get("kind") == "List" else [doc]
            for obj in items or []:
                if (obj or {}).get("kind") == "Pod" and name_part in obj["metadata"]["name"]:
                    return obj["status"]["containerStatuses"]
    raise AssertionError(f"no pod {name_part} in {bundle}")


def test_seed_epp_crash_loop_from_the_example_bundle():
    cs = _pod_statuses("seed-rosa-epp-segfault", "ms-llm-d-epp-")[0]
    assert is_crash(cs)
    text = describe_state(cs)
    assert text.startswith("crash-looping (CrashLoopBackOff), 47 restarts: last run exit 2 (Error)")
    assert "starting" not in text and "loading" not in text
    assert termination(cs)["exitCode"] == 2
    log = (EXAMPLES / "seed-rosa-epp-segfault/logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.previous.log").read_text()
    assert root_error(log, termination(cs)).kind == "go-panic"


def test_healthy_decode_pod_is_not_a_crash():
    for cs in _pod_statuses("healthy", "decode"):
        assert not is_crash(cs)
        assert describe_state(cs) == "running, ready"


WAITING_CRASH = {"name": "vllm", "ready": False, "restartCount": 5, "started": False,
                 "state": {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": "back-off 5m0s restarting failed container=vllm"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2025-08-21T15:02:59Z",
                                              "finishedAt": "2025-08-21T15:04:29Z"}}}
OOM = {"name": "vllm", "ready": False, "restartCount": 1,
       "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
RUNNING_AFTER_CRASH = {"name": "epp", "ready": False, "restartCount": 3, "started": True,
                       "state": {"running": {"startedAt": "2025-08-22T01:36:52Z"}},
                       "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}
START_ERROR = {"name": "vllm", "ready": False, "restartCount": 2,
               "state": {"waiting": {"reason": "RunContainerError", "message": 'exec: "vllm-openai": executable file '
                                     "not found in $PATH: unknown"}},
               "lastState": {"terminated": {"exitCode": 128, "reason": "StartError"}}}
CREATING = {"name": "vllm", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
COMPLETED = {"name": "init", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}


@pytest.mark.parametrize("cs, crash, expected", [
    (WAITING_CRASH, True, "crash-looping (CrashLoopBackOff), 5 restarts: last run exit 1 (Error): exited with an "
                          "error (exit 1)"),
    (OOM, True, "crashed: exit 137 (OOMKilled): OOMKilled: the container used more memory than its limit"),
    (RUNNING_AFTER_CRASH, True, "running, not ready, 3 restarts; previous run: exit 2 (Error)"),
    (START_ERROR, True, 'crashed, waiting: RunContainerError — exec: "vllm-openai": executable file not found'),
    (CREATING, False, "waiting: ContainerCreating"),
    (COMPLETED, False, "terminated: exit 0 (Completed): exited successfully"),
    ({}, False, "state not reported"),
])
def test_states(cs, crash, expected):
    assert is_crash(cs) is crash
    text = describe_state(cs)
    assert text.startswith(expected)
    if crash:
        assert "starting" not in text and "loading" not in text


def test_odd_shapes_do_not_raise():
    assert not is_crash({"state": "running", "lastState": None})
    assert not is_crash({"state": {"waiting": {"reason": []}}})  # found by tests/evidence/test_evidence_fuzz.py
    assert describe_state({"state": {"terminated": {"reason": ["x"], "exitCode": True, "signal": [9]}}}) == \
        "terminated: no exit code: terminated (no exit code reported)"
    assert describe_state({"state": {"terminated": None}}) == "terminated: no exit code: terminated (no exit code reported)"
    assert termination({"state": {"running": {}}}) is None
