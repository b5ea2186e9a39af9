"""e2e.routing: responses show the endpoint picker chose the endpoint, and a series of prompts sharing a
prefix lands on one endpoint when prefix-aware routing is configured; with several models, each model's
answer came through the endpoint picker and from its own pool."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import CONFIGMAP
from llmd_doctor.model import CACHE_AWARE_ROUTING, PREFIX_CACHE, CheckContext, Finding, Severity, Status
from llmd_doctor.probes import classify as cl
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot

from ._hops import Chain, attribute, chain, epps_of
from ._landing import per_model
from ._records import INPUTS, REMEDIATION, headers_line, line, model_records, record

AFFINITY_MIN = 0.8  # share of a shared-prefix series one endpoint should get when prefix-aware routing is on
PREFIX_PLUGINS = ("precise-prefix-cache-scorer", "prefix-cache-scorer")
PREFIX_ENV = ("ENABLE_PREFIX_AWARE_SCORER", "ENABLE_PREFIX_CACHE_SCHEDULING")  # scheduler v0.1 / GIE v0.4


def prefix_routing(snap: Snapshot, ch: Chain) -> tuple[bool | None, str]:
    """Is prefix-aware routing configured in the EPP? (True/False/None = cannot tell, and how we know)."""
    for epp in epps_of(snap, ch.pools):
        for name in PREFIX_ENV:
            if str(epp.env(name) or "").lower() == "true":
                return True, f"{epp.ref} sets {name}=true"
        text = epp.config.text
        if text is not None:
            plugin = next((p for p in PREFIX_PLUGINS if p in text), None)
            return (True, f"{epp.ref} config uses {plugin}") if plugin else (False, f"{epp.ref} config has no prefix scorer")
    return None, "the EPP's plugins config is not in the snapshot"


def _failed(snap: Snapshot, ch: Chain, prefix: dict[str, Any], reqs: list[dict], failed: list[dict]) -> Finding:
    first = failed[0]
    if first.get("error_class"):  # classified by the probe, which saw the whole body
        c = cl.Classification(str(first["error_class"]), first.get("hop"), str(first.get("error") or first["error_class"]))
    else:
        c = cl.classify_http(int(first.get("status") or 0), first.get("headers") or {}, str(first.get("body_excerpt") or ""))
    h = attribute(snap, c, {**first, "url": prefix.get("url"), "target": ch.target.to_dict()})
    return Finding(Status.WARN, f"{len(failed)} of {len(reqs)} requests of the prefix series failed ({c.message}) — "
                   f"hop: {h.why}", h.object, tuple(h.evidence), remediation=REMEDIATION.get(c.cls or ""),
                   capabilities=())


def _affinity(snap: Snapshot, ch: Chain, prefix: dict[str, Any]) -> tuple[list[Finding], str]:
    """Findings about the shared-prefix series, and a phrase for the pass message."""
    reqs = [r for r in prefix.get("requests") or [] if isinstance(r, dict)]
    if prefix.get("skipped") or not reqs:
        return [], f"prefix affinity not measured ({prefix.get('skipped') or 'no prefix requests recorded'})"
    failed = [r for r in reqs if r.get("error_class") or not 200 <= int(r.get("status") or 0) < 300]
    out = [_failed(snap, ch, prefix, reqs, failed)] if failed else []
    eps = Counter(cl.endpoint_of(r.get("headers")) or r.get("endpoint") for r in reqs if r not in failed)
    eps.pop(None, None)
    identified = sum(eps.values())
    if identified < 2:
        return out, ("prefix affinity not measured: the responses name no endpoint "
                     "(x-gateway-destination-endpoint-served, x-inference-pod)")
    top, count = eps.most_common(1)[0]
    rate = count / identified
    phrase = (f"{count}/{identified} requests sharing a {prefix.get('prefix_chars') or 'long'}-character prefix landed "
              f"on {top} ({rate:.0%})")
    ready = sum(1 for p in ch.pools for x in p.pods if k8s.pod_ready(x))
    on, how = prefix_routing(snap, ch)
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
    inputs=(*INPUTS, CONFIGMAP),
    requires=("e2e.chat-completion",),
    capabilities=(CACHE_AWARE_ROUTING, PREFIX_CACHE),
    why="A request can succeed without the endpoint picker ever choosing its endpoint (a route to a Service, "
        "a FailOpen pool): only the response headers show that cache-aware routing really happens.",
    remediation=(
        "Route to the InferencePool (not a Service), and check that the gateway runs the EPP as ext_proc "
        "(Istio: the inference-extension flag and istio.io/enable-inference-extproc on the Gateway); with "
        "failureMode FailOpen a broken EPP is bypassed silently."
    ),
)
def e2e_routing(ctx: CheckContext) -> Iterator[Finding]:
    """Responses show the endpoint picker chose the endpoint; a shared-prefix series lands on one endpoint."""
    snap = ctx.snapshot
    e2e = record(snap, "e2e")
    if not cl.classify_record(e2e).ok:
        yield Finding(Status.SKIP, "no successful chat completion to read routing evidence from")
        return
    routing = snap.probes.get("routing")
    routing = routing if isinstance(routing, dict) and not routing.get("not_run") else {}
    prefix = routing.get("prefix") if isinstance(routing.get("prefix"), dict) else {}
    ch = chain(snap, e2e)
    recs = model_records(e2e)
    heads = [r.get("headers") for r in recs] + [(e2e.get("stream") or {}).get("headers")]
    heads += [r.get("headers") for r in prefix.get("requests") or [] if isinstance(r, dict)]
    evidence: list[str] = []
    for h in heads:
        evidence += [e for e in cl.epp_evidence(h) if e not in evidence]
    findings, phrase = _affinity(snap, ch, prefix)
    where = ch.pools[0].ref if ch.pools else ch.target.gateway
    if evidence:
        yield Finding(Status.PASS, f"the endpoint picker is in the request path ({evidence[0]}); {phrase}", where,
                      tuple(evidence))
    else:
        routes = [f"{r.ref} -> Service {b.name}" for r in ch.routes for b in r.backends if b.is_service]
        if routes and not ch.pools:
            ref = routes[0].split(" -> ")[0]
            yield Finding(Status.WARN, f"{ref} sends to Service {routes[0].split('Service ')[1]}, not an "
                                       "InferencePool: requests bypass the endpoint picker", ref, tuple(routes))
        else:
            extra = [f"{p.ref} has failureMode FailOpen: a failing EPP is bypassed" for p in ch.pools if p.fail_open]
            yield Finding(Status.WARN, "no response carried an endpoint-picker header (x-went-into-resp-headers, "
                                       "x-gateway-destination-endpoint): no evidence the EPP chose the endpoint",
                          where, tuple([line(e2e), *(x for x in (headers_line(e2e),) if x), *extra]))
    yield from findings
    yield from per_model(snap, recs)
