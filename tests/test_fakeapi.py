"""The fake Kubernetes API server (tests/fakeapi) against the real kubernetes client, httpx and kubectl."""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from fakeapi import FakeApiServer, Fault
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from llmd_doctor.sources.bundle import BundleData, read_bundle

CRD = Path(__file__).resolve().parent / "upstream" / "gie-v0.5.1" / "config__crd__bases__inference.networking.x-k8s.io_inferencepools.yaml"
NS = "llm-d"
EPP_POD = "ms-llm-d-epp-7d9f8c6b5-x2x4q"
DECODE_POD = "ms-llm-d-decode-0"
EPP_SA = f"system:serviceaccount:{NS}:ms-llm-d-epp"
TOKENS = {"epp-token": (EPP_SA, []), "viewer-token": ("jane", ["llm-d-viewers"])}
META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
RBAC_V1 = "rbac.authorization.k8s.io/v1"


def _pod(name: str, ns: str, labels: dict, containers: list[str], phase: str, **status) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "resourceVersion": "1042",
                         "creationTimestamp": "2026-11-27T09:00:00Z"},
            "spec": {"serviceAccountName": "ms-llm-d-epp", "nodeName": "gpu-node-1",
                     "containers": [{"name": c, "image": f"example/{c}:1"} for c in containers]},
            "status": {"phase": phase, **status}}


def _rbac(kind: str, name: str, ns: str | None = None, **rest) -> dict:
    meta = {"name": name, **({"namespace": ns} if ns else {}), **rest.pop("meta", {})}
    return {"apiVersion": RBAC_V1, "kind": kind, "metadata": meta, **rest}


def build_bundle(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "bundle.yaml").write_text("apiVersion: llmd-doctor/v1\nkind: Bundle\nserverVersion: v1.30.6\n")
    shutil.copy(CRD, root / "crd-inferencepools.yaml")
    epp_status = {"containerStatuses": [{
        "name": "epp", "image": "example/epp:1", "imageID": "example/epp@sha256:0123", "ready": True,
        "restartCount": 2, "started": True, "state": {"running": {"startedAt": "2026-11-27T09:05:00Z"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-27T09:01:00Z",
                                     "finishedAt": "2026-11-27T09:04:00Z"}}}]}
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-node-1", "labels": {"gpu": "true"}}},
        _pod(EPP_POD, NS, {"app": "epp", "tier": "router"}, ["epp"], "Running", **epp_status),
        _pod(DECODE_POD, NS, {"app": "decode", "llm-d.ai/role": "decode"}, ["vllm", "routing-proxy"], "Pending"),
        _pod("istiod-5c8f", "istio-system", {"app": "istiod"}, ["discovery"], "Running"),
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ms-llm-d-epp", "namespace": NS},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "epp"}},
                  "template": {"metadata": {"labels": {"app": "epp"}},
                               "spec": {"containers": [{"name": "epp", "image": "example/epp:1"}]}}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token", "namespace": NS},
         "type": "Opaque", "data": {"HF_TOKEN": base64.b64encode(b"hf_secret_value").decode()}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ms-llm-d-epp", "namespace": NS}},
        {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
         "metadata": {"name": "ms-llm-d-pool", "namespace": NS},
         "spec": {"targetPortNumber": 8000, "selector": {"llm-d.ai/role": "decode"},
                  "extensionRef": {"name": "ms-llm-d-epp"}}},
        _rbac("Role", "ms-llm-d-epp", NS, rules=[
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["inferencepools"],
             "verbs": ["get", "list", "watch"]}]),
        _rbac("RoleBinding", "ms-llm-d-epp", NS,
              roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ms-llm-d-epp"},
              subjects=[{"kind": "ServiceAccount", "name": "ms-llm-d-epp", "namespace": NS}]),
        # An aggregated ClusterRole: its rules come from ClusterRoles labelled to aggregate into it.
        _rbac("ClusterRole", "llm-d-viewer", aggregationRule={"clusterRoleSelectors": [
            {"matchLabels": {"llm-d.ai/aggregate-to-viewer": "true"}}]}, rules=[]),
        _rbac("ClusterRole", "llm-d-node-reader", meta={"labels": {"llm-d.ai/aggregate-to-viewer": "true"}},
              rules=[{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]),
        _rbac("ClusterRoleBinding", "llm-d-viewers",
              roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "llm-d-viewer"},
              subjects=[{"kind": "Group", "name": "llm-d-viewers", "apiGroup": "rbac.authorization.k8s.io"}]),
    ]
    (root / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    logs = root / "logs" / NS
    (logs / EPP_POD).mkdir(parents=True)
    (logs / EPP_POD / "epp.log").write_text("starting epp\nconnected to pool\nserving\n")
    (logs / EPP_POD / "epp.previous.log").write_text('{"level":"error","msg":"pool not found"}\npanic: boom\n')
    (logs / DECODE_POD).mkdir(parents=True)
    (logs / DECODE_POD / "vllm.log").write_text("INFO vllm ready\n")
    return root


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def srv(bundle: Path):
    with FakeApiServer(bundle, tokens=TOKENS) as s:
        yield s


@pytest.fixture(scope="module")
def rbac_srv(bundle: Path):
    with FakeApiServer(bundle, rbac=True, tokens=TOKENS) as s:
        yield s


@pytest.fixture(scope="module")
def kube(srv: FakeApiServer, tmp_path_factory: pytest.TempPathFactory) -> k8s.ApiClient:
    path = srv.kubeconfig(tmp_path_factory.mktemp("kc") / "config")
    return k8s_config.new_client_from_config(config_file=path)


def http(s: FakeApiServer, token: str | None = "admin-token") -> httpx.Client:
    return httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=5)


