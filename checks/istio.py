"""Istio as the inference gateway: istiod, its inference-extension switch, and TLS to the endpoint picker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor.model import (
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    OPENAI_API,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot

from . import _k8s as k
from . import _llmd, _versions
from . import gateway as gw

Obj = dict[str, Any]

ENV_FLAGS = ("ENABLE_GATEWAY_API_INFERENCE_EXTENSION", "SUPPORT_GATEWAY_API_INFERENCE_EXTENSION")
DR_KEY = "DestinationRule.networking.istio.io"
# Namespaces istiod is installed in by default (upstream Istio; OpenShift's Gateway API controller).
ISTIOD_NAMESPACES = ("istio-system", "openshift-ingress")
_TRUE = {"1", "t", "true"}  # Go strconv.ParseBool, as istiod reads its env


def _istio_gateways(snap: Snapshot, strict: bool = False) -> list[tuple[Obj, gw.Implementation]]:
    """Gateways of an Istio class; strict: raise when Gateways could not be read instead of saying none."""
    out = []
    for g in (snap.list(gw.GATEWAY_KEY) if strict else snap.maybe_list(gw.GATEWAY_KEY) or []):
        impl = gw.implementation(snap, g)
        if impl.name == "istio":
            out.append((g, impl))
    return out


def _implementations(snap: Snapshot) -> str:
    names = sorted({gw.implementation(snap, g).label for g in snap.maybe_list(gw.GATEWAY_KEY) or []})
    return ", ".join(names) if names else "none"


@check(
    "istio.control-plane",
    title="Istio control plane",
    area="istio",
    severity=Severity.CRITICAL,
    inputs=(gw.DEPLOYMENT, "Pod", gw.GATEWAY_KEY, gw.CLASS_KEY),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    remediation=(
        "Install or repair istiod (`kubectl -n istio-system get deploy,pods -l app=istiod`, "
        "`kubectl -n istio-system logs deploy/istiod`); Istio Gateways are programmed by istiod."
    ),
)
def control_plane(ctx: CheckContext) -> Iterator[Finding]:
    """istiod found (any namespace) and available; the Istio version from its image tag."""
    snap = ctx.snapshot
    found = gw.istiods(snap)
    istio_gws = _istio_gateways(snap, strict=not found)
    if not found:
        if not istio_gws:
            yield Finding(Status.SKIP, f"no Istio control plane; gateway is {_implementations(snap)}")
            return
        users = ", ".join(f"{obj_ref(g)} (class {(g.get('spec') or {}).get('gatewayClassName')})" for g, _ in istio_gws)
        scope = snap.namespaces
        if scope is not None and not any(ns in scope for ns in ISTIOD_NAMESPACES):
            yield Finding(Status.WARN, f"{users} uses an Istio class, but istiod is not in the namespaces read "
                          f"({', '.join(scope)})", evidence=(f"read namespaces: {', '.join(scope)}",),
                          remediation="Run again including istiod's namespace (e.g. `-n istio-system`).",
                          capabilities=())
            return
        yield Finding(Status.FAIL, f"{users} uses an Istio class, but no istiod Deployment exists: nothing programs "
                      "the gateway", obj_ref(istio_gws[0][0]),
                      (f"Deployments read in {', '.join(scope) if scope else 'all namespaces'}",))
        return
    pods = snap.maybe_list("Pod")
    served = {id(gw.istiod_for(g, impl.controller, found)): obj_ref(g) for g, impl in istio_gws}
    for i in found:
        ok, text = i.availability(pods)
        version = i.version_text or "unknown"
        if i.version_text and i.version is None:
            version += " (pre-release build)"
        evidence = (f"image {i.image}", text)
        if ok:
            yield Finding(Status.PASS, f"{i.ref} available ({text.split(',')[0]}), Istio {version}", i.ref, evidence)
        elif id(i) in served:
            yield Finding(Status.FAIL, f"{i.ref} is not available ({text}); it programs {served[id(i)]}", i.ref,
                          evidence)
        else:
            yield Finding(Status.WARN, f"{i.ref} is not available ({text}); no llm-d Gateway depends on it", i.ref,
                          evidence, capabilities=())


def _flag(i: gw.Istiod) -> tuple[str | None, str | None, bool | None]:
    """(flag name, value, on?) of the inference-extension switch; on=None when set from a reference."""
    for name in ENV_FLAGS:
        present, value = i.env(name)
        if present:
            if value is None:
                return name, None, None
            if value.strip().lower() in _TRUE:
                return name, value, True
    for name in ENV_FLAGS:  # set, but not true
        present, value = i.env(name)
        if present:
            return name, value, False
    return None, None, False


def _flag_names(i: gw.Istiod) -> tuple[list[str], str]:
    """Env flags this Istio version reads (compat.yaml), and the source; [] when it needs none."""
    v = i.version or i.nominal_version
    facts = _versions.gateway_facts("istio", v) if v else None
    if facts is None:
        return list(ENV_FLAGS), "llm-d-facts.md §0.5"
    return list(facts.get("env_flags") or []), str(facts["source"])


def _route_evidence(routes: list[Obj]) -> list[str]:
    out = []
    for r in routes:
        for p in (r.get("status") or {}).get("parents") or []:
            for c in (p or {}).get("conditions") or []:
                if isinstance(c, dict) and c.get("status") != "True":
                    out.append(f"{obj_ref(r)}: {k.cond_text(c, str(c.get('type')))}")
    return out


def _shadow_service(snap: Snapshot, pool: _llmd.Pool | None) -> str | None:
    if pool is None:
        return None
    for s in snap.maybe_list("Service", pool.namespace) or []:
        if k.labels(s).get("istio.io/inferencepool-name") == pool.name:
            return f"Service/{k.namespace(s)}/{k.name(s)}"
    return None


@check(
    "istio.inference-extension",
    title="Istio inference extension",
    area="istio",
    severity=Severity.MAJOR,
    inputs=(gw.DEPLOYMENT, gw.GATEWAY_KEY, gw.CLASS_KEY, gw.ROUTE_KEY, "Service", "Pod", *_llmd.POOL_KEYS),
    requires=("istio.control-plane",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
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
    found = gw.istiods(snap)
    all_pools = _llmd.pools(snap)
    checked = False
    by_parent = _pool_routes_by_parent(snap)
    for g, impl in _istio_gateways(snap, strict=True):
        routes = by_parent.get((k.namespace(g), k.name(g)), [])
        if not routes:
            continue
        i = gw.istiod_for(g, impl.controller, found)
        if i is None:
            continue
        checked = True
        gref = obj_ref(g)
        pool_refs = [(r, b) for r in routes for b in gw.backends(r) if b.is_pool]
        groups = sorted({b.group for _, b in pool_refs})
        pools_used = [gw.find_pool(all_pools, b) for _, b in pool_refs]
        shadows = [s for s in (_shadow_service(snap, p) for p in pools_used) if s]
        route_ev = _route_evidence(routes)
        version = i.version_text or "of unknown version"
        base_ev = [f"{i.ref} image {i.image}", *(f"{obj_ref(r)} -> {b.text}" for r, b in pool_refs)]
        # 1. the env switch
        needed, flag_source = _flag_names(i)
        name, value, on = _flag(i)
        if needed and on is False:
            what = f"{name}={value}" if name else f"neither {' nor '.join(ENV_FLAGS)} is set"
            yield Finding(
                Status.FAIL,
                f"{i.ref} (Istio {version}) does not enable the Gateway API Inference Extension ({what}): Istio "
                f"ignores InferencePool backends, so {gref}'s routes to pools fail",
                i.ref,
                tuple(base_ev + route_ev + [f"Istio {version} reads {' / '.join(needed)} ({flag_source})",
                                            "no shadow Service <pool>-ip-<hash>: istiod has not reconciled the pool"
                                            if not shadows else f"shadow {', '.join(shadows)}"]),
                remediation=(f"Set env {needed[0]}=true on istiod (Helm: `--set pilot.env.{needed[0]}=true`"
                             + (f"; also setting {needed[1]}=true, the name other Istio releases read, is harmless"
                                if len(needed) > 1 else "") + ") and let istiod restart."),
            )
            continue
        if needed and on is None:
            yield Finding(Status.WARN, f"{i.ref} sets {name} from a reference (valueFrom); whether the inference "
                          "extension is on could not be read", i.ref, tuple(base_ev + route_ev), capabilities=())
            continue
        # 2. the pool API group this Istio routes
        impl_v = gw.Implementation("istio", impl.controller, i.version, i.version_text, i.ref)
        supported, source = gw.supported_pool_groups(impl_v)
        if supported is not None:
            wrong = [grp for grp in groups if grp not in supported]
            if wrong:
                yield Finding(
                    Status.FAIL,
                    f"{gref} runs Istio {version}, which routes only {', '.join(supported)} InferencePools, but its "
                    f"routes use {', '.join(wrong)}: the routes get ResolvedRefs=False (InvalidKind)",
                    gref,
                    tuple(base_ev + route_ev + [f"compat: {source}"]),
                    remediation=(f"Use {' or '.join(supported)} InferencePools with Istio {version} (the pool, the "
                                 "route's backendRef group and the EPP's --pool-group), or change the Istio version "
                                 "(1.27 for inference.networking.x-k8s.io, 1.28+ for inference.networking.k8s.io)."),
                )
                continue
        flag_text = f"{name}={value}" if name else "no switch needed"
        note = "" if supported is not None else \
            f"; Istio {version} is a pre-release or unknown build, so its pool API group support was not checked"
        shadow = f"; shadow {', '.join(shadows)}" if shadows else "; no shadow Service <pool>-ip-<hash> seen"
        yield Finding(Status.PASS, f"{i.ref} (Istio {version}) has {flag_text} and routes {', '.join(groups)} "
                      f"InferencePools for {gref}{shadow}{note}", i.ref, tuple(base_ev))
    if not checked:
        yield Finding(Status.SKIP, "no Istio Gateway routes to an InferencePool")


# ---- istio.epp-destination-rule ------------------------------------------------------------------


def _host_matches(host: str, dr_ns: str, svc: str, ns: str) -> bool:
    host = host.strip().rstrip(".")
    if host == svc:  # a short name resolves in the DestinationRule's own namespace
        return dr_ns == ns
    if host in (f"{svc}.{ns}", f"{svc}.{ns}.svc") or host.startswith(f"{svc}.{ns}.svc."):
        return True
    return host.startswith("*.") and f"{svc}.{ns}.svc.cluster.local".endswith(host[1:])


def _tls_of(dr: Obj, port: int | None) -> Obj:
    policy = (dr.get("spec") or {}).get("trafficPolicy") or {}
    for pls in policy.get("portLevelSettings") or []:
        if isinstance(pls, dict) and port is not None and (pls.get("port") or {}).get("number") == port and pls.get("tls"):
            return pls["tls"]
    return policy.get("tls") or {}


def _secure_serving(epp: _llmd.Epp | None) -> tuple[bool, str]:
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


@k.per_snapshot
def _rules_by_host_label(snap: Snapshot) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for d in snap.list(DR_KEY):
        host = str((d.get("spec") or {}).get("host", ""))
        out.setdefault(host.split(".", 1)[0], []).append(d)
    return out


@k.per_snapshot
def _pool_routes_by_parent(snap: Snapshot) -> dict[tuple[str, str], list[Obj]]:
    """HTTPRoutes that send to an InferencePool, by the (namespace, name) of each parent Gateway."""
    out: dict[tuple[str, str], list[Obj]] = {}
    for r in snap.list(gw.ROUTE_KEY):
        if any(b.is_pool for b in gw.backends(r)):
            for ref in dict.fromkeys(gw.parent_refs(r)):
                out.setdefault(ref, []).append(r)
    return out


def _epp_for(pool: _llmd.Pool, epps: list[_llmd.Epp], services: list[Obj]) -> _llmd.Epp | None:
    svc = next((s for s in services if k.name(s) == pool.epp_name and k.namespace(s) == pool.namespace), None)
    sel = ((svc or {}).get("spec") or {}).get("selector") or {}
    for e in epps:
        tmpl = (((e.deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if e.namespace == pool.namespace and sel and k.match_labels(sel, {str(a): str(b) for a, b in tmpl.items()}):
            return e
    return next((e for e in epps if e.pool_name == pool.name and e.pool_namespace == pool.namespace), None)


def _served_by(snap: Snapshot, pool: _llmd.Pool) -> set[str | None]:
    """Implementations of the Gateways whose routes send traffic to a pool."""
    out: set[str | None] = set()
    for r in _llmd.routes_to_pool(snap, pool):
        if any(b.is_pool and b.group == pool.group and b.name == pool.name for b in gw.backends(r)):
            for g in gw.parent_gateways(snap, r):
                out.add(gw.implementation(snap, g).name)
    return out


_DR_FIX = (
    "Create a DestinationRule for the EPP Service:\n"
    "  apiVersion: networking.istio.io/v1\n  kind: DestinationRule\n  metadata: {{name: {svc}-insecure-tls, "
    "namespace: {ns}}}\n  spec:\n    host: {svc}.{ns}.svc.cluster.local\n    trafficPolicy:\n      tls: "
    "{{mode: SIMPLE, insecureSkipVerify: true}}\n(the GIE inferencepool chart renders it with provider.name=istio)."
)


@check(
    "istio.epp-destination-rule",
    title="Istio DestinationRule for the endpoint picker",
    area="istio",
    severity=Severity.MAJOR,
    inputs=(DR_KEY, gw.DEPLOYMENT, "Service", gw.GATEWAY_KEY, gw.CLASS_KEY, gw.ROUTE_KEY, *_llmd.POOL_KEYS),
    requires=("istio.control-plane",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
    remediation=_DR_FIX.format(svc="<epp-service>", ns="<namespace>"),
)
def epp_destination_rule(ctx: CheckContext) -> Iterator[Finding]:
    """Istio + TLS-serving EPP: a DestinationRule for the EPP Service with tls.mode SIMPLE and
    insecureSkipVerify (the EPP's certificate is self-signed; without it ext_proc fails and requests get 500s)."""
    snap = ctx.snapshot
    all_pools = [p for p in _llmd.pools(snap) if p.epp_name and p.epp_kind == "Service"]
    if not all_pools:
        yield Finding(Status.SKIP, "no InferencePool names an endpoint-picker Service")
        return
    istio_present = bool(_istio_gateways(snap))
    epps = _llmd.epps(snap)
    services = snap.list("Service")
    rules: list[Obj] | None = None
    others: list[str] = []
    for pool in all_pools:
        served = _served_by(snap, pool)
        if (served and "istio" not in served) or (not served and not istio_present):
            others.append(f"{pool.ref} ({', '.join(sorted(str(s) for s in served)) or 'not routed'})")
            continue  # another gateway talks to this EPP, or no Istio gateway at all
        if rules is None:
            rules = snap.list(DR_KEY)
        svc, ns = str(pool.epp_name), pool.namespace
        sref = f"Service/{ns}/{svc}"
        epp = _epp_for(pool, epps, services)
        tls_on, why = _secure_serving(epp)
        port = pool.epp_port or 9002
        # A rule's host names the Service by its first label, or is a wildcard: look only at those.
        by_first = _rules_by_host_label(snap)
        candidates = by_first.get(svc, []) + by_first.get("*", [])
        mine = [d for d in candidates
                if _host_matches(str((d.get("spec") or {}).get("host", "")), k.namespace(d), svc, ns)]
        lost = (*EPP_CAPABILITIES, GATEWAY_ROUTING) if pool.epp_failure_mode != "FailOpen" else EPP_CAPABILITIES
        if not served:
            lost = ()  # nothing routes through the pool yet: a warning about the future
        evidence = [why, f"{pool.ref} -> {sref} port {port} ({pool.epp_failure_mode})"]
        evidence += [f"{obj_ref(d)}: host {(d.get('spec') or {}).get('host')}, tls {_tls_of(d, port) or 'none'}"
                     for d in mine]
        simple = [d for d in mine if str(_tls_of(d, port).get("mode", "")).upper() == "SIMPLE"]
        if not tls_on:
            if simple:
                yield Finding(Status.WARN, f"{sref} serves plaintext ({why}), but {obj_ref(simple[0])} makes the "
                              "gateway dial it with TLS: ext_proc fails (gRPC error 14, 500s)", obj_ref(simple[0]),
                              tuple(evidence), capabilities=lost,
                              remediation="Remove the DestinationRule's tls settings, or let the EPP serve TLS "
                              "(drop --secure-serving=false).")
            else:
                yield Finding(Status.PASS, f"{sref} serves plaintext ({why}); no TLS DestinationRule needed", sref,
                              tuple(evidence))
            continue
        good = [d for d in simple if _tls_of(d, port).get("insecureSkipVerify") is True
                or _tls_of(d, port).get("caCertificates") or _tls_of(d, port).get("credentialName")]
        impact = ("the Istio gateway cannot complete TLS to the EPP's self-signed certificate, so ext_proc fails "
                  + ("and requests through the pool get 500s" if pool.epp_failure_mode != "FailOpen"
                     else "and requests bypass the EPP (FailOpen)"))
        if not served:
            impact = f"no route sends traffic through {pool.ref} yet, but once one does " + impact
        status = Status.FAIL if served else Status.WARN
        fix = _DR_FIX.format(svc=svc, ns=ns)
        if good:
            d = good[0]
            yield Finding(Status.PASS, f"{obj_ref(d)} sets tls.mode SIMPLE (insecureSkipVerify: "
                          f"{_tls_of(d, port).get('insecureSkipVerify')}) for EPP {sref}", obj_ref(d), tuple(evidence))
        elif simple:
            yield Finding(status, f"{obj_ref(simple[0])} sets tls.mode SIMPLE for {sref} without insecureSkipVerify "
                          f"(or a CA): {impact}", obj_ref(simple[0]), tuple(evidence), remediation=fix,
                          capabilities=lost)
        elif mine:
            mode = _tls_of(mine[0], port).get("mode") or "unset"
            yield Finding(status, f"{obj_ref(mine[0])} for {sref} has tls.mode {mode}, not SIMPLE: {impact}",
                          obj_ref(mine[0]), tuple(evidence), remediation=fix, capabilities=lost)
        else:
            yield Finding(status, f"no DestinationRule for EPP {sref} with tls.mode SIMPLE and insecureSkipVerify: "
                          f"{impact}", sref, tuple(evidence), remediation=fix, capabilities=lost)
    if rules is None:
        yield Finding(Status.SKIP, "no InferencePool is reached through an Istio gateway: "
                      + "; ".join(others))

