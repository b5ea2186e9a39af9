"""gateway.implementation: what each llm-d Gateway's implementation needs, asked through its plugin —
its controller runs, its InferencePool switch is on, its parametersRef resolves, its data plane exists
and is Ready, its release routes the pool API group the routes use, and the policies it needs target each
pool (_policies); a controller or data-plane pod that crash-loops is explained from its logs (the
implementation's log signatures, else the root error)."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.kinds import (
    CONFIGMAP,
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HEALTH_CHECK_POLICY,
    HTTPROUTE,
    POD,
    POOL_KEYS,
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
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Gateway, topology

from . import _logs, _policies
from ._switch import switch_config

PARAMS_KINDS = {("", "ConfigMap"): CONFIGMAP, ("gateway.kgateway.dev", "GatewayParameters"):
                "GatewayParameters.gateway.kgateway.dev"}
CAPS = (GATEWAY_ROUTING, OPENAI_API)


@check(
    "gateway.implementation",
    title="Gateway implementation",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(GATEWAY_KEY, GATEWAY_CLASS, HTTPROUTE, DEPLOYMENT, SERVICE, POD, CONFIGMAP, *POOL_KEYS,
            "GatewayParameters.gateway.kgateway.dev", HEALTH_CHECK_POLICY),
    requires=("gateway.class",),
    capabilities=(*CAPS, *EPP_CAPABILITIES),
    logs=_logs.log_requests,
    explains=("gateway.programmed", "httproute.status", "httproute.backends", "inferencepool.status",
              "e2e.chat-completion", "e2e.models", "e2e.routing"),
    why="Each gateway implementation has its own requirements for InferencePool routing: a control plane, "
        "a switch that turns InferencePool backends on, parameters, a proxy per Gateway, and a release that "
        "routes the pool API group in use.",
    remediation="Fix what the finding names in the gateway implementation (see its install guide).",
)
def gateway_implementation(ctx: CheckContext) -> Iterator[Finding]:
    """For every llm-d Gateway: controller present, inference-extension switch on, parametersRef resolves,
    data plane present and Ready, and its version routes the pool group its routes use; crash-looping
    controller and data-plane pods explained from their logs."""
    gws, _ = topology(ctx.snapshot).llmd_gateways
    if not gws:
        gws.require()
        yield Finding(Status.SKIP, "no Gateway found")
        return
    seen: set[str] = set()  # pods explained already (a controller serves many Gateways)
    for g in gws:
        yield from _judge(ctx.snapshot, g, seen)


def _judge(snap: Snapshot, g: Gateway, seen: set[str]) -> Iterator[Finding]:
    impl = g.implementation
    if impl is None:
        if g.gateway_class.unknown:
            yield Finding.unverifiable(g.gateway_class.gap, f"{g.ref}: its GatewayClass could not be read", g.ref)
        else:
            yield Finding(Status.SKIP, f"{g.ref}: {g.label} is not an implementation llmd-doctor knows", g.ref)
        return
    pool_routes = [r for r in g.routes if r.pool_backends]
    groups = sorted({b.group for r in pool_routes for b in r.pool_backends if b.is_pool_group})
    facts: list[str] = []
    problems = 0
    ctl = g.controller
    if ctl.unknown:
        yield Finding.unverifiable(ctl.gap, f"{g.ref}: the {impl.title} controller could not be looked up", g.ref)
        problems += 1
    elif ctl.missing and not impl.managed:
        problems += 1
        yield Finding(Status.FAIL, f"{g.ref} uses {impl.title} (class {g.class_name}), but no {impl.title} controller "
                      "runs in the namespaces read: nothing programs the Gateway", g.ref,
                      remediation=f"Install {impl.title}'s controller (or run llmd-doctor on the namespace it runs in).")
    c = ctl.target
    if c is not None:
        facts.append(f"controller {c.ref} ({c.label})")
        if pool_routes:
            switch = impl.switch(c, switch_config(snap, impl))
            if switch.state == "off":
                problems += 1
                what = switch.text if switch.name else f"{' / '.join(switch.names)} not set"
                if switch.ignored:
                    what += f"; {', '.join(switch.ignored)} is set, but this release does not read that name"
                yield Finding(Status.FAIL, f"{c.ref} ({impl.title} {c.label}) does not turn InferencePool support on "
                              f"({what}): {g.ref}'s routes to InferencePools fail", c.ref,
                              (f"{impl.title} reads {' / '.join(switch.names)} ({switch.source})",),
                              remediation=f"Turn it on: {switch.enable}.", capabilities=(*CAPS, *EPP_CAPABILITIES))
            elif switch.state == "unknown":
                problems += 1
                yield Finding(Status.WARN, f"{c.ref} sets {switch.name} from a reference: whether InferencePool "
                              "support is on could not be read", c.ref, capabilities=())
            elif switch.state == "on":
                facts.append(switch.text)
            supported, source = impl.pool_groups(c)
            wrong = [x for x in groups if supported is not None and x not in supported]
            if wrong:
                problems += 1
                yield Finding(Status.FAIL, f"{g.ref} runs {impl.title} {c.label}, which routes only "
                              f"{', '.join(supported or ())} InferencePools, but its routes use {', '.join(wrong)}",
                              g.ref, (f"compat: {source}",), capabilities=(*CAPS, *EPP_CAPABILITIES),
                              remediation=f"Use one pool API group {impl.title} {c.label} routes, or another release.")
    problems += yield from _parameters(snap, g, impl.parameters_kinds(), facts)
    problems += yield from _data_plane(g, facts)
    problems += yield from _policies.judge(snap, g, facts)
    for f in _logs.crash_findings(snap, g, impl, seen, (*CAPS, *EPP_CAPABILITIES)):
        problems += 1
        yield f
    if not problems:
        managed = " (managed: its controller and data plane run outside the cluster)" if impl.managed else ""
        yield Finding(Status.PASS, f"{g.ref}: {impl.title}{managed}" + (f"; {'; '.join(facts)}" if facts else "")
                      + (f"; routes {', '.join(groups)} InferencePools" if groups else ""), g.ref)


def _parameters(snap: Snapshot, g: Gateway, allowed: list[dict], facts: list[str]) -> Iterator[Finding]:
    ref = g.parameters_ref
    if not ref:
        return 0
    group, kind, name = str(ref.get("group") or ""), str(ref.get("kind") or ""), str(ref.get("name") or "")
    text = f"{group + '/' if group else ''}{kind} {g.namespace}/{name}"
    if allowed and not any(str(a.get("group") or "") == group and a.get("kind") == kind for a in allowed):
        kinds = ", ".join(f"{a.get('group') + '/' if a.get('group') else ''}{a.get('kind')}" for a in allowed)
        yield Finding(Status.FAIL, f"{g.ref}: spec.infrastructure.parametersRef names a {text}, but "
                      f"{g.implementation.title} takes {kinds}", g.ref, capabilities=CAPS,  # type: ignore[union-attr]
                      remediation=f"Point parametersRef at a {kinds}.")
        return 1
    key = PARAMS_KINDS.get((group, kind))
    if key is None:
        facts.append(f"parametersRef {text} (kind not read)")
        return 0
    gap = snap.gap(key, g.namespace)
    if gap is not None:
        yield Finding.unverifiable(gap, f"{g.ref}: parametersRef {text} could not be looked up", g.ref)
        return 1
    if snap.get(key, g.namespace, name) is None:
        dp = g.data_plane
        if dp is not None and dp.deployment.found:  # built anyway: what the parameters set is silently lost
            yield Finding(Status.WARN, f"{g.ref}: spec.infrastructure.parametersRef names {text}, which does not "
                          "exist: the controller ignored it and built the proxy with its defaults, so what those "
                          "parameters were to set (image, resources, Service type) is not applied", g.ref,
                          (f"data plane Deployment/{dp.spec.namespace}/{k8s.name(dp.deployment.target or {})} exists",),
                          capabilities=(), remediation=f"Create {text}, or fix or remove the Gateway's parametersRef.")
        else:
            yield Finding(Status.FAIL, f"{g.ref}: spec.infrastructure.parametersRef names {text}, which does not "
                          "exist: the controller cannot build the Gateway's proxy", g.ref, capabilities=CAPS,
                          remediation=f"Create {text}, or fix the Gateway's parametersRef.")
        return 1
    facts.append(f"parametersRef {text}")
    return 0


def _data_plane(g: Gateway, facts: list[str]) -> Iterator[Finding]:
    dp = g.data_plane
    if dp is None or dp.spec.managed:
        return 0
    if dp.deployment.unknown:
        yield Finding.unverifiable(dp.deployment.gap, f"{g.ref}: its data plane could not be looked up", g.ref)
        return 1
    if dp.deployment.missing:
        where = dp.spec.deployment or ", ".join(f"{a}={b}" for a, b in dp.spec.labels.items())
        yield Finding(Status.FAIL, f"{g.ref}: the {g.implementation.title} controller has created no data-plane "  # type: ignore[union-attr]
                      f"Deployment for it ({where} in {dp.spec.namespace}): nothing serves its address", g.ref,
                      (f"data plane naming: {dp.spec.source}",), capabilities=CAPS,
                      remediation="Read the gateway controller's logs for why it did not create the proxy.")
        return 1
    dep = dp.deployment.target
    dref = f"Deployment/{k8s.namespace(dep)}/{k8s.name(dep)}"
    if dp.pods.gaps:
        yield Finding.unverifiable(dp.pods.gaps[0], f"{g.ref}: the pods of its data plane {dref} could not be read",
                                   g.ref)
        return 1
    if not dp.ready:
        states = [f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in dp.pods] or ["no pods"]
        yield Finding(Status.FAIL, f"{g.ref}: its data plane {dref} has no Ready pod: the Gateway's address "
                      "answers nothing", dref, tuple(states), capabilities=CAPS,
                      remediation=f"`kubectl describe pods -n {k8s.namespace(dep)}` for the proxy pods of {dref}.")
        return 1
    facts.append(f"data plane {dref} Ready ({sum(1 for p in dp.pods if k8s.pod_ready(p))}/{len(dp.pods)})")
    return 0
