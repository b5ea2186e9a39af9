"""Build the Topology from a Snapshot: every relationship derived once, with indexes.

One pass per kind, each object indexed by namespace and name, so a cluster of 500 llm-d namespaces
costs the same per namespace as one. What could not be read becomes a gap on the relations that
needed it (`Items.gaps`, `Ref.gap`), never an empty list.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from llmd_doctor import gateways as gw_plugins
from llmd_doctor import k8s
from llmd_doctor.gateways import Controller
from llmd_doctor.kinds import (
    CONFIGMAP,
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POD,
    POOL_KEYS,
    REFERENCE_GRANT,
    REPLICASET,
    SERVICE,
    STATEFULSET,
)
from llmd_doctor.snapshot import DataUnavailable, NotCollected, Snapshot
from llmd_doctor.topology.epps import Epp, config_of, parse_epp
from llmd_doctor.topology.gateways import DataPlane, Gateway
from llmd_doctor.topology.known import Items, Ref
from llmd_doctor.topology.pools import Pool, parse_pool
from llmd_doctor.topology.routes import Route, grant_allows, parse_route
from llmd_doctor.topology.servers import (
    ServerGroup,
    looks_like_model_server,
    owner_of,
    role_of,
    template_labels,
)

Obj = dict[str, Any]
_TERMINAL = ("Succeeded", "Failed")


class Index:
    """The objects of one kind, by namespace and by (namespace, name), and why they may be incomplete."""

    def __init__(self, snap: Snapshot, key: str):
        self.key = key
        self.snap = snap
        self.gap = snap.gap(key)
        objs = snap.list(key) if self.gap is None and key in snap.collected else []
        self.items: Items[Obj] = Items(objs, [self.gap] if self.gap else [])
        self.by_ns: dict[str, list[Obj]] = defaultdict(list)
        self.by_name: dict[tuple[str, str], Obj] = {}
        for o in objs:
            ns = k8s.namespace(o)
            self.by_ns[ns].append(o)
            self.by_name[(ns, k8s.name(o))] = o

    def in_ns(self, namespace: str) -> Items[Obj]:
        return Items(self.by_ns.get(namespace, []), [self.ns_gap(namespace)])

    def ns_gap(self, namespace: str) -> DataUnavailable | None:
        if self.gap is not None:
            return self.gap
        scope = self.snap.namespaces
        if scope is not None and namespace and namespace not in scope:
            return NotCollected(f"namespace {namespace} was not collected")
        return None

    def ref(self, namespace: str, name: str, what: str) -> Ref[Obj]:
        found = self.by_name.get((namespace, name))
        return Ref(found, None if found is not None else self.ns_gap(namespace), what)


def build(snap: Snapshot) -> dict[str, Any]:
    """Everything the Topology holds, as plain attributes (see topology/__init__.py)."""
    idx = {key: Index(snap, key) for key in (*POOL_KEYS, DEPLOYMENT, REPLICASET, STATEFULSET, POD, SERVICE,
                                              CONFIGMAP, HTTPROUTE, GATEWAY_KEY, GATEWAY_CLASS, REFERENCE_GRANT)}
    pools, pool_index = _pools(idx)
    epps = _epps(idx, pool_index)
    _link_pools(idx, pools, epps)
    routes = _routes(idx, pool_index, pools)
    gateways, controllers = _gateways(idx, routes)
    servers = _servers(idx, pools)
    return {"pools": pools, "pool_index": pool_index, "epps": epps, "routes": routes, "gateways": gateways,
            "controllers": controllers, "servers": servers, "index": idx}


# ---- pools and endpoint pickers ---------------------------------------------------------------------


def _pools(idx: dict[str, Index]) -> tuple[Items[Pool], dict[tuple[str, str, str], Pool]]:
    pools = [parse_pool(o) for key in POOL_KEYS for o in idx[key].items]
    gaps = [idx[key].gap for key in POOL_KEYS]
    return Items(pools, gaps), {p.key: p for p in pools}


def pool_ref(idx: dict[str, Index], pool_index: dict[tuple[str, str, str], Pool], group: str, namespace: str,
             name: str) -> Ref[Pool]:
    what = f"InferencePool {namespace}/{name} ({group})"
    found = pool_index.get((group, namespace, name))
    if found is not None:
        return Ref(found, None, what)
    key = f"InferencePool.{group}"
    if key not in idx:
        return Ref(None, None, what)  # not a pool group: no such pool
    return Ref(None, idx[key].ns_gap(namespace), what)


def _epps(idx: dict[str, Index], pool_index: dict[tuple[str, str, str], Pool]) -> Items[Epp]:
    out = []
    for d in idx[DEPLOYMENT].items:
        epp = parse_epp(d)
        if epp is None:
            continue
        t = epp.target
        if t.name:
            epp._pool = pool_ref(idx, pool_index, t.group, t.namespace, t.name)
        pods = idx[POD].in_ns(epp.namespace)
        epp._pods = Items(k8s.pods_of(d, pods), pods.gaps)
        services = idx[SERVICE].in_ns(epp.namespace)
        tl = epp.template_labels
        epp._services = services.where(lambda s, tl=tl: k8s.match_labels((s.get("spec") or {}).get("selector"), tl))
        epp._config = config_of(epp, idx[CONFIGMAP].in_ns(epp.namespace))
        out.append(epp)
    return Items(out, idx[DEPLOYMENT].items.gaps)


def _link_pools(idx: dict[str, Index], pools: Items[Pool], epps: Items[Epp]) -> None:
    by_pool: dict[int, list[Epp]] = defaultdict(list)
    epps_by_ns: dict[str, list[Epp]] = defaultdict(list)
    for e in epps:
        epps_by_ns[e.namespace].append(e)
        if e._pool.target is not None:
            by_pool[id(e._pool.target)].append(e)
    for pool in pools:
        pool._epps = Items(by_pool.get(id(pool), []), epps.gaps)
        if pool.epp.name and pool.epp.kind == "Service" and not pool.epp.group:
            pool._epp_service = idx[SERVICE].ref(pool.namespace, pool.epp.name,
                                                 f"Service {pool.namespace}/{pool.epp.name}")
            svc = pool._epp_service.target
            sel = ((svc or {}).get("spec") or {}).get("selector") or {}
            backing = [e for e in epps_by_ns.get(pool.namespace, []) if sel and k8s.match_labels(sel, e.template_labels)]
            pool._backing_epps = Items(backing, [*epps.gaps, pool._epp_service.gap])
        pods = idx[POD].in_ns(pool.namespace)
        pool._pods = Items(_selected(pool.selector, pods), pods.gaps)


def _selected(selector: dict[str, str], pods: list[Obj]) -> list[Obj]:
    """The pods a pool's flat selector chooses, but for finished ones."""
    chosen = k8s.labelled(pods, lambda lbls: k8s.match_labels(selector, lbls))
    return [p for p in chosen if (p.get("status") or {}).get("phase") not in _TERMINAL]


