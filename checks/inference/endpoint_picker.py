"""inferencepool.endpoint-picker: the pool's extensionRef / endpointPickerRef names an existing Service,
on a port that reaches the EPP's ext-proc gRPC port, backed by an EPP Deployment whose pool flags point
back at the pool, with a Ready pod."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS, SERVICE, X_INFERENCE
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import EPP_GRPC_PORT, Epp, Pool, Topology, topology
from llmd_doctor.topology.impact import POOL_CAPABILITIES

from .._lib import unread

Obj = dict[str, Any]


def _ports(svc: Obj) -> list[Obj]:
    return list((svc.get("spec") or {}).get("ports") or [])


def _ports_text(svc: Obj) -> str:
    return ", ".join(f"{p.get('port')}" + (f" ({p['name']})" if p.get("name") else "") for p in _ports(svc))


def _target_port(svc_port: Obj, container: Obj) -> int | None:
    tp = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(tp, int) or (isinstance(tp, str) and tp.isdigit()):
        return int(tp)
    for p in container.get("ports") or []:
        if p.get("name") == tp:
            return int(p.get("containerPort") or 0) or None
    return None


def _service_port_to(svc: Obj, epp: Epp, container_port: int) -> int | None:
    """The Service port that forwards to the EPP's ext-proc container port (what the pool must name)."""
    for p in _ports(svc):
        if _target_port(p, epp.container) == container_port and isinstance(p.get("port"), int):
            return int(p["port"])
    return None


def _patch_port(pool: Pool, port: int) -> str:
    if pool.group == X_INFERENCE:
        patch = f'{{"spec":{{"extensionRef":{{"portNumber":{port}}}}}}}'
    else:
        patch = f'{{"spec":{{"endpointPickerRef":{{"port":{{"number":{port}}}}}}}}}'
    return (f"Set the pool's EPP port to the EPP Service's ext-proc port: kubectl patch inferencepool.{pool.group} "
            f"{pool.name} -n {pool.namespace} --type merge -p '{patch}'")


def _pool_flags(epp: Epp, pool: Pool) -> str:
    if epp.flag_style == "camel":
        return f"-poolName {pool.name} -poolNamespace {pool.namespace}" + (
            "" if pool.group == X_INFERENCE else f" (a camelCase-flag EPP only reads {X_INFERENCE} pools: "
            "upgrade the EPP to v0.3+ for v1 pools)")
    return f"--pool-name {pool.name} --pool-namespace {pool.namespace} --pool-group {pool.group}"


@check(
    "inferencepool.endpoint-picker",
    title="InferencePool endpoint picker reference",
    area="inference",
    severity=Severity.CRITICAL,
    inputs=(*POOL_KEYS, SERVICE, POD, DEPLOYMENT, HTTPROUTE),
    requires=("cluster.access",),
    capabilities=POOL_CAPABILITIES,
    explains=("e2e.chat-completion", "e2e.routing"),
    why="The gateway asks the endpoint picker named in the pool for every request: a reference to a missing "
        "Service, a wrong port or an EPP watching another pool breaks cache-aware routing — and routing "
        "itself when the pool fails closed.",
    remediation=(
        "Point the pool's extensionRef (v1: endpointPickerRef) at the EPP Service, on its ext-proc gRPC "
        "port (9002), and make sure the Service selects the EPP pods and the EPP's pool flags name this pool."
    ),
)
def inferencepool_endpoint_picker(ctx: CheckContext) -> Iterator[Finding]:
    """extensionRef/endpointPickerRef names an existing Service, with a matching port, backed by an
    EPP Deployment whose pool flags point back at the pool."""
    topo = topology(ctx.snapshot)
    pools = topo.pools
    if not pools:
        pools.require()
        yield Finding(Status.SKIP, "no InferencePool objects")
        return
    yield from unread(pools, "some InferencePools")
    for pool in pools:
        yield from _judge(topo, pool)


