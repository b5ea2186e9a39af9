"""The Topology: how the deployment is wired, derived once per snapshot.

Gateways (with their implementation plugin, control plane and data plane), HTTPRoutes with resolved
parents and backends, InferencePools of both API generations, endpoint pickers with the pool they
serve and why, model-server groups, and what each component costs when it breaks. It is the only
place relationships are derived; checks ask it. What could not be read is carried explicitly
(`Items.gaps`, `Ref.unknown`), so no check can mistake missing data for none.

    topo = topology(ctx.snapshot)
    for pool in topo.pools.require():       # raises (skip/error) when a pool kind could not be read
        for route in pool.routes: ...       # recorded: reading it means the check reads HTTPRoutes

Every accessor records the kinds it was derived from, so the engine can hold each check to the
`inputs` it declares (tests/test_inputs.py).
"""

from __future__ import annotations

from typing import Any

from llmd_doctor.gateways import Controller
from llmd_doctor.kinds import (
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POD,
    POOL_KEYS,
    REPLICASET,
    SERVICE,
    STATEFULSET,
)
from llmd_doctor.snapshot import Snapshot, record_read
from llmd_doctor.topology import impact
from llmd_doctor.topology.build import build, pool_ref
from llmd_doctor.topology.epps import ConfigFile, Epp, EppConfig, PoolTarget
from llmd_doctor.topology.gateways import DataPlane, Gateway
from llmd_doctor.topology.known import Items, Ref, recorded
from llmd_doctor.topology.pools import EPP_GRPC_PORT, EppRef, Pool
from llmd_doctor.topology.routes import Backend, Parent, Route
from llmd_doctor.topology.servers import ServerGroup

#: The kinds each part of the topology is derived from — for checks' `inputs`.
POOLS = POOL_KEYS
SERVERS = (POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS)
ROUTING = (HTTPROUTE, GATEWAY_KEY, GATEWAY_CLASS, SERVICE, POD, *POOL_KEYS)


