"""epp.deployment: the endpoint picker's Deployment is available and its pods Ready; restarts,
CrashLoopBackOff and the last termination."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.kinds import DEPLOYMENT, HTTPROUTE, POD, POOL_KEYS
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import Epp, Topology, topology

INPUTS = (DEPLOYMENT, POD, *POOL_KEYS, HTTPROUTE)


@check(
    "epp.deployment",
    title="Endpoint picker deployment",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    explains=("inferencepool.endpoint-picker", "e2e.chat-completion", "e2e.routing"),
    why="The gateway asks the endpoint picker for every request to its pool: with no Ready EPP pod, "
        "cache-aware routing is gone — and so is routing itself when the pool fails closed.",
    remediation=(
        "Read the EPP's logs (`kubectl logs -n <ns> <epp-pod> --previous`); llmd-doctor's epp.logs check "
        "names the cause when it knows the signature."
    ),
)
def epp_deployment(ctx: CheckContext) -> Iterator[Finding]:
    """EPP Deployment available, pods Ready, restarts, CrashLoopBackOff, last termination."""
    topo = topology(ctx.snapshot)
    epps = topo.epps.require()
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        yield _judge(topo, epp)


def _judge(topo: Topology, epp: Epp) -> Finding:
    want = int((epp.deployment.get("spec") or {}).get("replicas", 1) or 0)
    image = f"image {epp.image}"
    if want == 0:
        return Finding(Status.WARN, f"{epp.ref} is scaled to 0 replicas", epp.ref, (image,),
                       remediation=f"kubectl scale -n {epp.namespace} deployment/{epp.name} --replicas=1",
                       capabilities=topo.impact_of_epp(epp))
    pods = epp.pods.require()
    ready = [p for p in pods if k8s.pod_ready(p)]
    if not ready:
        avail = k8s.condition(epp.deployment, "Available")
        evidence = [image, k8s.cond_text(avail, "Available")]
        evidence += [f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in pods]
        waits = [r for p in pods for _, r, _ in k8s.waiting_reasons(p)]
        what = waits[0] if waits else ("no pods" if not pods else "not Ready")
        return Finding(Status.FAIL, f"{epp.ref} has 0/{want} Ready pods ({what})", epp.ref, tuple(evidence),
                       capabilities=topo.impact_of_epp(epp))
    if len(ready) < len(pods) or any(k8s.restarts(p) for p in ready):
        evidence = [f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in pods]
        return Finding(Status.WARN, f"{epp.ref}: {len(ready)}/{want} Ready, with restarts or unready pods",
                       epp.ref, tuple(evidence), capabilities=())
    return Finding(Status.PASS, f"{epp.ref}: {len(ready)}/{want} Ready ({image})", epp.ref)
