"""istio.epp-destination-rule: Istio + a TLS-serving EPP needs a DestinationRule for the EPP Service with
tls.mode SIMPLE and insecureSkipVerify (the EPP's certificate is self-signed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import (
    DEPLOYMENT,
    DESTINATION_RULE,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POOL_KEYS,
    SERVICE,
)
from llmd_doctor.model import (
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.topology import Epp, Pool, topology

Obj = dict[str, Any]
ISTIO = "istio"
_TRUE = {"1", "t", "true"}  # Go strconv.ParseBool, as the EPP reads its flags
_DR_FIX = (
    "Create a DestinationRule for the EPP Service:\n"
    "  apiVersion: networking.istio.io/v1\n  kind: DestinationRule\n  metadata: {{name: {svc}-insecure-tls, "
    "namespace: {ns}}}\n  spec:\n    host: {svc}.{ns}.svc.cluster.local\n    trafficPolicy:\n      tls: "
    "{{mode: SIMPLE, insecureSkipVerify: true}}\n(the GIE inferencepool chart renders it with provider.name=istio)."
)


def host_matches(host: str, dr_ns: str, svc: str, ns: str) -> bool:
    host = host.strip().rstrip(".")
    if host == svc:  # a short name resolves in the DestinationRule's own namespace
        return dr_ns == ns
    if host in (f"{svc}.{ns}", f"{svc}.{ns}.svc") or host.startswith(f"{svc}.{ns}.svc."):
        return True
    return host.startswith("*.") and f"{svc}.{ns}.svc.cluster.local".endswith(host[1:])


def _host_key(host: str, dr_ns: str) -> tuple[str, str]:
    """(Service, namespace) a DestinationRule host names — a short name is in the rule's namespace —
    or ("*", "") for a wildcard host."""
    if host.startswith("*"):
        return "*", ""
    parts = host.strip().rstrip(".").split(".")
    return parts[0], parts[1] if len(parts) > 1 else dr_ns


def _tls_of(dr: Obj, port: int | None) -> Obj:
    policy = (dr.get("spec") or {}).get("trafficPolicy") or {}
    for pls in policy.get("portLevelSettings") or []:
        if port is not None and (pls.get("port") or {}).get("number") == port and pls.get("tls"):
            return pls["tls"]
    return policy.get("tls") or {}


def _secure_serving(epp: Epp | None) -> tuple[bool, str]:
    """Whether the EPP serves TLS on its ext-proc port (default true in every release), and why we think so."""
    if epp is None:
        return True, "EPP Deployment not found; EPPs serve TLS by default"
    value = epp.flag("secureServing", "secure-serving")
    if value is None:
        env = epp.env("SECURE_SERVING")
        if env is not None:
            return env.strip().lower() in _TRUE, f"EPP env SECURE_SERVING={env}"
        return True, f"{epp.ref} does not set --secure-serving (default true: self-signed TLS)"
    return value.strip().lower() in _TRUE, f"{epp.ref} --secure-serving={value}"


def _served_by(pool: Pool) -> set[str | None]:
    """Implementations of the Gateways whose routes send traffic to the pool."""
    return {p.gateway.target.implementation.name if p.gateway.target.implementation else None
            for r in pool.routes for p in r.parents if p.gateway.found}


@check(
    "istio.epp-destination-rule",
    title="Istio DestinationRule for the endpoint picker",
    area="istio",
    severity=Severity.MAJOR,
    inputs=(DESTINATION_RULE, DEPLOYMENT, SERVICE, GATEWAY_KEY, GATEWAY_CLASS, HTTPROUTE, *POOL_KEYS),
    requires=("istio.control-plane",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
    explains=("e2e.chat-completion", "e2e.routing"),
    why="The EPP serves ext-proc over TLS with a self-signed certificate; without a DestinationRule that "
        "skips verification, Istio's proxy cannot reach it and requests through the pool get 500s.",
    remediation=_DR_FIX.format(svc="<epp-service>", ns="<namespace>"),
)
def epp_destination_rule(ctx: CheckContext) -> Iterator[Finding]:
    """Istio + TLS-serving EPP: a DestinationRule for the EPP Service with tls.mode SIMPLE and
    insecureSkipVerify (the EPP's certificate is self-signed; without it ext_proc fails and requests get 500s)."""
    snap = ctx.snapshot
    topo = topology(snap)
    pools = [p for p in topo.pools.require() if p.epp.name and p.epp.kind == "Service"]
    if not pools:
        yield Finding(Status.SKIP, "no InferencePool names an endpoint-picker Service")
        return
    istio_present = any(g.implementation is not None and g.implementation.name == ISTIO for g in topo.gateways)
    rules: dict[tuple[str, str], list[Obj]] | None = None
    others: list[str] = []
    for pool in pools:
        served = _served_by(pool)
        if (served and ISTIO not in served) or (not served and not istio_present):
            others.append(f"{pool.ref} ({', '.join(sorted(str(s) for s in served)) or 'not routed'})")
            continue  # another gateway talks to this EPP, or no Istio gateway at all
        if rules is None:
            rules = {}
            for d in snap.list(DESTINATION_RULE):
                rules.setdefault(_host_key(str((d.get("spec") or {}).get("host", "")), k8s.namespace(d)), []).append(d)
        yield _judge(pool, served, rules)
    if rules is None:
        yield Finding(Status.SKIP, "no InferencePool is reached through an Istio gateway: " + "; ".join(others))


def _judge(pool: Pool, served: set[str | None], rules: dict[tuple[str, str], list[Obj]]) -> Finding:
    svc, ns = str(pool.epp.name), pool.namespace
    sref = f"Service/{ns}/{svc}"
    epp = next(iter(pool.backing_epps), None) or next(iter(pool.epps), None)
    tls_on, why = _secure_serving(epp)
    port = pool.epp.port or 9002
    # A rule's host names the Service and namespace (see _host_key), or is a wildcard: look only at those.
    mine = [d for d in rules.get((svc, ns), []) + rules.get(("*", ""), [])
            if host_matches(str((d.get("spec") or {}).get("host", "")), k8s.namespace(d), svc, ns)]
    lost = (*EPP_CAPABILITIES, GATEWAY_ROUTING) if not pool.fail_open else EPP_CAPABILITIES
    if not served:
        lost = ()  # nothing routes through the pool yet: a warning about the future
    evidence = [why, f"{pool.ref} -> {sref} port {port} ({pool.epp.failure_mode})"]
    evidence += [f"{obj_ref(d)}: host {(d.get('spec') or {}).get('host')}, tls {_tls_of(d, port) or 'none'}" for d in mine]
    simple = [d for d in mine if str(_tls_of(d, port).get("mode", "")).upper() == "SIMPLE"]
    if not tls_on:
        if simple:
            return Finding(Status.WARN, f"{sref} serves plaintext ({why}), but {obj_ref(simple[0])} makes the "
                           "gateway dial it with TLS: ext_proc fails (gRPC error 14, 500s)", obj_ref(simple[0]),
                           tuple(evidence), capabilities=lost,
                           remediation="Remove the DestinationRule's tls settings, or let the EPP serve TLS "
                           "(drop --secure-serving=false).")
        return Finding(Status.PASS, f"{sref} serves plaintext ({why}); no TLS DestinationRule needed", sref,
                       tuple(evidence))
    good = [d for d in simple if _tls_of(d, port).get("insecureSkipVerify") is True
            or _tls_of(d, port).get("caCertificates") or _tls_of(d, port).get("credentialName")]
    impact = ("the Istio gateway cannot complete TLS to the EPP's self-signed certificate, so ext_proc fails "
              + ("and requests through the pool get 500s" if not pool.fail_open
                 else "and requests bypass the EPP (FailOpen)"))
    if not served:
        impact = f"no route sends traffic through {pool.ref} yet, but once one does " + impact
    status = Status.FAIL if served else Status.WARN
    fix = _DR_FIX.format(svc=svc, ns=ns)
    if good:
        d = good[0]
        return Finding(Status.PASS, f"{obj_ref(d)} sets tls.mode SIMPLE (insecureSkipVerify: "
                       f"{_tls_of(d, port).get('insecureSkipVerify')}) for EPP {sref}", obj_ref(d), tuple(evidence))
    if simple:
        return Finding(status, f"{obj_ref(simple[0])} sets tls.mode SIMPLE for {sref} without insecureSkipVerify "
                       f"(or a CA): {impact}", obj_ref(simple[0]), tuple(evidence), remediation=fix, capabilities=lost)
    if mine:
        mode = _tls_of(mine[0], port).get("mode") or "unset"
        return Finding(status, f"{obj_ref(mine[0])} for {sref} has tls.mode {mode}, not SIMPLE: {impact}",
                       obj_ref(mine[0]), tuple(evidence), remediation=fix, capabilities=lost)
    return Finding(status, f"no DestinationRule for EPP {sref} with tls.mode SIMPLE and insecureSkipVerify: "
                   f"{impact}", sref, tuple(evidence), remediation=fix, capabilities=lost)