def body_of(e: ApiException) -> dict:
    return json.loads(e.body)


# ---- discovery ------------------------------------------------------------------------------------


def test_discovery(srv: FakeApiServer) -> None:
    with http(srv) as c:
        v = c.get("/version").json()
        assert (v["gitVersion"], v["major"], v["minor"]) == ("v1.30.6", "1", "30")
        assert c.get("/api").json()["versions"] == ["v1"]
        core = {r["name"]: r for r in c.get("/api/v1").json()["resources"]}
        assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"] is True
        assert core["pods/log"]["verbs"] == ["get"]
        assert core["nodes"]["namespaced"] is False and core["services"]["shortNames"] == ["svc"]
        groups = {g["name"]: g for g in c.get("/apis").json()["groups"]}
        assert {"apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "discovery.k8s.io",
                "authorization.k8s.io", "authentication.k8s.io"} <= set(groups)
        pool_group = groups["inference.networking.x-k8s.io"]
        assert pool_group["preferredVersion"] == {"groupVersion": "inference.networking.x-k8s.io/v1alpha2",
                                                  "version": "v1alpha2"}
        assert c.get("/apis/inference.networking.x-k8s.io").json()["kind"] == "APIGroup"
        res = c.get("/apis/inference.networking.x-k8s.io/v1alpha2").json()["resources"]
        assert res[0]["name"] == "inferencepools" and res[0]["kind"] == "InferencePool"
        assert "inferencepools/status" in {r["name"] for r in res}
        # The CRD does not define InferenceModel here, so the group/version and kind are not served.
        missing = c.get("/apis/gateway.networking.k8s.io/v1")
        assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
        # Aggregated discovery when asked for it first; legacy when plain JSON comes first.
        r = c.get("/apis", headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                                              "application/json"})
        assert r.json()["kind"] == "APIGroupDiscoveryList" and "as=APIGroupDiscoveryList" in r.headers["content-type"]
        r = c.get("/apis", headers={"Accept": "application/json,application/json;g=apidiscovery.k8s.io;v=v2;"
                                              "as=APIGroupDiscoveryList"})
        assert r.headers["content-type"] == "application/json" and r.json()["kind"] == "APIGroupList"
        assert c.get("/openapi/v2").status_code == 404


# ---- the kubernetes python client -------------------------------------------------------------------


