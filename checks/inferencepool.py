"""InferencePools (both API generations) and the objects around them: who routes to a pool, its
endpoint picker Service and Deployment, the model-server pods it selects, and the
InferenceModels / InferenceObjectives that refer to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmd_doctor.kinds import INFERENCE, LLMD, X_INFERENCE
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, NotCollected, Snapshot

from . import _k8s as k
from . import _llmd
from .rbac import epp_pool_namespace, epp_profile, needs

Obj = dict[str, Any]

POOL_CAPS = (CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING, GATEWAY_ROUTING)
INFERENCE_MODEL = f"InferenceModel.{X_INFERENCE}"
OBJECTIVE_X = f"InferenceObjective.{X_INFERENCE}"
OBJECTIVE_LLMD = f"InferenceObjective.{LLMD}"
# poolRef.group defaults, from the CRDs (gie-v0.5.1 inferencemodels, gie-v1.0.0 inferenceobjectives,
# llm-d-router-v0.10.0 llm-d.ai_inferenceobjectives).
POOLREF_GROUP_DEFAULT = {INFERENCE_MODEL: X_INFERENCE, OBJECTIVE_X: INFERENCE, OBJECTIVE_LLMD: INFERENCE}
EPP_GRPC_PORT = 9002  # ext-proc gRPC default of every EPP release (llm-d-facts.md §0.6, §2.4)
VLLM_DEFAULT_PORT = 8000
# The pool selector label was renamed (llm-d-facts.md §0.7, §4): modelservice <= v0.4.0 / llm-d <= v0.4
# used the camelCase key, modelservice >= v0.4.5 / llm-d v0.5 the hyphenated one.
SPELLINGS = {"llm-d.ai/inferenceServing": "llm-d.ai/inference-serving",
             "llm-d.ai/inference-serving": "llm-d.ai/inferenceServing"}


# ---- shared readers --------------------------------------------------------------------------


def _kind_state(snap: Snapshot, key: str) -> str:
    """"collected", "absent" (CRD not installed: none exist) or "unknown"."""
    if key in snap.errors:
        raise snap.errors[key]
    if snap.has_collected(key):
        return "collected"
    kind, _, group = key.partition(".")
    try:
        return "absent" if not snap.served_versions(kind, group) else "unknown"
    except DataUnavailable:
        return "unknown"


def all_pools(snap: Snapshot) -> list[_llmd.Pool]:
    """Every pool of both generations; NotCollected when a served pool kind was not read and
    nothing else was found (never a silent "no pools")."""
    states = {key: _kind_state(snap, key) for key in _llmd.POOL_KEYS}
    pools = [_llmd.pool_from(o) for key, st in states.items() if st == "collected" for o in snap.list(key)]
    unknown = [key for key, st in states.items() if st == "unknown"]
    if unknown and not pools:
        raise NotCollected(f"{' and '.join(unknown)} objects were not collected")
    return pools


def _ref_matches(b: Obj, route: Obj, pool: _llmd.Pool, same_group: bool = True) -> bool:
    if b.get("kind") != "InferencePool" or b.get("name") != pool.name:
        return False
    if (b.get("namespace") or k.namespace(route)) != pool.namespace:
        return False
    return (b.get("group") == pool.group) == same_group


def routes_of(snap: Snapshot, pool: _llmd.Pool, same_group: bool = True) -> list[Obj] | None:
    """HTTPRoutes with a backendRef to this pool (its group, or with `same_group=False` the other
    group: a reference that resolves to no pool). None when HTTPRoutes were not collected."""
    index = _llmd.pool_refs(snap)
    if index is None:
        return None
    return [r for r in index.get((pool.namespace, pool.name), [])
            if any(_ref_matches(b, r, pool, same_group) for b in _llmd.route_backends(r))]


def lost_for_pool(snap: Snapshot, pool: _llmd.Pool, epp_path: bool = True) -> tuple[str, ...]:
    """What a broken pool takes away: the EPP's features, and gateway routing when a route sends
    traffic to it (for EPP-path failures only when the pool fails closed)."""
    routed = bool(routes_of(snap, pool))
    if routed and not (epp_path and pool.epp_failure_mode == "FailOpen"):
        return POOL_CAPS
    return EPP_CAPABILITIES


def _parent_name(parent: Obj) -> str:
    ref = parent.get("parentRef") or {}
    ns = ref.get("namespace")
    return f"{ref.get('kind') or 'Gateway'} {ns + '/' if ns else ''}{ref.get('name', '?')}"


def _selector_text(pool: _llmd.Pool) -> str:
    return k.selector_text(pool.selector) or "<empty>"


def _pool_epps(snap: Snapshot, pool: _llmd.Pool) -> list[_llmd.Epp]:
    """EPP Deployments whose flags point at this pool (name, namespace, group)."""
    try:
        epps = _llmd.epps(snap)
    except DataUnavailable:
        return []
    out = []
    for e in epps:
        if e.pool_name == pool.name and epp_pool_namespace(e)[0] == pool.namespace \
                and epp_profile(e).pool_group == pool.group:
            out.append(e)
    return out


# ---- inferencepool.status ----------------------------------------------------------------------


@check(
    "inferencepool.status",
    title="InferencePool status",
    area="inference",
    severity=Severity.MAJOR,
    inputs=(*_llmd.POOL_KEYS, _llmd.HTTPROUTE, _llmd.DEPLOYMENT, "Service"),
    requires=("inference.crds",),
    capabilities=POOL_CAPS,
    remediation=(
        "Fix what the gateway's condition names (ResolvedRefs=False InvalidExtensionRef: the EPP Service in the "
        "pool's extensionRef/endpointPickerRef does not exist, see inferencepool.endpoint-picker), and route to "
        "the pool with an HTTPRoute backendRef (the pool's group, kind InferencePool, name, port = target port)."
    ),
)
def inferencepool_status(ctx: CheckContext) -> Iterator[Finding]:
    """Pools exist and are referenced by an HTTPRoute; parent conditions Accepted/ResolvedRefs
    (an empty status alone is warn: some implementations never write it)."""
    snap = ctx.snapshot
    pools = all_pools(snap)
    if not pools:
        yield from _no_pools(snap)
        return
    for pool in pools:
        routes = routes_of(snap, pool)
        other = routes_of(snap, pool, same_group=False) or []
        conds = [(p, c) for p in pool.parents for c in p.get("conditions") or [] if isinstance(c, dict)]
        bad = [(p, c) for p, c in conds if c.get("type") in ("Accepted", "ResolvedRefs") and c.get("status") == "False"]
        pending = [(p, c) for p, c in conds if c.get("status") == "Unknown"]
        unaccepted = [p for p in pool.parents if k.condition({}, "Accepted", p.get("conditions") or []) is None]
        gen = (pool.obj.get("metadata") or {}).get("generation")
        evidence = [f"{_parent_name(p)}: {k.cond_text(c, str(c.get('type')))}" for p, c in conds]
        evidence += [f"{_parent_name(p)}: observedGeneration {c.get('observedGeneration')} < generation {gen} (stale)"
                     for p, c in conds if isinstance(gen, int) and isinstance(c.get("observedGeneration"), int)
                     and c["observedGeneration"] < gen]
        route_names = ", ".join(obj_ref(r) for r in routes or [])
        if bad:
            p, c = bad[0]
            yield Finding(
                Status.FAIL,
                f"{pool.ref}: {_parent_name(p)} reports {k.cond_text(c, str(c.get('type')))}",
                pool.ref, tuple(evidence), capabilities=lost_for_pool(snap, pool),
            )
        elif routes is not None and not routes:
            evidence += [f"{obj_ref(r)} references InferencePool {pool.name} in another API group "
                         f"({_other_group(r, pool)}), which is not this pool ({pool.group})" for r in other]
            evidence += _route_bypass_evidence(snap, pool)
            if not pool.parents:
                evidence.append("status is empty (expected: no gateway has a route to the pool)")
            yield Finding(
                Status.WARN,
                f"no HTTPRoute references {pool.ref} (group {pool.group}): the endpoint picker is bypassed "
                "unless traffic reaches the pool another way",
                pool.ref, tuple(evidence), capabilities=EPP_CAPABILITIES,
                remediation=f"Send the route's traffic through the pool: backendRefs `group: {pool.group}, kind: "
                f"InferencePool, name: {pool.name}"
                + (f", port: {pool.target_ports[0]}`" if pool.target_ports else "`") + ".",
            )
        elif routes is None and not pool.parents:
            yield Finding(Status.SKIP, f"{pool.ref}: its status is empty and HTTPRoutes were not collected: cannot "
                          "tell whether a route uses it", pool.ref)
        elif not pool.parents:
            yield Finding(
                Status.WARN,
                f"{pool.ref} is referenced by {route_names or 'an HTTPRoute'} but its status is empty: no gateway "
                "controller has reported on it (some implementations never write InferencePool status)",
                pool.ref, tuple(evidence + _shadow_evidence(snap, pool)), capabilities=(),
                remediation="Check the gateway controller's logs and the HTTPRoute's status (httproute.status); "
                "on Istio the inference extension must be enabled in istiod.",
            )
        elif pending:
            p, c = pending[0]
            yield Finding(
                Status.WARN,
                f"{pool.ref}: {_parent_name(p)} reports {k.cond_text(c, str(c.get('type')))}: no controller "
                "has accepted the pool yet",
                pool.ref, tuple(evidence), capabilities=(),
            )
        elif unaccepted:
            yield Finding(
                Status.WARN,
                f"{pool.ref}: {_parent_name(unaccepted[0])} is listed as a parent without an Accepted condition",
                pool.ref, tuple(evidence), capabilities=(),
            )
        else:
            where = f"referenced by {route_names}" if routes else "HTTPRoutes not collected"
            parents = ", ".join(dict.fromkeys(_parent_name(p) for p in pool.parents))
            yield Finding(Status.PASS, f"{pool.ref} ({pool.group}): {where}; accepted by {parents}",
                          pool.ref, tuple(evidence))


def _other_group(route: Obj, pool: _llmd.Pool) -> str:
    for b in _llmd.route_backends(route):
        if _ref_matches(b, route, pool, same_group=False):
            return str(b.get("group") or "core")
    return "?"


def _route_bypass_evidence(snap: Snapshot, pool: _llmd.Pool) -> list[str]:
    """Routes in the pool's namespace that send traffic straight to a Service."""
    out = []
    for r in snap.maybe_list(_llmd.HTTPROUTE, None) or []:
        if k.namespace(r) != pool.namespace:
            continue
        for b in _llmd.route_backends(r):
            if (b.get("kind") or "Service") == "Service" and not b.get("group"):
                out.append(f"{obj_ref(r)} sends traffic to Service {b.get('name')} directly (EPP bypassed)")
    return out


