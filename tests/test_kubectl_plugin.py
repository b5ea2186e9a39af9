"""`kubectl llmd-doctor ...`: kubectl finds the `kubectl-llmd_doctor` console script on PATH and
passes every argument through; the tool handles --kubeconfig, --context and -n itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakeapi import FakeApiServer

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-rosa-epp-segfault"
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
    pytest.mark.skipif(not (BIN / "kubectl-llmd_doctor").exists(), reason="the package is not installed as a script"),
]


def kubectl(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home), "NO_COLOR": "1"}
    env.pop("KUBECONFIG", None)
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=120)


def test_kubectl_lists_the_plugin(tmp_path: Path) -> None:
    out = kubectl("plugin", "list", home=tmp_path)
    assert "kubectl-llmd_doctor" in out.stdout


def test_kubectl_llmd_doctor_check_on_a_bundle(tmp_path: Path) -> None:
    res = kubectl("llmd-doctor", "check", "--bundle", str(SEED), "-o", "json", home=tmp_path)
    assert res.returncode == 1, res.stderr
    checks = {c["id"]: c["status"] for c in json.loads(res.stdout)["checks"]}
    assert checks["epp.logs"] == "fail"


def test_kubectl_passes_kubeconfig_context_and_namespace_through(tmp_path: Path) -> None:
    with FakeApiServer(SEED) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k", context="rosa-prod")
        res = kubectl("llmd-doctor", "check", "--kubeconfig", kubeconfig, "--context", "rosa-prod",
                      "-n", "llm-d", "-o", "json", "--no-probe", home=tmp_path)
        paths = {r.path for r in srv.requests}
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["source"] == {**doc["source"], "kind": "live", "context": "rosa-prod"}
    assert "/api/v1/namespaces/llm-d/pods" in paths
