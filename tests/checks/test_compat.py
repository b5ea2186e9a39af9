"""compat.versions: EPP ↔ CRDs, EPP pool group ↔ route group, known issues (gateway version ↔ pool group is
httproute.backends' to say, asserted here where it used to be compat's)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from scenario import Scenario

from llmd_doctor.model import GATEWAY_ROUTING, Status

NS = "llm-d"
EPP = "Deployment/llm-d/ms-llm-d-epp"
ROUTE = "HTTPRoute/llm-d/ms-llm-d-epp-route"
X = "inference.networking.x-k8s.io"
V1 = "inference.networking.k8s.io"
Obj = dict[str, Any]
KEBAB_ARGS = ["--pool-name", "ms-llm-d", "--pool-namespace", "llm-d", "--v", "4", "--zap-encoder", "json",
              "--grpc-port", "9002", "--grpc-health-port", "9003", "--config-file", "/etc/epp/epp-config.yaml"]


def run(sc: Scenario):  # noqa: ANN201
    return sc.run("compat.versions")["compat.versions"]


def set_epp(sc: Scenario, image: str, args: list[str]) -> None:
    c = sc.find("Deployment.apps", "ms-llm-d-epp", NS)["spec"]["template"]["spec"]["containers"][0]
    c.update(image=image, args=args)


def set_istio(sc: Scenario, tag: str, hub: str = "docker.io/istio") -> None:
    dep = sc.find("Deployment.apps", "istiod", "istio-system")
    pod = sc.find_prefix("Pod", "istiod-")
    for spec in (dep["spec"]["template"]["spec"], pod["spec"]):
        spec["containers"][0]["image"] = f"{hub}/pilot:{tag}"


def route(sc: Scenario) -> Obj:
    return sc.find("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route", NS)


def to_v1_stack(sc: Scenario, epp_image: str = "ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2") -> None:
    """The llm-d v0.4-style stack: a v1 InferencePool, the route on inference.networking.k8s.io, a kebab-case EPP."""
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    old = sc.find(f"InferencePool.{X}", "ms-llm-d", NS)
    sc.remove(f"InferencePool.{X}", "ms-llm-d", NS)
    sc.add({
        "apiVersion": f"{V1}/v1", "kind": "InferencePool",
        "metadata": {"name": "ms-llm-d", "namespace": NS, "generation": 1, "uid": old["metadata"]["uid"],
                     "creationTimestamp": old["metadata"]["creationTimestamp"]},
        "spec": {"selector": {"matchLabels": {"llm-d.ai/inferenceServing": "true"}}, "targetPorts": [{"number": 8000}],
                 "endpointPickerRef": {"name": "ms-llm-d-epp", "kind": "Service", "port": {"number": 9002},
                                       "failureMode": "FailClose"}},
        "status": {"parents": [{"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                              "name": "llm-d-infra-inference-gateway", "namespace": NS},
                                "conditions": old["status"]["parent"][0]["conditions"]}]},
    })
    sc.remove(f"InferenceModel.{X}")
    route(sc)["spec"]["rules"][0]["backendRefs"][0]["group"] = V1
    set_epp(sc, epp_image, KEBAB_ARGS)


def test_pass_healthy_summarizes_the_stack() -> None:
    r = run(Scenario.example("healthy"))
    assert (r.id, r.status) == ("compat.versions", Status.PASS)
    assert r.message == ("EPP llm-d-inference-scheduler v0.2.1 (GIE v0.5); InferencePool x-k8s.io/v1alpha2; "
                         "Istio 1.27.0; Gateway API v1.3.0")


def test_seed_is_not_a_compat_failure() -> None:
    r = run(Scenario.example("seed-rosa-epp-segfault"))
    assert r.status in (Status.PASS, Status.WARN)
    assert "EPP llm-d-inference-scheduler v0.2.1 (GIE v0.5)" in r.message
    assert "no HTTPRoute sends to an InferencePool" in r.message


def test_fail_epp_v1_without_the_inferenceobjective_crd() -> None:
    """failure case epp-crashloop-inferenceobjective-crd-missing"""
    sc = Scenario.example("healthy")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml")
    set_epp(sc, "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0", [*KEBAB_ARGS, "--pool-group", X])
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "GIE epp v1.0.0 (GIE v1.0-v1.1) watches InferenceObjective in inference.networking.x-k8s.io" in r.message
    assert 'no matches for kind "InferenceObjective"' in r.message
    assert "manifests.yaml" in r.remediation
    # The InferenceModel objects of the v0.5 era are ignored by it.
    assert any(f.status == Status.WARN and "InferenceModel object(s)" in f.message for f in r.findings)
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    assert run(sc).status == Status.WARN


def test_pass_v04_v1_stack_on_istio_128() -> None:
    """llm-d v0.4: scheduler v0.4.0, v1 pools, Istio 1.28.1 (InferenceModelRewrite CRD not required)."""
    sc = Scenario.example("healthy")
    to_v1_stack(sc, "ghcr.io/llm-d/llm-d-inference-scheduler:v0.4.0")
    set_istio(sc, "1.28.1")
    r = run(sc)
    assert r.status == Status.PASS
    assert r.message.startswith("EPP llm-d-inference-scheduler v0.4.0 (GIE v1.2); InferencePool k8s.io/v1; Istio 1.28.1")


def backends(sc: Scenario):  # noqa: ANN201
    return sc.run("httproute.backends")["httproute.backends"]


def test_fail_istio_128_rejects_the_x_k8s_pool_group() -> None:
    """failure case istio-1.28-rejects-experimental-inferencepool-group: said once, by httproute.backends
    (the route's backend); compat.versions does not say it again."""
    sc = Scenario.example("healthy")
    set_istio(sc, "1.28.0")
    r = backends(sc)
    assert (r.status, r.objects) == (Status.FAIL, [ROUTE])
    assert "runs Istio 1.28.0, which routes only inference.networking.k8s.io pools" in r.message
    assert "points at an inference.networking.x-k8s.io InferencePool" in r.message
    assert any("image docker.io/istio/pilot:1.28.0" in e for e in r.evidence)
    assert GATEWAY_ROUTING in r.lost_capabilities
    assert run(sc).status == Status.PASS


def test_fail_istio_127_cannot_route_v1_pools_and_pass_on_128() -> None:
    sc = Scenario.example("healthy")
    to_v1_stack(sc)
    r = backends(sc)
    assert (r.status, r.objects) == (Status.FAIL, [ROUTE])
    assert "runs Istio 1.27.0, which routes only inference.networking.x-k8s.io pools" in r.message
    set_istio(sc, "1.28.1")
    assert backends(sc).status == Status.PASS
    ok = run(sc)
    assert ok.status == Status.PASS
    assert ok.message.startswith("EPP llm-d-inference-scheduler v0.3.2 (GIE v1.0); InferencePool k8s.io/v1; Istio 1.28.1")


def test_istio_dev_build_is_reported_never_failed() -> None:
    sc = Scenario.example("healthy")
    set_istio(sc, "1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401", hub="gcr.io/istio-testing")
    r = run(sc)
    assert r.status == Status.PASS
    assert "Istio 1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401 (dev build" in r.message


def test_fail_epp_pool_group_differs_from_the_route_group() -> None:
    sc = Scenario.example("healthy")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    set_epp(sc, "ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2", [*KEBAB_ARGS, "--pool-group", V1])
    r = run(sc)
    assert r.status == Status.FAIL
    mismatch = [f for f in r.findings if "watches inference.networking.k8s.io (--pool-group)" in f.message]
    assert len(mismatch) == 1 and mismatch[0].object == ROUTE
    assert "sends to InferencePool llm-d/ms-llm-d in group inference.networking.x-k8s.io" in mismatch[0].message
    assert "--pool-group inference.networking.x-k8s.io" in (mismatch[0].remediation or "")


def _kgateway(sc: Scenario, tag: str) -> None:
    """The Gateway moved to kgateway, with a second model (pool + route) behind it."""
    sc.data.manifest["namespaces"].append("kgateway-system")
    sc.add(
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "kgateway", "generation": 1},
         "spec": {"controllerName": "kgateway.dev/kgateway"},
         "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "kgateway", "namespace": "kgateway-system", "labels": {"app.kubernetes.io/name": "kgateway"}},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kgateway"}},
                  "template": {"metadata": {"labels": {"app.kubernetes.io/name": "kgateway"}},
                               "spec": {"containers": [{"name": "kgateway",
                                                        "image": f"cr.kgateway.dev/kgateway-dev/kgateway:{tag}"}]}}},
         "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}},
    )
    sc.patch("Gateway.gateway.networking.k8s.io", "llm-d-infra-inference-gateway", {"spec": {"gatewayClassName": "kgateway"}})
    pool = copy.deepcopy(sc.find(f"InferencePool.{X}", "ms-llm-d", NS))
    pool["metadata"]["name"] = "ms-qwen"
    second = copy.deepcopy(route(sc))
    second["metadata"]["name"] = "ms-qwen-route"
    second["spec"]["rules"][0]["backendRefs"][0]["name"] = "ms-qwen"
    sc.add(pool, second)