def _shadow_evidence(snap: Snapshot, pool: _llmd.Pool) -> list[str]:
    """Istio creates a headless `<pool>-ip-<hash>` Service per pool it reconciled (llm-d-facts.md §4)."""
    for s in snap.maybe_list("Service") or []:
        if k.namespace(s) == pool.namespace and k.labels(s).get("istio.io/inferencepool-name") == pool.name:
            return [f"Istio shadow Service {k.name(s)} exists: istiod reconciled the pool"]
    return []


def _no_pools(snap: Snapshot) -> Iterator[Finding]:
    try:
        epps = _llmd.epps(snap)
    except DataUnavailable:
        epps = []
    configured = [e for e in epps if e.pool_name]
    if configured:
        for e in configured:
            ns, _ = epp_pool_namespace(e)
            yield Finding(
                Status.WARN,
                f"no InferencePool exists, but endpoint picker {e.ref} is configured for pool {ns}/{e.pool_name}",
                e.ref, (f"image {e.image}",), capabilities=EPP_CAPABILITIES,
                remediation=f"Create the InferencePool {ns}/{e.pool_name} (group {epp_profile(e).pool_group}) "
                "selecting the model-server pods, with extensionRef/endpointPickerRef to the EPP Service.",
            )
        return
    yield Finding(Status.SKIP, "no InferencePool objects and no endpoint picker: nothing to check")


