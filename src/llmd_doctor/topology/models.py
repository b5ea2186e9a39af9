"""The models a Gateway serves, the pool each should reach, and the pool an answering endpoint belongs to.

A model name is learned, in this order (the first is the one probed first):
1. an InferenceModel's `spec.modelName` and its `poolRef` (GIE <= v0.5; its successor, the
   InferenceObjective, names no model);
2. the model-server arguments of the pods a pool selects (`--served-model-name`, `vllm serve <m>`,
   `--model`): the first name of each pool;
3. an HTTPRoute rule that matches the header body-based routing copies from the request body
   (`X-Gateway-Model-Name`, `X-Gateway-Base-Model-Name`; GIE pkg/bbr, guides/serve-multiple-genai-models)
   and sends to a pool — the pool may select no pod, so only the route names its model;
4. the other names of those servers (aliases, LoRA adapters).
When the Gateway's routes reach no pool (a route to a Service), every model server's names count,
with no pool. Each model carries every source that named it and the pools it should reach.

An endpoint a response names (`x-gateway-destination-endpoint: 10.0.0.5:8000`, the simulator's
`x-inference-pod: <pod>`) is matched to a pod by IP or name, and to the pools that select it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmd_doctor import k8s
from llmd_doctor.kinds import INFERENCE_MODEL
from llmd_doctor.snapshot import DataUnavailable, Snapshot
from llmd_doctor.topology.known import Items
from llmd_doctor.topology.servers import model_names, server_container

if TYPE_CHECKING:
    from llmd_doctor.topology.gateways import Gateway
    from llmd_doctor.topology.pools import Pool
    from llmd_doctor.topology.routes import Route

Obj = dict[str, Any]
#: Request headers body-based routing sets from the body's `model` (GIE v1.5.0 pkg/bbr/plugins:
#: bodyfieldtoheader.ModelHeader, basemodelextractor.BaseModelHeader).
MODEL_HEADERS = ("x-gateway-model-name", "x-gateway-base-model-name")


@dataclass(eq=False)
class ServedModel:
    """A model name clients can ask the Gateway for, the pools it should reach, and who says so."""

    name: str
    pools: list[Pool] = field(default_factory=list)  # empty: not known
    sources: list[str] = field(default_factory=list)  # "InferenceModel/ns/n", "Pod/ns/n", "HTTPRoute/ns/n rule 2"

    @property
    def pool_refs(self) -> list[str]:
        return [p.ref for p in self.pools]


@dataclass(frozen=True)
class Landing:
    """Where a response says the request landed: the endpoint, its pod, and the pools selecting it."""

    endpoint: str
    pod: str | None  # Pod/ns/name, None when no pod of the snapshot matches
    pools: tuple[Pool, ...] = ()

    @property
    def text(self) -> str:
        if self.pod is None:
            return f"endpoint {self.endpoint} (no pod of the snapshot matches it)"
        where = ", ".join(p.ref for p in self.pools) or "no InferencePool"
        return f"endpoint {self.endpoint} = {self.pod} (selected by {where})"


def gateway_pools(gw: Gateway | None, all_pools: Items[Pool]) -> list[Pool]:
    """The pools the Gateway's routes send to; every pool when there is no Gateway."""
    if gw is None:
        return list(all_pools)
    out: list[Pool] = []
    for r in gw.routes:
        for b in r.pool_backends:
            if b.pool.found and b.pool.target not in out:
                out.append(b.pool.target)  # type: ignore[arg-type]
    return out


def _header_models(route: Route) -> list[tuple[str, list[Pool], str]]:
    """(model, pools, source) of each rule that matches a body-based-routing header and sends to a pool."""
    out: list[tuple[str, list[Pool], str]] = []
    for i, rule in enumerate((route.obj.get("spec") or {}).get("rules") or [], 1):
        if not isinstance(rule, dict):
            continue
        names = {(str(b.get("group") or ""), str(b.get("namespace") or route.namespace), str(b.get("name", "")))
                 for b in rule.get("backendRefs") or [] if isinstance(b, dict) and b.get("kind") == "InferencePool"}
        pools = [b.pool.target for b in route.pool_backends if b.pool.found and (b.group, b.namespace, b.name) in names]
        for m in rule.get("matches") or []:
            for h in (m.get("headers") if isinstance(m, dict) else None) or []:
                if (isinstance(h, dict) and str(h.get("name", "")).lower() in MODEL_HEADERS
                        and (h.get("type") or "Exact") == "Exact" and h.get("value")):
                    out.append((str(h["value"]), pools, f"{route.ref} rule {i} ({h['name']}: {h['value']})"))
    return out  # type: ignore[return-value]