def test_list_pagination_with_python_client(srv: FakeApiServer, kube: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(kube)
    srv.clear_requests()
    first = core.list_pod_for_all_namespaces(limit=1)
    assert [p.metadata.name for p in first.items] == ["istiod-5c8f"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 2
    names, token = [first.items[0].metadata.name], first.metadata._continue
    while token:
        page = core.list_pod_for_all_namespaces(limit=1, _continue=token)
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
    assert names == ["istiod-5c8f", DECODE_POD, EPP_POD]  # ordered by (namespace, name)
    pod_lists = [r for r in srv.requests if r.path == "/api/v1/pods"]
    assert [r.query.get("limit") for r in pod_lists] == ["1"] * 3
    assert "continue" not in pod_lists[0].query and all("continue" in r.query for r in pod_lists[1:])
    with pytest.raises(ApiException) as e:
        core.list_pod_for_all_namespaces(limit=1, _continue="not-a-token")
    assert e.value.status == 400
    stale = base64.urlsafe_b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": 1, "start": "a/b\x00"}).encode())
    with pytest.raises(ApiException) as e:
        core.list_pod_for_all_namespaces(limit=1, _continue=stale.decode())
    assert e.value.status == 410 and body_of(e.value)["reason"] == "Expired"


def test_selectors(kube: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(kube)

    def names(**kw) -> list[str]:
        return [p.metadata.name for p in core.list_pod_for_all_namespaces(**kw).items]

    assert names(label_selector="app in (epp,istiod)") == ["istiod-5c8f", EPP_POD]
    assert names(label_selector="app notin (epp),!tier") == ["istiod-5c8f", DECODE_POD]
    assert names(label_selector="llm-d.ai/role=decode") == [DECODE_POD]
    assert names(label_selector="app!=epp,tier") == []
    assert names(field_selector="status.phase=Running,metadata.namespace=llm-d") == [EPP_POD]
    assert names(field_selector="status.phase!=Running") == [DECODE_POD]
    with pytest.raises(ApiException) as e:
        names(field_selector="spec.nope=1")
    assert e.value.status == 400 and body_of(e.value)["message"] == "field label not supported: spec.nope"
    with pytest.raises(ApiException) as e:
        names(label_selector="app in epp")
    assert e.value.status == 400


def test_get_and_not_found(kube: k8s.ApiClient) -> None:
    core, apps = k8s.CoreV1Api(kube), k8s.AppsV1Api(kube)
    assert core.read_namespaced_pod(EPP_POD, NS).status.container_statuses[0].restart_count == 2
    assert apps.read_namespaced_deployment("ms-llm-d-epp", NS).spec.replicas == 1
    assert core.read_node("gpu-node-1").metadata.labels == {"gpu": "true"}
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("x", NS)
    assert e.value.status == 404
    assert body_of(e.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": 'pods "x" not found', "reason": "NotFound",
                                "details": {"name": "x", "kind": "pods"}, "code": 404}
    with pytest.raises(ApiException) as e:
        apps.read_namespaced_deployment("gone", NS)
    assert body_of(e.value)["message"] == 'deployments.apps "gone" not found'
    assert body_of(e.value)["details"] == {"name": "gone", "group": "apps", "kind": "deployments"}


def test_pod_logs(kube: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(kube)
    assert core.read_namespaced_pod_log(EPP_POD, NS, previous=True).endswith("panic: boom\n")
    assert core.read_namespaced_pod_log(EPP_POD, NS, container="epp", tail_lines=1) == "serving\n"
    assert core.read_namespaced_pod_log(EPP_POD, NS, limit_bytes=5) == "start"
    assert core.read_namespaced_pod_log(DECODE_POD, NS, container="vllm") == "INFO vllm ready\n"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log(DECODE_POD, NS)
    assert e.value.status == 400 and body_of(e.value)["message"] == (
        f"a container name must be specified for pod {DECODE_POD}, choose one of: [vllm routing-proxy]")
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log(DECODE_POD, NS, container="vllm", previous=True)
    assert body_of(e.value)["message"] == f'previous terminated container "vllm" in pod "{DECODE_POD}" not found'
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log(DECODE_POD, NS, container="sidecar")
    assert body_of(e.value)["message"] == f"container sidecar is not valid for pod {DECODE_POD}"


def test_custom_objects(kube: k8s.ApiClient, srv: FakeApiServer) -> None:
    co = k8s.CustomObjectsApi(kube)
    pools = co.list_namespaced_custom_object("inference.networking.x-k8s.io", "v1alpha2", NS, "inferencepools")
    assert pools["kind"] == "InferencePoolList"
    assert [(p["apiVersion"], p["kind"], p["metadata"]["name"]) for p in pools["items"]] == [
        ("inference.networking.x-k8s.io/v1alpha2", "InferencePool", "ms-llm-d-pool")]
    assert co.list_namespaced_custom_object("inference.networking.x-k8s.io", "v1alpha2", "other",
                                            "inferencepools")["items"] == []
    one = co.get_namespaced_custom_object("inference.networking.x-k8s.io", "v1alpha2", NS, "inferencepools",
                                          "ms-llm-d-pool")
    assert one["spec"]["targetPortNumber"] == 8000
    with http(srv) as c:  # built-in list items carry no apiVersion/kind, like the real server
        pods = c.get(f"/api/v1/namespaces/{NS}/pods").json()
        assert pods["kind"] == "PodList" and pods["apiVersion"] == "v1"
        assert all("kind" not in p and "apiVersion" not in p for p in pods["items"])
        # Known built-in kinds with no objects list empty; the CRD-less gateway group is not served.
        assert c.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets").json()["items"] == []
        assert c.get("/apis/gateway.networking.k8s.io/v1/gateways").status_code == 404
        assert c.get(f"/api/v1/namespaces/{NS}/nodes").status_code == 404


def test_metadata_only_secrets(srv: FakeApiServer) -> None:
    srv.clear_requests()
    with http(srv) as c:
        lst = c.get(f"/api/v1/namespaces/{NS}/secrets", headers={"Accept": META_LIST})
        one = c.get(f"/api/v1/namespaces/{NS}/secrets/hf-token",
                    headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"})
        full = c.get(f"/api/v1/namespaces/{NS}/secrets/hf-token")
    body = lst.json()
    assert body["kind"] == "PartialObjectMetadataList" and body["apiVersion"] == "meta.k8s.io/v1"
    assert body["items"] == [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": {"name": "hf-token", "namespace": NS}}]
    assert one.json()["kind"] == "PartialObjectMetadata" and "data" not in one.json()
    assert "hf_secret" not in lst.text + one.text and "HF_TOKEN" not in lst.text + one.text
    assert full.json()["data"]["HF_TOKEN"]  # a plain read returns what the bundle has
    secret_reads = [r for r in srv.requests if "/secrets" in r.path]
    assert [("PartialObjectMetadata" in r.accept) for r in secret_reads] == [True, True, False]


def test_writes_watch_and_auth(srv: FakeApiServer, kube: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(kube)
    srv.clear_requests()
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(NS, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="x")))
    assert e.value.status == 405 and body_of(e.value)["reason"] == "MethodNotAllowed"
    with pytest.raises(ApiException) as e:
        core.delete_namespaced_pod(EPP_POD, NS)
    assert e.value.status == 405
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod(EPP_POD, NS, {"metadata": {"labels": {"a": "b"}}})
    assert e.value.status == 405
    assert [(r.method, r.status) for r in srv.requests] == [("POST", 405), ("DELETE", 405), ("PATCH", 405)]
    with http(srv) as c:
        assert c.get("/api/v1/pods", params={"watch": "true"}).status_code == 405
        assert c.put(f"/api/v1/namespaces/{NS}/pods/{EPP_POD}", json={}).status_code == 405
        assert c.get("/api/v1/nopes").json()["message"] == "the server could not find the requested resource"
    for token in ("wrong-token", None):
        with http(srv, token) as c:
            r = c.get("/api/v1/pods")
        assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
        assert srv.requests[-1].user is None


def test_access_reviews(srv: FakeApiServer, kube: k8s.ApiClient) -> None:
    authn, authz = k8s.AuthenticationV1Api(kube), k8s.AuthorizationV1Api(kube)
    who = authn.create_self_subject_review(k8s.V1SelfSubjectReview())
    assert who.status.user_info.username == "admin"
    assert who.status.user_info.groups == ["system:masters", "system:authenticated"]
    ssar = authz.create_self_subject_access_review(k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(
        resource_attributes=k8s.V1ResourceAttributes(verb="list", resource="secrets", namespace=NS))))
    assert ssar.status.allowed is True


def test_versions_and_crdless_bundles() -> None:
    gw_crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "gateways.gateway.networking.k8s.io"},
              "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                       "names": {"kind": "Gateway", "plural": "gateways", "shortNames": ["gtw"]},
                       "versions": [{"name": "v1beta1", "served": True, "storage": False},
                                    {"name": "v1", "served": True, "storage": True},
                                    {"name": "v1alpha2", "served": False, "storage": False}]}}
    gw = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
          "metadata": {"name": "infra-gateway", "namespace": NS}, "spec": {"gatewayClassName": "istio"}}
    with FakeApiServer(BundleData(objects=[gw_crd, gw])) as s, http(s) as c:
        group = c.get("/apis/gateway.networking.k8s.io").json()
        assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
        assert group["preferredVersion"]["version"] == "v1"
        got = c.get(f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/gateways/infra-gateway").json()
        assert got["apiVersion"] == "gateway.networking.k8s.io/v1" and got["spec"]["gatewayClassName"] == "istio"
        assert c.get("/apis/gateway.networking.k8s.io/v1alpha2/gateways").status_code == 404
        assert c.get("/apis/gateway.networking.k8s.io/v1beta1").json()["resources"][0]["shortNames"] == ["gtw"]
    pool = {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
            "metadata": {"name": "p", "namespace": NS}}
    with FakeApiServer(BundleData(objects=[pool])) as s, http(s) as c:  # no CRD at all: served as the objects say
        items = c.get("/apis/inference.networking.x-k8s.io/v1alpha2/inferencepools").json()["items"]
        assert [i["metadata"]["name"] for i in items] == ["p"]


# ---- RBAC ---------------------------------------------------------------------------------------------


def test_rbac_from_bundle(rbac_srv: FakeApiServer) -> None:
    with http(rbac_srv, "epp-token") as c:
        assert c.get(f"/api/v1/namespaces/{NS}/pods").status_code == 200
        assert c.get(f"/apis/inference.networking.x-k8s.io/v1alpha2/namespaces/{NS}/inferencepools").is_success
        r = c.get(f"/api/v1/namespaces/{NS}/secrets")
        assert r.status_code == 403 and r.json() == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'secrets is forbidden: User "{EPP_SA}" cannot list resource "secrets" in API group "" '
                       f'in the namespace "{NS}"',
            "reason": "Forbidden", "details": {"kind": "secrets"}, "code": 403}
        assert c.get("/api/v1/pods").json()["message"] == (
            f'pods is forbidden: User "{EPP_SA}" cannot list resource "pods" in API group "" at the cluster scope')
        log = c.get(f"/api/v1/namespaces/{NS}/pods/{EPP_POD}/log").json()
        assert log["message"] == (f'pods "{EPP_POD}" is forbidden: User "{EPP_SA}" cannot get resource "pods/log" '
                                  f'in API group "" in the namespace "{NS}"')
        assert log["details"] == {"name": EPP_POD, "kind": "pods"}
        assert c.get(f"/apis/apps/v1/namespaces/{NS}/deployments").json()["message"].startswith(
            "deployments.apps is forbidden")
        assert c.get("/version").is_success and c.get("/apis").is_success  # discovery is for everyone
        ssar = c.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": NS}}}).json()
        assert ssar["status"] == {"allowed": True, "reason": (
            f'RBAC: allowed by RoleBinding "ms-llm-d-epp/{NS}" of Role "ms-llm-d-epp" to '
            f'ServiceAccount "ms-llm-d-epp/{NS}"')}
    with http(rbac_srv, "viewer-token") as c:  # nodes come through the aggregated ClusterRole
        assert c.get("/api/v1/nodes").status_code == 200
        assert c.get("/api/v1/nodes/gpu-node-1").status_code == 200
        assert c.get("/api/v1/namespaces").status_code == 403
    with http(rbac_srv) as c:  # system:masters may do anything; SubjectAccessReview asks about others
        assert c.get(f"/api/v1/namespaces/{NS}/secrets").status_code == 200
        sar = c.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json={"spec": {
            "user": "jane", "groups": ["llm-d-viewers"],
            "resourceAttributes": {"verb": "list", "resource": "nodes"}}}).json()
        assert sar["kind"] == "SubjectAccessReview" and sar["status"]["allowed"] is True


