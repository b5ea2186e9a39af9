"""Inside a pod: no kubeconfig, the ServiceAccount token and CA mounted, KUBERNETES_SERVICE_HOST set."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from fakeapi import FakeApiServer
from scenario import Scenario

from llmd_doctor.cli import main

RBAC = Path(__file__).resolve().parents[1] / "deploy" / "rbac.yaml"
SA_USER = "system:serviceaccount:llmd-doctor:llmd-doctor"


def test_in_cluster_config_as_the_deployed_service_account(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.config import incluster_config

    sc = Scenario.example("seed-rosa-epp-segfault")
    sc.add(*yaml.safe_load_all(RBAC.read_text()))
    bundle = sc.write(tmp_path / "bundle")
    token = tmp_path / "token"
    token.write_text("pod-token")
    with FakeApiServer(bundle, rbac=True, tokens={"pod-token": (SA_USER, ["system:serviceaccounts"])}) as srv:
        url = urlsplit(srv.https_url)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", srv.ca_file)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", url.hostname or "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(url.port))
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
        monkeypatch.delenv("KUBECONFIG", raising=False)
        with pytest.raises(SystemExit) as exc:
            main(["check", "-o", "json", "--no-probe"])
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 1
    assert doc["source"]["context"] == "in-cluster"
    checks = {c["id"]: c for c in doc["checks"]}
    assert SA_USER in checks["cluster.access"]["message"]
    assert checks["epp.logs"]["status"] == "fail"
    assert [c["id"] for c in doc["checks"] if c["status"] == "error"] == []