# ---- routes -------------------------------------------------------------------------------------------


def _routes(idx: dict[str, Index], pool_index: dict[tuple[str, str, str], Pool], pools: Items[Pool]) -> Items[Route]:
    routes = [parse_route(o) for o in idx[HTTPROUTE].items]
    pools_by_ns: dict[str, list[Pool]] = defaultdict(list)
    for p in pools:
        pools_by_ns[p.namespace].append(p)
    by_name: dict[tuple[str, str], list[Pool]] = defaultdict(list)
    for p in pools:
        by_name[(p.namespace, p.name)].append(p)
    grants = idx[REFERENCE_GRANT].items
    for r in routes:
        for b in r.backends:
            if b.is_pool:
                b._pool = pool_ref(idx, pool_index, b.group, b.namespace, b.name)
                if b._pool.target is not None and r not in b._pool.target._routes:
                    b._pool.target._routes.append(r)
                elif b._pool.target is None:
                    for other in by_name.get((b.namespace, b.name), []):
                        other._foreign_routes.append((r, b))
            elif b.is_service:
                b._service = idx[SERVICE].ref(b.namespace, b.name, f"Service {b.namespace}/{b.name}")
                b._pool_behind = _pool_behind(idx, b._service, pools_by_ns.get(b.namespace, []), pools)
            if b.cross_namespace:
                b._granted = Ref(grant_allows(grants, r, b), grants.gaps[0] if grants.gaps else None,
                                 f"a ReferenceGrant in {b.namespace}")
    gaps = idx[HTTPROUTE].items.gaps
    for p in pools:
        p._routes = Items(p._routes, gaps)
        p._foreign_routes = Items(p._foreign_routes, gaps)
    return Items(routes, gaps)


