"""cluster.access (what could not be read, live and offline) and cluster.scope (namespaces asked for that
do not exist; nothing of llm-d in what was read), from the realistic examples.

`healthy` holds namespaces llm-d (Gateway, HTTPRoute, InferencePool, EPP, 3 decode pods) and istio-system
(istiod); its manifest lists the kinds collected, so a kind with no object left is "none", not unknown.
"""

from __future__ import annotations

import copy
import functools

from scenario import Scenario

from llmd_doctor.engine import run_checks
from llmd_doctor.model import CheckResult, Status
from llmd_doctor.registry import load_specs, select
from llmd_doctor.snapshot import ApiError, Forbidden, LogRequest, Snapshot, SourceInfo

NS = "llm-d"
SPECS = load_specs(plugins=False)
ACCESS = select(SPECS, ["cluster.access"])
BOTH = select(SPECS, ["cluster.access", "cluster.scope"])
POOL_KEYS = ("InferencePool.inference.networking.x-k8s.io", "InferencePool.inference.networking.k8s.io")


@functools.cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def results(snap: Snapshot, specs: list = BOTH) -> dict[str, CheckResult]:  # noqa: ANN001
    return {r.id: r for r in run_checks(specs, snap)}


FAILED = [
    {"kind": "Pod", "verb": "list", "resource": "pods", "reason": "forbidden",
     "message": 'pods is forbidden: User "dev" cannot list resource "pods"'},
    {"kind": "ConfigMap", "verb": "list", "resource": "configmaps", "namespace": NS, "reason": "error",
     "message": "list configmaps: HTTP 500: etcdserver: leader changed"},
    {"kind": "ReplicaSet.apps", "verb": "list", "resource": "replicasets.apps", "reason": "timeout",
     "message": "timed out after 10s (3 attempts, 31.2s)"},
    *({"pod": f"decode-{i}", "container": "vllm", "namespace": NS, "verb": "get", "resource": "pods/log",
       "reason": "forbidden", "message": "cannot get pods/log"} for i in range(5)),
]


# ---- cluster.access ----------------------------------------------------------------------------------


def test_a_healthy_bundle_reads_cleanly() -> None:
    r = results(example().snapshot(), ACCESS)["cluster.access"]
    assert r.status == Status.PASS and r.message.startswith("bundle readable from context rosa-prod")


def test_a_bundle_lists_every_read_refused_or_failed_when_collected() -> None:
    sc = example()
    sc.data.manifest["failedReads"] = FAILED
    snap = sc.snapshot()
    r = results(snap, ACCESS)["cluster.access"]
    assert r.status == Status.WARN
    assert "4 read(s) were refused or failed when it was collected" in r.message
    assert r.evidence == [
        'forbidden: cannot list pods cluster-wide (pods is forbidden: User "dev" cannot list resource "pods")',
        "error: list configmaps: HTTP 500: etcdserver: leader changed",  # live errors name no namespace either
        "timeout: list replicasets.apps: timed out after 10s (3 attempts, 31.2s)",
        "forbidden: cannot get pods/log in namespace llm-d (cannot get pods/log) "
        "[5 logs: llm-d/decode-0/vllm, llm-d/decode-1/vllm, llm-d/decode-2/vllm, …]",
    ]
    assert "collect it again" in r.remediation
    # Said once, by cluster.access: no report warning repeats each read.
    assert snap.warnings == []


def test_an_entry_that_names_no_kind_or_log_stays_a_warning() -> None:
    sc = example()
    sc.data.manifest["failedReads"] = [{"verb": "list", "resource": "widgets.example.com", "reason": "error",
                                        "message": "HTTP 503"}]
    snap = sc.snapshot()
    assert snap.warnings == ["bundle.yaml: failedReads[0] names no kind or log read: error: HTTP 503"]
    r = results(snap, ACCESS)["cluster.access"]
    assert r.status == Status.WARN and r.evidence == snap.warnings


def live(snap: Snapshot) -> Snapshot:
    snap.source = SourceInfo(kind="live", context="prod", server_version="v1.31.10", user="dev")
    return snap


