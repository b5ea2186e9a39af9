"""Which hop a failed request points at, made specific with the topology.

A failure is classified from the answer (llmd_doctor.probes.classify) and pinned to a hop: a 500 while
the EPP crash-loops points at the EPP, a 503 while the pool selects no Ready pod at the selector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import INFERENCE_MODEL
from llmd_doctor.model import Finding, Status
from llmd_doctor.probes import classify as cl
from llmd_doctor.probes.target import Target, gateway_of, inference_models, model_server_names, pools_of
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Epp, Pool, Route, topology
from llmd_doctor.topology.models import MODEL_HEADERS, landing
from llmd_doctor.topology.servers import model_names, server_container

from ._records import ERROR_CLASSES, REMEDIATION, headers_line, line, model_of, target_of

Obj = dict[str, Any]


@dataclass
class Hop:
    hop: str
    object: str | None
    why: str
    evidence: list[str] = field(default_factory=list)
    remediation: str | None = None  # overrides the class's when the hop calls for another fix


@dataclass
class Chain:
    """The objects a probed request went through: the Gateway, its routes, their pools (the pools
    the request's model should reach, when the probe knew them)."""

    target: Target
    routes: list[Route]
    pools: list[Pool]
    has_gateway: bool
    model: str | None = None


def chain(snap: Snapshot, rec: dict[str, Any]) -> Chain:
    t = target_of(rec)
    gw = gateway_of(snap, t.gateway)
    routes = list(gw.routes) if gw is not None else []
    pools = pools_of(routes) if routes else list(topology(snap).pools)
    wanted = [str(x) for x in rec.get("pools") or [] if isinstance(x, str)]
    mine = [p for p in topology(snap).pools if p.ref in wanted]
    return Chain(t, routes, mine or pools, gw is not None, model_of(rec))


def epps_of(snap: Snapshot, pools: list[Pool], strict: bool = False) -> list[Epp]:
    """The EPPs serving the pools (every EPP when none matches, unless strict)."""
    epps = list(topology(snap).epps)
    mine = [e for e in epps if e.pool.target in pools]
    return mine if strict or mine else epps


def pod_line(p: Obj) -> str:
    return f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}"


def _epp_down(snap: Snapshot, ch: Chain) -> Hop | None:
    """An endpoint picker of the chain with no Ready pod, or None."""
    for epp in epps_of(snap, ch.pools):
        if epp.pods.gaps:
            continue
        if not any(k8s.pod_ready(p) for p in epp.pods):
            waits = [r for p in epp.pods for _, r, _ in k8s.waiting_reasons(p)]
            state = waits[0] if waits else ("no pods" if not epp.pods else "not Ready")
            return Hop("epp", epp.ref, f"the endpoint picker {epp.ref} has 0 Ready pods ({state})",
                       [pod_line(p) for p in epp.pods])
    return None


def _epp_hop(snap: Snapshot, ch: Chain, default_why: str) -> Hop:
    down = _epp_down(snap, ch)
    if down is not None:
        return down
    pool = ch.pools[0] if ch.pools else None
    if pool is not None and not epps_of(snap, [pool], strict=True) and topology(snap).epps.complete:
        return Hop("epp", pool.ref, f"no endpoint-picker Deployment serves {pool.ref} (pool flags of the EPPs "
                                    "name another pool)")
    epps = epps_of(snap, ch.pools)
    return Hop("epp", epps[0].ref if epps else pool.ref if pool else None, default_why)


def _container_ports(pod: Obj) -> set[int]:
    return {int(p["containerPort"]) for c in k8s.containers(k8s.pod_spec(pod)) for p in c.get("ports") or []
            if isinstance(p.get("containerPort"), int)}


def _pool_hop(ch: Chain) -> Hop | None:
    """A pool that selects no Ready pod (the selector), or None when every pool has Ready pods."""
    for pool in ch.pools:
        pods = list(pool.pods)
        if not any(k8s.pod_ready(p) for p in pods):
            return Hop("selector", pool.ref, f"{pool.ref} selects {len(pods)} pod(s) with {pool.selector_text}, none "
                       "of them Ready", [pod_line(p) for p in pods[:5]])
    return None


def _routes_to_services(ch: Chain) -> list[tuple[str, str]]:
    """(route ref, Service name) for routes of the gateway that send to a Service, not a pool."""
    return [(r.ref, b.name) for r in ch.routes for b in r.backends if b.is_service]


def _route_hop(snap: Snapshot, cls: str, ch: Chain, gw_ref: str | None) -> Hop:
    if cls == "route_not_found":
        if ch.has_gateway and not ch.routes:
            return Hop("httproute", gw_ref, f"no HTTPRoute is attached to {gw_ref}")
        for r in ch.routes:
            for parent in r.status_parents:
                acc = k8s.condition({}, "Accepted", parent.get("conditions") or [])
                if acc is not None and acc.get("status") != "True":
                    return Hop("httproute", r.ref, f"{r.ref} is not accepted by the gateway",
                               [k8s.cond_text(acc, "Accepted")])
        names = ", ".join(r.ref for r in ch.routes)
        return Hop("httproute", gw_ref, f"no rule of {names or 'the attached routes'} matches this host and path")
    for r in ch.routes:
        for b in r.pool_backends:
            if b.pool.missing:
                return Hop("httproute", r.ref, f"{r.ref} sends to InferencePool {b.name}, which does not exist")
    return Hop("httproute", gw_ref, "the route's backend does not resolve (missing pool or ReferenceGrant)")