def test_warn_kgateway_before_203_with_two_pools_on_one_gateway() -> None:
    """failure case kgateway-multiple-inferencepools-one-gateway-second-model-fails"""
    sc = Scenario.example("healthy")
    _kgateway(sc, "v2.0.2")
    r = run(sc)
    assert (r.status, r.objects) == (Status.WARN, ["Gateway/llm-d/llm-d-infra-inference-gateway"])
    assert "kgateway v2.0.2" in r.message and "2 InferencePools" in r.message
    assert "v2.0.3" in r.remediation


def test_pass_kgateway_204_with_two_pools() -> None:
    sc = Scenario.example("healthy")
    _kgateway(sc, "v2.0.4")
    r = run(sc)
    assert r.status == Status.PASS and "kgateway v2.0.4" in r.message


def test_warn_unreleased_epp_tag_is_never_a_failure() -> None:
    sc = Scenario.example("healthy")
    set_epp(sc, "ghcr.io/llm-d/llm-d-inference-scheduler:latest", KEBAB_ARGS)
    r = run(sc)
    assert r.status == Status.WARN and EPP in r.objects
    assert any(f.object == EPP and "is not a known release" in f.message for f in r.findings)
    # The pool group it would watch is only a guess for an unknown build: a warning, not a failure.
    guess = next(f for f in r.findings if f.object == ROUTE)
    assert guess.status == Status.WARN and "the --pool-group default of GIE >= v1.0" in guess.message


