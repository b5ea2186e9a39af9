"""epp.logs: what the endpoint picker's logs say when it is not healthy — known signatures (nil-pointer
SIGSEGV, missing config, forbidden, CRD not installed, unknown plugin) with their cause and fix, else the
root error of the crash (a Go panic, a fatal record), said as not a known signature."""

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
    """EPP log signatures (nil-pointer SIGSEGV, missing config, forbidden, CRD not installed, unknown plugin),
    else the root error of a crash: a Go panic and its first frame outside the runtime, a fatal record."""
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
    if healthy and not snap.log_captured(k8s.namespace(pod), k8s.name(pod)):
        yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
        return
    diag = logs.diagnose(snap, pod, [(str(epp.container.get("name")), "epp")], knowledge.signatures)
    for c in diag.causes:
        k = c.known
        evidence = [_config_flags(epp)] if k is not None and "config" in k.signature.id else []
        evidence += [*c.evidence, f"image {epp.image}"]
        caps = k.signature.capabilities if k is not None and k.signature.capabilities is not None else (
            topo.impact_of_epp(epp) if c.status == "fail" or k is not None else (CACHE_AWARE_ROUTING,))
        yield Finding(Status(c.status), c.text if k is not None else f"{ref}: {c.text}", ref, tuple(evidence),
                      remediation=c.fix, capabilities=caps)
    if diag.causes:
        return
    if healthy:  # the same words whether or not the source captured a healthy pod's log
        yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
    elif not diag.texts and diag.unavailable:
        yield Finding(Status.SKIP, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) but {diag.unavailable}", ref,
                      unverified=True)
    elif not diag.texts:
        yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}) and its logs are empty", ref,
                      capabilities=())
    else:
        yield Finding(Status.WARN, f"{ref} is unhealthy ({k8s.pod_summary(pod)}); its logs name no error "
                      "(not a known signature)", ref, diag.texts[0].tail(), capabilities=(CACHE_AWARE_ROUTING,))
