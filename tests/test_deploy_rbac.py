"""deploy/rbac.yaml is exactly what a full run needs: generated from the checks, in sync, sufficient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer
from scenario import Scenario

from llmd_doctor.cli import main
from llmd_doctor.rbacgen import render
from llmd_doctor.registry import load_specs

ROOT = Path(__file__).resolve().parents[1]
RBAC = ROOT / "deploy" / "rbac.yaml"
SA_USER = "system:serviceaccount:llmd-doctor:llmd-doctor"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:llmd-doctor", "system:authenticated"]


def test_committed_rbac_is_generated_from_the_checks() -> None:
    assert RBAC.read_text() == render(load_specs(plugins=False)), (
        "deploy/rbac.yaml is stale: run `python -m llmd_doctor.rbacgen > deploy/rbac.yaml`"
    )


def test_rbac_has_no_write_verb() -> None:
    role = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d["kind"] == "ClusterRole")
    for rule in role["rules"]:
        allowed = {"get", "list", "watch"}
        if rule["resources"] in (["subjectaccessreviews"], ["selfsubjectreviews"]):
            allowed = {"create"}
        assert set(rule["verbs"]) <= allowed, rule


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_a_full_run_as_the_service_account_sees_no_error(example: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    sc = Scenario.example(example)
    sc.add(*yaml.safe_load_all(RBAC.read_text()))
    bundle = sc.write(tmp_path / "bundle")
    with FakeApiServer(bundle, rbac=True, tokens={"doctor-token": (SA_USER, SA_GROUPS)}) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k", user="llmd-doctor", token="doctor-token")
        with pytest.raises(SystemExit):
            main(["check", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on", "never", "--no-probe"])
        denied = [r for r in srv.requests if r.status == 403]
    doc = json.loads(capsys.readouterr().out)
    assert not denied, [f"{r.method} {r.path}" for r in denied]
    assert [c["id"] for c in doc["checks"] if c["status"] == "error"] == []
    access = next(c for c in doc["checks"] if c["id"] == "cluster.access")
    assert SA_USER in access["message"]


def test_without_the_binding_reads_are_errors_naming_what_was_denied(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bundle = Scenario.example("healthy").write(tmp_path / "bundle")
    with FakeApiServer(bundle, rbac=True, tokens={"doctor-token": (SA_USER, SA_GROUPS)}) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k", user="llmd-doctor", token="doctor-token")
        with pytest.raises(SystemExit) as exc:
            main(["check", "--kubeconfig", kubeconfig, "-o", "json", "--fail-on-error", "--fail-on", "never",
                  "--no-probe"])
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 3
    errors = {c["id"]: c["message"] for c in doc["checks"] if c["status"] == "error"}
    assert "forbidden: cannot list deployments.apps cluster-wide" in errors["epp.deployment"]
