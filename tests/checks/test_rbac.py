"""rbac.epp: static evaluation of the snapshot's RBAC, and the live path through SubjectAccessReview."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
from fakeapi import FakeApiServer, Fault
from llmd_doctor.checks._lib.epp_needs import needs
from scenario import Scenario

from llmd_doctor.cli import main
from llmd_doctor.model import GATEWAY_ROUTING, Status
from llmd_doctor.registry import load_specs
from llmd_doctor.snapshot import AccessQuestion
from llmd_doctor.topology import topology

NS = "llm-d"
CHECK = "rbac.epp"
ROLE = "Role.rbac.authorization.k8s.io"
ROLE_BINDING = "RoleBinding.rbac.authorization.k8s.io"
CLUSTER_ROLE = "ClusterRole.rbac.authorization.k8s.io"
CLUSTER_ROLE_BINDING = "ClusterRoleBinding.rbac.authorization.k8s.io"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:llm-d", "system:authenticated")


@functools.cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def run(sc: Scenario):
    return sc.run(CHECK)[CHECK]


def epp_spec(sc: Scenario) -> dict:
    return sc.find("Deployment.apps", "ms-llm-d-epp")["spec"]["template"]["spec"]


def on_default_sa(sc: Scenario) -> Scenario:
    """The EPP Deployment without spec.serviceAccountName (ModelService v2 stopped creating its SA)."""
    epp_spec(sc).pop("serviceAccountName")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-epp"):
            p["spec"]["serviceAccountName"] = "default"
    return sc


def test_healthy_passes_by_static_evaluation() -> None:
    r = run(example())
    assert r.status == Status.PASS
    assert r.objects == ["ServiceAccount/llm-d/ms-llm-d-epp"]
    assert "get/list/watch pods, inferencepools.inference.networking.x-k8s.io, inferencemodels" in r.message
    assert "static evaluation" in r.message
    assert "granted by RoleBinding/llm-d/ms-llm-d-epp -> Role/llm-d/ms-llm-d-epp" in r.findings[0].evidence
    assert run(example("seed-rosa-epp-segfault")).status == Status.PASS


def test_epp_on_default_service_account_without_role_fails() -> None:
    """failure case epp-rbac-default-serviceaccount-cannot-list-pods."""
    r = run(on_default_sa(example()))
    assert r.status == Status.FAIL
    assert r.objects == ["ServiceAccount/llm-d/default"]
    assert r.message.startswith("ServiceAccount llm-d/default of Deployment/llm-d/ms-llm-d-epp may not get/list/watch pods, "
                                "inferencepools.inference.networking.x-k8s.io, inferencemodels.inference.networking.x-k8s.io "
                                "in namespace llm-d")
    assert any(e.startswith("also missing (metrics auth only): create tokenreviews") for e in r.evidence)
    assert any("default ServiceAccount" in e for e in r.evidence)
    assert "bindings naming this ServiceAccount: none" in r.evidence
    assert "--serviceaccount=llm-d:default" in r.remediation and "kubectl create role" in r.remediation
    assert GATEWAY_ROUTING in r.lost_capabilities  # the route sends traffic through the EPP's pool


def test_cluster_role_aggregation_grants_the_rules() -> None:
    sc = example()
    sc.remove(ROLE, "ms-llm-d-epp")
    sc.remove(ROLE_BINDING, "ms-llm-d-epp")
    rules = [{"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["inferencepools", "inferencemodels"],
              "verbs": ["get", "watch", "list"]},
             {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]
    sc.add(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "llm-d-epp-aggregated"},
         "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"llm-d.ai/aggregate-to-epp": "true"}}]},
         "rules": []},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "llm-d-inference-reader", "labels": {"llm-d.ai/aggregate-to-epp": "true"}},
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "ms-llm-d-epp", "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "llm-d-epp-aggregated"},
         "subjects": [{"kind": "ServiceAccount", "name": "ms-llm-d-epp", "namespace": NS}]},
    )
    r = run(sc)
    assert r.status == Status.PASS, r.message
    assert "granted by RoleBinding/llm-d/ms-llm-d-epp -> ClusterRole/llm-d-epp-aggregated" in r.findings[0].evidence


def test_missing_metrics_auth_rules_only_warn() -> None:
    sc = example()
    sc.remove(CLUSTER_ROLE_BINDING, "ms-llm-d-epp-auth-reviewer")
    r = run(sc)
    assert r.status == Status.WARN
    assert "may not create tokenreviews.authentication.k8s.io, subjectaccessreviews.authorization.k8s.io " \
           "cluster-wide" in r.message and "metrics endpoint" in r.message
    assert r.lost_capabilities == []


def test_binding_to_a_missing_role_is_named() -> None:
    sc = example()
    sc.remove(ROLE, "ms-llm-d-epp")
    r = run(sc)
    assert r.status == Status.FAIL and r.objects == ["ServiceAccount/llm-d/ms-llm-d-epp"]
    assert "RoleBinding/llm-d/ms-llm-d-epp refers to Role/llm-d/ms-llm-d-epp, which does not exist" in r.evidence


def test_rbac_kinds_not_in_the_bundle_skip() -> None:
    sc = example()
    sc.remove(ROLE_BINDING)
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != ROLE_BINDING])
    r = run(sc)
    assert r.status == Status.SKIP
    assert "bundle holds no RoleBinding.rbac.authorization.k8s.io objects" in r.message


def _v1_epp(sc: Scenario, image: str) -> None:
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    c = epp_spec(sc)["containers"][0]
    c["image"] = image
    c["args"] = ["--pool-name", "ms-llm-d", "--pool-namespace", NS, "--config-file", "/etc/epp/epp-config.yaml"]


def test_v03_epp_needs_v1_pools_and_objectives() -> None:
    sc = example()
    _v1_epp(sc, "ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2")
    r = run(sc)
    assert r.status == Status.FAIL
    assert "inferencepools.inference.networking.k8s.io, inferenceobjectives.inference.networking.x-k8s.io" in r.message
    assert "llm-d-inference-scheduler v0.3.2 (GIE v1.0)" in r.evidence[0]
    # ...and passes once the Role has them (as GIE v1.0.0's manifests grant them).
    sc.find(ROLE, "ms-llm-d-epp")["rules"] += [
        {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"], "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["inferenceobjectives"],
         "verbs": ["get", "watch", "list"]}]
    assert run(sc).status == Status.PASS


def test_router_prefers_llmd_objectives_over_legacy() -> None:
    sc = example()
    _v1_epp(sc, "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0")
    sc.add_upstream("llm-d-router-v0.10.0/config__crd__bases__llm-d.ai_inferenceobjectives.yaml")
    snap = sc.snapshot()
    (epp,) = topology(snap).epps
    res = {n.res for n in needs(snap, epp)}
    assert "inferenceobjectives.llm-d.ai" in res
    assert "inferenceobjectives.inference.networking.x-k8s.io" not in res  # ignored when llm-d.ai is installed
    assert "inferencemodelrewrites.llm-d.ai" not in res  # its CRD is not installed
    r = run(sc)
    assert r.status == Status.FAIL and "inferenceobjectives.llm-d.ai" in r.message


def test_access_questions_ask_about_the_epp_service_account() -> None:
    spec = next(s for s in load_specs(plugins=False) if s.id == CHECK)
    assert spec.access is not None
    qs = set(spec.access(example().snapshot()))
    user = "system:serviceaccount:llm-d:ms-llm-d-epp"
    assert AccessQuestion(user, "list", "pods", "", NS, SA_GROUPS) in qs
    assert AccessQuestion(user, "watch", "inferencemodels", "inference.networking.x-k8s.io", NS, SA_GROUPS) in qs
    assert AccessQuestion(user, "create", "tokenreviews", "authentication.k8s.io", None, SA_GROUPS) in qs
    assert len(qs) == 11  # 3 kinds x get/list/watch + 2 creates


# ---- live: the API server's SubjectAccessReview ---------------------------------------------------


def live(sc: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str], fault=None,
         write: bool = False) -> tuple[dict, list]:
    """Serve the scenario (RBAC enforced, reviews answered from its Roles/bindings) and run rbac.epp live.
    `write` goes through a bundle directory on disk; otherwise the data is served as is (YAML dumping is slow)."""
    bundle = sc.write(tmp_path / "bundle") if write else sc.data
    with FakeApiServer(bundle, rbac=True, fault=fault) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "kubeconfig")
        with pytest.raises(SystemExit):
            main(["check", "--kubeconfig", kubeconfig, "-o", "json", "--only", CHECK])
        requests = list(srv.requests)
    out, _ = capsys.readouterr()
    return next(c for c in json.loads(out)["checks"] if c["id"] == CHECK), requests


def test_live_uses_subject_access_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, requests = live(example(), tmp_path, capsys)
    assert c["status"] == "pass"
    assert "by the API server's SubjectAccessReview" in c["message"] and "static" not in c["message"]
    reviews = [r for r in requests if r.method == "POST" and r.path.endswith("/subjectaccessreviews")]
    assert len(reviews) == 11


def test_live_subject_access_review_denies_default_sa(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, _ = live(on_default_sa(example()), tmp_path, capsys, write=True)
    assert c["status"] == "fail"
    assert c["objects"] == ["ServiceAccount/llm-d/default"]
    assert "may not get/list/watch pods" in c["message"]
    assert "by the API server's SubjectAccessReview" in c["message"]


def test_live_failed_reviews_fall_back_to_static(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def fail_reviews(method: str, path: str, query: dict) -> Fault | None:
        return Fault(status=500) if path.endswith("/subjectaccessreviews") else None

    c, _ = live(example(), tmp_path, capsys, fault=fail_reviews)
    assert c["status"] == "pass"
    assert "static evaluation" in c["message"] and "SubjectAccessReview" not in c["message"]
    assert any(e.startswith("SubjectAccessReview failed, used the static evaluation") for e in c["evidence"])


def test_missing_service_account_is_named() -> None:
    sc = example()
    sc.remove("ServiceAccount", "ms-llm-d-epp")
    r = run(sc)
    assert r.status == Status.PASS  # the rules are there; the missing SA is epp.deployment's failure
    assert "ServiceAccount llm-d/ms-llm-d-epp does not exist: the Deployment cannot create pods" in \
        r.findings[0].evidence
