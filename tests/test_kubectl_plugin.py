"""`kubectl llmd-doctor ...`: kubectl finds the `kubectl-llmd_doctor` console script on PATH and
passes every argument through; the tool handles --kubeconfig, --context and -n itself. Completion:
kubectl runs the `kubectl_complete-llmd_doctor` script from PATH and relays its candidates."""

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
    pytest.mark.skipif(not (BIN / "kubectl-llmd_doctor").exists() or not (BIN / "kubectl_complete-llmd_doctor").exists(),
                       reason="the package is not installed with its scripts (pip install -e .)"),
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


def test_kubectl_usage_names_the_plugin(tmp_path: Path) -> None:
    res = kubectl("llmd-doctor", "explain", "--help", home=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("Usage: kubectl llmd-doctor explain [OPTIONS] ID...")


def test_kubectl_runs_our_completion_script(tmp_path: Path) -> None:
    """kubectl (>= 1.26) completes `kubectl llmd-doctor ...` by running kubectl_complete-llmd_doctor
    from PATH; `kubectl __complete` is what the shell scripts of `kubectl completion` call."""
    res = kubectl("__complete", "llmd-doctor", "check", "--only", "epp.", home=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:4] == ["epp.deployment\tEndpoint picker deployment", "epp.logs\tEndpoint picker logs",
                         "epp.config\tEndpoint picker flags and config", "epp.*\tevery epp check"]
    assert lines[-1] == ":4"  # ShellCompDirectiveNoFileComp, relayed from our script
    assert "kubectl_complete-llmd_doctor" in res.stderr  # kubectl's debug line: it found and ran the script
    res = kubectl("__complete", "llmd-doctor", "check", "--bundle", "", home=tmp_path)
    assert res.stdout.splitlines()[-1] == ":0"  # file names, completed by the shell


def test_kubectl_completes_contexts_and_namespaces(tmp_path: Path) -> None:
    with FakeApiServer(SEED) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k", context="rosa-prod")
        ctx = kubectl("__complete", "llmd-doctor", "check", "--kubeconfig", kubeconfig, "--context", "r", home=tmp_path)
        ns = kubectl("__complete", "llmd-doctor", "report", "--kubeconfig", kubeconfig, "-n", "llm", home=tmp_path)
    assert ctx.stdout.splitlines() == ["rosa-prod\tcluster rosa-prod", ":4"]
    assert ns.stdout.splitlines() == ["llm-d", ":4"]