def test_live_errors_and_timeouts_are_listed_not_only_refusals() -> None:
    snap = live(example().snapshot())
    snap.errors["ConfigMap"] = ApiError("list configmaps: HTTP 500: etcdserver: leader changed")
    snap.errors["Pod"] = ApiError("not read: the run's deadline of 2s passed")
    snap.log_errors[LogRequest(NS, "decode-0", "vllm")] = ApiError("logs of llm-d/decode-0/vllm: HTTP 502: bad gateway")
    r = results(snap, ACCESS)["cluster.access"]
    assert r.status == Status.WARN and "3 read(s) refused or failed" in r.message
    assert r.evidence == ["error: list configmaps: HTTP 500: etcdserver: leader changed",
                          "timeout: list pods: not read: the run's deadline of 2s passed",
                          "error: get pods/log in namespace llm-d: logs of llm-d/decode-0/vllm: HTTP 502: bad gateway "
                          "[1 log: llm-d/decode-0/vllm]"]
    assert "readyz" in r.remediation and "Grant" not in r.remediation  # no RBAC advice for a 500


def test_live_refusals_advise_rbac() -> None:
    snap = live(example().snapshot())
    refusal = Forbidden("list", "configmaps", NS, 'configmaps is forbidden: User "dev" cannot list')
    snap.errors["ConfigMap"] = refusal
    snap.denied.append(refusal)
    r = results(snap, ACCESS)["cluster.access"]
    assert r.status == Status.WARN and "1 read(s) forbidden" in r.message
    assert r.evidence == [str(refusal)] and r.remediation.startswith("Grant")


# ---- cluster.scope -----------------------------------------------------------------------------------


def test_what_was_found_is_named() -> None:
    r = results(example().snapshot())["cluster.scope"]
    assert r.status == Status.PASS
    assert r.message == "1 Gateway, 1 InferencePool, 1 endpoint picker, 1 model-server group"


def test_a_namespace_asked_for_that_does_not_exist_fails() -> None:
    sc = example()
    sc.data.manifest.pop("namespaces")  # a cluster-wide bundle: its Namespace objects say what exists
    r = results(sc.snapshot(["llmd"]))["cluster.scope"]
    assert r.status == Status.FAIL and r.message == "namespace llmd not found"
    assert r.objects == ["Namespace/llmd"] and "kubectl get namespaces" in r.remediation
    assert len(r.findings) == 1  # not "nothing found in llmd" as well


def test_a_missing_namespace_beside_one_that_exists() -> None:
    sc = example()
    sc.data.manifest.pop("namespaces")
    r = results(sc.snapshot(["llmd", NS]))["cluster.scope"]
    assert r.status == Status.FAIL and r.message == "namespace llmd not found"
    assert [f.message for f in r.findings if f.status == Status.PASS] == [
        "1 Gateway, 1 InferencePool, 1 endpoint picker, 1 model-server group"]


def without_llmd(sc: Scenario) -> Scenario:
    """Every object of namespace llm-d gone: istiod and the CRDs stay (a cluster with no llm-d in it)."""
    sc.data.objects = [o for o in sc.data.objects if o["metadata"].get("namespace") != NS]
    sc.data.logs = {}
    return sc


def test_nothing_of_llm_d_fails() -> None:
    r = results(without_llmd(example()).snapshot())["cluster.scope"]
    assert r.status == Status.FAIL
    assert r.message == ("no Gateway, InferencePool or EPP found in namespaces llm-d, istio-system "
                         "(and no model server)")


def test_a_gateway_alone_is_a_warning() -> None:
    sc = example()
    gateway = copy.deepcopy(sc.find("Gateway.gateway.networking.k8s.io", "llm-d-infra-inference-gateway"))
    without_llmd(sc).add(gateway)
    r = results(sc.snapshot())["cluster.scope"]
    assert r.status == Status.WARN
    assert r.message.startswith("only 1 Gateway found in namespaces llm-d, istio-system: no InferencePool")


def test_nothing_found_where_reads_failed_is_not_none() -> None:
    sc = without_llmd(example())
    sc.data.manifest["failedReads"] = [{"kind": "Deployment.apps", "verb": "list", "resource": "deployments.apps",
                                        "reason": "forbidden", "message": "no"}]
    r = results(sc.snapshot())["cluster.scope"]
    assert r.status == Status.ERROR and "cannot list deployments.apps" in r.message
    assert r.message.startswith("whether llm-d runs in namespaces llm-d, istio-system could not be told")


def test_something_found_passes_even_when_another_kind_could_not_be_read() -> None:
    sc = example()
    sc.data.manifest["failedReads"] = [{"kind": "Gateway.gateway.networking.k8s.io", "verb": "list",
                                        "resource": "gateways.gateway.networking.k8s.io", "reason": "error",
                                        "message": "HTTP 500"}]
    r = results(sc.snapshot())["cluster.scope"]
    assert r.status == Status.PASS and "1 InferencePool" in r.message and "Gateway" not in r.message
