"""End to end: a real chat completion through the gateway, and what it says about each hop.

The checks read the probe records in `snapshot.probes` (live: the probe stage of run.diagnose;
offline: the bundle's probes/*.json) and never do I/O themselves. A failure is classified from
the answer (llmd_doctor.probes.classify) and pinned to a hop with the snapshot: a 500 while the
EPP crash-loops points at the EPP, a 503 while the pool selects no Ready pod at the selector.

Statuses: an HTTP answer that shows the path broken is `fail`; 429 (shed under saturation) and
streaming/shape problems are `warn`; a gateway this machine cannot reach is `skip` with the
port-forward to use (discovered address) or `error` (an unreachable --gateway-url), because
nothing was learned about the cluster; 401/403 is `error` (pass --api-key-env).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    GATEWAY_ROUTING,
    GPU_INFERENCE,
    OPENAI_API,
    PREFIX_CACHE,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.probes import classify as cl
from llmd_doctor.probes.target import (
    GATEWAY,
    INFERENCE_MODEL,
    Target,
    inference_models,
    model_server_names,
    pool_pods,
    pools_of_routes,
    ref_parts,
    routes_of_gateway,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, NotCollected, Snapshot

from . import _k8s as k
from . import _llmd

E2E_INPUTS = (GATEWAY, _llmd.HTTPROUTE, *_llmd.POOL_KEYS, INFERENCE_MODEL, "Deployment.apps", "Pod", "Service")
ROUTING_INPUTS = (*E2E_INPUTS, "ConfigMap")
AFFINITY_MIN = 0.8  # share of a shared-prefix series one endpoint should get when prefix-aware routing is on
PREFIX_PLUGINS = ("precise-prefix-cache-scorer", "prefix-cache-scorer")
PREFIX_ENV = ("ENABLE_PREFIX_AWARE_SCORER", "ENABLE_PREFIX_CACHE_SCHEDULING")  # scheduler v0.1 / GIE v0.4

REMEDIATION = {
    "dns": "Reach the gateway from here: run the port-forward named above and pass --gateway-url, or fix the name.",
    "refused": "Check that the port-forward (or the gateway's proxy) is running and listening on that port.",
    "connect_timeout": "Reach the gateway from here (port-forward, VPN or a reachable LoadBalancer address).",
    "unreachable": "Reach the gateway from here (port-forward, VPN or a reachable LoadBalancer address).",
    "tls": "Use http:// for an HTTP listener, or an address whose certificate this machine trusts.",
    "connect_error": "Reach the gateway from here: run the port-forward named above and pass --gateway-url.",
    "unauthorized": "Pass the API key: export it in an environment variable and give its name with --api-key-env.",
    "model_not_found": "Ask for a model the servers serve (--model), or add an InferenceModel for it to the pool.",
    "model_missing_in_body": "The EPP must see the request body: check the gateway's ext_proc body mode "
                             "(Istio sends FULL_DUPLEX_STREAMED) and that the body is JSON with a `model`.",
    "route_not_found": "Attach an HTTPRoute to the Gateway whose rules match the request (path prefix `/`), "
                       "and check it is Accepted (`kubectl get httproute -o yaml`).",
    "fault_filter_abort": "Point the route's backendRef at an existing InferencePool (group, name, namespace); "
                          "cross-namespace refs need a ReferenceGrant.",
    "saturated": "Give the model's InferenceModel criticality Critical (GIE <= v0.5) or its InferenceObjective "
                 "priority >= 0, or add model-server capacity.",
    "ext_proc_failure": "Fix the endpoint picker (see epp.deployment and epp.logs) or the gateway's ext_proc link "
                        "to it: EPP Service port 9002, TLS (Istio: a DestinationRule with tls.mode SIMPLE and "
                        "insecureSkipVerify), and a gateway version that supports InferencePool ext_proc.",
    "no_healthy_upstream": "Make the InferencePool select Ready model-server pods (selector labels, readiness).",
    "upstream_connect_error": "Make the InferencePool's target port the port the model server listens on, and "
                              "select only pods that serve it.",
    "upstream_timeout": "Check the model server's load and logs; raise the HTTPRoute timeouts for long generations.",
    "timeout": "Check the model server's load and logs (`kubectl logs -n <ns> <pod> -c vllm`); raise "
               "--probe-timeout if the model is just slow.",
    "server_error": "Read the model server's logs (`kubectl logs -n <ns> <pod> -c vllm`).",
    "bad_request": "Read the error above; the model server rejected a minimal chat request.",
    "not_openai": "Point the route at an OpenAI-compatible server (the InferencePool of vLLM pods), not another "
                  "Service or proxy.",
    "unavailable": "Check the endpoint picker's logs for `no pods available` and the pool's Ready pods.",
    "disconnected": "Check the gateway proxy's logs (`kubectl logs -n <ns> deploy/<gateway>`).",
}
ERROR_CLASSES = cl.CONNECT_CLASSES | {"unauthorized"}


# ---- records ---------------------------------------------------------------------------------


def _record(snap: Snapshot, name: str) -> dict[str, Any]:
    """A probe record; NotCollected (-> skip) when there is none or the probe could not be sent."""
    rec = snap.probes.get(name)
    if rec is None:
        if snap.source.kind == "bundle":
            raise NotCollected(f"probe not run: offline bundle (it holds no probes/{name}.json)")
        raise NotCollected("probe not run (--no-probe)")
    if not isinstance(rec, dict):
        raise NotCollected(f"probe record {name} is not a JSON object")
    if rec.get("not_run"):
        raise NotCollected(f"probe not run: {rec['not_run']}")
    if rec.get("crashed"):  # the engine reports it as an error
        raise RuntimeError(f"the probe crashed: {rec['crashed']}")
    return rec


def _target(rec: dict[str, Any]) -> Target:
    return Target.from_dict(rec.get("target") if isinstance(rec.get("target"), dict) else None)


def _line(rec: dict[str, Any]) -> str:
    """`POST http://gw/v1/chat/completions -> HTTP 200 in 0.84s`."""
    method = (rec.get("request") or {}).get("method", "POST")
    got = f"HTTP {rec['status']}" if isinstance(rec.get("status"), int) else str(rec.get("error_class") or "no answer")
    took = f" in {rec['latency_s']:.2f}s" if isinstance(rec.get("latency_s"), int | float) else ""
    return f"{method} {rec.get('url', '?')} -> {got}{took}"


def _headers_line(rec: dict[str, Any]) -> str | None:
    h = {k: v for k, v in (rec.get("headers") or {}).items() if k != "date"}
    return "headers: " + ", ".join(f"{k}: {v}" for k, v in h.items()) if h else None


# ---- which hop -------------------------------------------------------------------------------


@dataclass
class Hop:
    hop: str
    object: str | None
    why: str
    evidence: list[str] = field(default_factory=list)
    remediation: str | None = None  # overrides the class's when the hop calls for another fix


@dataclass
class _Chain:
    target: Target
    gateway: tuple[str, str] | None
    routes: list[dict[str, Any]]
    pools: list[_llmd.Pool]


def _chain(snap: Snapshot, rec: dict[str, Any]) -> _Chain:
    t = _target(rec)
    gw = ref_parts(t.gateway)
    routes = routes_of_gateway(snap, *gw) if gw else []
    pools = pools_of_routes(snap, routes) if routes else _llmd.pools(snap)
    return _Chain(t, gw, routes, pools)


def _epps_of(snap: Snapshot, pools: list[_llmd.Pool], strict: bool = False) -> list[_llmd.Epp]:
    """The EPPs serving the pools (every EPP when none matches, unless strict)."""
    try:
        epps = _llmd.epps(snap)
    except DataUnavailable:
        return []
    mine = [e for e in epps if _llmd.pool_of_epp(e, pools) is not None]
    return mine if strict or mine else epps


def _pod_line(p: dict[str, Any]) -> str:
    return f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}"


def _epp_down(snap: Snapshot, ch: _Chain) -> Hop | None:
    """An endpoint picker of the chain with no Ready pod, or None."""
    for epp in _epps_of(snap, ch.pools):
        try:
            pods = _llmd.epp_pods(snap, epp)
        except DataUnavailable:
            continue
        if not any(k.pod_ready(p) for p in pods):
            waits = [r for p in pods for _, r, _ in k.waiting_reasons(p)]
            state = waits[0] if waits else ("no pods" if not pods else "not Ready")
            return Hop("epp", epp.ref, f"the endpoint picker {epp.ref} has 0 Ready pods ({state})",
                       [_pod_line(p) for p in pods])
    return None


def _epp_hop(snap: Snapshot, ch: _Chain, default_why: str) -> Hop:
    down = _epp_down(snap, ch)
    if down is not None:
        return down
    pool = ch.pools[0] if ch.pools else None
    if pool is not None and not _epps_of(snap, [pool], strict=True) and snap.has_collected("Deployment.apps"):
        return Hop("epp", pool.ref, f"no endpoint-picker Deployment serves {pool.ref} (pool flags of the EPPs "
                                    "name another pool)")
    epps = _epps_of(snap, ch.pools)
    obj = epps[0].ref if epps else pool.ref if pool else None
    return Hop("epp", obj, default_why)


def _container_ports(pod: dict[str, Any]) -> set[int]:
    return {int(p["containerPort"]) for c in k.containers(k.pod_spec(pod)) for p in c.get("ports") or []
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int)}


def _pool_hop(snap: Snapshot, ch: _Chain) -> Hop | None:
    """A pool that selects no Ready pod (the selector), or None when every pool has Ready pods."""
    for pool in ch.pools:
        pods = pool_pods(snap, pool)
        if not any(k.pod_ready(p) for p in pods):
            sel = k.selector_text(pool.selector) or "(empty selector)"
            return Hop("selector", pool.ref,
                       f"{pool.ref} selects {len(pods)} pod(s) with {sel}, none of them Ready",
                       [_pod_line(p) for p in pods[:5]])
    return None


def _routes_to_services(ch: _Chain) -> list[tuple[str, str]]:
    """(route ref, Service name) for routes of the gateway that send to a Service, not a pool."""
    out = []
    for r in ch.routes:
        for b in _llmd.route_backends(r):
            if b.get("kind", "Service") == "Service" and b.get("group", "") in ("", "core"):
                out.append((f"HTTPRoute/{k.namespace(r)}/{k.name(r)}", str(b.get("name"))))
    return out


def attribute(snap: Snapshot, c: cl.Classification, rec: dict[str, Any]) -> Hop:
    """The hop a failure points at, made specific with the snapshot."""
    ch = _chain(snap, rec)
    t = ch.target
    gw_ref = t.gateway
    pool = ch.pools[0] if ch.pools else None
    cls = c.cls or ""
    if cls in cl.CONNECT_CLASSES:
        return Hop("network", gw_ref, cl.HOPS["network"])
    if cls == "route_not_found":
        if ch.gateway and not ch.routes:
            return Hop("httproute", gw_ref, f"no HTTPRoute is attached to {gw_ref}")
        for r in ch.routes:
            for parent in (r.get("status") or {}).get("parents") or []:
                acc = k.condition(r, "Accepted", parent.get("conditions") or [])
                if acc is not None and acc.get("status") != "True":
                    ref = f"HTTPRoute/{k.namespace(r)}/{k.name(r)}"
                    return Hop("httproute", ref, f"{ref} is not accepted by the gateway",
                               [k.cond_text(acc, "Accepted")])
        names = ", ".join(f"HTTPRoute/{k.namespace(r)}/{k.name(r)}" for r in ch.routes)
        return Hop("httproute", gw_ref, f"no rule of {names or 'the attached routes'} matches this host and path")
    if cls == "fault_filter_abort":
        for r in ch.routes:
            for b in _llmd.route_backends(r):
                if b.get("kind") == "InferencePool" and not any(
                        p.name == b.get("name") and p.namespace == (b.get("namespace") or k.namespace(r))
                        for p in _llmd.pools(snap)):
                    ref = f"HTTPRoute/{k.namespace(r)}/{k.name(r)}"
                    return Hop("httproute", ref, f"{ref} sends to InferencePool {b.get('name')}, which does not exist")
        return Hop("httproute", gw_ref, "the route's backend does not resolve (missing pool or ReferenceGrant)")
    if cls == "model_not_found":
        served = inference_models(snap, ch.pools) + model_server_names(snap, ch.pools)
        names = sorted({n for n, _ in served})
        obj = pool.ref if pool else gw_ref
        why = f"model {t.model!r} is not served" + (f"; the snapshot shows {', '.join(names)}" if names else "")
        return Hop("model", obj, why, [f"{n} ({ref})" for n, ref in served[:5]])
    if cls in ("ext_proc_failure", "model_missing_in_body") or (cls == "unavailable" and c.hop == "epp"):
        return _epp_hop(snap, ch, "the endpoint picker is Ready, so the gateway cannot use it over ext_proc "
                                  "(EPP Service port, TLS/DestinationRule, or no InferencePool support in the gateway)")
    if cls == "saturated":
        crit = [f"{ref}: criticality {im.get('spec', {}).get('criticality', 'unset')}"
                for im in snap.maybe_list(INFERENCE_MODEL) or []
                for ref in [f"InferenceModel/{k.namespace(im)}/{k.name(im)}"]
                if (im.get("spec") or {}).get("modelName") == t.model]
        h = _epp_hop(snap, ch, "the endpoint picker shed the request: the pool is saturated, or the request is "
                               "sheddable (InferenceModel criticality not Critical, InferenceObjective priority < 0)")
        h.evidence += crit
        return h
    if cls in ("no_healthy_upstream", "unavailable"):
        h = _pool_hop(snap, ch)
        if h:
            return h
        svc = _routes_to_services(ch)
        if svc:
            return Hop("pool", svc[0][0], f"{svc[0][0]} sends to Service {svc[0][1]}; it has no ready endpoint")
        ready = sum(1 for p in ch.pools for x in pool_pods(snap, p) if k.pod_ready(x))
        return Hop("pool", pool.ref if pool else gw_ref,
                   f"{pool.ref if pool else 'the pool'} has {ready} Ready pod(s), yet the gateway saw no healthy "
                   "endpoint: the EPP or the gateway does not see them (EPP pool flags, Istio shadow Service)",
                   remediation="Check that the EPP watches this pool (--pool-name, --pool-namespace, --pool-group) "
                               "and logs no `no pods available`; on Istio, that the pool's shadow Service "
                               "`<pool>-ip-*` exists.")
    if cls == "upstream_connect_error":
        for p in ch.pools:
            pods = pool_pods(snap, p)
            serving = [x for x in pods if not p.target_ports or _container_ports(x) & set(p.target_ports)]
            declared = sorted({port for x in pods for port in _container_ports(x)})
            if pods and p.target_ports and not serving and declared:
                return Hop("selector", p.ref, f"{p.ref} sends to port {p.target_ports[0]}, but its pods' containers "
                                              f"declare {declared}", [_pod_line(x) for x in pods[:3]])
            if pods and p.target_ports and len(serving) < len(pods):
                odd = [x for x in pods if x not in serving]
                return Hop("selector", p.ref, f"{p.ref} also selects {len(odd)} pod(s) that do not serve port "
                                              f"{p.target_ports[0]}", [_pod_line(x) for x in odd[:3]])
        return Hop("model-server", pool.ref if pool else gw_ref,
                   "the model server did not accept the connection on the target port (not listening yet, or crashed)")
    if cls in ("timeout", "upstream_timeout"):
        h = _epp_down(snap, ch) or _pool_hop(snap, ch)
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


def _failure(snap: Snapshot, rec: dict[str, Any], c: cl.Classification, caps: tuple[str, ...] | None,
             what: str = "") -> Finding:
    """A Finding for a failed exchange: status by class, message with the hop, evidence, fix."""
    t = _target(rec)
    h = attribute(snap, c, rec)
    cls = c.cls or ""
    evidence = [_line(rec)] + [x for x in (_headers_line(rec),) if x]
    if isinstance(rec.get("body_excerpt"), str) and rec["body_excerpt"].strip():
        evidence.append(f"body: {rec['body_excerpt'][:300]}")
    evidence += h.evidence
    if cls in ERROR_CLASSES and t.source == "gateway" and cls != "unauthorized":
        return Finding(Status.SKIP, f"{what}{c.message}; {t.how_to_reach()}", h.object, tuple(evidence))
    if cls in ERROR_CLASSES:
        hint = "; is the port-forward running?" if cls == "refused" else ""
        return Finding(Status.ERROR, f"{what}could not check: {c.message}{hint}", h.object, tuple(evidence),
                       remediation=REMEDIATION.get(cls))
    status = Status.WARN if cls == "saturated" else Status.FAIL
    message = f"{what}{c.message} — hop: {h.why}"
    return Finding(status, message, h.object, tuple(evidence), remediation=h.remediation or REMEDIATION.get(cls),
                   capabilities=() if status == Status.WARN else caps)


# ---- the checks ------------------------------------------------------------------------------


@check(
    "e2e.chat-completion",
    title="Chat completion through the gateway",
    area="e2e",
    severity=Severity.CRITICAL,
    inputs=E2E_INPUTS,
    requires=("cluster.access",),
    capabilities=(OPENAI_API, GATEWAY_ROUTING, GPU_INFERENCE),
    remediation="See the hop named above; docs/probe.md lists every failure class and its fix.",
)
def e2e_chat_completion(ctx: CheckContext) -> Iterator[Finding]:
    """POST /v1/chat/completions through the gateway: status, OpenAI shape, latency, TTFT; failures classified."""
    snap = ctx.snapshot
    rec = _record(snap, "e2e")
    t = _target(rec)
    c = cl.classify_record(rec, "chat")
    if not c.ok:
        yield _failure(snap, rec, c, None)
        return
    doc = rec.get("response") or {}
    _, missing = cl.chat_shape(doc)
    first = (doc.get("choices") or [{}])[0]
    answer = " ".join(str((first.get("message") or {}).get("content") or "").split())
    usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
    details = [f"finish_reason {first.get('finish_reason')}"] if first.get("finish_reason") else []
    if usage.get("completion_tokens") is not None:
        details.append(f"{usage['completion_tokens']} completion tokens")
    message = (f"{t.model or doc.get('model', 'the model')} answered through {rec.get('url', '?')} in "
               f"{float(rec.get('latency_s') or 0):.2f}s: {answer[:80]!r}" + (f" ({', '.join(details)})" if details else ""))
    stream = rec.get("stream")
    sc = cl.classify_record(stream, "stream") if isinstance(stream, dict) else None
    if sc is not None and sc.ok and isinstance(stream.get("ttft_s"), int | float):
        message += f"; streaming: first token after {stream['ttft_s']:.2f}s"
    evidence = (_line(rec), *(x for x in (_headers_line(rec),) if x))
    yield Finding(Status.PASS, message, t.gateway, evidence)
    if missing:
        yield Finding(Status.WARN, f"the chat completion lacks {', '.join(missing)}: clients that read them may break",
                      t.gateway, evidence, capabilities=(),
                      remediation="Serve the OpenAI chat completion format (vLLM's OpenAI server does).")
    if sc is not None and not sc.ok:
        f = _failure(snap, stream, sc, (), what="the streaming chat completion failed: ")
        yield Finding(Status.WARN if f.status == Status.FAIL else f.status, f.message, f.object, f.evidence,
                      remediation=f.remediation, capabilities=())


@check(
    "e2e.models",
    title="Model list through the gateway",
    area="e2e",
    severity=Severity.MAJOR,
    inputs=E2E_INPUTS,
    requires=("cluster.access",),
    capabilities=(OPENAI_API,),
    remediation="Ask for a served model with --model, or make the expected model's servers Ready.",
)
def e2e_models(ctx: CheckContext) -> Iterator[Finding]:
    """GET /v1/models through the gateway lists the expected model."""
    snap = ctx.snapshot
    rec = _record(snap, "models")
    t = _target(rec)
    c = cl.classify_record(rec, "models")
    if not c.ok:
        chat = snap.probes.get("e2e")
        chat_ok = isinstance(chat, dict) and not chat.get("not_run") and cl.classify_record(chat).ok
        f = _failure(snap, rec, c, (OPENAI_API,), what="GET /v1/models: ")
        if chat_ok and f.status == Status.FAIL:  # the API works; only the listing does not
            yield Finding(Status.WARN, f"{f.message} (chat completions work)", f.object, f.evidence,
                          remediation=f.remediation, capabilities=())
        else:
            yield f
        return
    ids = cl.model_ids(rec.get("response")) or []
    expected = rec.get("expected") or t.model
    evidence = (_line(rec), f"models: {', '.join(ids[:10]) or '(none)'}")
    if not ids:
        yield Finding(Status.FAIL, f"GET /v1/models through {rec.get('url', '?')} lists no model", t.gateway,
                      evidence, remediation="Check that the model servers finished loading (`/v1/models` on a pod).")
    elif expected and expected not in ids and t.model_source != "GET /v1/models":
        status = Status.FAIL if t.model_source == "--model" else Status.WARN
        yield Finding(status, f"GET /v1/models does not list {expected!r} (from {t.model_source or 'discovery'}); "
                              f"it lists {', '.join(ids[:5])}", t.gateway, evidence,
                      capabilities=None if status == Status.FAIL else ())
    else:
        yield Finding(Status.PASS, f"GET /v1/models through {rec.get('url', '?')} lists "
                                   f"{expected or ids[0]!r} ({len(ids)} model(s))", t.gateway, evidence)


def _config_text(snap: Snapshot, epp: _llmd.Epp) -> str | None:
    """The EPP's plugins config: --configText, or the ConfigMap key its --configFile is mounted from."""
    text = epp.flag("configText", "config-text")
    path = epp.flag("configFile", "config-file")
    if text or not path:
        return text
    spec = k.pod_spec(epp.deployment)
    for m in epp.container.get("volumeMounts") or []:
        mount = str(m.get("mountPath", "")).rstrip("/")
        if m.get("subPath") and path == mount:
            key = str(m["subPath"])
        elif path.startswith(mount + "/"):
            key = path[len(mount) + 1:]
        else:
            continue
        vol = next((v for v in spec.get("volumes") or [] if v.get("name") == m.get("name")), {})
        cm = vol.get("configMap") or {}
        key = next((str(i.get("key")) for i in cm.get("items") or [] if i.get("path") == key), key)
        for obj in snap.maybe_list("ConfigMap", epp.namespace) or []:
            if k.name(obj) == cm.get("name"):
                return (obj.get("data") or {}).get(key)
    return None


