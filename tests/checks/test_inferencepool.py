"""inferencepool.status / .endpoint-picker / .selector and inferencemodel.refs, on both pool generations.

Every case starts from a realistic example (`healthy`: v1alpha2 pool ms-llm-d on Istio 1.27, EPP Service
ms-llm-d-epp, 3 decode pods behind the routing-proxy sidecar; `seed-rosa-epp-segfault`: the route goes to
a Service) and changes what the case needs. The v1 variant swaps in the GIE v1.0.0 CRD.
"""

from __future__ import annotations

import copy
import functools

import pytest
from scenario import Scenario

from llmd_doctor.model import GATEWAY_ROUTING, Status

NS = "llm-d"
XPOOL = "InferencePool.inference.networking.x-k8s.io"
V1POOL = "InferencePool.inference.networking.k8s.io"
CRD = "CustomResourceDefinition.apiextensions.k8s.io"
POOL_REF = "InferencePool/llm-d/ms-llm-d"
IDS = ("inferencepool.status", "inferencepool.endpoint-picker", "inferencepool.selector", "inferencemodel.refs")


@functools.cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str) -> Scenario:
    """A fresh copy of an example (read once: parsing the YAML is most of a test's time)."""
    return Scenario(copy.deepcopy(_example(name).data))


def run(sc: Scenario, check_id: str):
    return sc.run(check_id)[check_id]


def epp_args(sc: Scenario, args: list[str], image: str | None = None) -> None:
    d = sc.find("Deployment.apps", "ms-llm-d-epp")
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["args"] = args
    if image:
        c["image"] = image