def _pool_behind(idx: dict[str, Index], svc: Ref[Obj], ns_pools: list[Pool], pools: Items[Pool]) -> Ref[Pool]:
    """The pool that selects the same model-server pods as a Service (None if none does)."""
    if svc.target is None:
        return Ref(None, svc.gap, "the InferencePool behind the Service")
    sel = {str(a): str(b) for a, b in ((svc.target.get("spec") or {}).get("selector") or {}).items()}
    if not sel:
        return Ref(None, None)
    for pool in ns_pools:
        if pool.selector and all(sel.get(a) == b for a, b in pool.selector.items()):
            return Ref(pool)
    ns = k8s.namespace(svc.target)
    pods = idx[POD].in_ns(ns)
    for p in pods:
        if k8s.match_labels(sel, k8s.labels(p)):
            hit = next((pl for pl in ns_pools if k8s.match_labels(pl.selector, k8s.labels(p))), None)
            if hit:
                return Ref(hit)
    return Ref(None, pools.gaps[0] if pools.gaps else None, "the InferencePool behind the Service")


# ---- gateways -----------------------------------------------------------------------------------------


def _gateways(idx: dict[str, Index], routes: Items[Route]) -> tuple[Items[Gateway], dict[str, list[Controller]]]:
    classes = {k8s.name(c): c for c in idx[GATEWAY_CLASS].items}
    deployments = idx[DEPLOYMENT].items
    controllers: dict[str, list[Controller]] = {}
    for impl in gw_plugins.implementations():
        if impl.managed:
            continue
        found = [c for d in deployments if (c := impl.controller(d)) is not None]
        if found:
            controllers[impl.name] = found
    by_parent: dict[tuple[str, str], list[Route]] = defaultdict(list)
    for r in routes:
        for p in dict.fromkeys(p.key for p in r.parents):
            by_parent[p].append(r)
    out = []
    for o in idx[GATEWAY_KEY].items:
        cls_name = str((o.get("spec") or {}).get("gatewayClassName", ""))
        g = Gateway(o, cls_name)
        cls = classes.get(cls_name)
        g._gateway_class = Ref(cls, idx[GATEWAY_CLASS].gap if cls is None else None, f"GatewayClass {cls_name}")
        controller_name = str((cls.get("spec") or {}).get("controllerName", "")) if cls else None
        impl = gw_plugins.for_controller(controller_name)
        g._implementation = impl
        g._routes = Items(by_parent.get(g.key, []), routes.gaps)
        if impl is not None:
            if impl.managed:
                g._controller = Ref(None, None, f"{impl.title} runs its controller outside the cluster")
            else:
                ctl = impl.controller_for(o, controller_name, controllers.get(impl.name, []))
                g._controller = Ref(ctl, deployments.gaps[0] if ctl is None and deployments.gaps else None,
                                    f"the {impl.title} controller")
                if ctl is not None:
                    pods = idx[POD].in_ns(k8s.namespace(ctl.workload))
                    g._controller_pods = Items(k8s.pods_of(ctl.workload, pods), pods.gaps)
            g._data_plane = _data_plane(idx, impl, o)
        out.append(g)
    gateways = Items(out, idx[GATEWAY_KEY].items.gaps)
    by_key = {g.key: g for g in gateways}
    for r in routes:
        for p in r.parents:
            found = by_key.get(p.key)
            p._gateway = Ref(found, idx[GATEWAY_KEY].ns_gap(p.namespace) if found is None else None,
                             f"Gateway {p.namespace}/{p.name}")
    _mark_llmd(routes, gateways)
    return gateways, controllers


def _data_plane(idx: dict[str, Index], impl: gw_plugins.GatewayImplementation, gw: Obj) -> DataPlane:
    spec = impl.data_plane(gw)
    if spec.managed or not spec.namespace:
        return DataPlane(spec, Ref(), Ref(), Items())

    def by_labels(index: Index, template: bool) -> Obj | None:
        if not spec.labels:
            return None
        for o in index.by_ns.get(str(spec.namespace), []):
            lbls = template_labels(o) if template else k8s.labels(o)
            if all(lbls.get(a) == b for a, b in spec.labels.items()):
                return o
        return None

    def find(index: Index, name: str | None, template: bool, what: str) -> Ref[Obj]:
        hit = index.by_name.get((str(spec.namespace), name)) if name else None
        hit = hit or by_labels(index, template)
        return Ref(hit, None if hit is not None else index.ns_gap(str(spec.namespace)), what)

    dep = find(idx[DEPLOYMENT], spec.deployment, True, f"the data-plane Deployment of {k8s.name(gw)}")
    svc = find(idx[SERVICE], spec.service, False, f"the data-plane Service of {k8s.name(gw)}")
    pods = idx[POD].in_ns(str(spec.namespace))
    mine = k8s.pods_of(dep.target, pods) if dep.target is not None else [
        p for p in pods if spec.labels and all(k8s.labels(p).get(a) == b for a, b in spec.labels.items())]
    return DataPlane(spec, dep, svc, Items(mine, pods.gaps))