def test_forbid_on_top(bundle: Path) -> None:
    with FakeApiServer(bundle) as s, http(s) as c:
        s.forbid("get", "pods/log", namespace=NS)
        s.forbid("list", "deployments", group="apps")
        r = c.get(f"/api/v1/namespaces/{NS}/pods/{EPP_POD}/log")
        assert r.status_code == 403 and 'cannot get resource "pods/log"' in r.json()["message"]
        assert c.get(f"/api/v1/namespaces/{NS}/pods").is_success
        assert c.get("/apis/apps/v1/deployments").json()["message"] == (
            'deployments.apps is forbidden: User "admin" cannot list resource "deployments" in API group "apps" '
            "at the cluster scope")
        ssar = c.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json={"spec": {
            "resourceAttributes": {"verb": "get", "resource": "pods", "subresource": "log", "namespace": NS}}})
        assert ssar.json()["status"]["allowed"] is False


# ---- faults and latency -------------------------------------------------------------------------------


def test_faults(bundle: Path) -> None:
    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return {"/api/v1/pods": Fault(500), "/api/v1/nodes": Fault(200, b'{"kind": "NodeList", "ite'),
                "/api/v1/namespaces": Fault(drop=True), "/api/v1/services": Fault(delay_s=0.2)}.get(path)

    with FakeApiServer(bundle, fault=fault) as s, http(s) as c:
        r = c.get("/api/v1/pods")
        assert r.status_code == 500 and r.json()["reason"] == "InternalError"
        with pytest.raises(json.JSONDecodeError):
            c.get("/api/v1/nodes").json()
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/api/v1/namespaces")
        with pytest.raises(httpx.ReadTimeout):
            c.get("/api/v1/services", timeout=0.05)
        assert c.get("/api/v1/services").is_success  # a delay only delays
        assert [r.status for r in s.requests] == [500, 200, 0, 200, 200]


