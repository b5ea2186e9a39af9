"""inferencepool.selector: the pool's selector matches Ready model-server pods, its target port(s) are
served by the selected containers, and pods that do not serve are not selected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import HTTPROUTE, POD, POOL_KEYS
from llmd_doctor.model import CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Pool, topology
from llmd_doctor.topology.impact import POOL_CAPABILITIES
from llmd_doctor.topology.servers import pod_ports

from .._lib import unread

Obj = dict[str, Any]
# The pool selector label was renamed: llm-d-modelservice <= v0.4.0 / llm-d <= v0.4 used the camelCase key,
# modelservice >= v0.4.5 / llm-d v0.5 the hyphenated one (https://github.com/llm-d-incubation/llm-d-modelservice).
SPELLINGS = {"llm-d.ai/inferenceServing": "llm-d.ai/inference-serving",
             "llm-d.ai/inference-serving": "llm-d.ai/inferenceServing"}


def _label_hints(pods: list[Obj], pool: Pool) -> list[str]:
    hints = []
    for key, other in SPELLINGS.items():
        if key not in pool.selector:
            continue
        alt = {other if a == key else a: b for a, b in pool.selector.items()}
        n = sum(1 for p in pods if k8s.match_labels(alt, k8s.labels(p)))
        if n:
            hints.append(f"{n} pod(s) carry {other}={pool.selector[key]} instead of {key}: the label was renamed "
                         "(llm-d-modelservice v0.4.5 / llm-d v0.5 use llm-d.ai/inference-serving; earlier releases "
                         "llm-d.ai/inferenceServing)")
    if hints:
        return hints
    near = []
    for p in pods:
        lbls = k8s.labels(p)
        off = [(a, b) for a, b in pool.selector.items() if lbls.get(a) != b]
        if len(off) == 1 and len(pool.selector) > 1:
            a, b = off[0]
            near.append(f"Pod/{k8s.namespace(p)}/{k8s.name(p)} matches but for {a}={b} (it has "
                        f"{a + '=' + lbls[a] if a in lbls else 'no ' + a})")
    return near[:3]


@check(
    "inferencepool.selector",
    title="InferencePool selector and target ports",
    area="inference",
    severity=Severity.CRITICAL,
    inputs=(*POOL_KEYS, POD, HTTPROUTE),
    requires=("cluster.access",),
    capabilities=POOL_CAPABILITIES,
    explains=("e2e.chat-completion", "e2e.routing"),
    why="The endpoint picker only sends requests to the pods the pool's selector matches, on its target port: "
        "a selector that matches nothing, or a port nothing listens on, fails every request through the pool.",
    remediation=(
        "Make the pool's selector match the model-server pods' labels (and only them), and its target port "
        "the port they serve on (8000: vLLM, or the routing sidecar in front of it)."
    ),
)
def inferencepool_selector(ctx: CheckContext) -> Iterator[Finding]:
    """The selector matches Ready pods; target ports are served by the selected containers; pods that
    do not serve are not selected."""
    topo = topology(ctx.snapshot)
    pools = topo.pools
    if not pools:
        pools.require()
        yield Finding(Status.SKIP, "no InferencePool objects")
        return
    yield from unread(pools, "some InferencePools")
    for pool in pools:
        yield from _judge(ctx, pool, topo.impact_of_pool(pool, epp_path=False))


def _judge(ctx: CheckContext, pool: Pool, lost: tuple[str, ...]) -> Iterator[Finding]:
    sel = pool.selector_text
    if not pool.selector:
        yield Finding(Status.FAIL, f"{pool.ref} has an empty selector: it selects no pods", pool.ref, capabilities=lost)
        return
    chosen = pool.pods.require()
    if not chosen:
        hints = _label_hints(ctx.snapshot.list(POD, pool.namespace), pool)
        yield Finding(Status.FAIL, f"{pool.ref} selector {sel} matches no pods in {pool.namespace}"
                      + (f" ({hints[0]})" if hints and "renamed" in hints[0] else ""), pool.ref, tuple(hints),
                      capabilities=lost, remediation="Fix the pool's selector (v1: spec.selector.matchLabels) or the "
                      "model-server pods' labels so they agree.")
        return
    ready, unready = k8s.by_readiness(chosen)
    summaries = [f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in unready]
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
        served, said = pod_ports(p)
        if all(t in served for t in ports):
            serving.append(p)
            for t in ports:
                via.setdefault(f"{t} by {served[t]}")
        elif said:
            not_serving.append((p, served))
        else:
            unknown.append(p)
    want = ", ".join(str(t) for t in ports)
    miss_ev = [f"Pod/{k8s.namespace(p)}/{k8s.name(p)} serves {', '.join(str(x) for x in sorted(s)) or 'no port'}, "
               f"not {want}" for p, s in not_serving]
    if not_serving and not serving:
        other = sorted({x for _, s in not_serving for x in s})
        they = f" (they serve {', '.join(str(x) for x in other)})" if other else ""
        yield Finding(Status.FAIL, f"{pool.ref}: none of the {len(chosen)} selected pod(s) serves target port {want}"
                      f"{they}: requests through the pool fail (the endpoint picker skips pods that do not declare "
                      "the port; a pod that does not listen on it refuses the connection)", pool.ref, tuple(miss_ev[:5]), capabilities=lost,
                      remediation="Set the pool's target port to the port the model servers listen on (the routing "
                      "sidecar's --port when there is one), or fix the selector.")
        return
    if not_serving:
        yield Finding(Status.WARN, f"{pool.ref} selects {len(not_serving)} pod(s) that do not serve target port {want} "
                      f"(beside {len(serving)} that do): requests the EPP sends them fail with connection refused",
                      pool.ref, tuple(miss_ev[:5]), capabilities=(),
                      remediation="Narrow the pool's selector so only serving pods match (e.g. add a label only the "
                      "model servers carry).")
        return
    if unknown and not serving:
        yield Finding(Status.WARN, f"{pool.ref}: cannot confirm that the selected pods serve target port {want} "
                      "(no container declares a port or a --port argument)", pool.ref,
                      tuple(f"Pod/{k8s.namespace(p)}/{k8s.name(p)}" for p in unknown[:5]), capabilities=())
        return
    if len(ready) < len(chosen):
        yield Finding(Status.WARN, f"{pool.ref}: {len(ready)}/{len(chosen)} selected pods are Ready ({sel})",
                      pool.ref, tuple(summaries), capabilities=())
        return
    yield Finding(Status.PASS, f"{pool.ref} selects {len(ready)}/{len(chosen)} Ready pods ({sel}), serving port "
                  f"{'; '.join(via)}", pool.ref)
