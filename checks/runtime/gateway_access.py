"""runtime.gateway-access: the access log of each llm-d Gateway's proxy — failed requests by response flag
(UF, UH, NR, URX, …) and status, each attributed to the hop it points at, and an upstream pod IP to the
model-server pod and pool it belongs to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.evidence import AccessEntry, attribute, flag_meaning, parse_access_log
from llmd_doctor.evidence.envoy_flags import CLIENT, MODEL_SERVER
from llmd_doctor.kinds import (
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    POD,
    POOL_KEYS,
    REPLICASET,
    SERVICE,
    STATEFULSET,
)
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Topology, topology

from . import _sample

# A warning takes at least this many failed requests making at least this share of the log's requests
# (a restart or a client going away fails a few); or every inference request failing.
MIN_FAILURES = 3
MIN_SHARE = 0.05


@check(
    "runtime.gateway-access",
    title="Gateway access log",
    area="runtime",
    severity=Severity.MAJOR,
    inputs=(GATEWAY_KEY, GATEWAY_CLASS, HTTPROUTE, SERVICE, POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    logs=_sample.data_plane_requests,
    why="The gateway's proxy logs every request with its status and Envoy's response flags: which hop failed "
        "(no route, the endpoint picker, a model-server pod refusing connections) and to which pod.",
    remediation="See the hop the finding names: the HTTPRoute for NR/NC, the endpoint picker for ext_proc "
                "errors, the model-server pod for UF/UH/URX/UC (its port, readiness, restarts).",
)
def gateway_access(ctx: CheckContext) -> Iterator[Finding]:
    """Per llm-d Gateway, its proxy's access log: failures by flag and hop, upstream pods named."""
    gws = _sample.gateway_plan(ctx.snapshot)
    if not gws:
        yield Finding(Status.SKIP, "no Gateway found")
        return
    topo = topology(ctx.snapshot)
    for s in gws:
        yield from _judge(ctx, topo, s)


def _judge(ctx: CheckContext, topo: Topology, s: _sample.GatewaySample) -> Iterator[Finding]:
    g = s.gateway
    dp = g.data_plane
    if dp is None or dp.spec.managed:
        where = "it is managed outside the cluster" if dp is not None else "its implementation is not known"
        yield Finding(Status.SKIP, f"{g.ref}: no access log to read: {where}", g.ref)
        return
    if not s.pods:
        why = "the log budget was spent" if s.cut else "it has no Ready data-plane pod (gateway.implementation)"
        yield Finding(Status.SKIP, f"{g.ref}: no access log read: {why}", g.ref)
        return
    entries: list[AccessEntry] = []
    for pl in s.pods:
        text, why = pl.read(ctx.snapshot)
        if why is not None:
            yield Finding(Status.SKIP, f"{g.ref}: the access log of {pl.ref} could not be read: {why}", g.ref,
                          unverified=True)
            return
        entries += parse_access_log(text)
    where = s.pods[0].ref
    if not entries:
        yield Finding(Status.SKIP, f"{g.ref}: no access-log lines in {where}'s log (access logging off, no request "
                      "in the tail, or no log captured): nothing to judge", g.ref)
        return
    failed = [e for e in entries if attribute(e).hop not in ("", CLIENT)]
    ok = sum(1 for e in entries if 200 <= e.status < 400)
    head = f"{g.ref}: {len(failed)} of {len(entries)} requests in {where}'s access log failed"
    inference = [e for e in entries if e.path.startswith(("/v1/", "/generate"))]
    all_failed = bool(inference) and all(attribute(e).hop not in ("", CLIENT) for e in inference)
    if failed and (all_failed or (len(failed) >= MIN_FAILURES and len(failed) / len(entries) >= MIN_SHARE)):
        top, n = Counter((e.status, ",".join(e.flags) or "-", attribute(e).reason) for e in failed).most_common(1)[0]
        hops = Counter(attribute(e).hop for e in failed)
        yield Finding(Status.WARN, f"{head}; most ({n}) {top[0]} {top[1]}: {top[2]}", g.ref,
                      (f"failures by hop: {', '.join(f'{h} {c}' for h, c in hops.most_common())}",
                       *_upstreams(topo, failed), *_flags(failed), *_examples(failed)),
                      capabilities=_lost(hops) if all_failed else ())
        return
    answered = Counter(e.upstream_host for e in entries if e.upstream_host and 200 <= e.status < 400)
    yield Finding(Status.PASS, f"{g.ref}: {len(entries)} requests in {where}'s access log, {ok} answered 2xx/3xx"
                  + (f", {len(failed)} failed (below the warning threshold)" if failed else ""), g.ref,
                  tuple(f"{host}: {c} answered ({_who(topo, host)})" for host, c in answered.most_common(5)))


def _who(topo: Topology, host: str) -> str:
    """`10.0.2.212:8000` -> `Pod/llm-d/decode-x, decode pod of InferencePool/llm-d/p`."""
    ref = topo.pod_at(host.rsplit(":", 1)[0].strip("[]"))
    if ref.unknown:
        return f"pods could not be read: {ref.gap}"
    pod = ref.target
    if pod is None:
        return "no pod read has this IP (a pod replaced since, or one outside the namespaces read)"
    group = topo.server_group(pod)
    who = f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)}, {k8s.pod_summary(pod)}"
    if group is None:
        return who + ", not a model-server pod"
    pools = ", ".join(p.ref for p in group.pools) or "no InferencePool"
    return who + f", {group.role or 'model-server'} pod of {pools}"


def _upstreams(topo: Topology, failed: list[AccessEntry]) -> list[str]:
    hosts = Counter(e.upstream_host for e in failed if e.upstream_host)
    return [f"{host}: {c} failed ({_who(topo, host)})" for host, c in hosts.most_common(5)]


def _flags(failed: list[AccessEntry]) -> list[str]:
    flags = Counter(f for e in failed for f in e.flags)
    return [f"{f} ×{c}: {flag_meaning(f).meaning}" for f, c in flags.most_common(4)]


def _examples(failed: list[AccessEntry]) -> list[str]:
    seen: dict[tuple[int, tuple[str, ...]], str] = {}
    for e in failed:
        seen.setdefault((e.status, e.flags), e.raw)
    return list(seen.values())[:3]


def _lost(hops: Counter[str]) -> tuple[str, ...]:
    """When every inference request fails: the model server's hop costs the API, the others routing."""
    return (OPENAI_API,) if set(hops) == {MODEL_SERVER} else (GATEWAY_ROUTING,)