def v1_scenario(epp_port: int | None = 9002) -> Scenario:
    """The healthy stack with a GIE v1.0.0 `inference.networking.k8s.io/v1` pool and a v0.3.2 EPP."""
    sc = example("healthy")
    sc.remove(CRD, "inferencepools.inference.networking.x-k8s.io")
    sc.remove(CRD, "inferencemodels.inference.networking.x-k8s.io")
    sc.remove("InferenceModel.inference.networking.x-k8s.io")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    old = sc.find(XPOOL, "ms-llm-d")
    sc.remove(XPOOL, "ms-llm-d")
    ref: dict = {"name": "ms-llm-d-epp"}
    if epp_port is not None:
        ref["port"] = {"number": epp_port}
    sc.add({
        "apiVersion": "inference.networking.k8s.io/v1",
        "kind": "InferencePool",
        "metadata": {"name": "ms-llm-d", "namespace": NS, "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"llm-d.ai/inferenceServing": "true"}},
            "targetPorts": [{"number": 8000}],
            "endpointPickerRef": ref,
        },
        "status": {"parents": copy.deepcopy(old["status"]["parent"])},
    })
    route = sc.find("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route")
    route["spec"]["rules"][0]["backendRefs"][0]["group"] = "inference.networking.k8s.io"
    epp_args(sc, ["--pool-name", "ms-llm-d", "--pool-namespace", NS, "--v", "4", "--grpc-port", "9002",
                  "--config-file", "/etc/epp/epp-config.yaml"],
             image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2")
    return sc


def test_healthy_has_no_warn_or_fail() -> None:
    results = example("healthy").run(*IDS)
    for i in IDS:
        assert results[i].status == Status.PASS, (i, results[i].message)
    assert results["inferencepool.status"].objects == [POOL_REF]


@pytest.mark.parametrize("check_id", IDS[:3])
def test_v1_pool_passes(check_id: str) -> None:
    r = run(v1_scenario(), check_id)
    assert r.status == Status.PASS, r.message
    assert r.objects == [POOL_REF]
    assert "inference.networking.k8s.io" in r.message or check_id == "inferencepool.selector"


# ---- inferencepool.status ------------------------------------------------------------------------


def test_status_seed_pool_unreferenced_warns() -> None:
    r = run(example("seed-rosa-epp-segfault"), "inferencepool.status")
    assert r.status == Status.WARN
    assert r.objects == [POOL_REF]
    assert "no HTTPRoute references" in r.message and "bypassed" in r.message
    assert any("Service ms-llm-d-modelservice-decode" in e for e in r.evidence)
    assert GATEWAY_ROUTING not in r.lost_capabilities
    assert "group: inference.networking.x-k8s.io, kind: InferencePool, name: ms-llm-d, port: 8000" in r.remediation


def test_status_resolvedrefs_false_fails_with_reason() -> None:
    sc = example("healthy")
    pool = sc.find(XPOOL, "ms-llm-d")
    cond = pool["status"]["parent"][0]["conditions"][1]
    cond.update(status="False", reason="InvalidExtensionRef", message="Service llm-d/ms-llm-d-epp-x not found")
    r = run(sc, "inferencepool.status")
    assert r.status == Status.FAIL and r.objects == [POOL_REF]
    assert "ResolvedRefs=False (InvalidExtensionRef: Service llm-d/ms-llm-d-epp-x not found)" in r.message
    assert GATEWAY_ROUTING in r.lost_capabilities  # a route sends traffic through the pool


def test_status_empty_but_referenced_is_warn_not_fail() -> None:
    sc = example("healthy")
    sc.patch(XPOOL, "ms-llm-d", {"status": None})
    r = run(sc, "inferencepool.status")
    assert r.status == Status.WARN and r.objects == [POOL_REF]
    assert "status is empty" in r.message and "HTTPRoute/llm-d/ms-llm-d-epp-route" in r.message
    assert any("Service/llm-d/ms-llm-d-ip-f2239922 exists: the gateway controller reconciled the pool" in e
               for e in r.evidence)


def test_status_crd_default_waiting_for_controller_is_warn() -> None:
    sc = example("healthy")
    pool = sc.find(XPOOL, "ms-llm-d")
    pool["status"]["parent"][0]["conditions"] = [
        {"type": "Accepted", "status": "Unknown", "reason": "Pending", "message": "Waiting for controller",
         "lastTransitionTime": "1970-01-01T00:00:00Z"}]
    r = run(sc, "inferencepool.status")
    assert r.status == Status.WARN
    assert "Accepted=Unknown (Pending: Waiting for controller)" in r.message


def test_status_route_to_the_other_group_does_not_count() -> None:
    sc = example("healthy")
    route = sc.find("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route")
    route["spec"]["rules"][0]["backendRefs"][0]["group"] = "inference.networking.k8s.io"
    sc.patch(XPOOL, "ms-llm-d", {"status": None})
    r = run(sc, "inferencepool.status")
    assert r.status == Status.WARN and "no HTTPRoute references" in r.message
    assert any("another API group (inference.networking.k8s.io)" in e for e in r.evidence)


def test_status_no_pool_but_epp_configured_warns_else_skips() -> None:
    sc = example("healthy")
    sc.remove(XPOOL)
    r = run(sc, "inferencepool.status")
    assert r.status == Status.WARN
    assert r.objects == ["Deployment/llm-d/ms-llm-d-epp"] and "llm-d/ms-llm-d" in r.message
    sc.remove("Deployment.apps", "ms-llm-d-epp")
    assert run(sc, "inferencepool.status").status == Status.SKIP


# ---- inferencepool.endpoint-picker ------------------------------------------------------------------


def test_endpoint_picker_extensionref_to_missing_service_names_both() -> None:
    """failure case inferencepool-extensionref-does-not-match-epp-service."""
    sc = example("healthy")
    sc.patch(XPOOL, "ms-llm-d", {"spec": {"extensionRef": {"name": "llama-32-3b-instruct-epp"}}})
    r = run(sc, "inferencepool.endpoint-picker")
    assert r.status == Status.FAIL and r.objects == [POOL_REF]
    assert "Service llm-d/llama-32-3b-instruct-epp, which does not exist" in r.message
    assert "the endpoint picker's Service is ms-llm-d-epp" in r.message
    assert '"name":"ms-llm-d-epp"' in r.remediation
    assert GATEWAY_ROUTING in r.lost_capabilities  # routed, FailClose


def test_endpoint_picker_v1_port_8000_fails() -> None:
    """kserve signature: endpointPickerRef.port.number 8000 instead of 9002."""
    r = run(v1_scenario(epp_port=8000), "inferencepool.endpoint-picker")
    assert r.status == Status.FAIL and r.objects == [POOL_REF]
    assert "port 8000 is not a port of Service llm-d/ms-llm-d-epp" in r.message
    assert "ext_proc_error_gRPC_error_14" in r.message
    assert '"number":9002' in r.remediation


def test_endpoint_picker_v1_without_port_warns() -> None:
    r = run(v1_scenario(epp_port=None), "inferencepool.endpoint-picker")
    assert r.status == Status.WARN
    assert "endpointPickerRef.port is not set" in r.message and "1.28" in r.message


def test_endpoint_picker_epp_watching_the_other_pool_group_fails() -> None:
    """kserve: --pool-group left at x-k8s.io while the route targets the v1 pool."""
    sc = v1_scenario()
    epp_args(sc, ["--pool-name", "ms-llm-d", "--pool-namespace", NS, "--pool-group", "inference.networking.x-k8s.io",
                  "--config-file", "/etc/epp/epp-config.yaml"])
    r = run(sc, "inferencepool.endpoint-picker")
    assert r.status == Status.FAIL
    assert "watches another pool (group inference.networking.x-k8s.io (--pool-group)" in r.message
    assert "--pool-group inference.networking.k8s.io" in r.remediation


def test_endpoint_picker_seed_no_ready_epp_pod_fails() -> None:
    r = run(example("seed-rosa-epp-segfault"), "inferencepool.endpoint-picker")
    assert r.status == Status.FAIL and r.objects == [POOL_REF]
    assert "no Ready pod backs Service llm-d/ms-llm-d-epp" in r.message
    assert any("CrashLoopBackOff" in e for e in r.evidence)
    assert GATEWAY_ROUTING not in r.lost_capabilities  # no route uses the pool


def test_endpoint_picker_service_selecting_a_non_epp_fails() -> None:
    sc = example("healthy")
    svc = sc.find("Service", "ms-llm-d-epp")
    svc["spec"]["selector"] = {"llm-d.ai/role": "decode"}
    r = run(sc, "inferencepool.endpoint-picker")
    assert r.status == Status.FAIL
    assert "selects Deployment ms-llm-d-modelservice-decode, which is not an endpoint picker" in r.message


# ---- inferencepool.selector -----------------------------------------------------------------------


def _relabel(sc: Scenario, old: str, new: str) -> None:
    for p in sc.all("Pod"):
        lbls = p["metadata"].get("labels") or {}
        if old in lbls:
            lbls[new] = lbls.pop(old)


def test_selector_matching_no_pods_hints_at_the_label_rename() -> None:
    sc = example("healthy")
    _relabel(sc, "llm-d.ai/inferenceServing", "llm-d.ai/inference-serving")
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.FAIL and r.objects == [POOL_REF]
    assert "matches no pods in llm-d" in r.message
    assert "3 pod(s) carry llm-d.ai/inference-serving=true instead of llm-d.ai/inferenceServing" in r.message
    assert GATEWAY_ROUTING in r.lost_capabilities  # a routed pool without endpoints breaks inference


def test_selector_v1_pool_matching_no_pods_fails() -> None:
    sc = v1_scenario()
    sc.find(V1POOL, "ms-llm-d")["spec"]["selector"]["matchLabels"] = {"llm-d.ai/inference-serving": "true"}
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.FAIL
    assert "llm-d.ai/inference-serving=true matches no pods" in r.message
    assert "instead of llm-d.ai/inference-serving" in r.message


def _unready(pod: dict) -> None:
    for c in pod["status"]["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c["status"] = "False"


def test_selector_pods_matched_but_none_ready_fails() -> None:
    sc = example("healthy")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode"):
            _unready(p)
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.FAIL
    assert "selects 3 pod(s) (llm-d.ai/inferenceServing=true) but none is Ready" in r.message
    assert len(r.evidence) == 3


def test_selector_some_pods_not_ready_warns() -> None:
    sc = example("healthy")
    _unready(sc.find_prefix("Pod", "ms-llm-d-modelservice-decode"))
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.WARN and "2/3 selected pods are Ready" in r.message


def _requester(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"llm-d.ai/inferenceServing": "true"}},
        "spec": {"containers": [{"name": "requester", "image": "ghcr.io/llm-d/requester:v0.1",
                                 "ports": [{"containerPort": 8081}]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_selector_selecting_non_serving_pods_warns() -> None:
    """failure case inferencepool-selects-non-serving-pods-connection-refused."""
    sc = example("healthy")
    sc.add(_requester("fma-requester-0"), _requester("fma-requester-1"))
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.WARN and r.objects == [POOL_REF]
    assert "selects 2 pod(s) that do not serve target port 8000" in r.message and "connection refused" in r.message
    assert any("fma-requester-0 serves 8081, not 8000" in e for e in r.evidence)


def test_selector_target_port_served_by_no_pod_fails() -> None:
    sc = example("healthy")
    sc.patch(XPOOL, "ms-llm-d", {"spec": {"targetPortNumber": 9000}})
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.FAIL
    assert "none of the 3 selected pod(s) serves target port 9000" in r.message


def test_selector_vllm_port_argument_counts() -> None:
    """Without the sidecar, vLLM's --port is what serves (prefill pods listen on 8000 directly)."""
    sc = example("healthy")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode"):
            p["spec"].pop("initContainers")
            vllm = p["spec"]["containers"][0]
            vllm["args"] = [a if a != "8200" else "8000" for a in vllm["args"]]
            vllm["ports"] = []
    r = run(sc, "inferencepool.selector")
    assert r.status == Status.PASS and "8000 by vllm" in r.message


# ---- inferencemodel.refs ------------------------------------------------------------------------


def test_refs_inferencemodel_to_missing_pool_fails() -> None:
    sc = example("healthy")
    sc.patch("InferenceModel.inference.networking.x-k8s.io", "llama-3-2-3b-instruct",
             {"spec": {"poolRef": {"name": "llama-pool"}}})
    r = run(sc, "inferencemodel.refs")
    assert r.status == Status.FAIL
    assert r.objects == ["InferenceModel/llm-d/llama-3-2-3b-instruct"]
    assert "InferencePool llm-d/llama-pool (inference.networking.x-k8s.io), which does not exist" in r.message
    assert "meta-llama/Llama-3.2-3B-Instruct" in r.message


def test_refs_model_name_not_served_by_pool_pods_warns() -> None:
    sc = example("healthy")
    sc.patch("InferenceModel.inference.networking.x-k8s.io", "llama-3-2-3b-instruct",
             {"spec": {"modelName": "llama-3-8b"}})
    r = run(sc, "inferencemodel.refs")
    assert r.status == Status.WARN
    assert "model llama-3-8b is not served" in r.message and "meta-llama/Llama-3.2-3B-Instruct" in r.message


def _objective(api: str, name: str, pool: str, group: str | None = None) -> dict:
    ref: dict = {"name": pool}
    if group:
        ref["group"] = group
    return {"apiVersion": api, "kind": "InferenceObjective", "metadata": {"name": name, "namespace": NS},
            "spec": {"priority": 2, "poolRef": ref}}


def test_refs_llmd_objective_read_by_the_router_passes() -> None:
    sc = v1_scenario()
    sc.add_upstream("llm-d-router-v0.10.0/config__crd__bases__llm-d.ai_inferenceobjectives.yaml")
    sc.add(_objective("llm-d.ai/v1alpha2", "base-model", "ms-llm-d"))
    sc.set_kinds([*sc.data.manifest["kinds"], "InferenceObjective.inference.networking.x-k8s.io"])  # read: none
    epp_args(sc, ["--pool-name", "ms-llm-d", "--pool-namespace", NS, "--config-file", "/etc/epp/epp-config.yaml"],
             image="ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0")
    r = run(sc, "inferencemodel.refs")
    assert r.status == Status.PASS
    assert r.objects == ["InferenceObjective/llm-d/base-model"]
    assert "(llm-d.ai, priority 2) applies to InferencePool/llm-d/ms-llm-d" in r.message


def test_refs_llmd_objective_ignored_by_an_older_epp_warns() -> None:
    sc = v1_scenario()  # EPP llm-d-inference-scheduler v0.3.2 reads x-k8s.io objectives only
    sc.add_upstream("llm-d-router-v0.10.0/config__crd__bases__llm-d.ai_inferenceobjectives.yaml")
    sc.add(_objective("llm-d.ai/v1alpha2", "base-model", "ms-llm-d"))
    r = run(sc, "inferencemodel.refs")
    assert r.status == Status.WARN
    assert "does not read InferenceObjective.llm-d.ai objects" in r.message


def test_refs_x_objective_default_group_misses_an_alpha_pool() -> None:
    """x-k8s.io InferenceObjective poolRef.group defaults to inference.networking.k8s.io (GIE PR #1346)."""
    sc = example("healthy")
    sc.add_upstream("gie-v1.0.0/config__crd__bases__inference.networking.x-k8s.io_inferenceobjectives.yaml")
    sc.add(_objective("inference.networking.x-k8s.io/v1alpha2", "food-review", "ms-llm-d"))
    results = sc.run("inferencemodel.refs")["inferencemodel.refs"]
    bad = [f for f in results.findings if f.object == "InferenceObjective/llm-d/food-review"]
    assert bad and bad[0].status == Status.WARN
    assert "(inference.networking.k8s.io), which does not exist" in bad[0].message
    assert "exists in group inference.networking.x-k8s.io: set poolRef.group" in bad[0].message


def test_refs_none_is_skip() -> None:
    sc = example("healthy")
    sc.remove("InferenceModel.inference.networking.x-k8s.io")
    r = run(sc, "inferencemodel.refs")
    assert r.status == Status.SKIP and "no InferenceModel or InferenceObjective" in r.message


# ---- missing data -------------------------------------------------------------------------------


def test_bundle_without_crds_still_checks_the_pool_it_holds() -> None:
    sc = example("healthy")
    sc.remove(CRD)
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != CRD])
    results = sc.run(*IDS)
    assert results["inferencepool.status"].status == Status.SKIP  # requires inference.crds
    # The pool it holds is checked and passes; whether v1 pools exist the bundle does not say, so the
    # result is not a pass (never pass on missing data).
    for cid in ("inferencepool.selector", "inferencepool.endpoint-picker"):
        r = results[cid]
        assert r.status == Status.SKIP and "InferencePool.inference.networking.k8s.io" in r.message, r.message
        assert [f.object for f in r.findings if f.status == Status.PASS] == [POOL_REF]


def test_pools_not_collected_is_skip_not_none() -> None:
    sc = example("healthy")
    sc.remove(XPOOL)
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != XPOOL])
    for i in IDS[:3]:
        r = run(sc, i)
        assert r.status == Status.SKIP, (i, r.message)
        assert "bundle holds no InferencePool.inference.networking.x-k8s.io objects" in r.message
