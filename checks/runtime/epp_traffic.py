"""runtime.epp-traffic: per pool, the endpoint picker's request log against its model servers' traffic — a
pool whose model servers serve while its EPP, logging every request, handled none since it started is
bypassed — and the errors a running endpoint picker logs."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.evidence import EppActivity, epp_activity
from llmd_doctor.evidence.epp_requests import error_category
from llmd_doctor.kinds import DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS, REPLICASET, SERVICE, STATEFULSET
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import topology

from . import _sample
from ._clock import iso, served_after, started
from ._load import read_loads


@check(
    "runtime.epp-traffic",
    title="Endpoint picker traffic",
    area="runtime",
    severity=Severity.MAJOR,
    inputs=(POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS, HTTPROUTE, SERVICE),
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    logs=_sample.epp_requests,
    explains=("runtime.model-server-load",),
    why="Requests that reach the model servers without passing the endpoint picker get none of its scheduling: "
        "no cache-aware routing, no prefix-cache reuse, no saturation control. Its request log says how much "
        "traffic it scheduled; the model servers' logs say how much they served.",
    remediation="Send the clients through the Gateway (the HTTPRoute to the InferencePool); remove routes, Services "
                "or port-forwards that reach the model-server pods directly.",
)
def epp_traffic(ctx: CheckContext) -> Iterator[Finding]:
    """Per pool: requests the EPP logged against the traffic its model servers logged since the EPP started."""
    units = [u for u in _sample.pool_plan(ctx.snapshot) if u.pool is not None]
    if not units:
        yield Finding(Status.SKIP, "no InferencePool found")
        return
    for u in units:
        yield from _judge(ctx, u)


def _activity(ctx: CheckContext, pl: _sample.PodLog) -> EppActivity | str:
    text, why = pl.read(ctx.snapshot)
    return epp_activity(text) if why is None else why


def _judge(ctx: CheckContext, u: _sample.PoolSample) -> Iterator[Finding]:
    pool = u.pool
    assert pool is not None
    ready = [p for e in pool.epps for p in e.pods if k8s.pod_ready(p)]
    if not u.epps:
        why = "no endpoint picker serves it" if not pool.epps else "none of its endpoint-picker pods is Ready"
        yield Finding(Status.SKIP, f"{u.ref}: no endpoint-picker log to judge: {why}", u.ref)
        return
    acts = [(pl, _activity(ctx, pl)) for pl in u.epps]
    unread = [f"{pl.ref}: {a}" for pl, a in acts if isinstance(a, str)]
    if unread:
        yield Finding(Status.SKIP, f"{u.ref}: its endpoint picker's log could not be read", u.ref, tuple(unread),
                      unverified=True)
        return
    epps = [(pl, a) for pl, a in acts if isinstance(a, EppActivity)]
    yield from _errors(u.ref, epps)
    loads = [x for logs in u.servers.values() for x in read_loads(ctx.snapshot, logs)]
    busy = [x for x in loads if x.busy]
    evidence = [*(_epp_text(pl, a) for pl, a in epps), *(x.text() for x in loads)]
    handled = sum(max(a.requests_handled, a.requests_received) for _, a in epps)
    if handled:
        yield Finding(Status.PASS, f"{u.ref}: its endpoint picker scheduled {handled} requests; "
                      f"{len(busy)} of {len(loads)} sampled model-server pods served traffic", u.ref, tuple(evidence))
        return
    blind = [(pl, a) for pl, a in epps if a.requests_visible is not True]
    if blind:
        pl, a = blind[0]
        level = (f"endpoint picker runs at --v={a.verbosity}, which does not log each request"
                 if a.verbosity is not None else
                 "endpoint picker's log shows neither a request nor its --v (or no log was captured)")
        yield Finding(Status.SKIP, f"{u.ref}: its {level}: whether traffic passes through it cannot be told from "
                      "its log", u.ref, tuple(evidence))
        return
    if not busy:
        yield Finding(Status.SKIP, f"{u.ref}: no traffic to judge: neither its endpoint picker nor the sampled "
                      "model servers logged any", u.ref, tuple(evidence))
        return
    if len(u.epps) < len(ready):
        yield Finding(Status.SKIP, f"{u.ref}: only {len(u.epps)} of its {len(ready)} Ready endpoint-picker pods were "
                      "read; the others may have scheduled the traffic", u.ref, tuple(evidence))
        return
    starts = [started(pl) for pl, _ in epps]
    start = None if None in starts else max(t for t in starts if t is not None)  # the latest restart counts
    after = [x for x in busy if start is not None and served_after(x, start)]
    if not after:
        yield Finding(Status.SKIP, f"{u.ref}: the model servers' traffic in the logs read may predate the endpoint "
                      f"picker's start ({iso(start)}): no bypass can be told", u.ref, tuple(evidence))
        return
    yield Finding(Status.WARN, f"{u.ref} is bypassed: its model servers served traffic after its endpoint picker "
                  f"started ({iso(start)}), and the endpoint picker, whose log shows every request at its level, "
                  "scheduled none: requests reach the model servers without it", u.ref,
                  (*evidence, *_direct_paths(ctx, u)), capabilities=EPP_CAPABILITIES)


def _errors(ref: str, epps: list[tuple[_sample.PodLog, EppActivity]]) -> Iterator[Finding]:
    """A running endpoint picker that logs errors: what it says, most frequent first (any text: the
    message names the cause more often than a category can)."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for _, a in epps:
        for text, n in a.errors.items():
            counts[text] = counts.get(text, 0) + n
            examples.setdefault(text, a.error_examples.get(text, text))
    if not counts:
        return
    top = sorted(counts, key=lambda t: -counts[t])
    said = "; ".join(f"{t} (×{counts[t]})" for t in top[:3])
    more = f" and {len(top) - 3} other error(s)" if len(top) > 3 else ""
    _, meaning = error_category(top[0])
    yield Finding(Status.WARN, f"{ref}: its running endpoint picker logs errors: {said}{more}", ref,
                  (*(f"{pl.ref}: {sum(a.errors.values())} error record(s)" for pl, a in epps if a.errors),
                   *(f"e.g. {examples[t]}" for t in top[:3]), f"what this kind of error points at: {meaning}"),
                  capabilities=(),
                  remediation="Read the error text above: it usually names the setting at fault (a metric name, a "
                  "profile, a plugin); `kubectl logs` on the endpoint-picker pod shows it in context.")


def _epp_text(pl: _sample.PodLog, a: EppActivity) -> str:
    level = f"--v={a.verbosity}" if a.verbosity is not None else "level not logged"
    spread = ", ".join(f"{k} {n}" for k, n in list(a.endpoints.items())[:4])
    return (f"{pl.ref}: {max(a.requests_handled, a.requests_received)} requests scheduled ({level}, requests "
            f"{'logged' if a.requests_visible else 'not logged' if a.requests_visible is False else 'maybe logged'})"
            + (f" to {spread}" if spread else ""))


def _direct_paths(ctx: CheckContext, u: _sample.PoolSample) -> list[str]:
    """HTTPRoutes that send to a Service in front of the pool's pods: one way around the endpoint picker."""
    out = []
    for r in topology(ctx.snapshot).routes:
        for b in r.backends:
            if b.is_service and b.pool_behind.target is u.pool:
                out.append(f"{r.ref} sends to Service {b.namespace}/{b.name}, which reaches {u.ref}'s pods "
                           "without the endpoint picker")
    return out or ["no HTTPRoute to a Service in front of these pods was found: look for OpenShift Routes, "
                   "Ingresses, NodePort/LoadBalancer Services or port-forwards"]
