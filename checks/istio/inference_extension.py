"""istio.inference-extension: when an Istio Gateway routes to an InferencePool, istiod has the
inference-extension switch on and its version routes the pool's API group."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, POD, POOL_KEYS, SERVICE
from llmd_doctor.model import EPP_CAPABILITIES, GATEWAY_ROUTING, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Gateway, Route, topology

ISTIO = "istio"


def _route_evidence(routes: list[Route]) -> list[str]:
    return [f"{r.ref}: {k8s.cond_text(c, str(c.get('type')))}"
            for r in routes for p in r.status_parents for c in p.get("conditions") or [] if c.get("status") != "True"]


@check(
    "istio.inference-extension",
    title="Istio inference extension",
    area="istio",
    severity=Severity.MAJOR,
    inputs=(DEPLOYMENT, GATEWAY_KEY, GATEWAY_CLASS, HTTPROUTE, SERVICE, POD, *POOL_KEYS),
    requires=("istio.control-plane",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
    explains=("httproute.status", "inferencepool.status", "httproute.backends", "gateway.implementation",
              "e2e.chat-completion", "e2e.routing"),
    why="Istio ignores InferencePool backends unless istiod's inference-extension switch is on, and each "
        "Istio release routes one InferencePool API group only.",
    remediation=(
        "Enable the inference extension in istiod: `--set pilot.env.ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true` "
        "(Istio 1.27.0 reads SUPPORT_GATEWAY_API_INFERENCE_EXTENSION; set both), and use the InferencePool API group "
        "your Istio routes: inference.networking.x-k8s.io on 1.27, inference.networking.k8s.io on 1.28+."
    ),
)
def inference_extension(ctx: CheckContext) -> Iterator[Finding]:
    """When an Istio Gateway routes to an InferencePool: istiod has the inference-extension env switch and
    its version routes the pool's API group; the shadow Service `<pool>-ip-<hash>` as evidence."""
    snap = ctx.snapshot
    topo = topology(snap)
    def services(namespace: str) -> list[dict]:
        return snap.list(SERVICE, namespace) if snap.gap(SERVICE, namespace) is None else []

    checked = False
    for g in topo.gateways.require():
        if g.implementation is None or g.implementation.name != ISTIO:
            continue
        routes = [r for r in g.routes if r.pool_backends]
        controller = g.controller.target
        if not routes or controller is None:
            continue
        checked = True
        yield _judge(g, routes, services)
    if not checked:
        yield Finding(Status.SKIP, "no Istio Gateway routes to an InferencePool")


def _judge(g: Gateway, routes: list[Route], services: Callable[[str], list[dict]]) -> Finding:
    impl, c = g.implementation, g.controller.target
    assert impl is not None and c is not None
    pairs = [(r, b) for r in routes for b in r.pool_backends]
    groups = sorted({b.group for _, b in pairs})
    shadows = [o for _, b in pairs for o in impl.pool_objects(b.namespace, b.name, services(b.namespace))]
    version = c.version_text or "of unknown version"
    base_ev = [f"{c.ref} image {c.image}", *(f"{r.ref} -> {b.text}" for r, b in pairs)]
    route_ev = _route_evidence(routes)
    switch = impl.switch(c)
    if switch.state == "off":
        what = switch.text if switch.name else f"{' nor '.join(switch.names)} is not set" if len(switch.names) == 1 \
            else f"neither {' nor '.join(switch.names)} is set"
        if switch.ignored:
            what += f"; {', '.join(switch.ignored)} is set, but Istio {version} does not read that name"
        return Finding(
            Status.FAIL,
            f"{c.ref} (Istio {version}) does not enable the Gateway API Inference Extension ({what}): Istio "
            f"ignores InferencePool backends, so {g.ref}'s routes to pools fail",
            c.ref,
            tuple(base_ev + route_ev + [f"Istio {version} reads {' / '.join(switch.names)} ({switch.source})",
                                        "no shadow Service <pool>-ip-<hash>: istiod has not reconciled the pool"
                                        if not shadows else f"shadow {', '.join(shadows)}"]),
            remediation=f"Turn the inference extension on in istiod ({switch.enable}) and let istiod restart.",
        )
    if switch.state == "unknown":
        return Finding(Status.WARN, f"{c.ref} sets {switch.name} from a reference (valueFrom); whether the inference "
                       "extension is on could not be read", c.ref, tuple(base_ev + route_ev), capabilities=())
    supported, source = impl.pool_groups(c)
    wrong = [grp for grp in groups if supported is not None and grp not in supported]
    if supported is not None and wrong:
        return Finding(
            Status.FAIL,
            f"{g.ref} runs Istio {version}, which routes only {', '.join(supported)} InferencePools, but its "
            f"routes use {', '.join(wrong)}: the routes get ResolvedRefs=False (InvalidKind)",
            g.ref, tuple(base_ev + route_ev + [f"compat: {source}"]),
            remediation=(f"Use {' or '.join(supported)} InferencePools with Istio {version} (the pool, the "
                         "route's backendRef group and the EPP's --pool-group), or change the Istio version "
                         "(1.27 for inference.networking.x-k8s.io, 1.28+ for inference.networking.k8s.io)."),
        )
    note = "" if supported is not None else \
        f"; Istio {version} is a pre-release or unknown build, so its pool API group support was not checked"
    shadow = f"; shadow {', '.join(shadows)}" if shadows else "; no shadow Service <pool>-ip-<hash> seen"
    return Finding(Status.PASS, f"{c.ref} (Istio {version}) has {switch.text} and routes {', '.join(groups)} "
                   f"InferencePools for {g.ref}{shadow}{note}", c.ref, tuple(base_ev))
