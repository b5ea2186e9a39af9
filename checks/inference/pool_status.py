"""inferencepool.status: pools exist and are referenced by a route; their parents report Accepted and
ResolvedRefs (an empty status alone is a warning: some implementations never write it)."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, POOL_KEYS, SERVICE
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Pool, Topology, topology
from llmd_doctor.topology.impact import POOL_CAPABILITIES

from .._lib import unread


def _parent_name(parent: dict) -> str:
    ref = parent.get("parentRef") or {}
    ns = ref.get("namespace")
    return f"{ref.get('kind') or 'Gateway'} {ns + '/' if ns else ''}{ref.get('name', '?')}"


@check(
    "inferencepool.status",
    title="InferencePool status",
    area="inference",
    severity=Severity.MAJOR,
    inputs=(*POOL_KEYS, HTTPROUTE, DEPLOYMENT, SERVICE, GATEWAY_KEY, GATEWAY_CLASS),
    requires=("inference.crds",),
    capabilities=POOL_CAPABILITIES,
    explains=("e2e.routing",),
    why="The gateway controller writes a pool's status once it routes to it; a pool no route references "
        "is never used, so its endpoint picker's routing is lost.",
    remediation=(
        "Fix what the gateway's condition names (ResolvedRefs=False InvalidExtensionRef: the EPP Service in the "
        "pool's extensionRef/endpointPickerRef does not exist, see inferencepool.endpoint-picker), and route to "
        "the pool with an HTTPRoute backendRef (the pool's group, kind InferencePool, name, port = target port)."
    ),
)
def inferencepool_status(ctx: CheckContext) -> Iterator[Finding]:
    """Pools exist and are referenced by an HTTPRoute; parent conditions Accepted/ResolvedRefs
    (an empty status alone is warn: some implementations never write it)."""
    topo = topology(ctx.snapshot)
    pools = topo.pools
    if not pools:
        pools.require()
        yield from _no_pools(topo)
        return
    yield from unread(pools, "some InferencePools")
    for pool in pools:
        yield _judge(topo, pool)


def _judge(topo: Topology, pool: Pool) -> Finding:
    routes = pool.routes
    conds = [(p, c) for p in pool.parents for c in p.get("conditions") or []]
    bad = [(p, c) for p, c in conds if c.get("type") in ("Accepted", "ResolvedRefs") and c.get("status") == "False"]
    pending = [(p, c) for p, c in conds if c.get("status") == "Unknown"]
    unaccepted = [p for p in pool.parents if k8s.condition({}, "Accepted", p.get("conditions") or []) is None]
    gen = k8s.meta(pool.obj).get("generation")
    evidence = [f"{_parent_name(p)}: {k8s.cond_text(c, str(c.get('type')))}" for p, c in conds]
    evidence += [f"{_parent_name(p)}: observedGeneration {c.get('observedGeneration')} < generation {gen} (stale)"
                 for p, c in conds if isinstance(gen, int) and isinstance(c.get("observedGeneration"), int)
                 and c["observedGeneration"] < gen]
    names = ", ".join(r.ref for r in routes)
    if bad:
        p, c = bad[0]
        return Finding(Status.FAIL, f"{pool.ref}: {_parent_name(p)} reports {k8s.cond_text(c, str(c.get('type')))}",
                       pool.ref, tuple(evidence), capabilities=topo.impact_of_pool(pool))
    if routes.complete and not routes:
        evidence += [f"{r.ref} references InferencePool {pool.name} in another API group "
                     f"({b.group or 'core'}), which is not this pool ({pool.group})" for r, b in pool.foreign_routes]
        evidence += [f"{r.ref} sends traffic to Service {b.name} directly (EPP bypassed)"
                     for r in topo.routes if r.namespace == pool.namespace for b in r.backends
                     if b.kind == "Service" and not b.group]
        if not pool.parents:
            evidence.append("status is empty (expected: no gateway has a route to the pool)")
        return Finding(
            Status.WARN,
            f"no HTTPRoute references {pool.ref} (group {pool.group}): the endpoint picker is bypassed "
            "unless traffic reaches the pool another way",
            pool.ref, tuple(evidence), capabilities=EPP_CAPABILITIES,
            remediation=f"Send the route's traffic through the pool: backendRefs `group: {pool.group}, kind: "
            f"InferencePool, name: {pool.name}" + (f", port: {pool.target_ports[0]}`" if pool.target_ports else "`") + ".",
        )
    if not routes.complete and not pool.parents:
        return Finding.unverifiable(routes.gaps[0], f"{pool.ref}: its status is empty and whether a route uses it "
                                    "could not be checked", pool.ref)
    if not pool.parents:
        made = [o for r in routes for prt in r.parents if (g := prt.gateway.target) and g.implementation
                for o in g.implementation.pool_objects(pool.namespace, pool.name, _services(topo, pool))]
        return Finding(
            Status.WARN,
            f"{pool.ref} is referenced by {names or 'an HTTPRoute'} but its status is empty: no gateway "
            "controller has reported on it (some implementations never write InferencePool status)",
            pool.ref, tuple(evidence + [f"{o} exists: the gateway controller reconciled the pool"
                                        for o in dict.fromkeys(made)]),
            capabilities=(),
            remediation="Check the gateway controller's logs and the HTTPRoute's status (httproute.status), and "
            "that the gateway implementation has InferencePool support on (gateway.implementation).",
        )
    if pending:
        p, c = pending[0]
        return Finding(Status.WARN, f"{pool.ref}: {_parent_name(p)} reports {k8s.cond_text(c, str(c.get('type')))}: "
                       "no controller has accepted the pool yet", pool.ref, tuple(evidence), capabilities=())
    if unaccepted:
        return Finding(Status.WARN, f"{pool.ref}: {_parent_name(unaccepted[0])} is listed as a parent without an "
                       "Accepted condition", pool.ref, tuple(evidence), capabilities=())
    parents = ", ".join(dict.fromkeys(_parent_name(p) for p in pool.parents))
    if not routes.complete:  # accepted, but whether a route still sends to it is not seen
        return Finding.unverifiable(routes.gaps[0], f"{pool.ref} ({pool.group}) is accepted by {parents}, but "
                                    "whether an HTTPRoute references it could not be checked", pool.ref)
    return Finding(Status.PASS, f"{pool.ref} ({pool.group}): referenced by {names}; accepted by {parents}", pool.ref,
                   tuple(evidence))


def _services(topo: Topology, pool: Pool) -> list[dict]:
    snap = topo.snapshot
    return snap.list(SERVICE, pool.namespace) if snap.gap(SERVICE, pool.namespace) is None else []


def _no_pools(topo: Topology) -> Iterator[Finding]:
    configured = [e for e in topo.epps if e.target.name]
    for e in configured:
        t = e.target
        yield Finding(
            Status.WARN,
            f"no InferencePool exists, but endpoint picker {e.ref} is configured for pool {t.namespace}/{t.name}",
            e.ref, (f"image {e.image}",), capabilities=EPP_CAPABILITIES,
            remediation=f"Create the InferencePool {t.namespace}/{t.name} (group {t.group}) selecting the "
            "model-server pods, with extensionRef/endpointPickerRef to the EPP Service.",
        )
    if not configured and topo.epps.gaps:
        yield Finding.unverifiable(topo.epps.gaps[0], "no InferencePool objects; whether an endpoint picker expects "
                                   "one could not be checked")
    elif not configured:
        yield Finding(Status.SKIP, "no InferencePool objects and no endpoint picker: nothing to check")
