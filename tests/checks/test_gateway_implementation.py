"""gateway.implementation: each llm-d Gateway's implementation, asked through its plugin — controller,
InferencePool switch, parametersRef, data plane, and the pool API group its release routes."""

from __future__ import annotations

import copy
from functools import cache

import pytest
from scenario import Scenario

from llmd_doctor.model import Status

CHECK = "gateway.implementation"
KGW_GATEWAY = "Gateway/llm-d/infra-inference-scheduling-inference-gateway"


@cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str) -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def run(sc: Scenario):  # type: ignore[no-untyped-def]
    return sc.run(CHECK)[CHECK]


@pytest.mark.parametrize("name", ["healthy-v0.4-istio-1.28", "healthy-kgateway", "healthy-gke"])
def test_healthy_stacks_pass(name: str) -> None:
    r = run(example(name))
    assert r.status == Status.PASS, r.message


def test_kgateway_pass_names_each_requirement() -> None:
    r = run(example("healthy-kgateway"))
    assert "controller Deployment/kgateway-system/kgateway (v2.0.4)" in r.message
    assert "KGW_ENABLE_INFER_EXT=true" in r.message
    assert "parametersRef gateway.kgateway.dev/GatewayParameters" in r.message
    assert "data plane Deployment/llm-d/infra-inference-scheduling-inference-gateway Ready" in r.message


def test_gke_is_managed() -> None:
    r = run(example("healthy-gke"))
    assert "managed" in r.message and "routes inference.networking.k8s.io InferencePools" in r.message


def _kgateway_env(sc: Scenario, value: str | None) -> None:
    for o in sc.all("Deployment.apps") + sc.all("Pod"):
        if o["metadata"]["name"].startswith("kgateway-") or o["metadata"]["name"] == "kgateway":
            spec = o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else o["spec"]
            for c in spec["containers"]:
                c["env"] = [e for e in c.get("env") or [] if e["name"] != "KGW_ENABLE_INFER_EXT"]
                if value is not None:
                    c["env"].append({"name": "KGW_ENABLE_INFER_EXT", "value": value})


def test_switch_off_fails_on_the_controller() -> None:
    sc = example("healthy-kgateway")
    _kgateway_env(sc, None)
    r = run(sc)
    assert r.status == Status.FAIL
    assert r.objects == ["Deployment/kgateway-system/kgateway"]
    assert "does not turn InferencePool support on" in r.message and "KGW_ENABLE_INFER_EXT not set" in r.message
    assert "inferenceExtension.enabled=true" in r.remediation


def test_switch_set_false_fails_and_says_the_value() -> None:
    sc = example("healthy-kgateway")
    _kgateway_env(sc, "false")
    r = run(sc)
    assert r.status == Status.FAIL and "KGW_ENABLE_INFER_EXT=false" in r.message


def test_missing_gateway_parameters_with_a_proxy_built_anyway_warns() -> None:
    """kgateway builds the proxy with its defaults when the GatewayParameters is missing: what they set is lost."""
    sc = example("healthy-kgateway")
    sc.remove("GatewayParameters.gateway.kgateway.dev")
    r = run(sc)
    assert r.status == Status.WARN and r.objects == [KGW_GATEWAY]
    assert "parametersRef names gateway.kgateway.dev/GatewayParameters" in r.message and "does not exist" in r.message
    assert "built the proxy with its defaults" in r.message


def test_missing_gateway_parameters_and_no_proxy_fails() -> None:
    sc = example("healthy-kgateway")
    sc.remove("GatewayParameters.gateway.kgateway.dev")
    sc.remove("Deployment.apps", "infra-inference-scheduling-inference-gateway", "llm-d")
    r = run(sc)
    assert r.status == Status.FAIL
    params = next(f for f in r.findings if "parametersRef" in f.message)
    assert params.status == Status.FAIL and "cannot build the Gateway's proxy" in params.message


def test_gke_pool_without_health_check_policy_fails_and_says_why() -> None:
    sc = example("healthy-gke")
    r = run(sc)
    assert r.status == Status.PASS and "HealthCheckPolicy/default/vllm-llama3-8b-instruct targets" in r.message
    sc.remove("HealthCheckPolicy.networking.gke.io")
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, ["InferencePool/default/vllm-llama3-8b-instruct"])
    assert "no HealthCheckPolicy targets it" in r.message and "404" in r.message
    assert "/health" in (r.findings[0].remediation or "")


def test_gke_health_check_policy_not_attached_fails() -> None:
    sc = example("healthy-gke")
    sc.patch("HealthCheckPolicy.networking.gke.io", "vllm-llama3-8b-instruct", {"status": {"conditions": [
        {"type": "Attached", "status": "False", "reason": "Invalid", "message": "bad target"}]}}, "default")
    r = run(sc)
    assert r.status == Status.FAIL and "is not attached (Attached=False (Invalid: bad target))" in r.message


def test_parameters_of_another_kind_fail() -> None:
    sc = example("healthy-kgateway")
    sc.patch("Gateway.gateway.networking.k8s.io", "infra-inference-scheduling-inference-gateway",
             {"spec": {"infrastructure": {"parametersRef": {"group": "", "kind": "ConfigMap", "name": "x"}}}})
    r = run(sc)
    assert r.status == Status.FAIL and "but kgateway takes gateway.kgateway.dev/GatewayParameters" in r.message


def test_data_plane_missing_fails() -> None:
    sc = example("healthy-kgateway")
    sc.remove("Deployment.apps", "infra-inference-scheduling-inference-gateway")
    r = run(sc)
    assert r.status == Status.FAIL and "has created no data-plane Deployment" in r.message


def test_data_plane_not_ready_fails_with_pod_states() -> None:
    sc = example("healthy-v0.4-istio-1.28")
    pod = sc.find_prefix("Pod", "infra-inference-scheduling-inference-gateway-istio")
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    r = run(sc)
    assert r.status == Status.FAIL and "has no Ready pod" in r.message
    assert any("not Ready" in e for e in r.evidence)


def test_release_that_does_not_route_the_pool_group_fails() -> None:
    sc = example("healthy-kgateway")
    for o in sc.all("Deployment.apps"):
        for c in o["spec"]["template"]["spec"]["containers"]:
            if "kgateway-dev/kgateway:" in c["image"]:
                c["image"] = c["image"].replace("v2.0.4", "v2.1.0")
    r = run(sc)
    fails = [f for f in r.findings if f.status == Status.FAIL]
    assert any("routes only inference.networking.k8s.io" in f.message or "routes only" in f.message for f in fails), \
        r.message


def test_no_controller_fails() -> None:
    sc = example("healthy-kgateway")
    sc.remove("Deployment.apps", "kgateway", "kgateway-system")
    r = run(sc)
    assert r.status == Status.FAIL and "no kgateway controller runs" in r.message


def test_unreadable_deployments_are_an_error_not_a_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from llmd_doctor.snapshot import Forbidden

    sc = example("healthy-kgateway")
    snap = sc.snapshot()
    snap.errors["Deployment.apps"] = Forbidden("list", "deployments.apps")
    from llmd_doctor.engine import run_checks
    from llmd_doctor.registry import load_specs

    (r,) = [x for x in run_checks(load_specs(plugins=False), snap) if x.id == CHECK]
    assert r.status == Status.ERROR and "forbidden" in r.message
