"""model-servers.logs: what the logs of model-server pods say — known signatures (CUDA OOM, gated model,
no GPU, the routing sidecar refused) with their cause and fix, else the root error of a crashed container
(not a known signature), or a thread that died in a running one."""

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


def _healthy(snap: Snapshot) -> set[int]:
    """The ids of the model-server pods that are Ready and never restarted (logs.healthy): found once per run
    for the logs hook and the check, from the Ready pods each group knows."""
    found: set[int] = snap.derive("model-servers.logs.healthy", lambda: {
        id(p) for g in topology(snap).servers for p in g.ready if logs.healthy(p)})
    return found


def _log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """Logs of model-server pods that are not Ready or restarted (the previous run too when restarted)."""
    healthy = _healthy(snap)
    for pod in topology(snap).server_pods():
        if id(pod) not in healthy:
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
    """vLLM and routing-sidecar logs: known signatures (CUDA OOM, gated model, no GPU, readiness waits, sidecar
    refused), else the root error of a crashed container, a thread that died, the last error of an unready one."""
    snap = ctx.snapshot
    topo = topology(snap)
    groups = list(topo.servers.require())
    pods = [p for g in groups for p in g.pods]
    if not pods:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    quiet: list[str] = []  # healthy pods with nothing to report (one summary line, live and bundle alike)
    healthy_pods = _healthy(snap)
    for pod in pods:
        ref = obj_ref(pod)
        healthy = id(pod) in healthy_pods
        if healthy and not snap.log_captured(k8s.namespace(pod), k8s.name(pod)):
            quiet.append(ref)  # nothing to explain and nothing read: the same words as a clean log
            continue
        containers = log_containers(pod)
        if not healthy and not any(any(logs.started(pod, c)) for c, _ in containers):
            yield Finding(Status.SKIP, f"{ref} has not started its containers ({k8s.pod_summary(pod)}); "
                          "model-servers.pods names why", ref)
            continue
        diag = logs.diagnose(snap, pod, containers, knowledge.signatures)
        for c in diag.causes:
            evidence = list(c.evidence)
            if c.known is not None and c.known.signature.id == "sidecar-vllm-connection-refused" and (
                    ports := sidecar_ports(pod)):
                evidence.insert(0, f"routing-proxy --vllm-port={ports[0]}; vLLM --port {ports[1]}")
            sig_caps = c.known.signature.capabilities if c.known is not None else None
            caps = sig_caps if sig_caps is not None else _caps(topo, pod, groups) if c.status == "fail" else ()
            yield Finding(Status(c.status), f"{ref}: {c.text}", ref, tuple(evidence), remediation=c.fix,
                          capabilities=caps)
        if diag.causes:
            continue
        if healthy:  # the same words whether or not the source captured a healthy pod's log
            quiet.append(ref)
        elif not diag.texts and diag.unavailable:
            yield Finding(Status.SKIP, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) but {diag.unavailable}", ref,
                          unverified=True)
        elif not diag.texts:
            yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs are empty",
                          ref, capabilities=())
        else:
            yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}); its logs name no error "
                          "(not a known signature)", ref, diag.texts[0].tail(), capabilities=())
    if quiet:
        n = len(quiet)
        yield Finding(Status.PASS, f"{n} model-server pod{'s are' if n != 1 else ' is'} Ready with no restarts; "
                      "no crash to explain", evidence=tuple(quiet))
