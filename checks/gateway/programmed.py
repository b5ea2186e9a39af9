"""gateway.programmed: each llm-d Gateway is Accepted and Programmed, its listeners healthy with
routes attached, and it has an address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, POD, POOL_KEYS, SERVICE
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Gateway, topology

from .._lib.conditions import stale

Obj = dict[str, Any]
_EXPOSE = (
    "Expose the Gateway: the controller creates a Service for it; with no load-balancer in the cluster use "
    "`kubectl port-forward -n {ns} svc/<gateway-service> 8000:80`, give an Istio Gateway the annotation "
    "`networking.istio.io/service-type: ClusterIP` (in-cluster address), or install a load-balancer (MetalLB, "
    "cloud LB) so the Service gets an external address."
)
_PROGRAMMED_HINTS = {
    "AddressNotAssigned": "no address was assigned (a LoadBalancer Service still pending?)",
    "AddressNotUsable": "the requested address cannot be used",
    "NoResources": "the controller could not create the gateway's proxy resources",
    "Invalid": "the Gateway spec is invalid for this controller",
    "Pending": "the controller has not programmed it yet",
}


def _listeners(gw: Obj) -> tuple[list[str], list[str], int]:
    """(bad listener texts, all listener texts, attached routes)."""
    by_name = {str(ls.get("name")): ls for ls in (gw.get("status") or {}).get("listeners") or []}
    bad, texts, attached = [], [], 0
    for spec_l in (gw.get("spec") or {}).get("listeners") or []:
        desc = f"listener {spec_l.get('name')} ({spec_l.get('protocol', '?')}:{spec_l.get('port', '?')})"
        ls = by_name.get(str(spec_l.get("name")))
        if ls is None:
            bad.append(f"{desc}: no status")
            continue
        n = int(ls.get("attachedRoutes") or 0)
        attached += n
        problems = [k8s.cond_text(c, str(c.get("type"))) for c in ls.get("conditions") or [] if (
            (c.get("type") in ("Accepted", "Programmed", "ResolvedRefs") and c.get("status") != "True")
            or (c.get("type") == "Conflicted" and c.get("status") == "True"))]
        texts.append(f"{desc}: {n} attached route(s)" + (f"; {'; '.join(problems)}" if problems else ""))
        if problems:
            bad.append(f"{desc}: {'; '.join(problems)}")
    return bad, texts, attached


@check(
    "gateway.programmed",
    title="Gateway accepted and programmed",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, SERVICE, POD, DEPLOYMENT, *POOL_KEYS),
    requires=("gateway.class",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    explains=("httproute.status", "e2e.chat-completion", "e2e.models"),
    why="Until its controller programs it, a Gateway has no proxy and no address: no request reaches llm-d.",
    remediation=(
        "`kubectl describe gateway -n <ns> <name>` and read the controller's logs (istiod, kgateway); the "
        "condition's reason and message above say what it could not do."
    ),
)
def gateway_programmed(ctx: CheckContext) -> Iterator[Finding]:
    """Gateway Accepted=True and Programmed=True; listeners healthy with attached routes; an address."""
    gws, _ = topology(ctx.snapshot).llmd_gateways
    if not gws:
        gws.require()
        yield Finding(Status.SKIP, "no Gateway found")
        return
    for g in gws:
        yield from _judge(g)


def _judge(g: Gateway) -> Iterator[Finding]:
    gw, ref, ns = g.obj, g.ref, g.namespace
    conds = (gw.get("status") or {}).get("conditions") or []
    acc, prog = k8s.condition(gw, "Accepted"), k8s.condition(gw, "Programmed")
    bad_listeners, listener_texts, attached = _listeners(gw)
    evidence = (k8s.cond_text(acc, "Accepted"), k8s.cond_text(prog, "Programmed"),
                f"addresses: {', '.join(g.addresses) or 'none'}", *listener_texts, f"implementation: {g.label}")
    if acc is None and prog is None:
        yield Finding(Status.WARN, f"{ref} has no status conditions: no {g.label} controller has processed it",
                      ref, evidence)
        return
    if acc is None or acc.get("status") != "True":
        yield Finding(Status.FAIL, f"{ref} is not Accepted ({k8s.cond_text(acc, 'Accepted')})", ref, evidence)
        return
    if prog is None or prog.get("status") != "True":
        reason = str((prog or {}).get("reason") or "")
        hint = _PROGRAMMED_HINTS.get(reason, "the controller could not program the data plane")
        yield Finding(Status.FAIL, f"{ref} is not Programmed: {hint} ({k8s.cond_text(prog, 'Programmed')})",
                      ref, evidence, remediation=_EXPOSE.format(ns=ns) if reason.startswith("Address") else None)
        return
    listeners = (gw.get("spec") or {}).get("listeners") or []
    if bad_listeners:
        status = Status.FAIL if len(bad_listeners) >= len(listeners) else Status.WARN
        yield Finding(status, f"{ref}: {'; '.join(bad_listeners)}", ref, evidence,
                      capabilities=None if status == Status.FAIL else ())
        return
    warned = False
    if old := stale(gw, conds):
        warned = True
        yield Finding(Status.WARN, f"{ref}: status is stale ({', '.join(old)} observedGeneration older than "
                      f"generation {k8s.meta(gw).get('generation')}): the controller has not processed the "
                      "latest spec", ref, evidence, remediation="Check that the gateway controller is running.",
                      capabilities=())
    if attached == 0:
        warned = True
        yield Finding(Status.WARN, f"{ref} is Programmed but no route is attached to any listener", ref, evidence,
                      remediation="Create an HTTPRoute whose parentRefs names this Gateway (and a listener "
                      "whose allowedRoutes admits the route's namespace).", capabilities=())
    if not g.addresses:
        warned = True
        yield Finding(Status.WARN, f"{ref} is Programmed but has no address: clients cannot reach it", ref,
                      evidence, remediation=_EXPOSE.format(ns=ns), capabilities=())
    if not warned:
        yield Finding(Status.PASS, f"{ref} is Accepted and Programmed ({g.label}), address "
                      f"{', '.join(g.addresses)}, {attached} attached route(s)", ref, evidence)
