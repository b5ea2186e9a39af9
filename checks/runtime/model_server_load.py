"""runtime.model-server-load: vLLM's periodic stats per pod and role, compared across the pods of a pool
and across its roles — a saturated pool, one pod queueing while another idles, prefill idle in P/D."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import DEPLOYMENT, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import (
    PD_DISAGGREGATION,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check

from . import _sample
from ._load import KV_FULL, PodLoad, read_loads


@check(
    "runtime.model-server-load",
    title="Model-server load",
    area="runtime",
    severity=Severity.MINOR,
    inputs=(POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS),
    requires=("cluster.access",),
    capabilities=(SATURATION_SCHEDULING, PD_DISAGGREGATION),
    logs=_sample.server_requests,
    why="vLLM logs what it carries (requests running and waiting, KV-cache use, tokens per second): a pool whose "
        "pods all queue is saturated, one pod queueing while another idles means the load is not spread, and "
        "idle prefill pods beside busy decode pods mean P/D disaggregation is not happening.",
    remediation="See the finding: add replicas for a saturated pool; check the endpoint picker's scorers for "
                "uneven load; check the P/D threshold and the prefill pods' selection for idle prefill.",
)
def model_server_load(ctx: CheckContext) -> Iterator[Finding]:
    """Per pool and role, from a sample of Ready pods' logs: saturation, uneven load, idle prefill."""
    units = _sample.pool_plan(ctx.snapshot)
    if not units:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    for u in units:
        yield from _judge(ctx, u)


def _judge(ctx: CheckContext, u: _sample.PoolSample) -> Iterator[Finding]:
    loads = {role: read_loads(ctx.snapshot, logs) for role, logs in u.servers.items() if logs}
    every = [x for xs in loads.values() for x in xs]
    evidence = tuple(x.text() for x in every) + (("the log budget left some pods of it out",) if u.cut else ())
    if not any(x.shown for x in every):
        why = "no Ready pod was sampled" if not every else (
            "their logs could not be read" if all(x.stats is None for x in every) else
            "their logs hold no stats or access lines (--disable-log-stats, no request in the tail, or no log "
            "captured)")
        yield Finding(Status.SKIP, f"{u.ref}: no load to judge: {why}", u.ref, evidence)
        return
    found = False
    for role, xs in loads.items():
        name = _sample.role_name(role)
        queued = [x for x in xs if x.queueing]
        idle = [x for x in xs if x.idle]
        if len(xs) > 1 and queued and len(queued) == len(xs):
            found = True
            yield Finding(Status.WARN, f"{u.ref} is saturated: requests queue on every sampled {role or 'model-server'} "
                          f"pod ({len(xs)}), so latency grows with load", u.ref, evidence, capabilities=(),
                          remediation=f"Add {name} (replicas or GPUs), or lower the load; the endpoint picker's "
                          "saturation thresholds decide when it sheds or queues requests.")
        elif len(xs) == 1 and queued and _kv_full(queued[0]):
            found = True
            yield Finding(Status.WARN, f"{u.ref} is saturated: its only sampled {role or 'model-server'} pod queues "
                          f"requests with its KV cache {KV_FULL:g}%+ full", u.ref, evidence, capabilities=(),
                          remediation=f"Add {name}, or lower --max-num-seqs / the load.")
        elif queued and idle:
            found = True
            yield Finding(Status.WARN, f"{u.ref}: {queued[0].ref} queues requests while {idle[0].ref} (same role, "
                          "Ready) idles: the load is not spread across the pool's pods", u.ref, evidence,
                          capabilities=(SATURATION_SCHEDULING,),
                          remediation="Check that the endpoint picker sees every pod (its pool selector, the pods' "
                          "metrics port) and that its load-aware scorers (queue, KV cache) are configured; a route "
                          "or Service straight to one pod bypasses it.")
    prefill, decode = loads.get("prefill") or [], loads.get("decode") or []
    if prefill and decode and all(x.idle for x in prefill) and any(x.busy for x in decode):
        found = True
        yield Finding(Status.WARN, f"{u.ref}: the decode pods work while every sampled prefill pod idles: requests are "
                      "prefilled on decode, P/D disaggregation is not happening", u.ref, evidence,
                      capabilities=(PD_DISAGGREGATION,),
                      remediation="Check the endpoint picker's P/D profile handler (its prompt-length threshold: "
                      "prompts shorter than it are not disaggregated), that it selects the prefill pods, and the "
                      "decode pods' routing sidecar (connector, prefill target).")
    if not found:
        busy = sum(1 for x in every if x.busy)
        yield Finding(Status.PASS, f"{u.ref}: {busy} of {len(every)} sampled pods served traffic; no saturation, "
                      "uneven load or idle prefill shown", u.ref, evidence)


def _kv_full(x: PodLoad) -> bool:
    return x.stats is not None and (x.stats.max_gpu_kv_cache_usage or 0) >= KV_FULL
