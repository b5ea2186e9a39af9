"""The endpoint picker (EPP): its Deployment and pods, and what its logs say when it breaks."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, LogRequest, Snapshot

from . import _k8s as k
from . import _knowledge, _llmd

EPP_INPUTS = ("Deployment.apps", "Pod", *_llmd.POOL_KEYS, _llmd.HTTPROUTE)


def _lost(snap: Snapshot, epp: _llmd.Epp) -> tuple[str, ...]:
    """What a broken EPP takes away: its scheduling features, and routing itself when a route
    sends traffic through its pool (FailClose)."""
    pool = _llmd.pool_of_epp(epp, _llmd.pools(snap))
    if pool is not None and _llmd.routes_to_pool(snap, pool) and pool.epp_failure_mode != "FailOpen":
        return (*EPP_CAPABILITIES, GATEWAY_ROUTING)
    return EPP_CAPABILITIES


@check(
    "epp.deployment",
    title="Endpoint picker deployment",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=EPP_INPUTS,
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    remediation=(
        "Read the EPP's logs (`kubectl logs -n <ns> <epp-pod> --previous`); llmd-doctor's epp.logs check "
        "names the cause when it knows the signature."
    ),
)
def epp_deployment(ctx: CheckContext) -> Iterator[Finding]:
    """EPP Deployment available, pods Ready, restarts, CrashLoopBackOff, last termination."""
    snap = ctx.snapshot
    epps = _llmd.epps(snap)
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        pods = _llmd.epp_pods(snap, epp)
        want = int((epp.deployment.get("spec") or {}).get("replicas", 1) or 0)
        ready = [p for p in pods if k.pod_ready(p)]
        avail = k.condition(epp.deployment, "Available")
        image = f"image {epp.image}"
        if want == 0:
            yield Finding(Status.WARN, f"{epp.ref} is scaled to 0 replicas", epp.ref, (image,),
                          remediation=f"kubectl scale -n {epp.namespace} deployment/{epp.name} --replicas=1",
                          capabilities=_lost(snap, epp))
            continue
        bad = [p for p in pods if not k.pod_ready(p)]
        if not ready:
            evidence = [image, k.cond_text(avail, "Available")]
            evidence += [f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}" for p in pods]
            waits = [(c, r, m) for p in pods for c, r, m in k.waiting_reasons(p)]
            what = f"{waits[0][1]}" if waits else ("no pods" if not pods else "not Ready")
            yield Finding(
                Status.FAIL,
                f"{epp.ref} has 0/{want} Ready pods ({what})",
                epp.ref,
                tuple(evidence),
                capabilities=_lost(snap, epp),
            )
        elif bad or any(k.restarts(p) for p in ready):
            evidence = [f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}" for p in pods]
            yield Finding(Status.WARN, f"{epp.ref}: {len(ready)}/{want} Ready, with restarts or unready pods",
                          epp.ref, tuple(evidence), capabilities=())
        else:
            yield Finding(Status.PASS, f"{epp.ref}: {len(ready)}/{want} Ready ({image})", epp.ref)


def _epp_log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """Logs of EPP pods that are not Ready or restarted: the current run, and the previous one."""
    for epp in _llmd.epps(snap):
        cname = str(epp.container.get("name"))
        for p in _llmd.epp_pods(snap, epp):
            if k.pod_ready(p) and not k.restarts(p):
                continue
            yield LogRequest(k.namespace(p), k.name(p), cname, previous=False)
            cs = next((c for c in k.container_statuses(p) if c.get("name") == cname), {})
            if int(cs.get("restartCount") or 0) or k.last_terminated(cs):
                yield LogRequest(k.namespace(p), k.name(p), cname, previous=True)


def _config_flags(epp: _llmd.Epp) -> str:
    cf = epp.flag("configFile", "config-file")
    ct = epp.flag("configText", "config-text")
    return f'configFile="{cf or ""}" configText="{"<set>" if ct else ""}"'


@check(
    "epp.logs",
    title="Endpoint picker logs",
    area="epp",
    severity=Severity.CRITICAL,
    inputs=EPP_INPUTS,
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    logs=_epp_log_requests,
    remediation="See the cause named above; `kubectl logs -n <ns> <epp-pod> --previous` shows the crash.",
)
def epp_logs(ctx: CheckContext) -> Iterator[Finding]:
    """EPP log signatures (nil-pointer SIGSEGV, missing config, forbidden, CRD not installed, unknown plugin)."""
    snap = ctx.snapshot
    epps = _llmd.epps(snap)
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found")
        return
    for epp in epps:
        cname = str(epp.container.get("name"))
        for pod in _llmd.epp_pods(snap, epp):
            ref = obj_ref(pod)
            texts: list[tuple[str, str]] = []
            unavailable: str | None = None
            for previous in (True, False):
                req = LogRequest(k.namespace(pod), k.name(pod), cname, previous)
                try:
                    text = snap.log(req)
                except DataUnavailable as e:  # not captured / forbidden: say so, do not guess
                    unavailable = str(e)
                    continue
                if text:
                    texts.append(("previous" if previous else "current", text))
            healthy = k.pod_ready(pod) and not k.restarts(pod)
            if not texts:
                if healthy:
                    yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
                elif unavailable:
                    yield Finding(Status.SKIP, f"{ref} is unhealthy ({k.pod_summary(pod)}) but {unavailable}", ref)
                else:
                    yield Finding(Status.WARN, f"{ref} is unhealthy ({k.pod_summary(pod)}) and its logs are empty",
                                  ref, capabilities=())
                continue
            matched = False
            for which, text in texts:
                for sig, groups, lines in _knowledge.match_log("epp", text):
                    matched = True
                    evidence = [_config_flags(epp)] if "config" in sig.id else []
                    evidence += lines + [f"{which} log of {ref}; image {epp.image}; known in {sig.versions}"]
                    caps = sig.capabilities if sig.capabilities is not None else _lost(snap, epp)
                    yield Finding(Status(sig.status), _knowledge.fill(sig.cause, groups), ref, tuple(evidence),
                                  remediation=_knowledge.fill(sig.fix, groups), capabilities=caps)
                if matched:
                    break  # the previous run explains the crash; the current one repeats it
            if not matched:
                if healthy:  # the same words whether or not the source captured a healthy pod's log
                    yield Finding(Status.PASS, f"{ref} is Ready with no restarts; no crash to explain", ref)
                    continue
                last = tuple(texts[0][1].strip().splitlines()[-3:])
                yield Finding(Status.WARN, f"{ref} is unhealthy ({k.pod_summary(pod)}) and its logs match no "
                              "known signature", ref, last, capabilities=(CACHE_AWARE_ROUTING,))