class Topology:
    """How the snapshot's objects relate. Build it with `topology(snapshot)` (memoised per run)."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        parts = build(snapshot)
        self._pools: Items[Pool] = parts["pools"]
        self._pool_index = parts["pool_index"]
        self._epps: Items[Epp] = parts["epps"]
        self._routes: Items[Route] = parts["routes"]
        self._gateways: Items[Gateway] = parts["gateways"]
        self._controllers: dict[str, list[Controller]] = parts["controllers"]
        self._servers: Items[ServerGroup] = parts["servers"]
        self._index = parts["index"]

    @recorded(*POOL_KEYS)
    def pools(self) -> Items[Pool]:
        """Every InferencePool of both groups (gaps: a served pool kind that could not be read)."""
        return self._pools

    def pool(self, group: str, namespace: str, name: str) -> Ref[Pool]:
        if group in ("", None):
            raise ValueError("a pool reference needs its API group")
        record_read(*POOL_KEYS)
        return pool_ref(self._index, self._pool_index, group, namespace, name)

    @recorded(DEPLOYMENT)
    def epps(self) -> Items[Epp]:
        """Endpoint-picker Deployments: a known EPP image, or a container started with a pool flag."""
        return self._epps

    @recorded(HTTPROUTE)
    def routes(self) -> Items[Route]:
        return self._routes

    @recorded(HTTPROUTE, GATEWAY_KEY, SERVICE, POD, *POOL_KEYS)
    def llmd_routes(self) -> Items[Route]:
        """Routes that carry llm-d traffic: to a pool, to a Service in front of model servers (llm-d
        labels, or pods a pool selects), or hung from a Gateway labelled for inference."""
        return self._routes.where(lambda r: r.llmd)

    @recorded(GATEWAY_KEY)
    def gateways(self) -> Items[Gateway]:
        return self._gateways

    @recorded(GATEWAY_KEY, HTTPROUTE, SERVICE, POD, *POOL_KEYS)
    def llmd_gateways(self) -> tuple[Items[Gateway], int]:
        """The Gateways llm-d uses (parents of llm-d routes, or labelled for inference) — every
        Gateway when none is — and how many were left out."""
        mine = self._gateways.where(lambda g: g.llmd)
        if not mine:
            return self._gateways, 0
        return mine, len(self._gateways) - len(mine)

    @recorded(GATEWAY_CLASS, DEPLOYMENT)
    def controllers(self) -> dict[str, list[Controller]]:
        """Gateway control planes found in the cluster, by implementation name."""
        return self._controllers

    @recorded(*SERVERS)
    def servers(self) -> Items[ServerGroup]:
        """Model-server groups (role × owning workload), decode first."""
        return self._servers

    def server_pods(self) -> Items[dict[str, Any]]:
        groups = self.servers
        return Items([p for g in groups for p in g.pods], groups.gaps)

    def server_group(self, pod: dict[str, Any]) -> ServerGroup | None:
        """The model-server group a pod belongs to (None: not a model-server pod)."""
        record_read(*SERVERS)
        by_pod = self.snapshot.derive("topology.group_of_pod", lambda: {id(p): g for g in self._servers for p in g.pods})
        return by_pod.get(id(pod))

    def pod_at(self, ip: str) -> Ref[dict[str, Any]]:
        """The pod whose status.podIP is `ip` (an upstream address in a gateway's access log): missing when no
        pod read has it (a pod since replaced, or one outside the namespaces read), unknown when pods could
        not be read."""
        record_read(POD)
        by_ip = self.snapshot.derive("topology.pods_by_ip", lambda: {
            str((p.get("status") or {}).get("podIP")): p for p in self._index[POD].items
            if (p.get("status") or {}).get("podIP")})
        found = by_ip.get(ip)
        return Ref(found, None if found is not None else next(iter(self._index[POD].items.gaps), None),
                   f"the pod with IP {ip}")

    # ---- which objects belong together ------------------------------------------------------------

    def related(self, ref: str) -> frozenset[str]:
        """The objects of the component an object belongs to, as refs (`Kind/ns/name`): an endpoint
        picker with its pods, Services, ServiceAccount and pool; a pool with its EPP, Service, model
        servers and the routes that reach or bypass it; a route with its backends and Gateways; a
        Gateway with its routes, controller and data plane. Problem grouping asks it: a check's failure
        explains another's when their objects are related."""
        links: dict[str, set[str]] = self.snapshot.derive("topology-links", self._links)
        near = links.get(ref)
        if near is None:
            return frozenset({ref})
        # Two hops: a crashed EPP pod relates to the EPP's pool; a bypassing route to the pool's EPP.
        # Computed per ref asked (the objects of warn/fail results), not for every pod of the cluster.
        far = set(near)
        for n in near:
            far |= links.get(n, set())
        far.add(ref)
        return frozenset(far)

    def _links(self) -> dict[str, set[str]]:
        """Each object's neighbours (refs), both ways."""
        links: dict[str, set[str]] = {}

        def link(a: str, b: str) -> None:
            links.setdefault(a, set()).add(b)
            links.setdefault(b, set()).add(a)

        def pod_ref(p: dict[str, Any]) -> str:
            return f"Pod/{p['metadata'].get('namespace')}/{p['metadata'].get('name')}"

        for e in self._epps:
            for p in e._pods:
                link(e.ref, pod_ref(p))
            for s in e._services:
                link(e.ref, f"Service/{s['metadata'].get('namespace')}/{s['metadata'].get('name')}")
            link(e.ref, f"ServiceAccount/{e.namespace}/{e.service_account}")
            if e._pool.target is not None:
                link(e.ref, e._pool.target.ref)
        for pool in self._pools:
            if pool._epp_service.target is not None:
                link(pool.ref, f"Service/{pool.namespace}/{pool.epp.name}")
            for e in pool._backing_epps:
                link(pool.ref, e.ref)
            for g in pool._servers:
                link(pool.ref, g.ref)  # the group's pods: below, with every group's
            for r in pool._routes:
                link(pool.ref, r.ref)
        for r in self._routes:
            for b in r.backends:
                target = b._pool.target or b._pool_behind.target
                if target is not None:
                    link(r.ref, target.ref)
                if b.is_service:
                    link(r.ref, f"Service/{b.namespace}/{b.name}")
            for p in r.parents:
                link(r.ref, f"Gateway/{p.namespace}/{p.name}")
        for g in self._gateways:
            if g._controller.target is not None:
                link(g.ref, g._controller.target.ref)
            dp = g._data_plane
            if dp is not None and dp.deployment.target is not None:
                d = dp.deployment.target
                link(g.ref, f"Deployment/{d['metadata'].get('namespace')}/{d['metadata'].get('name')}")
                for p in dp.pods:
                    link(g.ref, pod_ref(p))
        for g in self._servers:
            for p in g.pods:
                link(g.ref, pod_ref(p))
        return links

    # ---- impact ------------------------------------------------------------------------------------

    def impact_of_epp(self, epp: Epp) -> tuple[str, ...]:
        return impact.of_epp(epp)

    def impact_of_pool(self, pool: Pool, epp_path: bool = True) -> tuple[str, ...]:
        return impact.of_pool(pool, epp_path)

    def impact_of_servers(self, group: ServerGroup) -> tuple[str, ...]:
        # Only the groups that still serve decide (impact.of_servers): listed once per run, not per group asked.
        record_read(*SERVERS)
        serving = self.snapshot.derive("topology.serving_groups", lambda: [g for g in self._servers if impact.serves(g)])
        return impact.of_servers(group, serving)


def topology(snapshot: Snapshot) -> Topology:
    """The snapshot's Topology, built on first use and shared by every check of the run."""
    topo: Topology = snapshot.derive("topology", lambda: Topology(snapshot))
    return topo


__all__ = [
    "EPP_GRPC_PORT", "POOLS", "ROUTING", "SERVERS", "Backend", "ConfigFile", "DataPlane", "Epp", "EppConfig",
    "EppRef", "Gateway", "Items", "Parent", "Pool", "PoolTarget", "Ref", "Route", "ServerGroup", "Topology",
    "topology",
]
