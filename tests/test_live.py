"""The live path: the real kubernetes client against the fake API server serving the examples.

The same bundle read offline and served live must give the same results; the request log shows
one LIST per kind, logs only for unhealthy pods, and no write.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from fakeapi import FakeApiServer, Fault

from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(["check", "-o", "json", "--no-probe", *argv])
    out, _ = capsys.readouterr()
    return int(exc.value.code or 0), json.loads(out)


# Checks whose words say where their evidence came from: cluster.access (bundle or API server),
# rbac.epp (the API server's SubjectAccessReview live, static evaluation offline) and the e2e
# probes (run live only). For those only the status and objects must agree.
SOURCE_WORDED = ("cluster.access", "rbac.epp", "e2e.")


def comparable(doc: dict) -> dict[str, tuple]:
    out = {}
    for c in doc["checks"]:
        if c["id"].startswith(SOURCE_WORDED):
            out[c["id"]] = (c["status"] if not c["id"].startswith("e2e.") else "-", tuple(c["objects"]))
        else:
            out[c["id"]] = (c["status"], c["message"], tuple(c["objects"]), tuple(c["evidence"]))
    return out


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_live_equals_bundle(example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_code, offline = run_json(capsys, "--bundle", str(EXAMPLES / example))
    with FakeApiServer(EXAMPLES / example) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "kubeconfig")
        live_code, live = run_json(capsys, "--kubeconfig", kubeconfig)
    assert live_code == bundle_code
    assert live["source"]["kind"] == "live" and live["source"]["context"] == "fake"
    assert live["source"]["server_version"] == offline["source"]["server_version"]
    assert comparable(live) == comparable(offline)
    access = next(c for c in live["checks"] if c["id"] == "cluster.access")
    assert access["status"] == "pass" and "as admin" in access["message"]


def test_request_log_one_list_per_kind_logs_only_for_unhealthy_no_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        code, _ = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"))
        requests = list(srv.requests)
    assert code == 1
    methods = Counter(r.method for r in requests)
    assert set(methods) <= {"GET", "POST"}
    posts = [r.path for r in requests if r.method == "POST"]
    assert all(p.endswith(("selfsubjectreviews", "selfsubjectaccessreviews", "subjectaccessreviews")) for p in posts)
    # LISTs: /api/v1/<plural> and /apis/<group>/<version>/<plural> (discovery has fewer segments).
    lists = [r.path for r in requests if r.method == "GET" and not r.path.endswith("/log") and (
        (r.path.startswith("/api/v1/") and r.path.count("/") == 3)
        or (r.path.startswith("/apis/") and r.path.count("/") == 4))]
    assert len(lists) == len(set(lists)), f"a kind was listed twice: {sorted(lists)}"
    assert "/api/v1/pods" in lists and "/apis/apps/v1/deployments" in lists
    logs = [r for r in requests if r.path.endswith("/log")]
    # Only the crash-looping EPP pod: its current and previous log; the healthy decode pods are not read.
    assert {r.path for r in logs} == {"/api/v1/namespaces/llm-d/pods/ms-llm-d-epp-6c9d8b7f5-x2k4q/log"}
    assert sorted(r.query.get("previous", "false") for r in logs) == ["false", "true"]
    assert all("tailLines" in r.query for r in logs)
    # Secrets, if listed at all, only as metadata.
    assert all("PartialObjectMetadata" in (r.accept or "") for r in requests if "/secrets" in r.path)


def test_forbidden_kind_is_an_error_naming_verb_resource_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        srv.forbid("list", "deployments", group="apps")
        code, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on-error", "--fail-on", "never")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["epp.deployment"]["status"] == "error"
    assert "cannot list deployments.apps cluster-wide" in checks["epp.deployment"]["message"]
    assert checks["gateway-api.crds"]["status"] == "pass"  # the rest still runs
    assert checks["cluster.access"]["status"] == "warn"
    assert code == 3


def test_namespace_scope_lists_per_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        code, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "-n", "llm-d")
        paths = {r.path for r in srv.requests}
    assert code == 1
    assert "/api/v1/namespaces/llm-d/pods" in paths and "/api/v1/pods" not in paths
    assert {c["id"]: c["status"] for c in doc["checks"]}["epp.logs"] == "fail"


def test_paginated_lists_are_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "2")
        continued = [r for r in srv.requests if r.path == "/api/v1/pods" and "continue" in r.query]
    assert continued, "the pod list was not paginated"
    assert {c["id"]: c["status"] for c in doc["checks"]}["epp.deployment"] == "fail"


def test_unreachable_server_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k")
    # The server is gone now.
    with pytest.raises(SystemExit) as exc:
        main(["check", "--kubeconfig", kubeconfig, "--request-timeout", "2s", "--no-probe"])
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.startswith("llmd-doctor: error: cannot reach the API server") and err.count("\n") == 1


def test_server_errors_are_retried_then_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = Counter()

    def flaky(method: str, path: str, query: dict) -> Fault | None:
        if path == "/api/v1/pods":
            calls[path] += 1
            return Fault(status=500)
        return None

    with FakeApiServer(EXAMPLES / "healthy", fault=flaky) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["epp.deployment"]["status"] == "error"
    assert "HTTP 500" in checks["epp.deployment"]["message"]
    assert calls["/api/v1/pods"] == 3  # one try and two retries
