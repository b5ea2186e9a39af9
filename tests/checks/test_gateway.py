"""gateway.class, gateway.programmed, httproute.status, httproute.backends on the examples and their variants:
the v1 InferencePool (GIE v1.0.0 CRD), Istio 1.28, kgateway and GKE gateway classes."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from scenario import Scenario

from llmd_doctor.model import EPP_CAPABILITIES, GATEWAY_ROUTING, Status

Obj = dict[str, Any]

GW = "Gateway.gateway.networking.k8s.io"
GWC = "GatewayClass.gateway.networking.k8s.io"
ROUTE = "HTTPRoute.gateway.networking.k8s.io"
X_POOL = "InferencePool.inference.networking.x-k8s.io"
V1_POOL = "InferencePool.inference.networking.k8s.io"
GATEWAY_NAME = "llm-d-infra-inference-gateway"
ROUTE_NAME = "ms-llm-d-epp-route"
ROUTE_REF = f"HTTPRoute/llm-d/{ROUTE_NAME}"
GATEWAY_REF = f"Gateway/llm-d/{GATEWAY_NAME}"
V1_CRD = "gie-v1.0.0/config__crd__bases__inference.networking.k8s.io_inferencepools.yaml"

GATEWAY_IDS = ("gateway.class", "gateway.programmed", "httproute.status", "httproute.backends")


# ---- scenario helpers (also used by test_istio.py) ---------------------------------------------------


@cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str) -> Scenario:
    """A fresh copy of an example (parsed once per test session)."""
    return Scenario(copy.deepcopy(_example(name).data))


def containers(sc: Scenario, deployment: str) -> list[Obj]:
    return sc.find("Deployment.apps", deployment)["spec"]["template"]["spec"]["containers"]


def set_istio(sc: Scenario, tag: str, flag: str | None = "SUPPORT_GATEWAY_API_INFERENCE_EXTENSION") -> None:
    """istiod's image tag, and which inference-extension env flag it carries (None = neither)."""
    c = containers(sc, "istiod")[0]
    c["image"] = f"docker.io/istio/pilot:{tag}"
    env = [e for e in c["env"] if "GATEWAY_API_INFERENCE_EXTENSION" not in e["name"]]
    if flag:
        env.append({"name": flag, "value": "true"})
    c["env"] = env


def route(sc: Scenario) -> Obj:
    return sc.find(ROUTE, ROUTE_NAME)


def backend_ref(sc: Scenario) -> Obj:
    return route(sc)["spec"]["rules"][0]["backendRefs"][0]


def route_condition(sc: Scenario, ctype: str, **fields: Any) -> Obj:
    """Change one condition of the route's (only) status parent in place."""
    cond = next(c for c in route(sc)["status"]["parents"][0]["conditions"] if c["type"] == ctype)
    cond.update(fields)
    return cond


def to_v1_pool(sc: Scenario, istio: str | None = "1.28.1") -> Obj:
    """The healthy example moved to the GA InferencePool (inference.networking.k8s.io/v1, GIE v1.0.0 CRD):
    the pool in v1 shape, the route's backendRef group, and (by default) Istio 1.28.1 with ENABLE_."""
    sc.add_upstream(V1_CRD)
    old = sc.find(X_POOL, "ms-llm-d")
    sc.remove(X_POOL, "ms-llm-d")
    pool = copy.deepcopy(old)
    pool["apiVersion"] = "inference.networking.k8s.io/v1"
    pool["metadata"].pop("annotations", None)
    pool["spec"] = {
        "selector": {"matchLabels": dict(old["spec"]["selector"])},
        "targetPorts": [{"number": old["spec"]["targetPortNumber"]}],
        "endpointPickerRef": {"kind": "Service", "name": "ms-llm-d-epp", "port": {"number": 9002},
                              "failureMode": "FailClose"},
    }
    pool["status"] = {"parents": old["status"]["parent"]}
    sc.add(pool)
    backend_ref(sc)["group"] = "inference.networking.k8s.io"
    if istio:
        set_istio(sc, istio, "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    return pool


def use_class(sc: Scenario, name: str, controller: str) -> None:
    """Move the Gateway (and the route's status) to another GatewayClass / controller."""
    sc.add({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name, "generation": 1, "creationTimestamp": "2025-08-21T14:00:00Z"},
        "spec": {"controllerName": controller},
        "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                                   "observedGeneration": 1, "lastTransitionTime": "2025-08-21T14:00:01Z"}]},
    })
    sc.find(GW, GATEWAY_NAME)["spec"]["gatewayClassName"] = name
    route(sc)["status"]["parents"][0]["controllerName"] = controller


