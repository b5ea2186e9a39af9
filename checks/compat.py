"""compat.versions: do the versions found agree with each other?

EPP image ↔ the inference CRDs it needs; the EPP's pool group ↔ the route's backendRef group; the
gateway implementation and version (from its controller image) ↔ the pool group the routes use;
known-bad versions. The pass message names the detected stack. Unknown versions (`latest`, dev
builds) are reported as such and never fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmd_doctor.kinds import GATEWAY, INFERENCE, LLMD, X_INFERENCE
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

from . import _k8s as k
from . import _llmd, _versions
from .epp_config import lost_capabilities, pool_target

Obj = dict[str, Any]
GATEWAY_KEY = f"Gateway.{GATEWAY}"
GATEWAYCLASS_KEY = f"GatewayClass.{GATEWAY}"
INPUTS = (
    _llmd.DEPLOYMENT, "Pod", "CustomResourceDefinition.apiextensions.k8s.io", GATEWAYCLASS_KEY, GATEWAY_KEY,
    _llmd.HTTPROUTE, *_llmd.POOL_KEYS, f"InferenceModel.{X_INFERENCE}",
)
_SHORT = {X_INFERENCE: "x-k8s.io", INFERENCE: "k8s.io", LLMD: "llm-d.ai"}
_IMPL_NAMES = {"istio": "Istio", "kgateway": "kgateway", "agentgateway": "agentgateway", "gke": "GKE Gateway"}


def _served(snap: Snapshot, key: str) -> bool | None:
    kind, group = key.split(".", 1)
    try:
        return bool(snap.served_versions(kind, group))
    except DataUnavailable:
        return None


def _crd_bundle_version(snap: Snapshot, kind: str, group: str, annotation: str) -> str | None:
    crd = snap.crd(kind, group)
    return ((k.meta(crd).get("annotations") or {}).get(annotation)) if crd else None


@dataclass
class GatewayImpl:
    """A gateway implementation as far as the snapshot tells: its name and controller images."""

    name: str
    images: list[_versions.ImageVersion]

    @property
    def title(self) -> str:
        return _IMPL_NAMES.get(self.name, self.name)

    @property
    def release(self) -> _versions.ImageVersion | None:
        """The one released version the controllers run (None when unknown, mixed or a dev build)."""
        tags = {i.tag for i in self.images}
        if len(tags) != 1:
            return None
        img = self.images[0]
        return None if img.prerelease or img.version is None else img

    def label(self) -> str:
        if not self.images:
            return f"{self.title} (version unknown: no controller image found)"
        tags = sorted({i.label for i in self.images})
        dev = "" if self.release else " (dev build or unreleased tag: pool-group support not checked)" \
            if len(tags) == 1 else " (several versions)"
        return f"{self.title} {', '.join(tags)}{dev}"

    def pool_groups(self) -> list[str] | None:
        """Pool groups this implementation routes to, when the version (or every version) says so."""
        rel = self.release
        if rel is not None and rel.version is not None:
            facts = _versions.gateway_facts(self.name, rel.version)
            return list(facts["pool_groups"]) if facts else None
        entries = [e for e in _versions.compat()["gateways"] if e["implementation"] == self.name]
        groups = {tuple(e["pool_groups"]) for e in entries}
        return list(next(iter(groups))) if len(groups) == 1 else None


def _gateway_impls(snap: Snapshot) -> dict[str, GatewayImpl]:
    workloads = (snap.maybe_list(_llmd.DEPLOYMENT) or []) + (snap.maybe_list("Pod") or [])
    images = _versions.gateway_controller_images(workloads)
    return {name: GatewayImpl(name, imgs) for name, imgs in images.items()}


def _impl_of_gateway(snap: Snapshot, gw: Obj) -> str | None:
    cls_name = (gw.get("spec") or {}).get("gatewayClassName")
    for c in snap.maybe_list(GATEWAYCLASS_KEY) or []:
        if k.name(c) == cls_name:
            return _versions.implementation_of((c.get("spec") or {}).get("controllerName"))
    return None


def _route_parents(snap: Snapshot, route: Obj) -> list[Obj]:
    gws = snap.maybe_list(GATEWAY_KEY) or []
    out = []
    for p in (route.get("spec") or {}).get("parentRefs") or []:
        if not isinstance(p, dict) or (p.get("kind") or "Gateway") != "Gateway":
            continue
        ns = p.get("namespace") or k.namespace(route)
        gw = next((g for g in gws if k.name(g) == p.get("name") and k.namespace(g) == ns), None)
        if gw is not None:
            out.append(gw)
    return out


def _pool_refs(route: Obj) -> list[tuple[str, str, str]]:
    """(group, namespace, name) of the InferencePools a route sends to."""
    return [(str(b.get("group") or ""), str(b.get("namespace") or k.namespace(route)), str(b.get("name")))
            for b in _llmd.route_backends(route) if b.get("kind") == "InferencePool"]


# ---- the parts -------------------------------------------------------------------------------


def _epp_findings(snap: Snapshot, epp: _llmd.Epp, notes: list[str]) -> Iterator[Finding]:
    facts = _versions.epp_facts(epp.image)
    product = _versions.epp_product(epp.image) or epp.image.rsplit("/", 1)[-1].split(":", 1)[0]
    if facts is None:
        notes.append(f"EPP {product} {epp.tag or '(untagged)'} (not a known release)")
        yield Finding(Status.WARN, f"{epp.ref}: image {epp.image} is not a known release, so its compatibility with "
                      "the installed inference CRDs and gateway cannot be checked", epp.ref,
                      remediation="Pin the EPP image to a release tag (e.g. ghcr.io/llm-d/llm-d-inference-scheduler:"
                      "v0.3.2) whose GIE version matches the installed CRDs.", capabilities=())
        return
    notes.append(f"EPP {product} {epp.tag} (GIE {facts['gie']})")
    lost = lost_capabilities(snap, epp)
    _, _, _, group, how = pool_target(epp, facts)
    required = list(dict.fromkeys([f"InferencePool.{group}", *facts.get("requires_crds", [])]))
    for key in required:
        kind, kgroup = key.split(".", 1)
        served = _served(snap, key)
        if served is False:
            why = f" ({how})" if kind == "InferencePool" else ""
            yield Finding(Status.FAIL, f"{epp.ref}: {product} {epp.tag} (GIE {facts['gie']}) watches {kind} in "
                          f"{kgroup}{why}, but that CRD is not installed: its controller manager fails to start "
                          f"(no matches for kind \"{kind}\")", epp.ref,
                          (f"image {epp.image}", f"CRD {kind.lower()}s.{kgroup} not served"),
                          remediation=f"Install the inference CRDs of GIE {facts['gie']} (the release the EPP is "
                          "built on), e.g. `kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-"
                          "extension/releases/download/<release>/manifests.yaml`, or run an EPP that matches the "
                          "installed CRDs.", capabilities=lost)
    for key in facts.get("prefers_crds") or []:
        kind, kgroup = key.split(".", 1)
        if kgroup != LLMD or _served(snap, key) is not False:
            continue
        legacy = _served(snap, f"{kind}.{X_INFERENCE}")
        yield Finding(Status.WARN, f"{epp.ref}: {product} {epp.tag} reads {kind} from {kgroup}, whose CRD is not "
                      "installed" + ("; it falls back to the deprecated inference.networking.x-k8s.io objects"
                                     if legacy else ""), epp.ref,
                      remediation="Install llm-d-router's CRDs (`kubectl apply -k https://github.com/llm-d/llm-d-router/"
                      "config/crd`) and move InferenceObjective/InferenceModelRewrite objects to apiVersion llm-d.ai/v1alpha2.",
                      capabilities=())
    watches = facts.get("watches") or []
    models = snap.maybe_list(f"InferenceModel.{X_INFERENCE}", epp.namespace) or []
    if models and f"InferenceModel.{X_INFERENCE}" not in watches:
        yield Finding(Status.WARN, f"{epp.ref}: {len(models)} InferenceModel object(s) (e.g. "
                      f"{obj_ref(models[0])}) are ignored by {product} {epp.tag}: GIE v1.0 replaced InferenceModel "
                      "with InferenceObjective", epp.ref,
                      remediation="Recreate them as InferenceObjective objects (priority + poolRef; the model name "
                      "now comes from the request).", capabilities=())


def _route_findings(snap: Snapshot, epps: list[_llmd.Epp], impls: dict[str, GatewayImpl],
                    notes: list[str]) -> Iterator[Finding]:
    routes = [r for r in snap.maybe_list(_llmd.HTTPROUTE) or [] if _pool_refs(r)]
    if not routes:
        notes.append("no HTTPRoute sends to an InferencePool (gateway ↔ pool group not checked)")
        return
    pools_per_gateway: dict[str, set[tuple[str, str, str]]] = {}
    # Each EPP's target pool, computed once: (name, namespace) -> [(epp, group, how, facts)].
    targets: dict[tuple[str | None, str], list[tuple[Any, str, str, Any]]] = {}
    for epp in epps:
        facts = _versions.epp_facts(epp.image)
        name, ns, _, egroup, how = pool_target(epp, facts)
        targets.setdefault((name, ns), []).append((epp, egroup, how, facts))
    for route in routes:
        rref = obj_ref(route)
        parents = _route_parents(snap, route)
        for bgroup, bns, bname in _pool_refs(route):
            # The EPP that serves this pool must watch the same group.
            for epp, egroup, how, facts in targets.get((bname, bns), []):
                if egroup != bgroup:
                    # A group read off an unknown version is a guess: say so, never fail on it.
                    sure = facts is not None or how == "--pool-group"
                    yield Finding(Status.FAIL if sure else Status.WARN, f"{rref} sends to InferencePool {bns}/{bname} in group {bgroup}, but "
                                  f"{epp.ref} watches {egroup} ({how}): the EPP sees no endpoints and requests fail"
                                  + ("" if sure else f" (image {epp.image} is not a known release)"),
                                  rref, (f"{rref} backendRef group {bgroup}", f"{epp.ref} image {epp.image}"),
                                  remediation="Use one pool group everywhere: the InferencePool's apiVersion, the "
                                  f"HTTPRoute backendRef group and the EPP's --pool-group (here: --pool-group {bgroup}).",
                                  capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES))
            for gw in parents:
                impl_name = _impl_of_gateway(snap, gw)
                if impl_name is None:
                    continue
                pools_per_gateway.setdefault(f"{impl_name}|{obj_ref(gw)}", set()).add((bgroup, bns, bname))
                impl = impls.get(impl_name) or GatewayImpl(impl_name, [])
                groups = impl.pool_groups()
                if groups is None or bgroup in groups:
                    continue
                version = impl.release.tag if impl.release else ""
                yield Finding(Status.FAIL, f"{impl.title} {version} routes only to {', '.join(groups)} "
                              f"InferencePools, but {rref} (via {obj_ref(gw)}) uses {bgroup}: the route is rejected "
                              "(ResolvedRefs=False, InvalidKind)", rref,
                              (f"{rref} backendRef group {bgroup}",
                               *(f"{i.obj} image {i.image}" for i in impl.images[:2])),
                              remediation=f"Use a pool group {impl.title} {version} supports ({', '.join(groups)}) for "
                              "the InferencePool, the HTTPRoute backendRef and the EPP's --pool-group, or run a "
                              f"{impl.title} version that routes to {bgroup} pools (Istio 1.27 = x-k8s.io only, "
                              ">= 1.28 = k8s.io only).", capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES))
    for key, pools in pools_per_gateway.items():
        impl_name, gw_ref = key.split("|", 1)
        impl = impls.get(impl_name)
        if impl is None or impl.release is None or impl.release.version is None:
            continue
        for issue in _versions.known_issues(impl_name, impl.release.version):
            if len(pools) < int(issue.get("min_pools_per_gateway", 0)):
                continue
            yield Finding(Status(issue.get("status", "warn")), f"{impl.title} {impl.release.tag}: {issue['message']} "
                          f"({gw_ref} routes to {len(pools)} InferencePools)", gw_ref,
                          (f"{impl.release.obj} image {impl.release.image}", f"known issue: {issue['source']}"),
                          remediation=str(issue["fix"]), capabilities=())


def _stack_notes(snap: Snapshot, impls: dict[str, GatewayImpl]) -> list[str]:
    notes: list[str] = []
    pool_versions: list[str] = []
    for p in _llmd.pools(snap):
        group, _, version = str(p.obj.get("apiVersion", "")).partition("/")
        text = f"{_SHORT.get(group, group)}/{version}"
        if text not in pool_versions:
            pool_versions.append(text)
    if not pool_versions:
        for group in (INFERENCE, X_INFERENCE):
            try:
                served = snap.served_versions("InferencePool", group)
            except DataUnavailable:
                continue
            pool_versions += [f"{_SHORT[group]}/{v} (CRD only)" for v in served]
    if pool_versions:
        notes.append("InferencePool " + ", ".join(pool_versions))
    used = {_impl_of_gateway(snap, g) for g in snap.maybe_list(GATEWAY_KEY) or []} - {None}
    for name in sorted(set(impls) | used):  # type: ignore[arg-type]
        notes.append((impls.get(name) or GatewayImpl(str(name), [])).label())
    bundle = _crd_bundle_version(snap, "Gateway", GATEWAY, "gateway.networking.k8s.io/bundle-version")
    if bundle:
        notes.append(f"Gateway API {bundle}")
    return notes


@check(
    "compat.versions",
    title="Version compatibility",
    area="compat",
    severity=Severity.MAJOR,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING, *EPP_CAPABILITIES),
    remediation="Align the versions named above (llm-d-facts: EPP ↔ GIE CRDs ↔ gateway implementation).",
)
def compat_versions(ctx: CheckContext) -> Iterator[Finding]:
    """EPP image ↔ inference CRDs, EPP pool group ↔ route backendRef group, gateway version ↔ pool group."""
    snap = ctx.snapshot
    try:
        epps = _llmd.epps(snap)
    except DataUnavailable:
        epps = []
    impls = _gateway_impls(snap)
    notes: list[str] = []
    findings: list[Finding] = []
    for epp in epps:
        findings += list(_epp_findings(snap, epp, notes))
    stack = _stack_notes(snap, impls)
    findings += list(_route_findings(snap, epps, impls, notes))
    if not epps and not _llmd.pools(snap) and not impls:
        yield Finding(Status.SKIP, "no endpoint picker, InferencePool or gateway controller found: nothing to compare")
        return
    yield from findings
    if not any(f.status in (Status.FAIL, Status.WARN) for f in findings):
        main = [n for n in notes if n.startswith("EPP ")] + stack
        rest = [n for n in notes if not n.startswith("EPP ")]
        yield Finding(Status.PASS, "; ".join(main + rest))
