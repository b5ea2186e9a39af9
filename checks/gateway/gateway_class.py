"""gateway.class: the GatewayClass each llm-d Gateway uses exists and is Accepted by its controller."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.gateways import for_controller
from llmd_doctor.kinds import GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, POD, POOL_KEYS, SERVICE
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, CheckContext, Finding, Severity, Status, obj_ref
from llmd_doctor.registry import check
from llmd_doctor.topology import topology

from .._lib.conditions import stale


@check(
    "gateway.class",
    title="GatewayClass",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, SERVICE, POD, *POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    explains=("gateway.programmed", "gateway.implementation", "httproute.status", "inferencepool.status",
              "e2e.chat-completion", "e2e.models"),
    why="A Gateway is only programmed by the controller that owns its GatewayClass: a missing or "
        "rejected class means nothing serves the Gateway's address.",
    remediation=(
        "Install the gateway implementation whose controller owns the class (Istio, kgateway, agentgateway, GKE), "
        "or set the Gateway's spec.gatewayClassName to a class that exists: `kubectl get gatewayclass`."
    ),
)
def gateway_class_check(ctx: CheckContext) -> Iterator[Finding]:
    """The GatewayClass each (llm-d) Gateway uses exists and is Accepted=True by its controller."""
    snap = ctx.snapshot
    topo = topology(snap)
    gws, ignored = topo.llmd_gateways
    if not gws:
        gws.require()
        yield Finding(Status.SKIP, "no Gateway found")
        return
    classes = {k8s.name(c): c for c in snap.list(GATEWAY_CLASS)}
    users: dict[str, list[str]] = {}
    for g in gws:
        users.setdefault(g.class_name, []).append(g.ref)
        if g.class_name not in classes:
            yield Finding(
                Status.FAIL,
                f"{g.ref} uses GatewayClass {g.class_name!r}, which does not exist: no controller will program it",
                g.ref, (f"GatewayClasses: {', '.join(sorted(classes)) or 'none'}",),
            )
    tail = f" ({ignored} Gateway(s) that no llm-d route uses not checked)" if ignored else ""
    for cname, used_by in users.items():
        cls = classes.get(cname)
        if cls is None:
            continue
        ref = obj_ref(cls)
        controller = str((cls.get("spec") or {}).get("controllerName", ""))
        impl = for_controller(controller)
        who = f"controller {controller}" + (f" ({impl.name})" if impl else ", an implementation llmd-doctor does not know")
        acc = k8s.condition(cls, "Accepted")
        evidence = (k8s.cond_text(acc, "Accepted"), f"used by {', '.join(used_by)}")
        if acc is None or acc.get("status") != "True":
            why = "no controller has accepted it (is the controller running?)" if acc is None or \
                acc.get("status") == "Unknown" else "its controller rejected it"
            yield Finding(Status.FAIL, f"{ref} ({who}) is not Accepted: {why}", ref, evidence)
        elif stale(cls, [acc]):
            yield Finding(Status.WARN, f"{ref} is Accepted but the status is stale (observedGeneration "
                          f"{acc.get('observedGeneration')} < generation {k8s.meta(cls).get('generation')})",
                          ref, evidence, remediation="Check that the controller is running and reconciling.",
                          capabilities=())
        else:
            yield Finding(Status.PASS, f"{ref} ({who}) is Accepted{tail}", ref, evidence)