def add_kgateway(sc: Scenario, tag: str) -> None:
    """A kgateway install (controller Deployment as the kgateway Helm chart names it) owning the Gateway."""
    sc.add({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "kgateway", "namespace": "kgateway-system", "generation": 1,
                     "labels": {"app.kubernetes.io/name": "kgateway"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kgateway"}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": "kgateway"}},
                              "spec": {"containers": [{"name": "kgateway",
                                                       "image": f"cr.kgateway.dev/kgateway-dev/kgateway:{tag}"}]}}},
        "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
    })
    use_class(sc, "kgateway", "kgateway.dev/kgateway")


def result(sc: Scenario, check_id: str):  # noqa: ANN201
    return sc.run(check_id)[check_id]


def finding(res, status: Status, obj: str):  # noqa: ANN001, ANN201
    hits = [f for f in res.findings if f.status == status and f.object == obj]
    assert hits, f"no {status} finding for {obj}: {[(f.status, f.object, f.message) for f in res.findings]}"
    return hits[0]


# ---- the examples -------------------------------------------------------------------------------------


def test_healthy_example_passes_every_gateway_check() -> None:
    results = example("healthy").run(*GATEWAY_IDS)
    for cid in GATEWAY_IDS:
        assert results[cid].status == Status.PASS, (cid, results[cid].message)
    assert results["gateway.class"].objects == ["GatewayClass/istio"]
    assert results["gateway.programmed"].objects == [GATEWAY_REF]
    assert "llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local" in results["gateway.programmed"].message
    assert results["httproute.backends"].objects == [ROUTE_REF]
    assert "InferencePool llm-d/ms-llm-d" in results["httproute.backends"].message


def test_seed_route_to_service_warns_that_the_epp_is_bypassed() -> None:
    results = example("seed-rosa-epp-segfault").run(*GATEWAY_IDS)
    for cid in ("gateway.class", "gateway.programmed", "httproute.status"):
        assert results[cid].status == Status.PASS, (cid, results[cid].message)
    res = results["httproute.backends"]
    assert res.status == Status.WARN
    f = finding(res, Status.WARN, ROUTE_REF)
    assert "Service llm-d/ms-llm-d-modelservice-decode" in f.message and "InferencePool llm-d/ms-llm-d" in f.message
    assert "cache-aware routing" in f.message
    assert res.lost_capabilities == list(EPP_CAPABILITIES)  # routing itself still works
    assert "kind: InferencePool, name: ms-llm-d" in res.remediation


# ---- gateway.class ------------------------------------------------------------------------------------


def test_gateway_class_missing_fails_on_the_gateway() -> None:
    sc = example("healthy")
    sc.find(GW, GATEWAY_NAME)["spec"]["gatewayClassName"] = "istio-gw"
    res = result(sc, "gateway.class")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, GATEWAY_REF)
    assert "'istio-gw'" in f.message and "does not exist" in f.message


def test_gateway_class_not_accepted_fails_with_reason() -> None:
    sc = example("healthy")
    cls = sc.find(GWC, "istio")
    cls["status"]["conditions"][0].update(status="False", reason="InvalidParameters",
                                          message="parametersRef ConfigMap istio-system/gw-options not found")
    res = result(sc, "gateway.class")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, "GatewayClass/istio")
    assert "InvalidParameters" in " ".join(f.evidence) and "gw-options not found" in " ".join(f.evidence)
    assert "rejected" in f.message