@pytest.mark.parametrize("with_llmd_crd", [False, True])
def test_router_wants_llm_d_ai_crds(with_llmd_crd: bool) -> None:
    sc = Scenario.example("healthy")
    to_v1_stack(sc, "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0")
    set_istio(sc, "1.29.1")
    if with_llmd_crd:
        sc.add_upstream("llm-d-router-v0.10.0/config__crd__bases__llm-d.ai_inferenceobjectives.yaml")
        sc.add_upstream("llm-d-router-v0.10.0/config__crd__bases__llm-d.ai_inferencemodelrewrites.yaml")
    r = run(sc)
    if with_llmd_crd:
        assert r.status == Status.PASS and "EPP llm-d-router v0.10.0" in r.message
    else:
        assert (r.status, r.objects) == (Status.WARN, [EPP])
        assert "reads InferenceObjective from llm-d.ai" in r.message and "deprecated" in r.message


def test_skip_without_llm_d_components() -> None:
    sc = Scenario.example("healthy")
    sc.remove("Deployment.apps", "ms-llm-d-epp", NS)
    sc.remove("Deployment.apps", "istiod", "istio-system")
    sc.remove("Pod", sc.find_prefix("Pod", "istiod-")["metadata"]["name"], "istio-system")
    sc.remove(f"InferencePool.{X}")
    r = run(sc)
    assert r.status == Status.SKIP and "nothing to compare" in r.message