def prefix_routing(snap: Snapshot, pools: list[_llmd.Pool]) -> tuple[bool | None, str]:
    """Is prefix-aware routing configured in the EPP? (True/False/None = cannot tell, and how we know)."""
    for epp in _epps_of(snap, pools):
        for name in PREFIX_ENV:
            if str(epp.env(name) or "").lower() == "true":
                return True, f"{epp.ref} sets {name}=true"
        text = _config_text(snap, epp)
        if text is not None:
            plugin = next((p for p in PREFIX_PLUGINS if p in text), None)
            return (True, f"{epp.ref} config uses {plugin}") if plugin else (False, f"{epp.ref} config has no prefix scorer")
    return None, "the EPP's plugins config is not in the snapshot"


def _affinity(snap: Snapshot, ch: _Chain, prefix: dict[str, Any]) -> tuple[list[Finding], str]:
    """Findings about the shared-prefix series, and a phrase for the pass message."""
    reqs = [r for r in prefix.get("requests") or [] if isinstance(r, dict)]
    if prefix.get("skipped") or not reqs:
        return [], f"prefix affinity not measured ({prefix.get('skipped') or 'no prefix requests recorded'})"
    out: list[Finding] = []
    failed = [r for r in reqs if r.get("error_class") or not 200 <= int(r.get("status") or 0) < 300]
    if failed:
        first = failed[0]
        if first.get("error_class"):  # classified by the probe, which saw the whole body
            c = cl.Classification(str(first["error_class"]), first.get("hop"),
                                  str(first.get("error") or first["error_class"]))
        else:
            c = cl.classify_http(int(first.get("status") or 0), first.get("headers") or {},
                                 str(first.get("body_excerpt") or ""))
        h = attribute(snap, c, {**first, "url": prefix.get("url"), "target": ch.target.to_dict()})
        out.append(Finding(Status.WARN, f"{len(failed)} of {len(reqs)} requests of the prefix series failed "
                                        f"({c.message}) — hop: {h.why}", h.object, tuple(h.evidence),
                           remediation=REMEDIATION.get(c.cls or ""), capabilities=()))
    ok = [r for r in reqs if r not in failed]
    eps = Counter(cl.endpoint_of(r.get("headers")) or r.get("endpoint") for r in ok)
    eps.pop(None, None)
    identified = sum(eps.values())
    if identified < 2:
        return out, ("prefix affinity not measured: the responses name no endpoint "
                     "(x-gateway-destination-endpoint-served, x-inference-pod)")
    top, count = eps.most_common(1)[0]
    rate = count / identified
    chars = prefix.get("prefix_chars")
    phrase = (f"{count}/{identified} requests sharing a {chars or 'long'}-character prefix landed on {top} "
              f"({rate:.0%})")
    ready = sum(1 for p in ch.pools for x in pool_pods(snap, p) if k.pod_ready(x))
    on, how = prefix_routing(snap, ch.pools)
    spread = ", ".join(f"{e}: {n}" for e, n in eps.most_common())
    if rate < AFFINITY_MIN and on and len(eps) > 1:
        out.append(Finding(Status.WARN, f"prefix affinity {rate:.0%}: {phrase}, while {how}",
                           ch.pools[0].ref if ch.pools else ch.target.gateway, (f"endpoints: {spread}", how),
                           remediation="Check the prefix scorer's weight and block size against the model server's "
                                       "(EPP config), and that all endpoints report metrics to the EPP.",
                           capabilities=(PREFIX_CACHE, CACHE_AWARE_ROUTING)))
    if ready == 1:
        phrase += " (the pool has one Ready endpoint, so this shows no affinity)"
    elif on is False:
        phrase += f" ({how})"
    return out, phrase