def test_gateway_class_without_controller_fails() -> None:
    sc = example("healthy")
    use_class(sc, "kgateway", "kgateway.dev/kgateway")
    sc.find(GWC, "kgateway")["status"]["conditions"][0].update(status="Unknown", reason="Pending",
                                                               message="Waiting for controller")
    res = result(sc, "gateway.class")
    assert res.status == Status.FAIL
    assert "no controller has accepted it" in finding(res, Status.FAIL, "GatewayClass/kgateway").message


def test_unrelated_gateways_are_not_judged() -> None:
    sc = example("healthy")
    other = copy.deepcopy(sc.find(GW, GATEWAY_NAME))
    other["metadata"].update(name="team-b-ingress", labels={})
    other["spec"]["gatewayClassName"] = "missing-class"
    sc.add(other)
    results = sc.run("gateway.class", "gateway.programmed")
    assert results["gateway.class"].status == Status.PASS
    assert "1 Gateway(s) that no llm-d route uses not checked" in results["gateway.class"].message
    assert results["gateway.programmed"].objects == [GATEWAY_REF]


# ---- gateway.programmed -------------------------------------------------------------------------------


def test_gateway_not_programmed_address_not_assigned_fails() -> None:
    sc = example("healthy")
    gw = sc.find(GW, GATEWAY_NAME)
    gw["status"].pop("addresses")
    next(c for c in gw["status"]["conditions"] if c["type"] == "Programmed").update(
        status="False", reason="AddressNotAssigned",
        message="Assigned to service(s) llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local:80, but failed "
                "to assign to all requested addresses: address pending for hostname "
                "\"llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local\"")
    res = result(sc, "gateway.programmed")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, GATEWAY_REF)
    assert "not Programmed" in f.message and "no address was assigned" in f.message and "AddressNotAssigned" in f.message
    assert "port-forward" in res.remediation
    assert GATEWAY_ROUTING in res.lost_capabilities


def test_gateway_without_address_warns_how_to_expose() -> None:
    sc = example("healthy")
    sc.find(GW, GATEWAY_NAME)["status"].pop("addresses")
    res = result(sc, "gateway.programmed")
    assert res.status == Status.WARN
    assert "no address" in finding(res, Status.WARN, GATEWAY_REF).message
    assert "networking.istio.io/service-type: ClusterIP" in res.remediation


def test_gateway_with_no_attached_route_warns() -> None:
    sc = example("healthy")
    sc.find(GW, GATEWAY_NAME)["status"]["listeners"][0]["attachedRoutes"] = 0
    res = result(sc, "gateway.programmed")
    assert res.status == Status.WARN
    assert "no route is attached" in finding(res, Status.WARN, GATEWAY_REF).message


def test_gateway_stale_status_warns() -> None:
    sc = example("healthy")
    sc.find(GW, GATEWAY_NAME)["metadata"]["generation"] = 3
    res = result(sc, "gateway.programmed")
    assert res.status == Status.WARN
    assert "status is stale" in finding(res, Status.WARN, GATEWAY_REF).message
    assert res.lost_capabilities == []


def test_gateway_listener_with_unresolved_refs_fails() -> None:
    sc = example("healthy")
    listener = sc.find(GW, GATEWAY_NAME)["status"]["listeners"][0]
    next(c for c in listener["conditions"] if c["type"] == "ResolvedRefs").update(
        status="False", reason="InvalidCertificateRef", message="secret llm-d/gw-cert not found")
    res = result(sc, "gateway.programmed")
    assert res.status == Status.FAIL
    assert "listener http (HTTP:80)" in finding(res, Status.FAIL, GATEWAY_REF).message


def test_gateway_programmed_is_blocked_by_a_missing_class() -> None:
    sc = example("healthy")
    sc.remove(GWC, "istio")
    res = result(sc, "gateway.programmed")
    assert res.status == Status.BLOCKED and res.blocked_by == ["gateway.class"]


# ---- httproute.status ---------------------------------------------------------------------------------


