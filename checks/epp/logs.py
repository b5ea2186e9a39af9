"""epp.logs: what the endpoint picker's logs say when it is not healthy — known signatures (nil-pointer
SIGSEGV, missing config, forbidden, CRD not installed, unknown plugin) with their cause and fix."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s, knowledge
from llmd_doctor.kinds import DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import LogRequest, Snapshot
from llmd_doctor.topology import Epp, Topology, topology

from .._lib import logs


def _log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """Logs of EPP pods that are not Ready or restarted: the current run, and the previous one."""
    for epp in topology(snap).epps:
        for p in epp.pods:
            if not logs.healthy(p):
                yield from logs.requests_for(p, [str(epp.container.get("name"))])


def _config_flags(epp: Epp) -> str:
    cf = epp.flag("configFile", "config-file")
    ct = epp.flag("configText", "config-text")
    return f'configFile="{cf or ""}" configText="{"<set>" if ct else ""}"'


@check(
    "epp.logs",
    title="Endpoint picker logs",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=(DEPLOYMENT, POD, *POOL_KEYS, HTTPROUTE),
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    logs=_log_requests,
    signatures=("epp",),
    explains=("epp.deployment", "inferencepool.endpoint-picker", "e2e.chat-completion",
              "e2e.routing"),
    why="A crash-looping endpoint picker says why in its previous log: a config it could not load, a CRD "
        "that is not installed, a read it was refused.",
    remediation="See the cause named above; `kubectl logs -n <ns> <epp-pod> --previous` shows the crash.",
)
def epp_logs(ctx: CheckContext) -> Iterator[Finding]:
    """EPP log signatures (nil-pointer SIGSEGV, missing config, forbidden, CRD not installed, unknown plugin)."""
    snap = ctx.snapshot
    topo = topology(snap)
    epps = topo.epps.require()
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found")
        return
    for epp in epps:
        for pod in epp.pods.require():
            yield from _judge(snap, topo, epp, pod)


def _judge(snap: Snapshot, topo: Topology, epp: Epp, pod: dict) -> Iterator[Finding]:
    ref = obj_ref(pod)
    healthy = logs.healthy(pod)
    texts, unavailable = logs.read(snap, pod, [(str(epp.container.get("name")), "epp")])
    if not texts:
        if healthy:
            yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
        elif unavailable:
            yield Finding(Status.SKIP, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) but {unavailable}", ref,
                          unverified=True)
        else:
            yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs are empty", ref,
                          capabilities=())
        return
    known = logs.known_causes(texts, knowledge.signatures)
    for k in known:
        evidence = [_config_flags(epp)] if "config" in k.signature.id else []
        evidence += k.lines + [f"{k.log.which} log of {ref}; image {epp.image}; known in {k.signature.versions}"]
        caps = k.signature.capabilities if k.signature.capabilities is not None else topo.impact_of_epp(epp)
        yield Finding(Status(k.signature.status), knowledge.fill(k.signature.cause, k.groups), ref, tuple(evidence),
                      remediation=knowledge.fill(k.signature.fix, k.groups), capabilities=caps)
    if known:
        return
    if healthy:  # the same words whether or not the source captured a healthy pod's log
        yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
        return
    yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs match no known signature",
                  ref, texts[0].tail(), capabilities=(CACHE_AWARE_ROUTING,))

