"""compat.versions: do the versions found agree with each other?

EPP image ↔ the inference CRDs it needs; the EPP's pool group ↔ the route's backendRef group; the
known issues of the gateway implementation's release (from its controller image) that the routes'
shape makes bite. The pass message names the detected stack. Unknown versions (`latest`, dev
builds) are reported as such and never fail.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.gateways import Controller, GatewayImplementation, by_name
from llmd_doctor.kinds import (
    CRD,
    DEPLOYMENT,
    GATEWAY,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    INFERENCE,
    INFERENCE_MODEL,
    LLMD,
    POD,
    POOL_KEYS,
    X_INFERENCE,
)
from llmd_doctor.model import (
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, Snapshot
from llmd_doctor.topology import Epp, Topology, topology
from llmd_doctor.topology.routes import shape_of

from .._lib.crds import bundle_version

_SHORT = {X_INFERENCE: "x-k8s.io", INFERENCE: "k8s.io", LLMD: "llm-d.ai"}


def _served(snap: Snapshot, key: str) -> bool | None:
    kind, group = key.split(".", 1)
    try:
        return bool(snap.served_versions(kind, group))
    except DataUnavailable:
        return None


def _release(controllers: list[Controller]) -> Controller | None:
    """The one released version the controllers run (None when unknown, mixed or a dev build)."""
    tags = {c.image for c in controllers}
    return controllers[0] if len(tags) == 1 and controllers[0].version is not None else None


def _label(impl: GatewayImplementation, controllers: list[Controller]) -> str:
    if not controllers:
        return f"{impl.title}" + ("" if impl.managed else " (version unknown: no controller image found)")
    tags = sorted({c.version_text or "untagged" for c in controllers})
    dev = "" if _release(controllers) else " (dev build or unreleased tag: pool-group support not checked)" \
        if len(tags) == 1 else " (several versions)"
    return f"{impl.title} {', '.join(tags)}{dev}"


def _epp(snap: Snapshot, epp: Epp, notes: list[str], lost: tuple[str, ...]) -> Iterator[Finding]:
    r = epp.release
    if r is None:
        notes.append(f"EPP {epp.product} {epp.tag or '(untagged)'} (not a known release)")
        yield Finding(Status.WARN, f"{epp.ref}: image {epp.image} is not a known release, so its compatibility with "
                      "the installed inference CRDs and gateway cannot be checked", epp.ref,
                      remediation="Pin the EPP image to a release tag (e.g. ghcr.io/llm-d/llm-d-inference-scheduler:"
                      "v0.3.2) whose GIE version matches the installed CRDs.", capabilities=())
        return
    notes.append(f"EPP {epp.label}")
    t = epp.target
    for key in dict.fromkeys([f"InferencePool.{t.group}", *r.requires_crds]):
        kind, kgroup = key.split(".", 1)
        if _served(snap, key) is False:
            why = f" ({t.group_from})" if kind == "InferencePool" else ""
            yield Finding(Status.FAIL, f"{epp.ref}: {epp.product} {epp.tag} (GIE {r.gie}) watches {kind} in {kgroup}{why}, "
                          f"but that CRD is not installed: its controller manager fails to start (no matches for kind "
                          f"\"{kind}\")", epp.ref, (f"image {epp.image}", f"CRD {kind.lower()}s.{kgroup} not served"),
                          remediation=f"Install the inference CRDs of GIE {r.gie} (the release the EPP is built on), "
                          "e.g. `kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/"
                          "releases/download/<release>/manifests.yaml`, or run an EPP that matches the installed CRDs.",
                          capabilities=lost)
    for key in r.prefers_crds:
        kind, kgroup = key.split(".", 1)
        if kgroup != LLMD or _served(snap, key) is not False:
            continue
        legacy = _served(snap, f"{kind}.{X_INFERENCE}")
        yield Finding(Status.WARN, f"{epp.ref}: {epp.product} {epp.tag} reads {kind} from {kgroup}, whose CRD is not "
                      "installed" + ("; it falls back to the deprecated inference.networking.x-k8s.io objects"
                                     if legacy else ""), epp.ref,
                      remediation="Install llm-d-router's CRDs (`kubectl apply -k https://github.com/llm-d/llm-d-router/"
                      "config/crd`) and move InferenceObjective/InferenceModelRewrite objects to apiVersion "
                      "llm-d.ai/v1alpha2.", capabilities=())
    models = snap.list(INFERENCE_MODEL, epp.namespace) if snap.gap(INFERENCE_MODEL, epp.namespace) is None \
        and INFERENCE_MODEL in snap.collected else []
    if models and INFERENCE_MODEL not in r.watches:
        yield Finding(Status.WARN, f"{epp.ref}: {len(models)} InferenceModel object(s) (e.g. {obj_ref(models[0])}) "
                      f"are ignored by {epp.product} {epp.tag}: GIE v1.0 replaced InferenceModel with "
                      "InferenceObjective", epp.ref,
                      remediation="Recreate them as InferenceObjective objects (priority + poolRef; the model name "
                      "now comes from the request).", capabilities=())


def _routes(topo: Topology, notes: list[str]) -> Iterator[Finding]:
    """Route ↔ EPP pool group, and the gateways' known issues that the routes' shape makes bite. (Whether
    a gateway release routes the pool group is gateway.implementation's and httproute.backends' to say.)"""
    routes = [r for r in topo.routes if r.pool_backends]
    if not routes:
        notes.append("no HTTPRoute sends to an InferencePool (gateway ↔ pool group not checked)")
        return
    targets: dict[tuple[str | None, str], list[Epp]] = {}
    for epp in topo.epps:
        targets.setdefault((epp.target.name, epp.target.namespace), []).append(epp)
    for route in routes:
        for b in route.pool_backends:
            if not b.is_pool_group:
                continue  # not a pool at all: httproute.backends says so
            for epp in targets.get((b.name, b.namespace), []):
                t = epp.target
                if t.group == b.group:
                    continue
                yield Finding(Status.FAIL if t.sure else Status.WARN, f"{route.ref} sends to InferencePool "
                              f"{b.namespace}/{b.name} in group {b.group}, but {epp.ref} watches {t.group} "
                              f"({t.group_from}): the EPP sees no endpoints and requests fail"
                              + ("" if t.sure else f" (image {epp.image} is not a known release)"), route.ref,
                              (f"{route.ref} backendRef group {b.group}", f"{epp.ref} image {epp.image}"),
                              remediation="Use one pool group everywhere: the InferencePool's apiVersion, the HTTPRoute "
                              f"backendRef group and the EPP's --pool-group (here: --pool-group {b.group}).",
                              capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES))
    for g in topo.gateways:
        impl, ctl = g.implementation, g.controller.target
        pooled = [r for r in g.routes if r.pool_backends]
        if impl is None or ctl is None or not pooled:
            continue
        shape = shape_of(pooled)
        n = shape["min_pools_per_gateway"]
        for issue in impl.known_issues(ctl, shape):
            if issue.get("condition"):
                continue  # shows as a route condition: httproute.status names it as that condition's cause
            yield Finding(Status(issue.get("status", "warn")), f"{impl.title} {ctl.label}: {issue['message']} "
                          f"({g.ref} routes to {n} InferencePool{'' if n == 1 else 's'})", g.ref,
                          (f"{ctl.ref} image {ctl.image}", f"known issue: {issue['source']}"),
                          remediation=str(issue["fix"]), capabilities=())


def _stack(topo: Topology) -> list[str]:
    snap = topo.snapshot
    notes: list[str] = []
    pool_versions: list[str] = []
    for p in topo.pools:
        text = f"{_SHORT.get(p.group, p.group)}/{p.version}"
        if text not in pool_versions:
            pool_versions.append(text)
    if not pool_versions:
        for group in (INFERENCE, X_INFERENCE):
            try:
                pool_versions += [f"{_SHORT[group]}/{ver} (CRD only)" for ver in snap.served_versions("InferencePool", group)]
            except DataUnavailable:
                continue
    if pool_versions:
        notes.append("InferencePool " + ", ".join(pool_versions))
    used = {g.implementation.name for g in topo.gateways if g.implementation is not None}
    for name in sorted(used or set(topo.controllers)):  # a controller image two plugins claim: the one in use
        impl = by_name(name)
        if impl is not None:
            notes.append(_label(impl, topo.controllers.get(name, [])))
    bundle = bundle_version(snap, "Gateway", GATEWAY, "gateway.networking.k8s.io/bundle-version")
    if bundle:
        notes.append(f"Gateway API {bundle}")
    return notes


@check(
    "compat.versions",
    title="Version compatibility",
    area="compat",
    severity=Severity.MAJOR,
    inputs=(DEPLOYMENT, POD, CRD, GATEWAY_CLASS, GATEWAY_KEY, HTTPROUTE, *POOL_KEYS, INFERENCE_MODEL),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
    explains=("epp.logs", "epp.deployment", "httproute.status", "inferencepool.status", "e2e.chat-completion"),
    why="llm-d's pieces move fast: an EPP built for other inference CRDs, or a gateway release that routes "
        "another InferencePool group, fails in ways no single object shows.",
    remediation="Align the versions named above: EPP image ↔ inference CRDs ↔ gateway implementation release.",
)
def compat_versions(ctx: CheckContext) -> Iterator[Finding]:
    """EPP image ↔ inference CRDs, EPP pool group ↔ route backendRef group, gateway version ↔ pool group."""
    topo = topology(ctx.snapshot)
    notes: list[str] = []
    findings: list[Finding] = []
    for epp in topo.epps:
        findings += list(_epp(ctx.snapshot, epp, notes, topo.impact_of_epp(epp)))
    stack = _stack(topo)
    findings += list(_routes(topo, notes))
    if not topo.epps and not topo.pools and not topo.controllers:
        gaps = [*topo.epps.gaps, *topo.pools.gaps]
        if gaps:
            yield Finding.unverifiable(gaps[0], "no endpoint picker, InferencePool or gateway controller could be read")
            return
        yield Finding(Status.SKIP, "no endpoint picker, InferencePool or gateway controller found: nothing to compare")
        return
    yield from findings
    if not any(f.status in (Status.FAIL, Status.WARN) for f in findings):
        main = [n for n in notes if n.startswith("EPP ")] + stack
        rest = [n for n in notes if not n.startswith("EPP ")]
        yield Finding(Status.PASS, "; ".join(main + rest))