def test_route_invalid_kind_on_istio_128_with_experimental_pool_fails() -> None:
    sc = example("healthy")
    set_istio(sc, "1.28.1", "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    route_condition(sc, "ResolvedRefs", status="False", reason="InvalidKind",
                    message='referencing unsupported backendRef: group "inference.networking.x-k8s.io" '
                            'kind "InferencePool"')
    res = result(sc, "httproute.status")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "InvalidKind" in f.message
    assert "does not route InferencePools of group inference.networking.x-k8s.io" in f.message
    assert "Istio 1.28.1 routes InferencePools of inference.networking.k8s.io" in f.message
    assert any("known as istio-unsupported-inferencepool-group" in e for e in f.evidence)


def test_route_inference_extension_disabled_names_the_istiod_flag() -> None:
    sc = example("healthy")
    route_condition(sc, "ResolvedRefs", status="False", reason="InvalidKind",
                    message="InferencePool is not enabled. To enable, set SUPPORT_GATEWAY_API_INFERENCE_EXTENSION "
                            "to true in istiod")
    res = result(sc, "httproute.status")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "SUPPORT_GATEWAY_API_INFERENCE_EXTENSION is not true" in f.message
    assert "pilot.env" in res.remediation


def test_route_stale_backend_not_found_says_reapply() -> None:
    sc = example("healthy")
    r = route(sc)
    r["metadata"].update(creationTimestamp="2025-08-21T16:11:40Z", generation=1)
    for c in r["status"]["parents"][0]["conditions"]:
        c["observedGeneration"] = 1
    # The pool was created at 2025-08-21T16:12:05Z, after the route's condition last changed.
    route_condition(sc, "ResolvedRefs", status="False", reason="BackendNotFound",
                    message='InferencePool "ms-llm-d" not found', lastTransitionTime="2025-08-21T16:11:41Z")
    res = result(sc, "httproute.status")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "stale" in f.message and "applied before the backend" in f.message
    assert "2025-08-21T16:12:05Z" in f.message
    assert "kubectl annotate httproute -n llm-d ms-llm-d-epp-route" in res.remediation


def test_route_backend_not_found_for_a_missing_pool() -> None:
    sc = example("healthy")
    backend_ref(sc)["name"] = "ms-llm-d-typo"
    route_condition(sc, "ResolvedRefs", status="False", reason="BackendNotFound",
                    message="backend(ms-llm-d-typo) not found")
    res = result(sc, "httproute.status")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "does not exist" in f.message and "stale" not in f.message


def test_route_without_status_warns_no_controller() -> None:
    sc = example("healthy")
    route(sc)["status"] = {"parents": []}
    res = result(sc, "httproute.status")
    assert res.status == Status.WARN
    assert "no controller has processed it" in finding(res, Status.WARN, ROUTE_REF).message


def test_route_not_accepted_by_listener_fails() -> None:
    sc = example("healthy")
    route_condition(sc, "Accepted", status="False", reason="NotAllowedByListeners",
                    message="hostname or namespace does not match any listener")
    res = result(sc, "httproute.status")
    assert res.status == Status.FAIL
    assert "no listener of the Gateway admits this route" in finding(res, Status.FAIL, ROUTE_REF).message


def test_unrelated_routes_make_no_noise() -> None:
    sc = example("healthy")
    other = copy.deepcopy(route(sc))
    other["metadata"] = {"name": "grafana", "namespace": "llm-d", "generation": 1}
    other["spec"] = {"parentRefs": [{"name": "team-b-ingress"}],
                     "rules": [{"backendRefs": [{"name": "grafana", "port": 3000}]}]}
    other["status"] = {"parents": []}
    sc.add(other)
    sc.remove(ROUTE, ROUTE_NAME)
    results = sc.run("httproute.status", "httproute.backends")
    for cid in ("httproute.status", "httproute.backends"):
        assert results[cid].status == Status.SKIP
        assert "no HTTPRoute points at an InferencePool" in results[cid].message


# ---- httproute.backends -------------------------------------------------------------------------------


def test_route_to_missing_pool_fails() -> None:
    sc = example("healthy")
    backend_ref(sc)["name"] = "ms-llm-d-typo"
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "InferencePool llm-d/ms-llm-d-typo" in f.message and "does not exist" in f.message


