"""httproute.status: each parent of each llm-d HTTPRoute reports Accepted and ResolvedRefs, with the
cause reasoned out when it does not (_route_cause)."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.kinds import (
    CONFIGMAP,
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POD,
    POOL_KEYS,
    SERVICE,
)
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Route, topology

from .._lib.conditions import stale
from . import _route_cause


@check(
    "httproute.status",
    title="HTTPRoute status",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(HTTPROUTE, GATEWAY_KEY, GATEWAY_CLASS, SERVICE, POD, DEPLOYMENT, CONFIGMAP, *POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    explains=("inferencepool.status", "e2e.chat-completion", "e2e.models", "e2e.routing"),
    why="A route its Gateway did not accept, or whose backends did not resolve, carries no request: the "
        "condition's reason is usually the whole diagnosis.",
    remediation="`kubectl describe httproute -n <ns> <name>`; the cause named above says what to change.",
)
def httproute_status(ctx: CheckContext) -> Iterator[Finding]:
    """Each parent of each llm-d HTTPRoute: Accepted and ResolvedRefs, with the cause when they are not."""
    topo = topology(ctx.snapshot)
    routes = topo.llmd_routes
    if not routes:
        total = len(topo.routes.require())
        yield Finding(Status.SKIP, "no HTTPRoute points at an InferencePool or an llm-d model-server Service"
                      + (f" ({total} other route(s) not checked)" if total else ""))
        return
    for route in routes:
        yield from _judge(ctx.snapshot, route)


def _judge(snap: Snapshot, route: Route) -> Iterator[Finding]:
    ref, caps = route.ref, route.capabilities
    wanted = list(dict.fromkeys(p.key for p in route.parents))
    gateways = {p.key: p.gateway.target for p in route.parents}
    if not route.status_parents:
        classes = [f"{g.ref} class {g.class_name}" for g in gateways.values() if g is not None]
        yield Finding(Status.WARN, f"{ref} has no status: no controller has processed it (is the parent "
                      "Gateway's controller running, and does the Gateway exist?)", ref,
                      (f"parentRefs: {', '.join(f'{a}/{b}' for a, b in wanted) or 'none'}", *classes),
                      capabilities=caps)
        return
    seen: set[tuple[str, str]] = set()
    ok = True
    for p in route.status_parents:
        pr = p.get("parentRef") or {}
        pkey = (str(pr.get("namespace") or route.namespace), str(pr.get("name", "")))
        seen.add(pkey)
        who = f"parent Gateway {pkey[0]}/{pkey[1]} ({p.get('controllerName', 'unknown controller')})"
        conds = p.get("conditions") or []
        acc, res = k8s.condition({}, "Accepted", conds), k8s.condition({}, "ResolvedRefs", conds)
        evidence = [who, k8s.cond_text(acc, "Accepted"), k8s.cond_text(res, "ResolvedRefs")]
        bad = next((c for c in (acc, res) if c is not None and c.get("status") == "False"), None)
        if bad is not None:
            ok = False
            cause, fix, extra = _route_cause.cause(snap, route, bad, gateways.get(pkey))
            yield Finding(Status.FAIL, f"{ref}: {k8s.cond_text(bad, str(bad.get('type')))} from {who}: {cause}",
                          ref, tuple(evidence + extra), remediation=fix, capabilities=caps)
            continue
        pending = [c for c in (acc, res) if c is None or c.get("status") != "True"]
        if pending:
            ok = False
            yield Finding(Status.WARN, f"{ref}: {who} has not resolved the route yet "
                          f"({'; '.join(k8s.cond_text(c, t) for c, t in ((acc, 'Accepted'), (res, 'ResolvedRefs')))})",
                          ref, tuple(evidence), capabilities=caps)
            continue
        partial = k8s.condition({}, "PartiallyInvalid", conds)
        if partial is not None and partial.get("status") == "True":
            ok = False
            yield Finding(Status.WARN, f"{ref}: some rules are invalid ({k8s.cond_text(partial, 'PartiallyInvalid')})",
                          ref, tuple(evidence), capabilities=caps)
        if old := stale(route.obj, conds):
            ok = False
            yield Finding(Status.WARN, f"{ref}: status from {who} is stale ({', '.join(old)} observedGeneration "
                          f"older than generation {k8s.meta(route.obj).get('generation')}): the controller has not "
                          "processed the latest spec", ref, tuple(evidence), capabilities=(),
                          remediation="Check that the gateway controller is running and reconciling routes.")
    for pkey in wanted:
        if pkey not in seen:
            ok = False
            yield Finding(Status.WARN, f"{ref}: parent Gateway {pkey[0]}/{pkey[1]} has not processed the route "
                          "(no status entry for it)", ref, capabilities=caps)
    if ok:
        names = ", ".join(f"{a}/{b}" for a, b in sorted(seen))
        yield Finding(Status.PASS, f"{ref} is Accepted with all references resolved by {names}", ref)