def test_latency(bundle: Path) -> None:
    with FakeApiServer(bundle, latency_s=0.05) as s, http(s) as c:
        start = time.monotonic()
        c.get("/version")
        c.get("/api")
        assert time.monotonic() - start >= 0.1


def test_bundle_data_tls_and_plain_http_kubeconfig(bundle: Path, tmp_path: Path) -> None:
    with FakeApiServer(read_bundle(bundle), tokens=TOKENS) as s:
        tls = ssl.create_default_context(cafile=s.ca_file)
        with httpx.Client(base_url=s.https_url, verify=tls, headers={"Authorization": "Bearer admin-token"}) as c:
            assert c.get(f"/api/v1/namespaces/{NS}/pods/{EPP_POD}").json()["kind"] == "Pod"
            # A chunked request body is read too (the connection stays usable).
            chunks = iter([b'{"spec": {"resourceAttributes": ', b'{"verb": "get", "resource": "pods"}}}'])
            r = c.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", content=chunks)
            assert r.json()["status"]["allowed"] is True
            assert c.get("/version").is_success
        kc = s.kubeconfig(tmp_path / "plain", token="epp-token", tls=False)
        api = k8s_config.new_client_from_config(config_file=kc)
        who = k8s.AuthenticationV1Api(api).create_self_subject_review(k8s.V1SelfSubjectReview())
        assert who.status.user_info.username == EPP_SA
        assert who.status.user_info.groups == ["system:serviceaccounts", f"system:serviceaccounts:{NS}",
                                               "system:authenticated"]