def _mark_llmd(routes: Items[Route], gateways: Items[Gateway]) -> None:
    """Which routes carry llm-d traffic, and which Gateways llm-d uses."""
    inference_gws = {g.key for g in gateways if g.labelled_for_inference}
    for r in routes:
        r.llmd = any(b.is_pool for b in r.backends) or any(p.key in inference_gws for p in r.parents) or any(
            b.is_service and (b._pool_behind.found or _llmd_labelled(b._service.target)) for b in r.backends)
    for g in gateways:
        g.llmd = g.labelled_for_inference or any(r.llmd for r in g._routes)


def _llmd_labelled(svc: Obj | None) -> bool:
    if svc is None:
        return False
    keys = list(k8s.labels(svc)) + list((svc.get("spec") or {}).get("selector") or {})
    return any(str(x).startswith("llm-d.ai/") for x in keys)


# ---- model servers --------------------------------------------------------------------------------------


def _servers(idx: dict[str, Index], pools: Items[Pool]) -> Items[ServerGroup]:
    replicasets = idx[REPLICASET].by_name
    workloads = {("Deployment", ns, n): o for (ns, n), o in idx[DEPLOYMENT].by_name.items()}
    workloads.update({("StatefulSet", ns, n): o for (ns, n), o in idx[STATEFULSET].by_name.items()})
    pools_by_ns: dict[str, list[Pool]] = defaultdict(list)
    for p in pools:
        pools_by_ns[p.namespace].append(p)
    groups: dict[tuple[str, str, str, str], ServerGroup] = {}
    # Pods of one ReplicaSet share their template: judge each (owner, labels) once. Replicas hold one
    # labels object (sources/prune.py's sharing), so its identity keys the memo without a sort per pod.
    judged: dict[tuple[Any, ...], tuple[list[Pool], tuple[str, str, str, str] | None]] = {}
    for pod in idx[POD].items:
        meta = k8s.meta(pod)
        owner = next((r.get("uid") for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        raw = meta.get("labels")
        memo = (meta.get("namespace"), owner, id(raw)) if owner else None
        seen = judged.get(memo) if memo else None
        if seen is None:
            ns, labels = k8s.namespace(pod), k8s.labels(pod)
            selecting = [p for p in pools_by_ns.get(ns, []) if p.selector and k8s.match_labels(p.selector, labels)]
            serves = looks_like_model_server(pod, labels, bool(selecting))
            seen = (selecting, (ns, *owner_of(pod, replicasets), role_of(pod)) if serves else None)
            if memo:
                judged[memo] = seen
        selecting, key = seen
        if key is None:
            continue
        ns, kind, name, role = key
        g = groups.get(key)
        if g is None:
            g = groups[key] = ServerGroup(role, ns, kind, name, workloads.get((kind, ns, name)))
        g.pods.append(pod)
        for p in selecting:
            if p not in g.pools:
                g.pools.append(p)
    owned = {(g.owner_kind, g.namespace, g.owner_name) for g in groups.values()}
    for (kind, ns, name), w in workloads.items():
        if (kind, ns, name) in owned:
            continue
        labels = template_labels(w)
        selecting = [p for p in pools_by_ns.get(ns, []) if p.selector and k8s.match_labels(p.selector, labels)]
        if looks_like_model_server(w, labels, bool(selecting)):
            groups[(ns, kind, name, role_of(w))] = ServerGroup(role_of(w), ns, kind, name, w, [], selecting)
    ordered = sorted(groups.values(), key=lambda g: (g.namespace, g.role != "decode", g.owner_name))
    for g in ordered:
        for p in g.pools:
            p._servers.append(g)
    return Items(ordered, [idx[POD].gap])
