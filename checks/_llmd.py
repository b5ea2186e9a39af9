"""How llm-d's pieces find each other: pools, endpoint pickers, routes, model-server pods.

Both InferencePool generations are normalized into one `Pool` shape here, so checks never care
whether a pool is `inference.networking.x-k8s.io/v1alpha2` (flat selector, targetPortNumber,
extensionRef) or `inference.networking.k8s.io/v1` (matchLabels, targetPorts, endpointPickerRef).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.kinds import INFERENCE, X_INFERENCE
from llmd_doctor.snapshot import Snapshot

from . import _k8s as k

POOL_KEYS = (f"InferencePool.{X_INFERENCE}", f"InferencePool.{INFERENCE}")
DEPLOYMENT = "Deployment.apps"
HTTPROUTE = "HTTPRoute.gateway.networking.k8s.io"

# Images that are an endpoint picker (facts §1.3: image names by release).
EPP_IMAGE = re.compile(
    r"(llm-d-inference-scheduler|llm-d-router-endpoint-picker|gateway-api-inference-extension/epp|/epp:)"
)
EPP_POOL_FLAGS = ("poolName", "pool-name", "endpoint-selector")


@dataclass
class Pool:
    obj: dict[str, Any]
    group: str
    name: str
    namespace: str
    selector: dict[str, str]
    target_ports: list[int]
    epp_name: str | None
    epp_port: int | None
    epp_kind: str
    epp_failure_mode: str
    parents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"InferencePool/{self.namespace}/{self.name}"


def pool_from(obj: dict[str, Any]) -> Pool:
    group = str(obj.get("apiVersion", "")).split("/")[0]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if group == X_INFERENCE:
        ref = spec.get("extensionRef") or {}
        selector = spec.get("selector") or {}
        ports = [spec["targetPortNumber"]] if spec.get("targetPortNumber") else []
        epp_port = ref.get("portNumber")
        parents = status.get("parent") or status.get("parents") or []
    else:
        ref = spec.get("endpointPickerRef") or spec.get("extensionRef") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        ports = [p.get("number") for p in spec.get("targetPorts") or [] if isinstance(p, dict) and p.get("number")]
        epp_port = (ref.get("port") or {}).get("number") if isinstance(ref.get("port"), dict) else None
        parents = status.get("parents") or []
    return Pool(
        obj=obj,
        group=group,
        name=k.name(obj),
        namespace=k.namespace(obj),
        selector={str(a): str(b) for a, b in selector.items()} if isinstance(selector, dict) else {},
        target_ports=[int(p) for p in ports if isinstance(p, int | str) and str(p).isdigit()],
        epp_name=ref.get("name"),
        epp_port=int(epp_port) if isinstance(epp_port, int) else None,
        epp_kind=str(ref.get("kind") or "Service"),
        epp_failure_mode=str(ref.get("failureMode") or "FailClose"),
        parents=[p for p in parents if isinstance(p, dict)],
    )


@k.per_snapshot
def pools(snap: Snapshot) -> list[Pool]:
    """Every InferencePool of both groups the snapshot could read (unknown groups are left out)."""
    out: list[Pool] = []
    for key in POOL_KEYS:
        out += [pool_from(o) for o in snap.maybe_list(key) or []]
    return out


# ---- endpoint pickers ----------------------------------------------------------------------


@dataclass
class Epp:
    """An endpoint-picker workload: the Deployment and its EPP container."""

    deployment: dict[str, Any]
    container: dict[str, Any]
    flags: dict[str, str]

    @property
    def name(self) -> str:
        return k.name(self.deployment)

    @property
    def namespace(self) -> str:
        return k.namespace(self.deployment)

    @property
    def ref(self) -> str:
        return f"Deployment/{self.namespace}/{self.name}"

    @property
    def image(self) -> str:
        return str(self.container.get("image", ""))

    @property
    def tag(self) -> str | None:
        return k.image_tag(self.image)

    @property
    def flag_style(self) -> str:
        """camelCase (GIE <= v0.5, scheduler <= v0.2.x) or kebab-case (GIE >= v1.0)."""
        if any(f in self.flags for f in ("poolName", "poolNamespace", "configFile", "configText", "grpcPort")):
            return "camel"
        return "kebab"

    def flag(self, camel: str, kebab: str) -> str | None:
        return self.flags.get(camel, self.flags.get(kebab))

    @property
    def pool_name(self) -> str | None:
        return self.flag("poolName", "pool-name")

    @property
    def pool_namespace(self) -> str:
        return self.flag("poolNamespace", "pool-namespace") or self.namespace

    @property
    def pool_group(self) -> str | None:
        return self.flags.get("pool-group")

    def env(self, name: str) -> str | None:
        for e in self.container.get("env") or []:
            if isinstance(e, dict) and e.get("name") == name:
                return str(e.get("value")) if "value" in e else None
        return None


def _epp_container(deployment: dict[str, Any]) -> dict[str, Any] | None:
    for c in k.containers(k.pod_spec(deployment), init=False):
        args = [str(a) for a in (c.get("args") or []) + (c.get("command") or [])]
        flags = k.parse_args(args)
        if EPP_IMAGE.search(str(c.get("image", ""))) or any(f in flags for f in EPP_POOL_FLAGS):
            return c
    return None


@k.per_snapshot
def epps(snap: Snapshot) -> list[Epp]:
    """Endpoint-picker Deployments: known EPP images, or containers started with a pool flag."""
    out = []
    for d in snap.list(DEPLOYMENT):
        c = _epp_container(d)
        if c is not None:
            flags = k.parse_args([str(a) for a in (c.get("command") or []) + (c.get("args") or [])])
            out.append(Epp(d, c, flags))
    return out


def epp_pods(snap: Snapshot, epp: Epp) -> list[dict[str, Any]]:
    return k.pods_of(epp.deployment, snap.list("Pod", epp.namespace))


def pool_of_epp(epp: Epp, all_pools: list[Pool]) -> Pool | None:
    return next((p for p in all_pools if p.name == epp.pool_name and p.namespace == epp.pool_namespace), None)


# ---- routes --------------------------------------------------------------------------------


def route_backends(route: dict[str, Any]) -> list[dict[str, Any]]:
    refs = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        for b in (rule or {}).get("backendRefs") or []:
            if isinstance(b, dict):
                refs.append(b)
    return refs


def backend_is_pool(ref: dict[str, Any], route: dict[str, Any], pool: Pool) -> bool:
    """A backendRef names this pool: kind, name, namespace (default: the route's) and API group
    (a ref in the other InferencePool group resolves to no pool)."""
    return (
        ref.get("kind") == "InferencePool"
        and ref.get("name") == pool.name
        and (ref.get("namespace") or k.namespace(route)) == pool.namespace
        and (ref.get("group") or "") == pool.group
    )


@k.per_snapshot
def pool_refs(snap: Snapshot) -> dict[tuple[str, str], list[dict[str, Any]]] | None:
    """HTTPRoutes by the (namespace, name) of every InferencePool they reference, in either group
    (None when routes were not collected). Built once: clusters have hundreds of pools and routes."""
    routes = snap.maybe_list(HTTPROUTE)
    if routes is None:
        return None
    index: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in routes:
        for b in route_backends(r):
            if b.get("kind") == "InferencePool" and b.get("name"):
                key = (str(b.get("namespace") or k.namespace(r)), str(b["name"]))
                if r not in index.setdefault(key, []):
                    index[key].append(r)
    return index


def routes_to_pool(snap: Snapshot, pool: Pool) -> list[dict[str, Any]]:
    candidates = (pool_refs(snap) or {}).get((pool.namespace, pool.name), [])
    return [r for r in candidates if any(backend_is_pool(b, r, pool) for b in route_backends(r))]
