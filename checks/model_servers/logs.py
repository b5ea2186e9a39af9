"""model-servers.logs: what the logs of unhealthy model-server pods say — known signatures (CUDA OOM,
gated model, no GPU, the routing sidecar refused) with their cause and fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s, knowledge
from llmd_doctor.kinds import DEPLOYMENT, EVENT, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import CheckContext, Finding, Severity, Status, obj_ref
from llmd_doctor.registry import check
from llmd_doctor.snapshot import LogRequest, Snapshot
from llmd_doctor.topology import ServerGroup, Topology, topology
from llmd_doctor.topology.impact import SERVING_CAPABILITIES
from llmd_doctor.topology.servers import log_containers, sidecar_ports

from .._lib import logs

Obj = dict[str, Any]


def _log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """Logs of model-server pods that are not Ready or restarted (the previous run too when restarted)."""
    for pod in topology(snap).server_pods():
        if not logs.healthy(pod):
            yield from logs.requests_for(pod, [c for c, _ in log_containers(pod)])


def _caps(topo: Topology, pod: Obj, groups: list[ServerGroup]) -> tuple[str, ...]:
    g = next((g for g in groups if any(p is pod for p in g.pods)), None)
    return () if g is None or g.ready else topo.impact_of_servers(g)


@check(
    "model-servers.logs",
    title="Model-server logs",
    area="model-servers",
    severity=Severity.MAJOR,
    inputs=(POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS, EVENT),
    requires=("cluster.access",),
    capabilities=SERVING_CAPABILITIES,
    logs=_log_requests,
    signatures=("vllm", "routing-sidecar"),
    explains=("model-servers.pods", "inferencepool.selector", "e2e.chat-completion", "e2e.models"),
    why="A model server that crashes or never gets Ready says why in its log: the traceback, not the "
        "pod's status, names the cause.",
    remediation="See the cause named above; `kubectl logs -n <ns> <pod> -c <container> --previous` shows the crash.",
)
def model_servers_logs(ctx: CheckContext) -> Iterator[Finding]:
    """vLLM and routing-sidecar log signatures (CUDA OOM, gated model, no GPU, readiness waits, sidecar refused)."""
    snap = ctx.snapshot
    topo = topology(snap)
    groups = list(topo.servers.require())
    pods = [p for g in groups for p in g.pods]
    if not pods:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    quiet: list[str] = []  # healthy pods with nothing to report (one summary line, live and bundle alike)
    for pod in pods:
        ref = obj_ref(pod)
        healthy = logs.healthy(pod)
        containers = log_containers(pod)
        if not healthy and not any(any(logs.started(pod, c)) for c, _ in containers):
            yield Finding(Status.SKIP, f"{ref} has not started its containers ({k8s.pod_summary(pod)}); "
                          "model-servers.pods names why", ref)
            continue
        texts, unavailable = logs.read(snap, pod, containers)
        if not texts:
            if healthy:
                quiet.append(ref)
            elif unavailable:
                yield Finding(Status.SKIP, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) but {unavailable}", ref,
                              unverified=True)
            else:
                yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs are empty",
                              ref, capabilities=())
            continue
        known = logs.known_causes(texts, knowledge.signatures)
        for k in known:
            evidence = list(k.lines) + [f"{k.log.where}; known in {k.signature.versions}"]
            if k.signature.id == "sidecar-vllm-connection-refused" and (ports := sidecar_ports(pod)):
                evidence.insert(0, f"routing-proxy --vllm-port={ports[0]}; vLLM --port {ports[1]}")
            caps = k.signature.capabilities if k.signature.capabilities is not None else _caps(topo, pod, groups)
            yield Finding(Status(k.signature.status), f"{ref}: " + knowledge.fill(k.signature.cause, k.groups), ref,
                          tuple(evidence), remediation=knowledge.fill(k.signature.fix, k.groups), capabilities=caps)
        if known:
            continue
        if healthy:  # the same words whether or not the source captured a healthy pod's log
            quiet.append(ref)
            continue
        yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs match no known "
                      "signature", ref, texts[0].tail(), capabilities=())
    if quiet:
        n = len(quiet)
        yield Finding(Status.PASS, f"{n} model-server pod{'s are' if n != 1 else ' is'} Ready with no restarts; "
                      "no crash to explain", evidence=tuple(quiet))