def _judge(topo: Topology, pool: Pool) -> Iterator[Finding]:
    field, lost = pool.epp.field, topo.impact_of_pool(pool)
    if not pool.epp.name:
        yield Finding(Status.WARN, f"{pool.ref} has no {field}: the gateway balances over the pool without an "
                      "endpoint picker", pool.ref, capabilities=EPP_CAPABILITIES)
        return
    ref = pool.epp.text
    if pool.epp.kind != "Service" or pool.epp.group:
        yield Finding(Status.SKIP, f"{pool.ref}: {field} is a {pool.epp.group + '/' if pool.epp.group else ''}"
                      f"{pool.epp.kind}, not a Service; not checked", pool.ref, (ref,))
        return
    svc = pool.epp_service.get()
    if svc is None:
        yield _missing_service(topo, pool, ref, lost)
        return
    svc_name = f"Service {pool.namespace}/{pool.epp.name}"
    evidence = [ref, f"{svc_name} ports: {_ports_text(svc)}"]
    # The port: v1 requires it (the service port, not the target port); v1alpha2 defaults to 9002.
    want = pool.epp.port
    if want is None:
        want = EPP_GRPC_PORT
        if pool.group != X_INFERENCE:
            yield Finding(Status.WARN, f"{pool.ref}: {field}.port is not set; Istio >= 1.28 no longer infers 9002 and "
                          "the v1 CRD requires it for a Service", pool.ref, tuple(evidence), capabilities=lost,
                          remediation=f"kubectl patch inferencepool {pool.name} -n {pool.namespace} --type merge -p "
                          f"'{{\"spec\":{{\"endpointPickerRef\":{{\"port\":{{\"number\":{EPP_GRPC_PORT}}}}}}}}}'")
    svc_port = next((p for p in _ports(svc) if p.get("port") == want), None)
    sel = (svc.get("spec") or {}).get("selector") or {}
    backing = pool.backing_epps
    grpc = backing[0].grpc_port if backing else EPP_GRPC_PORT
    if svc_port is None:
        right = _service_port_to(svc, backing[0], grpc) if backing else None
        yield Finding(Status.FAIL, f"{pool.ref}: {field} port {want} is not a port of {svc_name} ({_ports_text(svc)}); "
                      f"the EPP serves ext-proc gRPC on {grpc}: the gateway cannot reach the endpoint picker (500 "
                      "ext_proc_error_gRPC_error_14 Cluster_not_available)", pool.ref, tuple(evidence),
                      capabilities=lost, remediation=_patch_port(pool, right or grpc))
        return
    if not sel:
        yield Finding(Status.WARN, f"{svc_name} has no selector (manually managed endpoints): cannot tell which "
                      "endpoint picker backs it", pool.ref, tuple(evidence), capabilities=())
        return
    if not backing:
        backing.require()
        yield _no_backing_epp(topo, pool, svc_name, sel, evidence, lost)
        return
    for epp in backing:
        yield _backing_epp(pool, svc, svc_port, epp, evidence, lost)


def _missing_service(topo: Topology, pool: Pool, ref: str, lost: tuple[str, ...]) -> Finding:
    in_ns = [e for e in topo.epps if e.namespace == pool.namespace]
    mine = [e for e in in_ns if e in pool.epps]
    candidates = [(s, e) for e in (mine or in_ns) for s in e.services]
    evidence = [ref] + [f"Service {pool.namespace}/{k8s.name(s)} selects endpoint picker {e.ref} "
                        f"(ports {_ports_text(s)})" for s, e in candidates]
    if candidates:
        real = k8s.name(candidates[0][0])
        key = "extensionRef" if pool.group == X_INFERENCE else "endpointPickerRef"
        msg = (f"{pool.ref}: {pool.epp.field} names Service {pool.namespace}/{pool.epp.name}, which does not exist; "
               f"the endpoint picker's Service is {real}")
        fix = (f"Point the pool at the EPP Service: kubectl patch inferencepool.{pool.group} {pool.name} "
               f"-n {pool.namespace} --type merge -p '{{\"spec\":{{\"{key}\":{{\"name\":\"{real}\"}}}}}}'")
    else:
        msg = (f"{pool.ref}: {pool.epp.field} names Service {pool.namespace}/{pool.epp.name}, which does not exist, "
               f"and no Service in {pool.namespace} selects an endpoint-picker Deployment")
        fix = "Create the EPP Service (ports 9002 grpc, 9003 health, 9090 metrics) selecting the EPP pods."
    return Finding(Status.FAIL, msg, pool.ref, tuple(evidence), remediation=fix, capabilities=lost)