def test_route_to_pool_in_the_wrong_group_names_the_other_group() -> None:
    sc = example("healthy")
    to_v1_pool(sc)
    backend_ref(sc)["group"] = "inference.networking.x-k8s.io"
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    assert "exists in group inference.networking.k8s.io" in finding(res, Status.FAIL, ROUTE_REF).message


def test_istio_128_with_experimental_pool_group_fails() -> None:
    sc = example("healthy")
    set_istio(sc, "1.28.1", "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "Istio 1.28.1" in f.message and "routes only inference.networking.k8s.io" in f.message
    assert any("istio.io" in e for e in f.evidence)  # the compat source


def test_v1_pool_on_istio_128_passes() -> None:
    sc = example("healthy")
    to_v1_pool(sc)
    results = sc.run(*GATEWAY_IDS)
    for cid in GATEWAY_IDS:
        assert results[cid].status == Status.PASS, (cid, results[cid].message)
    assert "(inference.networking.k8s.io" in results["httproute.backends"].message


def test_v1_pool_on_istio_127_fails() -> None:
    sc = example("healthy")
    to_v1_pool(sc, istio=None)  # istiod stays 1.27.0
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    assert "Istio 1.27.0, which routes only inference.networking.x-k8s.io" in finding(res, Status.FAIL, ROUTE_REF).message


def test_kgateway_20_with_v1_pool_fails_with_compat_source() -> None:
    sc = example("healthy")
    to_v1_pool(sc, istio=None)
    add_kgateway(sc, "v2.0.4")
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ROUTE_REF)
    assert "kgateway v2.0.4, which routes only inference.networking.x-k8s.io" in f.message
    assert any(e.startswith("compat: https://github.com/kgateway-dev/kgateway/") for e in f.evidence)


def test_kgateway_21_and_gke_route_v1_pools() -> None:
    for setup in (lambda sc: add_kgateway(sc, "v2.1.1"),
                  lambda sc: use_class(sc, "gke-l7-regional-external-managed", "networking.gke.io/gateway")):
        sc = example("healthy")
        to_v1_pool(sc, istio=None)
        setup(sc)
        res = result(sc, "httproute.backends")
        assert res.status == Status.PASS, res.message
        assert res.objects == [ROUTE_REF]


def test_backend_port_differs_from_pool_target_port_warns() -> None:
    sc = example("healthy")
    backend_ref(sc)["port"] = 8200
    res = result(sc, "httproute.backends")
    assert res.status == Status.WARN
    assert "port 8200 differs" in finding(res, Status.WARN, ROUTE_REF).message and "8000" in res.message


def test_cross_namespace_pool_needs_a_reference_grant() -> None:
    sc = example("healthy")
    r = copy.deepcopy(route(sc))
    sc.remove(ROUTE, ROUTE_NAME)
    r["metadata"]["namespace"] = "gateway"
    r["spec"]["parentRefs"][0]["namespace"] = "llm-d"
    r["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "llm-d"
    sc.add(r)
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    assert "no ReferenceGrant in llm-d" in finding(res, Status.FAIL, "HTTPRoute/gateway/ms-llm-d-epp-route").message

    sc.add({
        "apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
        "metadata": {"name": "routes-from-gateway", "namespace": "llm-d"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "gateway"}],
                 "to": [{"group": "inference.networking.x-k8s.io", "kind": "InferencePool"}]},
    })
    assert result(sc, "httproute.backends").status == Status.PASS


def test_route_to_a_pool_group_whose_crd_is_not_installed_fails() -> None:
    sc = example("healthy")  # GIE v0.5.1 CRDs: only inference.networking.x-k8s.io
    backend_ref(sc)["group"] = "inference.networking.k8s.io"
    res = result(sc, "httproute.backends")
    assert res.status == Status.FAIL
    assert "whose CRD is not installed" in finding(res, Status.FAIL, ROUTE_REF).message


def test_route_without_the_kinds_collected_is_skipped_not_passed() -> None:
    sc = example("healthy")
    sc.remove(ROUTE)
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != ROUTE])
    results = sc.run("httproute.status", "httproute.backends")
    for cid in ("httproute.status", "httproute.backends"):
        assert results[cid].status == Status.SKIP and "HTTPRoute" in results[cid].message