def attribute(snap: Snapshot, c: cl.Classification, rec: dict[str, Any]) -> Hop:
    """The hop a failure points at, made specific with the snapshot."""
    ch = chain(snap, rec)
    gw_ref = ch.target.gateway
    pool = ch.pools[0] if ch.pools else None
    cls = c.cls or ""
    if cls in cl.CONNECT_CLASSES:
        return Hop("network", gw_ref, cl.HOPS["network"])
    if cls in ("route_not_found", "fault_filter_abort"):
        return _route_hop(snap, cls, ch, gw_ref)
    if cls == "model_not_found":
        wrong = _wrong_pool(snap, rec, ch)
        if wrong is not None:
            return wrong
        served = inference_models(snap, ch.pools) + model_server_names(snap, ch.pools)
        names = sorted({n for n, _ in served})
        why = f"model {ch.model!r} is not served" + (f"; the snapshot shows {', '.join(names)}" if names else "")
        return Hop("model", pool.ref if pool else gw_ref, why, [f"{n} ({ref})" for n, ref in served[:5]])
    if cls in ("ext_proc_failure", "model_missing_in_body") or (cls == "unavailable" and c.hop == "epp"):
        return _epp_hop(snap, ch, "the endpoint picker is Ready, so the gateway cannot use it over ext_proc "
                                  "(EPP Service port, TLS/DestinationRule, or no InferencePool support in the gateway)")
    if cls == "saturated":
        models = snap.list(INFERENCE_MODEL) if snap.gap(INFERENCE_MODEL) is None and \
            INFERENCE_MODEL in snap.collected else []
        crit = [f"InferenceModel/{k8s.namespace(im)}/{k8s.name(im)}: criticality "
                f"{(im.get('spec') or {}).get('criticality', 'unset')}"
                for im in models if (im.get("spec") or {}).get("modelName") == ch.model]
        h = _epp_hop(snap, ch, "the endpoint picker shed the request: the pool is saturated, or the request is "
                               "sheddable (InferenceModel criticality not Critical, InferenceObjective priority < 0)")
        h.evidence += crit
        return h
    if cls in ("no_healthy_upstream", "unavailable"):
        return _no_upstream(ch, gw_ref, pool)
    if cls == "upstream_connect_error":
        return _connect_error(ch, gw_ref, pool)
    if cls in ("timeout", "upstream_timeout"):
        h = _epp_down(snap, ch) or _pool_hop(ch)
        if h is not None:
            return h
        return Hop("model-server", pool.ref if pool else gw_ref, "the model server did not answer in time "
                   "(still loading, overloaded, or a long generation)")
    if cls == "not_openai":
        svc = _routes_to_services(ch)
        if svc:
            return Hop("httproute", svc[0][0], f"{svc[0][0]} sends to Service {svc[0][1]}, which is not an "
                                               "OpenAI-compatible server")
        return Hop("httproute", gw_ref, "whatever answered is not an OpenAI-compatible model server")
    if cls in ("server_error", "bad_request"):
        return Hop("model-server", pool.ref if pool else gw_ref, cl.HOPS["model-server"])
    return Hop(c.hop or "gateway", gw_ref, cl.HOPS.get(c.hop or "gateway", "the gateway"))


def _wrong_pool(snap: Snapshot, rec: dict[str, Any], ch: Chain) -> Hop | None:
    """The request landed in a pool its model should not reach (the answer names the endpoint)."""
    land = landing(snap, rec.get("endpoint") or cl.endpoint_of(rec.get("headers")))
    expected = [str(x) for x in rec.get("pools") or []]
    if land is None or not land.pools or not expected or {p.ref for p in land.pools} & set(expected):
        return None
    header_rules = [s for s in rec.get("model_sources") or [] if any(h in str(s).lower() for h in MODEL_HEADERS)]
    why = f"the request for {ch.model!r} landed on {land.text}, not in {', '.join(expected)}"
    if header_rules:
        why += (f": the rule {header_rules[0]} did not match — body-based routing (BBR), which copies the model "
                "from the body into that header, is missing or not in this Gateway's path")
        return Hop("httproute", header_rules[0].split(" rule ")[0], why, [land.text],
                   remediation="Deploy body-based routing (GIE `body-based-routing` chart) for this Gateway, or match "
                               "the rules on something clients send.")
    return Hop("httproute", ch.target.gateway, why, [land.text])