def _server_names(pod: Obj) -> list[str]:
    c = server_container(pod)
    return list(model_names(c, vllm_only=False) or []) if c is not None else []


def gateway_models(snap: Snapshot, gw: Gateway | None) -> Items[ServedModel]:
    """The models clients can ask the Gateway for, first-probed first (see the module doc)."""
    from llmd_doctor.topology import topology

    topo = topology(snap)
    all_pools = topo.pools
    pools = gateway_pools(gw, all_pools)
    found: dict[str, ServedModel] = {}
    gaps: list[DataUnavailable] = list(all_pools.gaps) + list(gw.routes.gaps if gw is not None else ())

    def add(name: str, pools_: list[Pool], source: str) -> None:
        m = found.setdefault(name, ServedModel(name))
        m.pools += [p for p in pools_ if p not in m.pools]
        pod_twice = source.startswith("Pod/") and any(x.startswith("Pod/") for x in m.sources)
        if source not in m.sources and not pod_twice:  # one pod says it for all of them
            m.sources.append(source)

    gap = snap.gap(INFERENCE_MODEL)
    if gap is None and INFERENCE_MODEL in snap.collected:
        for im in snap.list(INFERENCE_MODEL):
            spec = im.get("spec") or {}
            ref = spec.get("poolRef") if isinstance(spec.get("poolRef"), dict) else {}
            mine = [p for p in pools if p.name == ref.get("name") and p.namespace == k8s.namespace(im)]
            if spec.get("modelName") and (mine or not pools):
                add(str(spec["modelName"]), mine, f"InferenceModel/{k8s.namespace(im)}/{k8s.name(im)}")
    elif gap is not None and INFERENCE_MODEL in snap.collected:
        gaps.append(gap)
    rest: list[tuple[str, list[Pool], str]] = []
    for pool in pools:
        gaps += pool.pods.gaps
        for pod in pool.pods:
            names = _server_names(pod)
            ref = f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)}"
            if names:
                add(names[0], [pool], ref)
            rest += [(n, [pool], ref) for n in names[1:]]
    for route in gw.routes if gw is not None else []:
        for name, pools_, source in _header_models(route):
            add(name, pools_, source)
    if not pools:  # the routes reach no pool: every model server counts, its pool unknown
        servers = topo.servers
        gaps += servers.gaps
        for pod in (p for g in servers for p in g.pods):
            names = _server_names(pod)
            rest += [(n, [], f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)}") for n in names]
    for name, pools_, source in rest:
        add(name, pools_, source)
    return Items(found.values(), gaps)


def _host(endpoint: str) -> str:
    """`10.0.0.5:8000` -> 10.0.0.5, `[fd00::5]:8000` -> fd00::5, a pod name unchanged."""
    e = endpoint.strip()
    if e.startswith("["):
        return e[1:].split("]", 1)[0]
    if e.count(":") == 1:
        return e.split(":", 1)[0]
    return e


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def landing(snap: Snapshot, endpoint: str | None) -> Landing | None:
    """The pod and pools an endpoint a response names belongs to (None when no endpoint was named)."""
    if not endpoint:
        return None
    from llmd_doctor.topology import topology

    topo = topology(snap)
    host = _host(endpoint)
    by_ip = _is_ip(host)
    pods: list[Obj] = [p for pool in topo.pools for p in pool.pods] + list(topo.server_pods())
    hits = [p for p in pods if ((p.get("status") or {}).get("podIP") if by_ip else k8s.name(p)) == host]
    if not hits:
        return Landing(endpoint, None)
    # Several pods may share an address (hostNetwork): every pool of any of them counts, so a
    # request is never said to have landed outside its pool on an ambiguous address.
    keys = {(k8s.namespace(p), k8s.name(p)) for p in hits}
    pools = tuple(pool for pool in topo.pools if any((k8s.namespace(p), k8s.name(p)) in keys for p in pool.pods))
    return Landing(endpoint, f"Pod/{k8s.namespace(hits[0])}/{k8s.name(hits[0])}", pools)