# ---- kubectl ----------------------------------------------------------------------------------------------

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def kubectl_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")  # its own discovery cache
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}


AGG_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def kubectl(env: dict[str, str], kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], env={**env, "KUBECONFIG": kubeconfig},
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def admin_kc(srv: FakeApiServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    return srv.kubeconfig(tmp_path_factory.mktemp("kc") / "admin")


@needs_kubectl
def test_kubectl_get_and_describe(srv: FakeApiServer, admin_kc: str, kubectl_env: dict[str, str]) -> None:
    r = kubectl(kubectl_env, admin_kc, "get", "pods", "-A", "-o", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "List" and [p["metadata"]["name"] for p in out["items"]] == [
        "istiod-5c8f", DECODE_POD, EPP_POD]
    r = kubectl(kubectl_env, admin_kc, "get", "inferencepools.inference.networking.x-k8s.io", "-n", NS, "-o", "yaml")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout)["items"][0]["spec"]["extensionRef"]["name"] == "ms-llm-d-epp"
    r = kubectl(kubectl_env, admin_kc, "get", "po", "-n", NS, "-l", "app=epp")
    assert r.returncode == 0 and EPP_POD in r.stdout and DECODE_POD not in r.stdout, r.stderr
    r = kubectl(kubectl_env, admin_kc, "describe", "pod", EPP_POD, "-n", NS)
    assert r.returncode == 0 and "Restart Count:  2" in r.stdout, r.stderr
    r = kubectl(kubectl_env, admin_kc, "get", "pod", "nope", "-n", NS)
    assert r.returncode == 1 and 'Error from server (NotFound): pods "nope" not found' in r.stderr


@needs_kubectl
def test_kubectl_logs_and_chunks(srv: FakeApiServer, admin_kc: str, kubectl_env: dict[str, str]) -> None:
    r = kubectl(kubectl_env, admin_kc, "logs", EPP_POD, "-n", NS, "-c", "epp", "--previous")
    assert r.returncode == 0 and r.stdout.endswith("panic: boom\n"), r.stderr
    r = kubectl(kubectl_env, admin_kc, "logs", DECODE_POD, "-n", NS, "-c", "vllm", "--previous")
    assert r.returncode == 1
    assert f'previous terminated container "vllm" in pod "{DECODE_POD}" not found' in r.stderr
    srv.clear_requests()
    r = kubectl(kubectl_env, admin_kc, "get", "pods", "-A", "--chunk-size=1", "-o", "name")
    assert r.returncode == 0 and r.stdout.split() == [
        "pod/istiod-5c8f", f"pod/{DECODE_POD}", f"pod/{EPP_POD}"], r.stderr
    pages = [r.query for r in srv.requests if r.path == "/api/v1/pods"]
    assert len(pages) == 3 and all(q["limit"] == "1" for q in pages) and all("continue" in q for q in pages[1:])
    assert {r.method for r in srv.requests} == {"GET"}


@needs_kubectl
def test_kubectl_aggregated_discovery(srv: FakeApiServer, admin_kc: str, tmp_path: Path) -> None:
    """kubectl (>= 1.26) asks /api and /apis for the aggregated document first; with it, it needs no
    per-group-version request. What it lists must equal what legacy discovery says."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}  # no discovery cache
    srv.clear_requests()
    r = kubectl(env, admin_kc, "api-resources", "-o", "wide", "--no-headers")
    assert r.returncode == 0, r.stderr
    asked = [(q.path, q.status) for q in srv.requests]
    assert ("/apis", 200) in asked and ("/api", 200) in asked
    assert not [p for p, _ in asked if p.count("/") >= 2 and p.startswith("/apis/")], asked
    agg = [q.accept for q in srv.requests if q.path == "/apis"]
    assert agg and "as=APIGroupDiscoveryList" in agg[0]
    names = {line.split()[0] for line in r.stdout.splitlines()}
    assert {"pods", "deployments", "inferencepools"} <= names, r.stdout
    # The same resources as legacy discovery serves, group-version by group-version.
    legacy = set()
    with http(srv) as c:
        for group, versions in srv.api.catalog.groups().items():
            for v in versions:
                doc = c.get(f"/apis/{group}/{v}" if group else "/api/v1").json()
                legacy |= {(group, res["name"]) for res in doc["resources"] if "/" not in res["name"]}
        core, named = (c.get(path, headers={"Accept": AGG_ACCEPT}) for path in ("/api", "/apis"))
    assert core.headers["content-type"] == named.headers["content-type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    core, named = core.json(), named.json()
    assert core["kind"] == named["kind"] == "APIGroupDiscoveryList"
    both = {(g["metadata"].get("name", ""), res["resource"]) for doc in (core, named) for g in doc["items"]
            for v in g["versions"] for res in v["resources"]}
    assert both == legacy


@needs_kubectl
def test_kubectl_rbac(rbac_srv: FakeApiServer, kubectl_env: dict[str, str], tmp_path: Path) -> None:
    kc = rbac_srv.kubeconfig(tmp_path / "epp", user="epp", token="epp-token")
    assert kubectl(kubectl_env, kc, "auth", "can-i", "list", "pods", "-n", NS).stdout.strip() == "yes"
    r = kubectl(kubectl_env, kc, "auth", "can-i", "list", "secrets", "-n", NS)
    assert (r.returncode, r.stdout.strip()) == (1, "no")
    r = kubectl(kubectl_env, kc, "get", "secrets", "-n", NS)
    assert r.returncode == 1 and r.stderr.strip() == (
        f'Error from server (Forbidden): secrets is forbidden: User "{EPP_SA}" cannot list resource "secrets" '
        f'in API group "" in the namespace "{NS}"')
    r = kubectl(kubectl_env, kc, "get", "pods", "-n", NS, "-o", "name")
    assert r.returncode == 0 and f"pod/{EPP_POD}" in r.stdout.split(), r.stderr
    bad = rbac_srv.kubeconfig(tmp_path / "bad", token="stolen")
    r = kubectl(kubectl_env, bad, "get", "pods", "-n", NS)
    assert r.returncode == 1 and "You must be logged in to the server" in r.stderr