@check(
    "e2e.routing",
    title="Routing through the endpoint picker",
    area="e2e",
    severity=Severity.MAJOR,
    inputs=ROUTING_INPUTS,
    requires=("e2e.chat-completion",),
    capabilities=(CACHE_AWARE_ROUTING, PREFIX_CACHE),
    remediation=(
        "Route to the InferencePool (not a Service), and check that the gateway runs the EPP as ext_proc "
        "(Istio: the inference-extension flag and istio.io/enable-inference-extproc on the Gateway); with "
        "failureMode FailOpen a broken EPP is bypassed silently."
    ),
)
def e2e_routing(ctx: CheckContext) -> Iterator[Finding]:
    """Responses show the endpoint picker chose the endpoint; a shared-prefix series lands on one endpoint."""
    snap = ctx.snapshot
    e2e = _record(snap, "e2e")
    if not cl.classify_record(e2e).ok:
        yield Finding(Status.SKIP, "no successful chat completion to read routing evidence from")
        return
    routing = snap.probes.get("routing")
    routing = routing if isinstance(routing, dict) and not routing.get("not_run") else {}
    prefix = routing.get("prefix") if isinstance(routing.get("prefix"), dict) else {}
    ch = _chain(snap, e2e)
    heads = [e2e.get("headers"), (e2e.get("stream") or {}).get("headers")]
    heads += [r.get("headers") for r in prefix.get("requests") or [] if isinstance(r, dict)]
    evidence: list[str] = []
    for h in heads:
        evidence += [e for e in cl.epp_evidence(h) if e not in evidence]
    findings, phrase = _affinity(snap, ch, prefix)
    if not evidence:
        routes = [f"{r} -> Service {s}" for r, s in _routes_to_services(ch)]
        fail_open = [p.ref for p in ch.pools if p.epp_failure_mode == "FailOpen"]
        if routes and not ch.pools:
            ref = routes[0].split(" -> ")[0]
            yield Finding(Status.WARN, f"{ref} sends to Service {routes[0].split('Service ')[1]}, not an "
                                       "InferencePool: requests bypass the endpoint picker", ref, tuple(routes))
        else:
            extra = [f"{p} has failureMode FailOpen: a failing EPP is bypassed" for p in fail_open]
            yield Finding(Status.WARN, "no response carried an endpoint-picker header (x-went-into-resp-headers, "
                                       "x-gateway-destination-endpoint): no evidence the EPP chose the endpoint",
                          ch.pools[0].ref if ch.pools else ch.target.gateway,
                          tuple([_line(e2e), *(x for x in (_headers_line(e2e),) if x), *extra]))
    else:
        yield Finding(Status.PASS, f"the endpoint picker is in the request path ({evidence[0]}); {phrase}",
                      ch.pools[0].ref if ch.pools else ch.target.gateway, tuple(evidence))
    yield from findings