def _no_backing_epp(topo: Topology, pool: Pool, svc_name: str, sel: dict[str, str], evidence: list[str],
                    lost: tuple[str, ...]) -> Finding:
    snap = topo.snapshot
    others = [d for d in snap.list(DEPLOYMENT, pool.namespace)
              if k8s.match_labels(sel, {str(a): str(b) for a, b in
                                        ((((d.get("spec") or {}).get("template") or {}).get("metadata") or {})
                                         .get("labels") or {}).items()})]
    if others:
        what = ", ".join(f"Deployment {k8s.name(d)}" for d in others)
        msg = f"{svc_name} (selector {k8s.selector_text(sel)}) selects {what}, which is not an endpoint picker"
    else:
        msg = f"{svc_name} selector {k8s.selector_text(sel)} matches no endpoint-picker Deployment in {pool.namespace}"
    evidence = evidence + [f"endpoint picker {e.ref} pod labels: {k8s.selector_text(e.template_labels)}"
                           for e in pool.epps]
    return Finding(Status.FAIL, f"{pool.ref}: {msg}", pool.ref, tuple(evidence), capabilities=lost,
                   remediation="Make the Service's selector match the EPP pods' labels (or point the pool at "
                   "the Service that does).")


def _backing_epp(pool: Pool, svc: Obj, svc_port: Obj, epp: Epp, evidence: list[str], lost: tuple[str, ...]) -> Finding:
    svc_name = f"Service {pool.namespace}/{k8s.name(svc)}"
    target = _target_port(svc_port, epp.container)
    t = epp.target
    flags = (f"pool flags: name {t.name or '<unset>'}, namespace {t.namespace}"
             + ("" if t.namespace_explicit else " (default)") + f", group {t.group} ({t.group_from})")
    ev = [*evidence, f"{epp.ref}: image {epp.image}; {flags}"]
    if target is not None and target != epp.grpc_port:
        return Finding(Status.FAIL, f"{pool.ref}: {svc_name} port {svc_port.get('port')} forwards to {target}, but "
                       f"{epp.ref} serves ext-proc gRPC on {epp.grpc_port} (500 ext_proc_error_gRPC_error_14 "
                       "Cluster_not_available)", pool.ref, tuple(ev), capabilities=lost,
                       remediation=_patch_port(pool, _service_port_to(svc, epp, epp.grpc_port) or epp.grpc_port)
                       + " (or fix the Service's targetPort).")
    if not t.name:
        how = "endpoint-selector mode" if epp.standalone else "no pool-name flag"
        return Finding(Status.WARN, f"{pool.ref}: {epp.ref} behind {svc_name} runs without a pool ({how})",
                       pool.ref, tuple(ev), capabilities=lost)
    wrong = []
    if t.name != pool.name:
        wrong.append(f"name {t.name}")
    if t.namespace != pool.namespace:
        wrong.append(f"namespace {t.namespace}" + ("" if t.namespace_explicit else " (flag unset: its default)"))
    if t.group != pool.group:
        wrong.append(f"group {t.group} ({t.group_from})")
    if wrong:
        fix = f"Set the EPP's pool flags to this pool: {_pool_flags(epp, pool)}."
        if len(wrong) == 1 and t.namespace != pool.namespace and not t.namespace_explicit:
            # Only the namespace differs, and only by the flag's default: likely, not certain (env, wrappers).
            return Finding(Status.WARN, f"{pool.ref}: its endpoint picker {epp.ref} sets no pool-namespace flag, so it "
                           f"looks for pool {pool.name} in namespace {t.namespace} (the flag's default), not "
                           f"{pool.namespace}", pool.ref, tuple(ev), capabilities=lost, remediation=fix)
        return Finding(Status.FAIL, f"{pool.ref}: its endpoint picker {epp.ref} watches another pool "
                       f"({', '.join(wrong)}, not {pool.namespace}/{pool.name} in {pool.group}): the EPP never syncs "
                       "this pool and sees no endpoints", pool.ref, tuple(ev), capabilities=lost, remediation=fix)
    pods = epp.pods.require()
    ready = [p for p in pods if k8s.pod_ready(p)]
    if not ready:
        ev += [f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in pods] or ["no pods"]
        return Finding(Status.FAIL, f"{pool.ref}: no Ready pod backs {svc_name} ({epp.ref}: {len(ready)}/{len(pods)} "
                       "Ready): the endpoint picker is down", pool.ref, tuple(ev), capabilities=lost,
                       remediation="See epp.deployment and epp.logs for why the EPP is not Ready.")
    return Finding(Status.PASS, f"{pool.ref} -> {svc_name}:{svc_port.get('port')} -> {epp.ref} ({len(ready)}/"
                   f"{len(pods)} Ready, watches {pool.namespace}/{pool.name} in {pool.group})", pool.ref, tuple(ev))