# ---- inferencepool.endpoint-picker --------------------------------------------------------------


def _grpc_port(epp: _llmd.Epp) -> int:
    v = epp.flag("grpcPort", "grpc-port")
    return int(v) if v and v.isdigit() else EPP_GRPC_PORT


def _template_labels(d: Obj) -> dict[str, str]:
    return {str(a): str(b) for a, b in
            ((((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}).items()}


def _svc_ports(svc: Obj) -> list[Obj]:
    return [p for p in (svc.get("spec") or {}).get("ports") or [] if isinstance(p, dict)]


def _ports_text(svc: Obj) -> str:
    return ", ".join(f"{p.get('port')}" + (f" ({p['name']})" if p.get("name") else "") for p in _svc_ports(svc))


def _target_port(svc_port: Obj, container: Obj) -> int | None:
    tp = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(tp, int) or (isinstance(tp, str) and tp.isdigit()):
        return int(tp)
    for p in container.get("ports") or []:
        if isinstance(p, dict) and p.get("name") == tp:
            return int(p.get("containerPort") or 0) or None
    return None


def _service_port_to(svc: Obj, epp: _llmd.Epp, container_port: int) -> int | None:
    """The Service port that forwards to the EPP's ext-proc container port (what the pool must name)."""
    for p in _svc_ports(svc):
        if _target_port(p, epp.container) == container_port and isinstance(p.get("port"), int):
            return int(p["port"])
    return None


def _epp_services(snap: Snapshot, namespace: str, epps: list[_llmd.Epp]) -> list[tuple[Obj, _llmd.Epp]]:
    out = []
    for s in snap.list("Service", namespace):
        sel = (s.get("spec") or {}).get("selector") or {}
        for e in epps:
            if e.namespace == namespace and k.match_labels(sel, _template_labels(e.deployment)):
                out.append((s, e))
    return out


def _ref_field(pool: _llmd.Pool) -> str:
    return "spec.extensionRef" if pool.group == X_INFERENCE else "spec.endpointPickerRef"


@check(
    "inferencepool.endpoint-picker",
    title="InferencePool endpoint picker reference",
    area="inference",
    severity=Severity.CRITICAL,
    inputs=(*_llmd.POOL_KEYS, "Service", "Pod", _llmd.DEPLOYMENT, _llmd.HTTPROUTE),
    requires=("cluster.access",),
    capabilities=POOL_CAPS,
    remediation=(
        "Point the pool's extensionRef (v1: endpointPickerRef) at the EPP Service, on its ext-proc gRPC "
        "port (9002), and make sure the Service selects the EPP pods and the EPP's pool flags name this pool."
    ),
)
def inferencepool_endpoint_picker(ctx: CheckContext) -> Iterator[Finding]:
    """extensionRef/endpointPickerRef names an existing Service, with a matching port, backed by an
    EPP Deployment whose pool flags point back at the pool."""
    snap = ctx.snapshot
    pools = all_pools(snap)
    if not pools:
        yield Finding(Status.SKIP, "no InferencePool objects")
        return
    epps = _llmd.epps(snap)
    for pool in pools:
        yield from _check_epp_ref(snap, pool, epps)


def _check_epp_ref(snap: Snapshot, pool: _llmd.Pool, epps: list[_llmd.Epp]) -> Iterator[Finding]:
    field = _ref_field(pool)
    lost = lost_for_pool(snap, pool)
    if not pool.epp_name:
        yield Finding(Status.WARN, f"{pool.ref} has no {field}: the gateway balances over the pool without an "
                      "endpoint picker", pool.ref, capabilities=EPP_CAPABILITIES)
        return
    ref = f"{field}: kind {pool.epp_kind} name {pool.epp_name}" + (f" port {pool.epp_port}" if pool.epp_port else "")
    group = ((pool.obj.get("spec") or {}).get("extensionRef" if pool.group == X_INFERENCE else "endpointPickerRef")
             or {}).get("group") or ""
    if pool.epp_kind != "Service" or group:
        yield Finding(Status.SKIP, f"{pool.ref}: {field} is a {group + '/' if group else ''}{pool.epp_kind}, "
                      "not a Service; not checked", pool.ref, (ref,))
        return
    svc = snap.get("Service", pool.namespace, pool.epp_name)
    if svc is None:
        yield _missing_service(snap, pool, epps, ref, lost)
        return
    svc_name = f"Service {pool.namespace}/{pool.epp_name}"
    evidence = [ref, f"{svc_name} ports: {_ports_text(svc)}"]
    # The port: v1 requires it (the service port, not the target port); v1alpha2 defaults to 9002.
    want = pool.epp_port
    if want is None:
        want = EPP_GRPC_PORT
        if pool.group != X_INFERENCE:
            yield Finding(
                Status.WARN,
                f"{pool.ref}: {field}.port is not set; Istio >= 1.28 no longer infers 9002 and the v1 CRD "
                "requires it for a Service",
                pool.ref, tuple(evidence), capabilities=lost,
                remediation=f"kubectl patch inferencepool {pool.name} -n {pool.namespace} --type merge -p "
                f"'{{\"spec\":{{\"endpointPickerRef\":{{\"port\":{{\"number\":{EPP_GRPC_PORT}}}}}}}}}'",
            )
    svc_port = next((p for p in _svc_ports(svc) if p.get("port") == want), None)
    sel = (svc.get("spec") or {}).get("selector") or {}
    backing = [e for e in epps if e.namespace == pool.namespace and k.match_labels(sel, _template_labels(e.deployment))]
    grpc = _grpc_port(backing[0]) if backing else EPP_GRPC_PORT
    if svc_port is None:
        right = _service_port_to(svc, backing[0], grpc) if backing else None
        yield Finding(
            Status.FAIL,
            f"{pool.ref}: {field} port {want} is not a port of {svc_name} ({_ports_text(svc)}); the EPP serves "
            f"ext-proc gRPC on {grpc}: the gateway cannot reach the endpoint picker (500 "
            "ext_proc_error_gRPC_error_14 Cluster_not_available)",
            pool.ref, tuple(evidence), capabilities=lost,
            remediation=_patch_port(pool, right or grpc),
        )
        return
    if not sel:
        yield Finding(Status.WARN, f"{svc_name} has no selector (manually managed endpoints): cannot tell which "
                      "endpoint picker backs it", pool.ref, tuple(evidence), capabilities=())
        return
    if not backing:
        yield _no_backing_epp(snap, pool, svc, svc_name, sel, evidence, lost)
        return
    for epp in backing:
        yield from _check_backing_epp(snap, pool, svc, sel, svc_port, epp, evidence, lost)


def _patch_port(pool: _llmd.Pool, port: int) -> str:
    if pool.group == X_INFERENCE:
        patch = f'{{"spec":{{"extensionRef":{{"portNumber":{port}}}}}}}'
    else:
        patch = f'{{"spec":{{"endpointPickerRef":{{"port":{{"number":{port}}}}}}}}}'
    return (f"Set the pool's EPP port to the EPP Service's ext-proc port: kubectl patch inferencepool.{pool.group} "
            f"{pool.name} -n {pool.namespace} --type merge -p '{patch}'")


def _missing_service(snap: Snapshot, pool: _llmd.Pool, epps: list[_llmd.Epp], ref: str,
                     lost: tuple[str, ...]) -> Finding:
    field = _ref_field(pool)
    mine = _pool_epps(snap, pool)
    candidates = _epp_services(snap, pool.namespace, mine) or _epp_services(snap, pool.namespace, epps)
    evidence = [ref] + [f"Service {pool.namespace}/{k.name(s)} selects endpoint picker {e.ref} "
                        f"(ports {_ports_text(s)})" for s, e in candidates]
    if candidates:
        real = k.name(candidates[0][0])
        key = "extensionRef" if pool.group == X_INFERENCE else "endpointPickerRef"
        msg = (f"{pool.ref}: {field} names Service {pool.namespace}/{pool.epp_name}, which does not exist; "
               f"the endpoint picker's Service is {real}")
        fix = (f"Point the pool at the EPP Service: kubectl patch inferencepool.{pool.group} {pool.name} "
               f"-n {pool.namespace} --type merge -p '{{\"spec\":{{\"{key}\":{{\"name\":\"{real}\"}}}}}}'")
    else:
        msg = (f"{pool.ref}: {field} names Service {pool.namespace}/{pool.epp_name}, which does not exist, "
               f"and no Service in {pool.namespace} selects an endpoint-picker Deployment")
        fix = "Create the EPP Service (ports 9002 grpc, 9003 health, 9090 metrics) selecting the EPP pods."
    return Finding(Status.FAIL, msg, pool.ref, tuple(evidence), remediation=fix, capabilities=lost)


def _no_backing_epp(snap: Snapshot, pool: _llmd.Pool, svc: Obj, svc_name: str, sel: dict[str, str],
                    evidence: list[str], lost: tuple[str, ...]) -> Finding:
    others = [d for d in snap.list(_llmd.DEPLOYMENT, pool.namespace) if k.match_labels(sel, _template_labels(d))]
    if others:
        what = ", ".join(f"Deployment {k.name(d)}" for d in others)
        msg = f"{svc_name} (selector {k.selector_text(sel)}) selects {what}, which is not an endpoint picker"
    else:
        msg = f"{svc_name} selector {k.selector_text(sel)} matches no endpoint-picker Deployment in {pool.namespace}"
    mine = _pool_epps(snap, pool)
    evidence = evidence + [f"endpoint picker {e.ref} pod labels: {k.selector_text(_template_labels(e.deployment))}"
                           for e in mine]
    return Finding(Status.FAIL, f"{pool.ref}: {msg}", pool.ref, tuple(evidence), capabilities=lost,
                   remediation="Make the Service's selector match the EPP pods' labels (or point the pool at "
                   "the Service that does).")


def _check_backing_epp(snap: Snapshot, pool: _llmd.Pool, svc: Obj, sel: dict[str, str], svc_port: Obj,
                       epp: _llmd.Epp, evidence: list[str], lost: tuple[str, ...]) -> Iterator[Finding]:
    svc_name = f"Service {pool.namespace}/{k.name(svc)}"
    grpc = _grpc_port(epp)
    target = _target_port(svc_port, epp.container)
    profile = epp_profile(epp)
    ns, explicit_ns = epp_pool_namespace(epp)
    flags = f"pool flags: name {epp.pool_name or '<unset>'}, namespace {ns}" + ("" if explicit_ns else " (default)") \
        + f", group {profile.pool_group} ({profile.pool_group_from})"
    ev = [*evidence, f"{epp.ref}: image {epp.image}; {flags}"]
    if target is not None and target != grpc:
        yield Finding(
            Status.FAIL,
            f"{pool.ref}: {svc_name} port {svc_port.get('port')} forwards to {target}, but {epp.ref} serves "
            f"ext-proc gRPC on {grpc} (500 ext_proc_error_gRPC_error_14 Cluster_not_available)",
            pool.ref, tuple(ev), capabilities=lost,
            remediation=_patch_port(pool, _service_port_to(svc, epp, grpc) or grpc) + " (or fix the Service's "
            "targetPort).",
        )
        return
    if not epp.pool_name:
        how = "endpoint-selector mode" if "endpoint-selector" in epp.flags else "no pool-name flag"
        yield Finding(Status.WARN, f"{pool.ref}: {epp.ref} behind {svc_name} runs without a pool ({how})",
                      pool.ref, tuple(ev), capabilities=lost)
        return
    wrong = []
    if epp.pool_name != pool.name:
        wrong.append(f"name {epp.pool_name}")
    if ns != pool.namespace:
        wrong.append(f"namespace {ns}" + ("" if explicit_ns else " (flag unset: its default)"))
    if profile.pool_group != pool.group:
        wrong.append(f"group {profile.pool_group} ({profile.pool_group_from})")
    if wrong:
        fix = f"Set the EPP's pool flags to this pool: {_pool_flags(epp, pool)}."
        if len(wrong) == 1 and ns != pool.namespace and not explicit_ns:
            # Only the namespace differs, and only by the flag's default: likely, not certain (env, wrappers).
            yield Finding(
                Status.WARN,
                f"{pool.ref}: its endpoint picker {epp.ref} sets no pool-namespace flag, so it looks for pool "
                f"{pool.name} in namespace {ns} (the flag's default), not {pool.namespace}",
                pool.ref, tuple(ev), capabilities=lost, remediation=fix,
            )
            return
        yield Finding(
            Status.FAIL,
            f"{pool.ref}: its endpoint picker {epp.ref} watches another pool ({', '.join(wrong)}, not "
            f"{pool.namespace}/{pool.name} in {pool.group}): the EPP never syncs this pool and sees no endpoints",
            pool.ref, tuple(ev), capabilities=lost, remediation=fix,
        )
        return
    pods = [p for p in snap.list("Pod", pool.namespace) if k.match_labels(sel, k.labels(p))]
    ready = [p for p in pods if k.pod_ready(p)]
    if not ready:
        ev += [f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}" for p in pods] or ["no pods"]
        yield Finding(
            Status.FAIL,
            f"{pool.ref}: no Ready pod backs {svc_name} ({epp.ref}: {len(ready)}/{len(pods)} Ready): "
            "the endpoint picker is down",
            pool.ref, tuple(ev), capabilities=lost,
            remediation="See epp.deployment and epp.logs for why the EPP is not Ready.",
        )
        return
    yield Finding(
        Status.PASS,
        f"{pool.ref} -> {svc_name}:{svc_port.get('port')} -> {epp.ref} ({len(ready)}/{len(pods)} Ready, "
        f"watches {pool.namespace}/{pool.name} in {pool.group})",
        pool.ref, tuple(ev),
    )


def _pool_flags(epp: _llmd.Epp, pool: _llmd.Pool) -> str:
    if epp.flag_style == "camel":
        return f"-poolName {pool.name} -poolNamespace {pool.namespace}" + (
            "" if pool.group == X_INFERENCE else f" (a camelCase-flag EPP only reads {X_INFERENCE} pools: "
            "upgrade the EPP to v0.3+ for v1 pools)")
    return f"--pool-name {pool.name} --pool-namespace {pool.namespace} --pool-group {pool.group}"


# ---- inferencepool.selector ---------------------------------------------------------------------


_PORT_ARG = re.compile(r"^--?port(?:=(\d+))?$")


def _served_ports(c: Obj) -> tuple[set[int], bool]:
    """Ports a container listens on: declared containerPorts, a `--port` argument (vLLM, routing
    sidecar), vLLM's default 8000. Second value: whether the container says anything about ports."""
    ports = {int(p["containerPort"]) for p in c.get("ports") or [] if isinstance(p, dict) and p.get("containerPort")}
    argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    said = bool(ports)
    for i, a in enumerate(argv):
        m = _PORT_ARG.match(a)
        if not m:
            continue
        value = m.group(1) or (argv[i + 1] if i + 1 < len(argv) else "")
        if value.isdigit():
            ports.add(int(value))
            said = True
    if not any(_PORT_ARG.match(a) for a in argv) and _is_vllm(argv):
        ports.add(VLLM_DEFAULT_PORT)
        said = True
    return ports, said


def _is_vllm(argv: list[str]) -> bool:
    text = " ".join(argv)
    return bool(re.search(r"\bvllm\b.*\bserve\b|vllm\.entrypoints\.openai\.api_server", text))


def _serving_containers(pod: Obj) -> list[Obj]:
    """Containers that serve traffic: the regular ones and sidecars (initContainers with restartPolicy Always,
    like llm-d's routing-proxy)."""
    spec = pod.get("spec") or {}
    out = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    out += [c for c in spec.get("initContainers") or [] if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
    return out


def _pod_ports(pod: Obj) -> tuple[dict[int, str], bool]:
    """{port: container} served by the pod, and whether any container says anything about ports."""
    served: dict[int, str] = {}
    said = False
    for c in _serving_containers(pod):
        ports, s = _served_ports(c)
        said = said or s
        for p in ports:
            served.setdefault(p, str(c.get("name")))
    return served, said


def _label_hints(pods: list[Obj], pool: _llmd.Pool) -> list[str]:
    hints = []
    for key, other in SPELLINGS.items():
        if key not in pool.selector:
            continue
        alt = {other if a == key else a: b for a, b in pool.selector.items()}
        n = sum(1 for p in pods if k.match_labels(alt, k.labels(p)))
        if n:
            hints.append(f"{n} pod(s) carry {other}={pool.selector[key]} instead of {key}: the label was renamed "
                         "(llm-d-modelservice v0.4.5 / llm-d v0.5 use llm-d.ai/inference-serving; earlier releases "
                         "llm-d.ai/inferenceServing)")
    if hints:
        return hints
    near = []
    for p in pods:
        lbls = k.labels(p)
        off = [(a, b) for a, b in pool.selector.items() if lbls.get(a) != b]
        if len(off) == 1 and len(pool.selector) > 1:
            a, b = off[0]
            near.append(f"Pod/{k.namespace(p)}/{k.name(p)} matches but for {a}={b} (it has "
                        f"{a + '=' + lbls[a] if a in lbls else 'no ' + a})")
    return near[:3]


@check(
    "inferencepool.selector",
    title="InferencePool selector and target ports",
    area="inference",
    severity=Severity.CRITICAL,
    inputs=(*_llmd.POOL_KEYS, "Pod", _llmd.HTTPROUTE),
    requires=("cluster.access",),
    capabilities=POOL_CAPS,
    remediation=(
        "Make the pool's selector match the model-server pods' labels (and only them), and its target port "
        "the port they serve on (8000: vLLM, or the routing sidecar in front of it)."
    ),
)
def inferencepool_selector(ctx: CheckContext) -> Iterator[Finding]:
    """The selector matches Ready pods; target ports are served by the selected containers; pods that
    do not serve are not selected."""
    snap = ctx.snapshot
    pools = all_pools(snap)
    if not pools:
        yield Finding(Status.SKIP, "no InferencePool objects")
        return
    for pool in pools:
        yield from _check_selector(snap, pool)


def _check_selector(snap: Snapshot, pool: _llmd.Pool) -> Iterator[Finding]:
    lost = lost_for_pool(snap, pool, epp_path=False)
    sel = _selector_text(pool)
    if not pool.selector:
        yield Finding(Status.FAIL, f"{pool.ref} has an empty selector: it selects no pods", pool.ref,
                      capabilities=lost)
        return
    pods = snap.list("Pod", pool.namespace)
    chosen = [p for p in pods if k.match_labels(pool.selector, k.labels(p))
              and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    if not chosen:
        hints = _label_hints(pods, pool)
        yield Finding(
            Status.FAIL,
            f"{pool.ref} selector {sel} matches no pods in {pool.namespace}"
            + (f" ({hints[0]})" if hints and "renamed" in hints[0] else ""),
            pool.ref, tuple(hints), capabilities=lost,
            remediation="Fix the pool's selector (v1: spec.selector.matchLabels) or the model-server pods' labels "
            "so they agree.",
        )
        return
    ready = [p for p in chosen if k.pod_ready(p)]
    summaries = [f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}" for p in chosen if not k.pod_ready(p)]
    if not ready:
        yield Finding(Status.FAIL, f"{pool.ref} selects {len(chosen)} pod(s) ({sel}) but none is Ready: the pool has "
                      "no endpoints", pool.ref, tuple(summaries), capabilities=lost,
                      remediation="See model-servers.pods and model-servers.logs for why the pods are not Ready.")
        return
    ports = pool.target_ports
    if not ports:
        yield Finding(Status.WARN, f"{pool.ref} has no target port", pool.ref, capabilities=())
        return
    serving, not_serving, unknown = [], [], []
    via: dict[str, None] = {}
    for p in chosen:
        served, said = _pod_ports(p)
        if all(t in served for t in ports):
            serving.append(p)
            for t in ports:
                via.setdefault(f"{t} by {served[t]}")
        elif said:
            not_serving.append((p, served))
        else:
            unknown.append(p)
    want = ", ".join(str(t) for t in ports)
    miss_ev = [f"Pod/{k.namespace(p)}/{k.name(p)} serves {', '.join(str(x) for x in sorted(s)) or 'no port'}, "
               f"not {want}" for p, s in not_serving]
    if not_serving and not serving:
        yield Finding(
            Status.FAIL,
            f"{pool.ref}: none of the {len(chosen)} selected pod(s) serves target port {want}: requests through "
            "the pool are refused",
            pool.ref, tuple(miss_ev[:5]), capabilities=lost,
            remediation="Set the pool's target port to the port the model servers listen on (the routing sidecar's "
            "--port when there is one), or fix the selector.",
        )
        return
    if not_serving:
        yield Finding(
            Status.WARN,
            f"{pool.ref} selects {len(not_serving)} pod(s) that do not serve target port {want} (beside "
            f"{len(serving)} that do): requests the EPP sends them fail with connection refused",
            pool.ref, tuple(miss_ev[:5]), capabilities=(),
            remediation="Narrow the pool's selector so only serving pods match (e.g. add a label only the model "
            "servers carry).",
        )
        return
    if unknown and not serving:
        yield Finding(Status.WARN, f"{pool.ref}: cannot confirm that the selected pods serve target port {want} "
                      "(no container declares a port or a --port argument)", pool.ref,
                      tuple(f"Pod/{k.namespace(p)}/{k.name(p)}" for p in unknown[:5]), capabilities=())
        return
    if len(ready) < len(chosen):
        yield Finding(Status.WARN, f"{pool.ref}: {len(ready)}/{len(chosen)} selected pods are Ready ({sel})",
                      pool.ref, tuple(summaries), capabilities=())
        return
    yield Finding(Status.PASS, f"{pool.ref} selects {len(ready)}/{len(chosen)} Ready pods ({sel}), serving port "
                  f"{'; '.join(via)}", pool.ref)


# ---- inferencemodel.refs -----------------------------------------------------------------------


def _flag_values(argv: list[str], flag: str) -> list[str]:
    """Values of `--flag a b` / `--flag=a` (nargs='+' style, as vLLM's --served-model-name)."""
    out: list[str] = []
    for i, a in enumerate(argv):
        if a == flag:
            for b in argv[i + 1:]:
                if b.startswith("-"):
                    break
                out.append(b)
        elif a.startswith(flag + "="):
            out.append(a.split("=", 1)[1])
    return out


def _vllm_names(c: Obj) -> list[str] | None:
    """Model names a vLLM container serves (served-model-name, else the model; plus LoRA names)."""
    argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    if not _is_vllm(argv):
        return None
    names = _flag_values(argv, "--served-model-name") or _flag_values(argv, "--model")[:1]
    if not names:
        rest = argv[argv.index("serve") + 1:] if "serve" in argv else [str(a) for a in c.get("args") or []]
        names = [rest[0]] if rest and not rest[0].startswith("-") else []
    for m in _flag_values(argv, "--lora-modules"):
        names.append(m.split("=", 1)[0] if "=" in m and not m.startswith("{") else
                     (re.search(r'"name"\s*:\s*"([^"]+)"', m) or [None, m])[1])
    return names or None


def _pool_models(snap: Snapshot, pool: _llmd.Pool) -> set[str] | None:
    """Names the pool's pods serve; None when any selected pod's vLLM arguments cannot be read."""
    pods = [p for p in snap.maybe_list("Pod", pool.namespace) or [] if k.match_labels(pool.selector, k.labels(p))]
    if not pods:
        return None
    names: set[str] = set()
    for p in pods:
        found = [n for c in _serving_containers(p) if (n := _vllm_names(c))]
        if not found:
            return None
        for n in found:
            names.update(n)
    return names


def _objects(snap: Snapshot) -> tuple[list[tuple[str, Obj]], list[str]]:
    objs: list[tuple[str, Obj]] = []
    unknown = []
    for key in (INFERENCE_MODEL, OBJECTIVE_X, OBJECTIVE_LLMD):
        st = _kind_state(snap, key)
        if st == "collected":
            objs += [(key, o) for o in snap.list(key)]
        elif st == "unknown":
            unknown.append(key)
    return objs, unknown


def _watched(snap: Snapshot, epp: _llmd.Epp, key: str) -> bool:
    kind, _, group = key.partition(".")
    resource = kind.lower() + "s"
    return any(n.group == group and n.resource == resource for n in needs(snap, epp))


@check(
    "inferencemodel.refs",
    title="InferenceModel / InferenceObjective references",
    area="inference",
    severity=Severity.MAJOR,
    inputs=(INFERENCE_MODEL, OBJECTIVE_X, OBJECTIVE_LLMD, *_llmd.POOL_KEYS, "Pod", _llmd.DEPLOYMENT,
            _llmd.HTTPROUTE),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING,),
    remediation="Set spec.poolRef (name, and group when the pool is not in the default group) to an existing "
    "InferencePool in the same namespace.",
)
def inferencemodel_refs(ctx: CheckContext) -> Iterator[Finding]:
    """Each InferenceModel / InferenceObjective poolRef names an existing pool; the served model names."""
    snap = ctx.snapshot
    objs, unknown = _objects(snap)
    if not objs:
        if unknown:
            raise NotCollected(f"{' and '.join(unknown)} objects were not collected")
        yield Finding(Status.SKIP, "no InferenceModel or InferenceObjective objects")
        return
    pools = all_pools(snap)
    for key, o in objs:
        yield _check_ref(snap, key, o, pools)


def _check_ref(snap: Snapshot, key: str, o: Obj, pools: list[_llmd.Pool]) -> Finding:
    spec = o.get("spec") or {}
    ref = spec.get("poolRef") or {}
    ns = k.namespace(o)
    group = str(ref.get("group") or POOLREF_GROUP_DEFAULT[key])
    kind = str(ref.get("kind") or "InferencePool")
    name = str(ref.get("name") or "")
    me = f"{o.get('kind')}/{ns}/{k.name(o)}"
    api = key.partition(".")[2]
    is_model = key == INFERENCE_MODEL
    targets = [str(t.get("name")) for t in spec.get("targetModels") or [] if isinstance(t, dict) and t.get("name")]
    what = (f"model {spec.get('modelName')}" + (f" -> {', '.join(targets)}" if targets else "")
            + (f", criticality {spec['criticality']}" if spec.get("criticality") else "")) if is_model \
        else f"priority {spec.get('priority', 0)}"
    evidence = [f"{me} ({api}): {what}; poolRef {group}/{kind} {name}"]
    if kind != "InferencePool":
        return Finding(Status.WARN, f"{me}: poolRef kind {kind} is not InferencePool", me, tuple(evidence),
                       capabilities=())
    pool = next((p for p in pools if p.group == group and p.namespace == ns and p.name == name), None)
    if pool is None:
        other = [p for p in pools if p.namespace == ns and p.name == name]
        hint = f"; a pool of that name exists in group {other[0].group}: set poolRef.group" if other else ""
        if is_model:
            return Finding(Status.FAIL, f"{me}: poolRef names InferencePool {ns}/{name} ({group}), which does not "
                           f"exist: the EPP does not serve model {spec.get('modelName')}{hint}", me, tuple(evidence),
                           capabilities=(GATEWAY_ROUTING,))
        return Finding(Status.WARN, f"{me}: poolRef names InferencePool {ns}/{name} ({group}), which does not "
                       f"exist: its priority is applied nowhere{hint}", me, tuple(evidence), capabilities=())
    # Does the pool's endpoint picker read this kind at all? (knowledge/rbac.yaml: what each version watches)
    epps = _pool_epps(snap, pool)
    ignoring = [e for e in epps if not _watched(snap, e, key)]
    if epps and len(ignoring) == len(epps):
        e = ignoring[0]
        return Finding(Status.WARN, f"{me} refers to {pool.ref}, but its endpoint picker {e.ref} "
                       f"({epp_profile(e).label}) does not read {key} objects: this one has no effect",
                       me, tuple(evidence), capabilities=(),
                       remediation="Use the objective/model kind your EPP version reads (InferenceModel for GIE <= "
                       "v0.5, x-k8s.io InferenceObjective for GIE v1.x, llm-d.ai InferenceObjective for llm-d-router).")
    if is_model:
        served = _pool_models(snap, pool)
        wanted = targets or [str(spec.get("modelName"))]
        if served is not None and not any(w in served for w in wanted):
            return Finding(Status.WARN, f"{me}: model {', '.join(wanted)} is not served by the pods of {pool.ref} "
                           f"(they serve {', '.join(sorted(served))}): requests for it fail at the model server",
                           me, tuple(evidence), capabilities=(),
                           remediation="Make modelName/targetModels match vLLM's --served-model-name (or a LoRA "
                           "adapter name).")
        return Finding(Status.PASS, f"{me} serves model {', '.join(wanted)} through {pool.ref}", me, tuple(evidence))
    return Finding(Status.PASS, f"{me} ({api}, {what}) applies to {pool.ref}", me, tuple(evidence))
