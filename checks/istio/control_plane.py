"""istio.control-plane: istiod found (any namespace read) and available; the Istio version from its image tag."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.gateways import by_name
from llmd_doctor.kinds import DEPLOYMENT, GATEWAY_CLASS, GATEWAY_KEY, POD
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import topology

from .._lib.workloads import availability

ISTIO = "istio"


@check(
    "istio.control-plane",
    title="Istio control plane",
    area="istio",
    severity=Severity.CRITICAL,
    inputs=(DEPLOYMENT, POD, GATEWAY_KEY, GATEWAY_CLASS),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    explains=("istio.inference-extension", "istio.epp-destination-rule", "gateway.programmed",
              "gateway.implementation", "httproute.status", "inferencepool.status"),
    why="Istio Gateways are programmed by istiod: without it no route, pool or endpoint picker is wired "
        "into the gateway's proxy.",
    remediation=(
        "Install or repair istiod (`kubectl -n istio-system get deploy,pods -l app=istiod`, "
        "`kubectl -n istio-system logs deploy/istiod`); Istio Gateways are programmed by istiod."
    ),
)
def control_plane(ctx: CheckContext) -> Iterator[Finding]:
    """istiod found (any namespace) and available; the Istio version from its image tag."""
    snap = ctx.snapshot
    topo = topology(snap)
    found = topo.controllers.get(ISTIO, [])
    gateways = topo.gateways if found else topo.gateways.require()
    istio_gws = [g for g in gateways if g.implementation is not None and g.implementation.name == ISTIO]
    if not found:
        if not istio_gws:
            names = sorted({g.label for g in gateways})
            yield Finding(Status.SKIP, f"no Istio control plane; gateway is {', '.join(names) or 'none'}")
            return
        users = ", ".join(f"{g.ref} (class {g.class_name})" for g in istio_gws)
        scope = snap.namespaces
        homes = (by_name(ISTIO).facts.get("controller") or {}).get("namespaces") or []  # type: ignore[union-attr]
        if scope is not None and not any(ns in scope for ns in homes):
            yield Finding(Status.WARN, f"{users} uses an Istio class, but istiod is not in the namespaces read "
                          f"({', '.join(scope)})", evidence=(f"read namespaces: {', '.join(scope)}",),
                          remediation="Run again including istiod's namespace (e.g. `-n istio-system`).",
                          capabilities=())
            return
        yield Finding(Status.FAIL, f"{users} uses an Istio class, but no istiod Deployment exists: nothing programs "
                      "the gateway", istio_gws[0].ref,
                      (f"Deployments read in {', '.join(scope) if scope else 'all namespaces'}",))
        return
    served = {id(g.controller.target): g.ref for g in istio_gws if g.controller.found}
    for c in found:
        ok, text = availability(snap, c.workload)
        evidence = (f"image {c.image}", text)
        if ok:
            yield Finding(Status.PASS, f"{c.ref} available ({text.split(',')[0]}), Istio {c.label}", c.ref, evidence)
        elif id(c) in served:
            yield Finding(Status.FAIL, f"{c.ref} is not available ({text}); it programs {served[id(c)]}", c.ref,
                          evidence)
        else:
            yield Finding(Status.WARN, f"{c.ref} is not available ({text}); no llm-d Gateway depends on it", c.ref,
                          evidence, capabilities=())
