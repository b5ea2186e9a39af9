"""Generate llm-d-shaped clusters of any size, in memory, as a BundleData the fake API server serves.

Each namespace is a copy of the `llm-d` namespace of examples/healthy (Gateway + its Istio pod, EPP
Deployment + pod + Service, decode Deployment scaled to the pods the size needs, InferencePool,
InferenceModel, HTTPRoute, DestinationRule, ConfigMaps, RBAC, ...), renamed, with fresh uids. Every
`broken_every`-th namespace is a copy of examples/seed-rosa-epp-segfault instead: its EPP crash-loops
and has a previous log, so the logs path is exercised as it would be on a real shared cluster.
Cluster-scoped: the CRDs from tests/upstream (Gateway API v1.3.0, GIE v0.5.1), the GatewayClasses,
istio-system, RBAC and one GPU Node per 8 decode pods (at least the example's five).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from llmd_doctor.snapshot import LogRequest
from llmd_doctor.sources.bundle import BundleData, read_bundle

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
UPSTREAM = ROOT / "tests" / "upstream"
TEMPLATE_NS = "llm-d"
UPSTREAM_CRDS = (
    "gateway-api-v1.3.0/config__crd__standard__gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway-api-v1.3.0/config__crd__standard__gateway.networking.k8s.io_gateways.yaml",
    "gateway-api-v1.3.0/config__crd__standard__gateway.networking.k8s.io_httproutes.yaml",
    "gateway-api-v1.3.0/config__crd__standard__gateway.networking.k8s.io_grpcroutes.yaml",
    "gateway-api-v1.3.0/config__crd__standard__gateway.networking.k8s.io_referencegrants.yaml",
    "gie-v0.5.1/config__crd__bases__inference.networking.x-k8s.io_inferencepools.yaml",
    "gie-v0.5.1/config__crd__bases__inference.networking.x-k8s.io_inferencemodels.yaml",
)
DECODE_PREFIX = "ms-llm-d-modelservice-decode"
_UID = re.compile(r'"uid": "([0-9a-f-]{36})"')

Obj = dict[str, Any]


@dataclass(frozen=True)
class Size:
    pods: int
    namespaces: int

    @property
    def label(self) -> str:
        return f"{self.pods:,} pods / {self.namespaces} ns"


@dataclass
class _Template:
    objects: list[Obj]  # the llm-d namespace's objects and its Namespace object
    logs: dict[LogRequest, str]
    fixed_pods: int  # pods that are not decode pods (gateway, EPP)


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


@cache
def _template(name: str) -> _Template:
    data = _example(name)
    objs = [o for o in data.objects
            if o["metadata"].get("namespace") == TEMPLATE_NS
            or (o["kind"] == "Namespace" and o["metadata"].get("name") == TEMPLATE_NS)]
    logs = {r: t for r, t in data.logs.items() if r.namespace == TEMPLATE_NS}
    fixed = sum(1 for o in objs if o["kind"] == "Pod" and not o["metadata"]["name"].startswith(DECODE_PREFIX))
    return _Template(objs, logs, fixed)


def _upstream_crds() -> list[Obj]:
    out = []
    for rel in UPSTREAM_CRDS:
        for doc in yaml.load_all((UPSTREAM / rel).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                meta = doc.setdefault("metadata", {})
                meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, meta.get("name", rel))))
                meta.setdefault("resourceVersion", "1000")
                meta.setdefault("creationTimestamp", "2025-08-01T00:00:00Z")
                out.append(doc)
    return out


def _cluster_objects(nodes: int) -> list[Obj]:
    data = _example("healthy")
    out = [o for o in data.objects if o["kind"] not in ("Namespace", "Node", "CustomResourceDefinition")
           and o["metadata"].get("namespace") in (None, "istio-system")]
    out += [o for o in data.objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "istio-system"]
    # DestinationRule: Istio's CRD is not in tests/upstream; the example's copy is the upstream one cut down.
    out += [o for o in data.objects if o["kind"] == "CustomResourceDefinition"
            and o["metadata"]["name"].endswith("networking.istio.io")]
    out += _upstream_crds()
    node_tpl = [o for o in data.objects if o["kind"] == "Node"]
    for i in range(nodes):
        n = copy.deepcopy(node_tpl[i % len(node_tpl)])
        if i >= len(node_tpl):
            name = f"ip-10-0-{i // 250}-{i % 250}.us-east-2.compute.internal"
            n["metadata"]["name"] = name
            n["metadata"]["uid"] = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
            n["metadata"].setdefault("labels", {})["kubernetes.io/hostname"] = name
        out.append(n)
    return out


def _namespace_objects(tpl: _Template, ns: str, decode_pods: int, nodes: list[str]) -> list[Obj]:
    text = json.dumps(tpl.objects)
    text = text.replace(f'"{TEMPLATE_NS}"', f'"{ns}"')
    text = _UID.sub(lambda m: f'"uid": "{uuid.uuid5(uuid.NAMESPACE_OID, ns + m.group(1))}"', text)
    objs: list[Obj] = json.loads(text)
    decode = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["name"].startswith(DECODE_PREFIX)]
    out = [o for o in objs if o not in decode]
    tpl_pod = decode[0]
    for i in range(decode_pods):
        name = f"{tpl_pod['metadata']['generateName']}{i:05x}"
        out.append(_replica(tpl_pod, ns, name, i, nodes[(len(ns) * 7 + i) % len(nodes)]))
    for o in out:  # the decode Deployment and its ReplicaSet say how many pods there are
        if o["kind"] in ("Deployment", "ReplicaSet") and o["metadata"]["name"].startswith(DECODE_PREFIX):
            o["spec"]["replicas"] = decode_pods
            st = o.setdefault("status", {})
            for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "fullyLabeledReplicas"):
                if key in st:
                    st[key] = decode_pods
    return out


_TOKEN_VOLUME = re.compile(r'"kube-api-access-[a-z0-9]{5}"')
_TIME = re.compile(r'"(lastTransitionTime|startedAt|lastProbeTime|startTime)": "[^"]*"')
_CONTAINER_ID = re.compile(r'"containerID": "([\w-]+)://[0-9a-f]+"')


def _replica(tpl_pod: Obj, ns: str, name: str, i: int, node: str) -> Obj:
    """A replica of `tpl_pod` that differs from its siblings where real replicas do: its name, uid,
    node and IPs, the suffix of its service-account token volume (`kube-api-access-xxxxx`, in its
    volumes and every container's mounts), its conditions' and containers' times, its container IDs."""
    h = uuid.uuid5(uuid.NAMESPACE_OID, f"{ns}/{name}")
    text = json.dumps(tpl_pod)
    text = _TOKEN_VOLUME.sub(f'"kube-api-access-{h.hex[:5]}"', text)
    text = _TIME.sub(lambda m: f'"{m.group(1)}": "2025-08-21T15:{i // 60 % 60:02d}:{i % 60:02d}Z"', text)
    text = _CONTAINER_ID.sub(lambda m: f'"containerID": "{m.group(1)}://{h.hex}{h.hex}"', text)
    pod: Obj = json.loads(text)
    ip = f"10.{128 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"
    pod["metadata"].update(name=name, uid=str(h))
    pod["spec"]["nodeName"] = node
    pod["status"].update(podIP=ip, podIPs=[{"ip": ip}])
    return pod


SHAPES = ("shared", "all-llmd")
LLMD_NAMESPACES_SHARED = 3  # llm-d's share of a shared cluster: a few namespaces among hundreds


def _llmd_namespace(data: BundleData, tpl: _Template, ns: str, decode: int, nodes: list[str]) -> int:
    """Add one llm-d namespace; the number of pods it holds."""
    data.objects.extend(_namespace_objects(tpl, ns, decode, nodes))
    for req, text in tpl.logs.items():
        pod = req.pod
        if pod.startswith(DECODE_PREFIX):  # the first decode pod has the example's vLLM log
            pod = f"{DECODE_PREFIX}-7d4f9c8b6-{0:05x}"
        data.logs[LogRequest(ns, pod, req.container, req.previous)] = text
    return decode + tpl.fixed_pods


def generate(size: Size, broken_every: int = 50, shape: str = "all-llmd") -> BundleData:
    """A cluster of `size.pods` pods over `size.namespaces` namespaces (plus istio-system).

    all-llmd: every namespace is an llm-d stack (every `broken_every`-th the seed's crash-looping EPP).
    shared: LLMD_NAMESPACES_SHARED llm-d namespaces (the first the seed's), the others ordinary
    workloads (bench/apps.py), with DaemonSets on 30-pod nodes, Jobs and a bare pod.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
    healthy, broken = _template("healthy"), _template("seed-rosa-epp-segfault")
    shared = shape == "shared"
    llmd_count = min(size.namespaces, LLMD_NAMESPACES_SHARED) if shared else size.namespaces
    decode_total = size.pods - llmd_count * healthy.fixed_pods
    node_count = max(5, size.pods // 30 if shared else decode_total // 8)
    cluster = _cluster_objects(node_count)
    nodes = [o["metadata"]["name"] for o in cluster if o["kind"] == "Node"]
    data = BundleData(path=f"generated:{shape}:{size.pods}x{size.namespaces}")
    data.manifest = {"apiVersion": "llmd-doctor/v1", "kind": "Bundle", "serverVersion": "v1.31.10",
                     "context": "bench"}
    data.objects.extend(cluster)
    remaining = size.pods - sum(1 for o in cluster if o["kind"] == "Pod")
    width = len(str(size.namespaces))
    for i in range(llmd_count):
        ns = f"llm-d-{i:0{width}d}"
        tpl = broken if broken_every and i % broken_every == 0 else healthy
        if shared:  # llm-d as its guides deploy it: three decode pods per stack
            decode = len([o for o in tpl.objects if o["kind"] == "Pod"]) - tpl.fixed_pods
        else:  # spread the pods evenly; the last namespace takes the rounding
            left = size.namespaces - i
            decode = max(1, (remaining // left if left > 1 else remaining) - tpl.fixed_pods)
        remaining -= _llmd_namespace(data, tpl, ns, decode, nodes)
    if shared:
        from bench.apps import shared_cluster

        teams = [f"team-{i:0{width}d}" for i in range(size.namespaces - llmd_count)]
        data.objects.extend(shared_cluster(teams, remaining, nodes))
    return data


def describe(data: BundleData) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in data.objects:
        counts[o["kind"]] = counts.get(o["kind"], 0) + 1
    return counts