def _no_upstream(ch: Chain, gw_ref: str | None, pool: Pool | None) -> Hop:
    h = _pool_hop(ch)
    if h:
        return h
    svc = _routes_to_services(ch)
    if svc:
        return Hop("pool", svc[0][0], f"{svc[0][0]} sends to Service {svc[0][1]}; it has no ready endpoint")
    ready = sum(1 for p in ch.pools for x in p.pods if k8s.pod_ready(x))
    return Hop("pool", pool.ref if pool else gw_ref,
               f"{pool.ref if pool else 'the pool'} has {ready} Ready pod(s), yet the gateway saw no healthy "
               "endpoint: the EPP or the gateway does not see them (EPP pool flags, Istio shadow Service)",
               remediation="Check that the EPP watches this pool (--pool-name, --pool-namespace, --pool-group) "
                           "and logs no `no pods available`; on Istio, that the pool's shadow Service "
                           "`<pool>-ip-*` exists.")


def _connect_error(ch: Chain, gw_ref: str | None, pool: Pool | None) -> Hop:
    for p in ch.pools:
        pods = list(p.pods)
        serving = [x for x in pods if not p.target_ports or _container_ports(x) & set(p.target_ports)]
        declared = sorted({port for x in pods for port in _container_ports(x)})
        if pods and p.target_ports and not serving and declared:
            return Hop("selector", p.ref, f"{p.ref} sends to port {p.target_ports[0]}, but its pods' containers "
                                          f"declare {declared}", [pod_line(x) for x in pods[:3]])
        if pods and p.target_ports and len(serving) < len(pods):
            odd = [x for x in pods if x not in serving]
            return Hop("selector", p.ref, f"{p.ref} also selects {len(odd)} pod(s) that do not serve port "
                                          f"{p.target_ports[0]}", [pod_line(x) for x in odd[:3]])
    return Hop("model-server", pool.ref if pool else gw_ref,
               "the model server did not accept the connection on the target port (not listening yet, or crashed)")


def failure(snap: Snapshot, rec: dict[str, Any], c: cl.Classification, caps: tuple[str, ...] | None,
            what: str = "") -> Finding:
    """A Finding for a failed exchange: status by class, message with the hop, evidence, fix."""
    t = target_of(rec)
    h = attribute(snap, c, rec)
    cls = c.cls or ""
    evidence = [line(rec)] + [x for x in (headers_line(rec),) if x]
    if isinstance(rec.get("body_excerpt"), str) and rec["body_excerpt"].strip():
        evidence.append(f"body: {rec['body_excerpt'][:300]}")
    evidence += h.evidence
    land = landing(snap, rec.get("endpoint") or cl.endpoint_of(rec.get("headers")))
    if land is not None and land.text not in evidence:
        evidence.append(f"answered by {land.text}")
    if h.hop == "selector":
        evidence += _servers_of_model(snap, model_of(rec), h.object)
    if cls in ERROR_CLASSES and t.source == "gateway" and cls != "unauthorized":
        return Finding(Status.SKIP, f"{what}{c.message}; {t.how_to_reach()}", h.object, tuple(evidence),
                       unverified=True)
    if cls == "unauthorized" and t.api_key == "withheld":
        return Finding(Status.ERROR, f"{what}could not check: {c.message}; the API key from --api-key-env was "
                       f"withheld: it is sent only to an address given with --gateway-url", h.object, tuple(evidence),
                       remediation=f"Pass --gateway-url {t.base_url or '<the gateway URL>'} with --api-key-env to send "
                                   "the key to the gateway you trust.", unverified=True)
    if cls in ERROR_CLASSES:
        hint = "; is the port-forward running?" if cls == "refused" else ""
        return Finding(Status.ERROR, f"{what}could not check: {c.message}{hint}", h.object, tuple(evidence),
                       remediation=REMEDIATION.get(cls), unverified=True)
    status = Status.WARN if cls == "saturated" else Status.FAIL
    return Finding(status, f"{what}{c.message} — hop: {h.why}", h.object, tuple(evidence),
                   remediation=h.remediation or REMEDIATION.get(cls), capabilities=() if status == Status.WARN else caps)


def _servers_of_model(snap: Snapshot, model: str | None, pool_ref: str | None) -> list[str]:
    """Model-server pods that serve `model`, with their values for the pool's selector keys: the pods
    the pool should have selected (what tells a typo in the selector from pods that do not exist)."""
    if not model:
        return []
    topo = topology(snap)
    pool = next((p for p in topo.pools if p.ref == pool_ref), None)
    out: list[str] = []
    for g in topo.servers:
        for pod in g.pods:
            c = server_container(pod)
            if c is None or model not in (model_names(c, vllm_only=False) or []):
                continue
            labels = k8s.labels(pod)
            keys = list(pool.selector) if pool is not None else []
            shown = ", ".join(f"{k}={labels[k]}" if k in labels else f"no {k}" for k in keys) or "labels unknown"
            chosen = ", ".join(p.ref for p in g.pools) or "no InferencePool"
            out.append(f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)} serves {model!r} ({shown}); selected by {chosen}")
            if len(out) == 3:
                return out
    return out
