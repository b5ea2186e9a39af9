"""model-servers.pods: decode/prefill pods per role and owner — phase, readiness, restarts, waiting
reasons, scheduling — with the cause named as `kubectl describe` would show it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, EVENT, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import ServerGroup, Topology, topology
from llmd_doctor.topology.impact import SERVING_CAPABILITIES
from llmd_doctor.topology.servers import server_container, sidecar_ports

from .._lib.events import event_text, events_for
from .._lib.pods import pod_cause

Obj = dict[str, Any]
INPUTS = (POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS, EVENT)


def _workload_events(snap: Snapshot, g: ServerGroup) -> list[str]:
    out = [f"{g.ref}: {event_text(e)}" for e in events_for(snap, g.owner_kind, g.namespace, g.owner_name)
           if e.get("type") == "Warning"]
    if snap.gap(REPLICASET, g.namespace) is None:
        for rs in snap.list(REPLICASET, g.namespace):
            if any(r.get("name") == g.owner_name for r in k8s.meta(rs).get("ownerReferences") or []):
                out += [f"ReplicaSet/{g.namespace}/{k8s.name(rs)}: {event_text(e)}"
                        for e in events_for(snap, "ReplicaSet", g.namespace, k8s.name(rs)) if e.get("type") == "Warning"]
    return out


@check(
    "model-servers.pods",
    title="Model-server pods",
    area="model-servers",
    severity=Severity.CRITICAL,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=SERVING_CAPABILITIES,
    explains=("inferencepool.selector", "e2e.chat-completion", "e2e.models", "e2e.routing"),
    why="Without a Ready model-server pod nothing answers a request, whatever the gateway and the endpoint "
        "picker do.",
    remediation="See the cause named above; `kubectl describe pod -n <ns> <pod>` shows the same events.",
)
def model_server_pods_check(ctx: CheckContext) -> Iterator[Finding]:
    """Decode/prefill pods: phase, readiness, restarts, waiting reasons and scheduling events, per role and owner."""
    snap = ctx.snapshot
    topo = topology(snap)
    groups = list(topo.servers.require())
    if not groups:
        yield _none(topo)
        return
    for g in groups:
        yield _judge(snap, topo, g)


def _none(topo: Topology) -> Finding:
    if topo.pools or topo.epps:
        pools = ", ".join(p.ref for p in topo.pools) or "an endpoint picker"
        return Finding(Status.FAIL, f"no model-server pods: {pools} exists, but no pod runs vLLM, carries "
                       "llm-d.ai/role or is selected by an InferencePool",
                       remediation="Deploy the model servers (llm-d-modelservice / the guide's decode "
                       "Deployment) with the labels the InferencePool selects.")
    return Finding(Status.SKIP, "no model-server pods found (no vLLM pods, no llm-d.ai/role labels, no InferencePool) "
                   "and nothing indicates llm-d is deployed")


def _judge(snap: Snapshot, topo: Topology, g: ServerGroup) -> Finding:
    ready, want = g.ready, g.desired
    head = f"{len(ready)}/{want} {g.noun} Ready ({g.ref})"
    lost = topo.impact_of_servers(g)
    if want == 0 and not g.pods:
        return Finding(Status.WARN, f"{g.ref} is scaled to 0 replicas: no {g.noun} run", g.ref,
                       remediation=f"kubectl scale -n {g.namespace} {g.owner_kind.lower()}/{g.owner_name} --replicas=1",
                       capabilities=lost)
    bad = g.unready
    if not ready:
        if not g.pods:
            return Finding(Status.FAIL, f"{head}: no pods were created", g.ref,
                           tuple(f"event on {e}" for e in _workload_events(snap, g)),
                           remediation="See the ReplicaSet's FailedCreate events (quota, admission webhooks, "
                           "PodSecurity).", capabilities=lost)
        causes = [pod_cause(snap, p) for p in bad]
        evidence = [line for c in causes for line in c.evidence]
        return Finding(Status.FAIL, f"{head}: {causes[0].text}", g.ref, tuple(dict.fromkeys(evidence)),
                       remediation=causes[0].fix, capabilities=lost)
    if bad or len(ready) < want:
        causes = [pod_cause(snap, p) for p in bad]
        why = f": {causes[0].text}" if causes else f": only {len(g.pods)} pods exist"
        evidence = [line for c in causes for line in c.evidence]
        return Finding(Status.WARN, f"{head}{why}", g.ref, tuple(dict.fromkeys(evidence)),
                       remediation=causes[0].fix if causes else None, capabilities=())
    mismatched = [(p, ports) for p in g.variants if (ports := sidecar_ports(p)) and ports[0] != ports[1]]
    if mismatched:
        p, (side, vllm) = mismatched[0]
        return Finding(Status.WARN, f"{head}, but the routing sidecar forwards to port {side} while vLLM listens on "
                       f"{vllm}: requests through the sidecar get 502", g.ref,
                       (f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: routing-proxy --vllm-port={side}, vLLM --port {vllm}",),
                       remediation="Make the sidecar's --vllm-port equal vLLM's --port (8200 in llm-d decode pods).",
                       capabilities=(OPENAI_API,))
    restarts = sum(k8s.restarts(p) for p in g.pods)
    note = f", {restarts} restart{'s' if restarts != 1 else ''} in total" if restarts else ""
    image = (server_container(g.pods[0]) or {}).get("image")
    return Finding(Status.PASS, head + note + (f"; image {image}" if image else ""), g.ref)
