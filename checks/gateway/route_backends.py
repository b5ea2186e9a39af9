"""httproute.backends: what llm-d routes point at — an InferencePool (the endpoint picker is in the path)
or a plain Service (bypassed); the pool exists in a group the gateway routes; cross-namespace refs are
granted; ports agree."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import (
    DEPLOYMENT,
    GATEWAY,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POD,
    POOL_GROUPS,
    POOL_KEYS,
    REFERENCE_GRANT,
    SERVICE,
)
from llmd_doctor.model import (
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    OPENAI_API,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable
from llmd_doctor.topology import Backend, Route, Topology, topology


@check(
    "httproute.backends",
    title="HTTPRoute backends",
    area="gateway",
    severity=Severity.MAJOR,
    inputs=(HTTPROUTE, GATEWAY_KEY, GATEWAY_CLASS, REFERENCE_GRANT, SERVICE, POD, DEPLOYMENT, *POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API, *EPP_CAPABILITIES),
    explains=("inferencepool.status", "e2e.routing", "e2e.chat-completion", "e2e.models"),
    why="Only a route to the InferencePool puts the endpoint picker in the request path; a route to a plain "
        "Service works but loses cache-aware, prefix-cache and load-aware routing.",
    remediation=(
        "Point the route's backendRef at the InferencePool (group inference.networking.k8s.io or "
        "inference.networking.x-k8s.io, kind InferencePool, its name and target port), so requests go through "
        "the endpoint picker."
    ),
)
def httproute_backends(ctx: CheckContext) -> Iterator[Finding]:
    """What llm-d routes point at: an InferencePool (EPP in the path) or a plain Service (EPP bypassed);
    the pool exists, its API group is one the gateway routes, cross-namespace refs are granted, ports agree."""
    topo = topology(ctx.snapshot)
    routes = topo.llmd_routes
    if not routes:
        routes.require()
        yield Finding(Status.SKIP, "no HTTPRoute points at an InferencePool or an llm-d model-server Service")
        return
    for route in routes:
        for b in route.backends:
            if b.cross_namespace and not (yield from _granted(route, b)):
                continue
            if b.is_pool:
                yield from _pool_backend(topo, route, b)
            elif b.is_service:
                yield from _service_backend(route, b)
            else:
                yield Finding(Status.SKIP, f"{route.ref}: backendRef {b.text} is not a kind llmd-doctor judges",
                              route.ref)
        if not route.backends:
            yield Finding(Status.WARN, f"{route.ref} has no backendRefs: requests get 500s", route.ref,
                          capabilities=route.capabilities)


def _granted(route: Route, b: Backend) -> Iterator[Finding]:
    granted = b.granted
    if granted.unknown:
        yield Finding(Status.WARN, f"{route.ref} refers across namespaces to {b.text}; whether a ReferenceGrant "
                      f"allows it could not be checked ({granted.gap})", route.ref, capabilities=())
        return True
    if not granted.target:
        yield Finding(
            Status.FAIL,
            f"{route.ref} refers to {b.text} in another namespace, and no ReferenceGrant in {b.namespace} allows "
            f"HTTPRoutes from {route.namespace}: the gateway refuses the backend (RefNotPermitted)",
            route.ref, capabilities=route.capabilities,
            remediation=(f"Create a ReferenceGrant in namespace {b.namespace}: from group {GATEWAY} kind HTTPRoute "
                         f"namespace {route.namespace}, to group {b.group or 'core'} kind {b.kind} (name {b.name})."),
        )
        return False
    return True


def _pool_backend(topo: Topology, route: Route, b: Backend) -> Iterator[Finding]:
    ref, caps = route.ref, route.capabilities
    if b.group not in POOL_GROUPS:
        yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} with group {b.group!r}, "
                      f"which is not an InferencePool API group ({' or '.join(POOL_GROUPS)})", ref,
                      remediation="Set the backendRef's group to the pool's API group.", capabilities=caps)
        return
    found = b.pool
    if found.unknown:
        yield Finding.unverifiable(found.gap, f"{ref} points at InferencePool {b.namespace}/{b.name} of group "
                                   f"{b.group}, which could not be looked up", ref)
        return
    pool = found.target
    if pool is None and not _served(topo, b.group):
        yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} of group {b.group}, "
                      "whose CRD is not installed", ref, capabilities=caps,
                      remediation="Install that InferencePool CRD, or point the route at the group your pools use.")
        return
    if pool is None:
        others = [p for p in topo.pools if (p.namespace, p.name) == (b.namespace, b.name)]
        hint = f"; a pool of that name exists in group {others[0].group}: set the backendRef group to it" if others else ""
        yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} ({b.group}), which does not "
                      f"exist{hint}", ref, (f"backendRef: {b.text}",), capabilities=caps,
                      remediation="Create the InferencePool, or fix the backendRef's name/namespace/group.")
        return
    bad = False
    for parent in route.parents:
        g = parent.gateway.target
        if g is None or g.implementation is None:
            continue
        supported, source = g.implementation.pool_groups(g.controller.target)
        if supported is not None and b.group not in supported:
            bad = True
            c = g.controller.target
            yield Finding(
                Status.FAIL,
                f"{ref} points at an {b.group} InferencePool, but its parent {g.ref} runs {g.label}, "
                f"which routes only {', '.join(supported)} pools",
                ref, (f"backendRef: {b.text}", f"compat: {source}") + ((f"{g.label}: {c.ref} image {c.image}",)
                                                                       if c is not None else ()),
                remediation=(f"Use one API group end to end: an InferencePool of {' or '.join(supported)} (and the "
                             "route's backendRef group and the EPP's --pool-group to match), or a gateway version "
                             f"that routes {b.group} pools."),
                capabilities=caps,
            )
    if bad:
        return
    if b.port is not None and pool.target_ports and b.port not in pool.target_ports:
        yield Finding(Status.WARN, f"{ref}: backendRef port {b.port} differs from InferencePool {pool.namespace}/"
                      f"{pool.name} target port(s) {', '.join(map(str, pool.target_ports))}", ref,
                      remediation="Set the backendRef port to the pool's target port (or leave it out).",
                      capabilities=())
        return
    epp = f", endpoint picker Service {pool.epp.name}" if pool.epp.name else ""
    yield Finding(Status.PASS, f"{ref} routes through InferencePool {pool.namespace}/{pool.name} ({pool.group}"
                  f"{epp}): cache-aware routing is possible", ref)


def _served(topo: Topology, group: str) -> bool:
    try:
        return bool(topo.snapshot.served_versions("InferencePool", group))
    except DataUnavailable:
        return True  # not known: do not claim it is not installed


def _service_backend(route: Route, b: Backend) -> Iterator[Finding]:
    ref = route.ref
    if b.service.unknown:
        yield Finding.unverifiable(b.service.gap, f"{ref} points at Service {b.namespace}/{b.name}, which could not "
                                   "be looked up", ref)
        return
    if b.service.missing:
        yield Finding(Status.FAIL, f"{ref} points at Service {b.namespace}/{b.name}, which does not exist",
                      ref, capabilities=route.capabilities, remediation="Create the Service or fix the backendRef.")
        return
    behind = b.pool_behind
    if behind.unknown:
        yield Finding.unverifiable(behind.gap, f"{ref} points at Service {b.namespace}/{b.name}; whether an "
                                   "InferencePool selects its pods could not be checked", ref)
        return
    pool = behind.target
    if pool is None:
        yield Finding(Status.PASS, f"{ref} points at Service {b.namespace}/{b.name} (no InferencePool selects its "
                      "pods)", ref)
        return
    yield Finding(
        Status.WARN,
        f"{ref} sends traffic straight to Service {b.namespace}/{b.name}, bypassing InferencePool "
        f"{pool.namespace}/{pool.name} and its endpoint picker: {', '.join(EPP_CAPABILITIES)} are lost (requests "
        "are load-balanced without looking at the model servers)",
        ref,
        (f"backendRef: {b.text}", f"InferencePool {pool.ref} ({pool.group}) selects the same pods"),
        remediation=(f"Change the backendRef to `group: {pool.group}, kind: InferencePool, name: {pool.name}"
                     + (f", port: {pool.target_ports[0]}" if pool.target_ports else "")
                     + "` (and make sure the gateway supports the pool: gateway.implementation)."),
        capabilities=EPP_CAPABILITIES,
    )
