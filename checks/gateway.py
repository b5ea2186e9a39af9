"""Gateway API: GatewayClasses, Gateways and the HTTPRoutes that carry inference traffic.

Only what llm-d uses is judged: routes that point at an InferencePool or at a model-server Service, the
Gateways they hang from, and those Gateways' classes. Other routes and gateways of a shared cluster stay
out of the report (their health is not llm-d's). The helpers here (which implementation and version
programs a Gateway, which routes belong to llm-d) are shared with checks/istio.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmd_doctor.kinds import GATEWAY, INFERENCE, X_INFERENCE
from llmd_doctor.model import (
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    OPENAI_API,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, Snapshot

from . import _k8s as k
from . import _knowledge, _llmd, _versions

Obj = dict[str, Any]

GATEWAY_KEY = f"Gateway.{GATEWAY}"
CLASS_KEY = f"GatewayClass.{GATEWAY}"
ROUTE_KEY = _llmd.HTTPROUTE
GRANT_KEY = f"ReferenceGrant.{GATEWAY}"
DEPLOYMENT = _llmd.DEPLOYMENT
POOL_GROUPS = (X_INFERENCE, INFERENCE)

# Labels llm-d charts and guides put on the Gateway meant for inference (llm-d-facts §5).
_INFERENCE_GATEWAY_LABELS = (("istio.io/enable-inference-extproc", "true"), ("app.kubernetes.io/component", "inference-gateway"))

# ---- gateway implementations and their versions ------------------------------------------------


@dataclass
class Istiod:
    """An Istio control plane: the istiod Deployment and its discovery container."""

    deployment: Obj
    container: Obj

    @property
    def ref(self) -> str:
        return f"Deployment/{k.namespace(self.deployment)}/{k.name(self.deployment)}"

    @property
    def image(self) -> str:
        return str(self.container.get("image", ""))

    @property
    def revision(self) -> str:
        return k.labels(self.deployment).get("istio.io/rev", "default")

    @property
    def version_text(self) -> str | None:
        """The Istio version as shipped: the image tag, else the chart's version label."""
        tag = k.image_tag(self.image)
        if tag and _versions.parse(tag):
            return tag.removesuffix("-distroless").removesuffix("-debug")
        label = k.labels(self.deployment).get("app.kubernetes.io/version")
        return label if label and _versions.parse(label) else None

    @property
    def version(self) -> _versions.Version | None:
        """The release version; None for dev/alpha builds (1.28-alpha.<sha> routed x-k8s.io pools long
        before 1.28.0 dropped them, so a pre-release tag says nothing reliable about features)."""
        t = self.version_text
        if t and re.match(r"^v?\d+\.\d+\.\d+$", t):
            return _versions.parse(t)
        return None

    @property
    def nominal_version(self) -> _versions.Version | None:
        """major.minor of any build, pre-releases included (used for the env-flag name only)."""
        return _versions.parse(self.version_text)

    def env(self, name: str) -> tuple[bool, str | None]:
        """(is set, literal value) of an env var on the discovery container (None = valueFrom)."""
        for e in self.container.get("env") or []:
            if isinstance(e, dict) and e.get("name") == name:
                return True, (str(e["value"]) if "value" in e else None)
        return False, None

    def availability(self, pods: list[Obj] | None) -> tuple[bool, str]:
        spec = self.deployment.get("spec") or {}
        status = self.deployment.get("status") or {}
        want = int(spec.get("replicas", 1) or 0)
        ready = int(status.get("readyReplicas") or 0)
        avail = k.condition(self.deployment, "Available")
        ok = want > 0 and ready > 0 and (avail is None or avail.get("status") == "True")
        text = f"{ready}/{want} ready, {k.cond_text(avail, 'Available')}"
        if not ok and pods is not None:
            mine = k.pods_of(self.deployment, pods)
            text += "; " + ("; ".join(f"Pod/{k.namespace(p)}/{k.name(p)}: {k.pod_summary(p)}" for p in mine)
                            if mine else "no pods")
        return ok, text


_ISTIOD_NAME = re.compile(r"^istiod(-.+)?$")


def _image_name(image: str) -> str:
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


@k.per_snapshot
def istiods(snap: Snapshot) -> list[Istiod]:
    """istiod Deployments in any namespace read: label app=istiod or name istiod[-<rev>]."""
    out = []
    for d in snap.list(DEPLOYMENT):
        if k.labels(d).get("app") != "istiod" and not _ISTIOD_NAME.match(k.name(d)):
            continue
        cs = k.containers(k.pod_spec(d), init=False)
        c = next((c for c in cs if "pilot" in _image_name(str(c.get("image", "")))), None) \
            or next((c for c in cs if c.get("name") == "discovery"), None)
        if c is not None:
            out.append(Istiod(d, c))
    return out


def istiod_for(gw: Obj | None, controller: str | None, all_istiods: list[Istiod]) -> Istiod | None:
    """The istiod that programs a Gateway: its istio.io/rev label, else the default revision."""
    if not all_istiods:
        return None
    rev = k.labels(gw).get("istio.io/rev") if gw else None
    if rev:
        hit = next((i for i in all_istiods if i.revision == rev), None)
        if hit:
            return hit
    if controller and controller.startswith("openshift.io/"):
        hit = next((i for i in all_istiods if "openshift-gateway" in k.name(i.deployment)), None)
        if hit:
            return hit
    return next((i for i in all_istiods if k.name(i.deployment) == "istiod"), None) \
        or next((i for i in all_istiods if i.revision == "default"), None) or all_istiods[0]


def kgateway_controller(snap: Snapshot) -> tuple[str, str] | None:
    """(Deployment ref, image) of the kgateway controller, when one was read."""
    for d in snap.maybe_list(DEPLOYMENT) or []:
        for c in k.containers(k.pod_spec(d), init=False):
            image = str(c.get("image", ""))
            if _image_name(image) == "kgateway":
                return f"Deployment/{k.namespace(d)}/{k.name(d)}", image
    return None


@dataclass
class Implementation:
    """Who programs a Gateway, and which release (None = not known)."""

    name: str | None
    controller: str | None
    version: _versions.Version | None = None
    version_text: str | None = None
    seen_in: str | None = None  # where the version was read

    @property
    def label(self) -> str:
        pretty = {"istio": "Istio", "kgateway": "kgateway", "agentgateway": "agentgateway", "gke": "GKE Gateway"}
        base = pretty.get(self.name or "", self.controller or "unknown controller")
        return f"{base} {self.version_text}" if self.version_text else base


def gateway_class(snap: Snapshot, gw: Obj) -> Obj | None:
    cls = str((gw.get("spec") or {}).get("gatewayClassName", ""))
    return next((c for c in snap.maybe_list(CLASS_KEY) or [] if k.name(c) == cls), None)


def implementation(snap: Snapshot, gw: Obj) -> Implementation:
    cls = gateway_class(snap, gw)
    controller = str((cls.get("spec") or {}).get("controllerName", "")) if cls else None
    impl = Implementation(_versions.implementation_of(controller), controller)
    if impl.name == "istio":
        i = istiod_for(gw, controller, istiods(snap) if snap.has_collected(DEPLOYMENT) else [])
        if i is not None:
            impl.version, impl.version_text = i.version, i.version_text
            impl.seen_in = f"{i.ref} image {i.image}"
    elif impl.name == "kgateway":
        found = kgateway_controller(snap)
        if found:
            impl.version_text = k.image_tag(found[1])
            impl.version = _versions.parse(impl.version_text)
            impl.seen_in = f"{found[0]} image {found[1]}"
    return impl


def supported_pool_groups(impl: Implementation) -> tuple[list[str] | None, str]:
    """InferencePool API groups an implementation routes (knowledge/compat.yaml `gateways`), with the
    source; None when unknown (unknown implementation, or a version-dependent answer without a version)."""
    if impl.name is None:
        return None, ""
    entries = [e for e in _knowledge.load("compat")["gateways"] if e["implementation"] == impl.name]
    if not entries:
        return None, ""
    if impl.version is not None:
        e = _versions.gateway_facts(impl.name, impl.version)
        return (list(e["pool_groups"]), str(e["source"])) if e else (None, "")
    if len({tuple(sorted(e["pool_groups"])) for e in entries}) == 1:
        return list(entries[0]["pool_groups"]), "; ".join(str(e["source"]) for e in entries)
    return None, ""


# ---- routes and what they point at -------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    group: str
    kind: str
    namespace: str
    name: str
    port: int | None

    @property
    def is_pool(self) -> bool:
        return self.kind == "InferencePool"

    @property
    def text(self) -> str:
        g = f"{self.group}/" if self.group else ""
        return f"{g}{self.kind} {self.namespace}/{self.name}" + (f" port {self.port}" if self.port else "")


def backends(route: Obj) -> list[Backend]:
    out = []
    for b in _llmd.route_backends(route):
        port = b.get("port")
        out.append(Backend(str(b.get("group") or ""), str(b.get("kind") or "Service"),
                           str(b.get("namespace") or k.namespace(route)), str(b.get("name", "")),
                           int(port) if isinstance(port, int) else None))
    return out


def parent_refs(route: Obj) -> list[tuple[str, str]]:
    """(namespace, name) of the Gateways a route asks to attach to (mesh/Service parents left out)."""
    out = []
    for p in (route.get("spec") or {}).get("parentRefs") or []:
        if not isinstance(p, dict):
            continue
        if (p.get("kind") or "Gateway") == "Gateway" and (p.get("group") or GATEWAY) == GATEWAY:
            out.append((str(p.get("namespace") or k.namespace(route)), str(p.get("name", ""))))
    return out


@k.per_snapshot
def _gateways_by_ref(snap: Snapshot) -> dict[tuple[str, str], Obj]:
    return {(k.namespace(g), k.name(g)): g for g in snap.maybe_list(GATEWAY_KEY) or []}


def parent_gateways(snap: Snapshot, route: Obj) -> list[Obj]:
    gws = _gateways_by_ref(snap)
    return [gws[ref] for ref in dict.fromkeys(parent_refs(route)) if ref in gws]


def find_pool(all_pools: list[_llmd.Pool], b: Backend) -> _llmd.Pool | None:
    return next((p for p in all_pools if p.group == b.group and p.namespace == b.namespace and p.name == b.name), None)


def pool_behind_service(svc: Obj, all_pools: list[_llmd.Pool], pods: list[Obj] | None) -> _llmd.Pool | None:
    """The InferencePool that selects the same model-server pods as a Service (None if none does)."""
    ns = k.namespace(svc)
    sel = {str(a): str(b) for a, b in ((svc.get("spec") or {}).get("selector") or {}).items()}
    if not sel:
        return None
    for pool in all_pools:
        if pool.namespace == ns and pool.selector and all(sel.get(a) == b for a, b in pool.selector.items()):
            return pool
    for p in pods or []:
        if k.namespace(p) == ns and k.match_labels(sel, k.labels(p)):
            hit = next((pl for pl in all_pools if pl.namespace == ns and k.match_labels(pl.selector, k.labels(p))), None)
            if hit:
                return hit
    return None


def _llmd_labelled(o: Obj) -> bool:
    keys = list(k.labels(o)) + list((o.get("spec") or {}).get("selector") or {})
    return any(str(x).startswith("llm-d.ai/") for x in keys)


def is_inference_gateway(gw: Obj) -> bool:
    lbls = k.labels(gw)
    return any(lbls.get(a) == b for a, b in _INFERENCE_GATEWAY_LABELS)


def llmd_routes(snap: Snapshot) -> list[Obj]:
    """HTTPRoutes that carry llm-d traffic: to an InferencePool, to a Service in front of model servers
    (llm-d labels, or pods an InferencePool selects), or hung from a Gateway labelled for inference."""
    routes = snap.list(ROUTE_KEY)
    all_pools = _llmd.pools(snap)
    services = snap.maybe_list("Service") or []
    pods = snap.maybe_list("Pod")
    inference_gws = {(k.namespace(g), k.name(g)) for g in snap.maybe_list(GATEWAY_KEY) or [] if is_inference_gateway(g)}
    out = []
    for r in routes:
        hit = any(b.is_pool for b in backends(r)) or bool(inference_gws & set(parent_refs(r)))
        for b in backends(r):
            if hit:
                break
            if b.kind == "Service" and b.group == "":
                svc = next((s for s in services if k.namespace(s) == b.namespace and k.name(s) == b.name), None)
                hit = svc is not None and (_llmd_labelled(svc) or pool_behind_service(svc, all_pools, pods) is not None)
        if hit:
            out.append(r)
    return out


def llmd_gateways(snap: Snapshot) -> tuple[list[Obj], int]:
    """The Gateways llm-d uses (parents of llm-d routes, or labelled for inference); every Gateway when
    none is. Also how many Gateways were left out."""
    gws = snap.list(GATEWAY_KEY)
    try:
        wanted = {p for r in llmd_routes(snap) for p in parent_refs(r)}
    except DataUnavailable:
        wanted = set()
    mine = [g for g in gws if (k.namespace(g), k.name(g)) in wanted or is_inference_gateway(g)]
    return (mine, len(gws) - len(mine)) if mine else (gws, 0)


def serves_openai(route: Obj) -> bool:
    """Whether a route carries the OpenAI paths (/v1/...): no match, `/`, or a /v1 prefix."""
    for rule in (route.get("spec") or {}).get("rules") or []:
        matches = (rule or {}).get("matches") or []
        if not matches:
            return True
        for m in matches:
            value = str(((m or {}).get("path") or {}).get("value", "/"))
            if value == "/" or value.startswith("/v1"):
                return True
    return False


def route_caps(route: Obj) -> tuple[str, ...]:
    return (GATEWAY_ROUTING, OPENAI_API) if serves_openai(route) else (GATEWAY_ROUTING,)


def stale(o: Obj, conds: list[Obj]) -> list[str]:
    """Condition types whose observedGeneration is older than the object's generation."""
    gen = k.meta(o).get("generation")
    if not isinstance(gen, int):
        return []
    return [str(c.get("type")) for c in conds
            if isinstance(c, dict) and isinstance(c.get("observedGeneration"), int) and c["observedGeneration"] < gen]


def timestamp(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


# ---- gateway.class ---------------------------------------------------------------------------------


@check(
    "gateway.class",
    title="GatewayClass",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(CLASS_KEY, GATEWAY_KEY, ROUTE_KEY, "Service", "Pod", *_llmd.POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    remediation=(
        "Install the gateway implementation whose controller owns the class (Istio, kgateway, agentgateway, GKE), "
        "or set the Gateway's spec.gatewayClassName to a class that exists: `kubectl get gatewayclass`."
    ),
)
def gateway_class_check(ctx: CheckContext) -> Iterator[Finding]:
    """The GatewayClass each (llm-d) Gateway uses exists and is Accepted=True by its controller."""
    snap = ctx.snapshot
    gws, ignored = llmd_gateways(snap)
    if not gws:
        yield Finding(Status.SKIP, "no Gateway found")
        return
    classes = {k.name(c): c for c in snap.list(CLASS_KEY)}
    users: dict[str, list[str]] = {}
    for gw in gws:
        cname = str((gw.get("spec") or {}).get("gatewayClassName", ""))
        users.setdefault(cname, []).append(obj_ref(gw))
        if cname not in classes:
            yield Finding(
                Status.FAIL,
                f"{obj_ref(gw)} uses GatewayClass {cname!r}, which does not exist: no controller will program it",
                obj_ref(gw),
                (f"GatewayClasses: {', '.join(sorted(classes)) or 'none'}",),
            )
    tail = f" ({ignored} Gateway(s) that no llm-d route uses not checked)" if ignored else ""
    for cname, used_by in users.items():
        cls = classes.get(cname)
        if cls is None:
            continue
        ref = obj_ref(cls)
        controller = str((cls.get("spec") or {}).get("controllerName", ""))
        impl = _versions.implementation_of(controller)
        who = f"controller {controller}" + (f" ({impl})" if impl else ", an implementation llmd-doctor does not know")
        acc = k.condition(cls, "Accepted")
        evidence = (k.cond_text(acc, "Accepted"), f"used by {', '.join(used_by)}")
        if acc is None or acc.get("status") != "True":
            why = "no controller has accepted it (is the controller running?)" if acc is None or \
                acc.get("status") == "Unknown" else "its controller rejected it"
            yield Finding(Status.FAIL, f"{ref} ({who}) is not Accepted: {why}", ref, evidence)
        elif stale(cls, [acc]):
            yield Finding(Status.WARN, f"{ref} is Accepted but the status is stale (observedGeneration "
                          f"{acc.get('observedGeneration')} < generation {k.meta(cls).get('generation')})",
                          ref, evidence, remediation="Check that the controller is running and reconciling.",
                          capabilities=())
        else:
            yield Finding(Status.PASS, f"{ref} ({who}) is Accepted{tail}", ref, evidence)


# ---- gateway.programmed ----------------------------------------------------------------------------

_EXPOSE = (
    "Expose the Gateway: the controller creates a Service for it; with no load-balancer in the cluster use "
    "`kubectl port-forward -n {ns} svc/<gateway-service> 8000:80`, give an Istio Gateway the annotation "
    "`networking.istio.io/service-type: ClusterIP` (in-cluster address), or install a load-balancer (MetalLB, "
    "cloud LB) so the Service gets an external address."
)
_PROGRAMMED_HINTS = {
    "AddressNotAssigned": "no address was assigned (a LoadBalancer Service still pending?)",
    "AddressNotUsable": "the requested address cannot be used",
    "NoResources": "the controller could not create the gateway's proxy resources",
    "Invalid": "the Gateway spec is invalid for this controller",
    "Pending": "the controller has not programmed it yet",
}


def _listener_findings(gw: Obj) -> tuple[list[str], list[str], int]:
    """(bad listener texts, all listener texts, attached routes)."""
    st = gw.get("status") or {}
    by_name = {str(ls.get("name")): ls for ls in st.get("listeners") or [] if isinstance(ls, dict)}
    bad, texts, attached = [], [], 0
    for spec_l in (gw.get("spec") or {}).get("listeners") or []:
        lname = str(spec_l.get("name"))
        desc = f"listener {lname} ({spec_l.get('protocol', '?')}:{spec_l.get('port', '?')})"
        ls = by_name.get(lname)
        if ls is None:
            bad.append(f"{desc}: no status")
            continue
        n = int(ls.get("attachedRoutes") or 0)
        attached += n
        conds = ls.get("conditions") or []
        problems = [k.cond_text(c, str(c.get("type"))) for c in conds if isinstance(c, dict) and (
            (c.get("type") in ("Accepted", "Programmed", "ResolvedRefs") and c.get("status") != "True")
            or (c.get("type") == "Conflicted" and c.get("status") == "True"))]
        texts.append(f"{desc}: {n} attached route(s)" + (f"; {'; '.join(problems)}" if problems else ""))
        if problems:
            bad.append(f"{desc}: {'; '.join(problems)}")
    return bad, texts, attached


@check(
    "gateway.programmed",
    title="Gateway accepted and programmed",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(CLASS_KEY, GATEWAY_KEY, ROUTE_KEY, "Service", "Pod", DEPLOYMENT, *_llmd.POOL_KEYS),
    requires=("gateway.class",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    remediation=(
        "`kubectl describe gateway -n <ns> <name>` and read the controller's logs (istiod, kgateway); the "
        "condition's reason and message above say what it could not do."
    ),
)
def gateway_programmed(ctx: CheckContext) -> Iterator[Finding]:
    """Gateway Accepted=True and Programmed=True; listeners healthy with attached routes; an address."""
    snap = ctx.snapshot
    gws, _ = llmd_gateways(snap)
    if not gws:
        yield Finding(Status.SKIP, "no Gateway found")
        return
    for gw in gws:
        ref, ns = obj_ref(gw), k.namespace(gw)
        st = gw.get("status") or {}
        conds = st.get("conditions") or []
        acc, prog = k.condition(gw, "Accepted"), k.condition(gw, "Programmed")
        addresses = [str(a.get("value")) for a in st.get("addresses") or [] if isinstance(a, dict) and a.get("value")]
        bad_listeners, listener_texts, attached = _listener_findings(gw)
        impl = implementation(snap, gw)
        evidence = (k.cond_text(acc, "Accepted"), k.cond_text(prog, "Programmed"),
                    f"addresses: {', '.join(addresses) or 'none'}", *listener_texts, f"implementation: {impl.label}")
        if acc is None and prog is None:
            yield Finding(Status.WARN, f"{ref} has no status conditions: no {impl.label} controller has processed it",
                          ref, evidence)
            continue
        if acc is None or acc.get("status") != "True":
            yield Finding(Status.FAIL, f"{ref} is not Accepted ({k.cond_text(acc, 'Accepted')})", ref, evidence)
            continue
        if prog is None or prog.get("status") != "True":
            reason = str((prog or {}).get("reason") or "")
            hint = _PROGRAMMED_HINTS.get(reason, "the controller could not program the data plane")
            yield Finding(Status.FAIL, f"{ref} is not Programmed: {hint} ({k.cond_text(prog, 'Programmed')})",
                          ref, evidence,
                          remediation=_EXPOSE.format(ns=ns) if reason.startswith("Address") else None)
            continue
        listeners = (gw.get("spec") or {}).get("listeners") or []
        if bad_listeners:
            status = Status.FAIL if len(bad_listeners) >= len(listeners) else Status.WARN
            yield Finding(status, f"{ref}: {'; '.join(bad_listeners)}", ref, evidence,
                          capabilities=None if status == Status.FAIL else ())
            continue
        warned = False
        if old := stale(gw, conds):
            warned = True
            yield Finding(Status.WARN, f"{ref}: status is stale ({', '.join(old)} observedGeneration older than "
                          f"generation {k.meta(gw).get('generation')}): the controller has not processed the "
                          "latest spec", ref, evidence, remediation="Check that the gateway controller is running.",
                          capabilities=())
        if attached == 0:
            warned = True
            yield Finding(Status.WARN, f"{ref} is Programmed but no route is attached to any listener", ref, evidence,
                          remediation="Create an HTTPRoute whose parentRefs names this Gateway (and a listener "
                          "whose allowedRoutes admits the route's namespace).", capabilities=())
        if not addresses:
            warned = True
            yield Finding(Status.WARN, f"{ref} is Programmed but has no address: clients cannot reach it", ref,
                          evidence, remediation=_EXPOSE.format(ns=ns), capabilities=())
        if not warned:
            yield Finding(Status.PASS, f"{ref} is Accepted and Programmed ({impl.label}), address "
                          f"{', '.join(addresses)}, {attached} attached route(s)", ref, evidence)


# ---- httproute.status ------------------------------------------------------------------------------


def _backend_object(snap: Snapshot, b: Backend, all_pools: list[_llmd.Pool]) -> Obj | None:
    if b.is_pool:
        pool = find_pool(all_pools, b)
        return pool.obj if pool else None
    if b.kind == "Service" and b.group == "":
        return next((s for s in snap.maybe_list("Service") or []
                     if k.namespace(s) == b.namespace and k.name(s) == b.name), None)
    return None


def _resolve_cause(snap: Snapshot, route: Obj, cond: Obj, all_pools: list[_llmd.Pool],
                   impl: Implementation | None) -> tuple[str, str | None, list[str]]:
    """(cause, fix, extra evidence) for a false route condition."""
    reason, message = str(cond.get("reason") or ""), str(cond.get("message") or "")
    # A BackendNotFound older than the backend it names: the route came first, nobody re-resolved it.
    if reason == "BackendNotFound" or "not found" in message:
        changed = timestamp(cond.get("lastTransitionTime"))
        for b in backends(route):
            target = _backend_object(snap, b, all_pools)
            created = timestamp(k.meta(target).get("creationTimestamp")) if target else None
            if changed and created and created > changed:
                return (
                    f"the status is stale: it reports the backend missing since {cond.get('lastTransitionTime')}, "
                    f"but {b.kind} {b.namespace}/{b.name} was created later ({k.meta(target).get('creationTimestamp')}): "
                    "the route was applied before the backend and the controller did not re-resolve it",
                    f"Re-apply the route so the controller resolves it again, e.g. `kubectl annotate httproute -n "
                    f"{k.namespace(route)} {k.name(route)} llmd-doctor/touched=$(date +%s) --overwrite`; create "
                    "routes after their InferencePools (Helm hook ordering).",
                    ["failure case httproute-created-before-inferencepool-stale-backendnotfound"],
                )
    hits = _knowledge.match_log("httproute-status", f"{reason}: {message}")
    if not hits:
        return f"{reason or 'no reason'}: {message or 'no message'}", None, []
    sig, groups, _ = hits[0]
    cause = _knowledge.fill(sig.cause, groups)
    extra = [f"known as {sig.id} ({'; '.join(sig.sources)})"] if sig.sources else []
    if sig.id in ("unsupported-inferencepool-group", "invalid-kind") and impl is not None:
        groups_ok, source = supported_pool_groups(impl)
        if groups_ok is not None:
            cause += f"; {impl.label} routes InferencePools of {', '.join(groups_ok)} ({source})"
        if impl.seen_in:
            extra.append(f"{impl.label}: {impl.seen_in}")
    return cause, _knowledge.fill(sig.fix, groups), extra


@check(
    "httproute.status",
    title="HTTPRoute status",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(ROUTE_KEY, GATEWAY_KEY, CLASS_KEY, "Service", "Pod", DEPLOYMENT, *_llmd.POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API),
    remediation="`kubectl describe httproute -n <ns> <name>`; the cause named above says what to change.",
)
def httproute_status(ctx: CheckContext) -> Iterator[Finding]:
    """Each parent of each llm-d HTTPRoute: Accepted and ResolvedRefs, with the cause when they are not."""
    snap = ctx.snapshot
    routes = llmd_routes(snap)
    if not routes:
        total = len(snap.list(ROUTE_KEY))
        yield Finding(Status.SKIP, "no HTTPRoute points at an InferencePool or an llm-d model-server Service"
                      + (f" ({total} other route(s) not checked)" if total else ""))
        return
    all_pools = _llmd.pools(snap)
    for route in routes:
        ref, caps = obj_ref(route), route_caps(route)
        parents = [p for p in (route.get("status") or {}).get("parents") or [] if isinstance(p, dict)]
        wanted = parent_refs(route)
        if not parents:
            classes = [f"{obj_ref(g)} class {(g.get('spec') or {}).get('gatewayClassName')}"
                       for g in parent_gateways(snap, route)]
            yield Finding(Status.WARN, f"{ref} has no status: no controller has processed it (is the parent "
                          "Gateway's controller running, and does the Gateway exist?)", ref,
                          (f"parentRefs: {', '.join(f'{a}/{b}' for a, b in wanted) or 'none'}", *classes),
                          capabilities=caps)
            continue
        seen = set()
        ok = True
        for p in parents:
            pr = p.get("parentRef") or {}
            pkey = (str(pr.get("namespace") or k.namespace(route)), str(pr.get("name", "")))
            seen.add(pkey)
            who = f"parent Gateway {pkey[0]}/{pkey[1]} ({p.get('controllerName', 'unknown controller')})"
            conds = p.get("conditions") or []
            acc, res = k.condition({}, "Accepted", conds), k.condition({}, "ResolvedRefs", conds)
            evidence = [who, k.cond_text(acc, "Accepted"), k.cond_text(res, "ResolvedRefs")]
            gw = next((g for g in snap.maybe_list(GATEWAY_KEY) or [] if (k.namespace(g), k.name(g)) == pkey), None)
            impl = implementation(snap, gw) if gw else None
            bad = next((c for c in (acc, res) if c is not None and c.get("status") == "False"), None)
            if bad is not None:
                ok = False
                cause, fix, extra = _resolve_cause(snap, route, bad, all_pools, impl)
                yield Finding(Status.FAIL, f"{ref}: {k.cond_text(bad, str(bad.get('type')))} from {who}: {cause}",
                              ref, tuple(evidence + extra), remediation=fix, capabilities=caps)
                continue
            pending = [c for c in (acc, res) if c is None or c.get("status") != "True"]
            if pending:
                ok = False
                yield Finding(Status.WARN, f"{ref}: {who} has not resolved the route yet "
                              f"({'; '.join(k.cond_text(c, t) for c, t in ((acc, 'Accepted'), (res, 'ResolvedRefs')))})",
                              ref, tuple(evidence), capabilities=caps)
                continue
            partial = k.condition({}, "PartiallyInvalid", conds)
            if partial is not None and partial.get("status") == "True":
                ok = False
                yield Finding(Status.WARN, f"{ref}: some rules are invalid ({k.cond_text(partial, 'PartiallyInvalid')})",
                              ref, tuple(evidence), capabilities=caps)
            if old := stale(route, conds):
                ok = False
                yield Finding(Status.WARN, f"{ref}: status from {who} is stale ({', '.join(old)} observedGeneration "
                              f"older than generation {k.meta(route).get('generation')}): the controller has not "
                              "processed the latest spec", ref, tuple(evidence), capabilities=(),
                              remediation="Check that the gateway controller is running and reconciling routes.")
        for pkey in wanted:
            if pkey not in seen:
                ok = False
                yield Finding(Status.WARN, f"{ref}: parent Gateway {pkey[0]}/{pkey[1]} has not processed the route "
                              "(no status entry for it)", ref, capabilities=caps)
        if ok:
            names = ", ".join(f"{a}/{b}" for a, b in sorted(seen))
            yield Finding(Status.PASS, f"{ref} is Accepted with all references resolved by {names}", ref)


# ---- httproute.backends ----------------------------------------------------------------------------


def _grant_allows(grants: list[Obj], route: Obj, b: Backend) -> bool:
    for g in grants:
        if k.namespace(g) != b.namespace:
            continue
        spec = g.get("spec") or {}
        frm = any((f.get("group") == GATEWAY and f.get("kind") == "HTTPRoute" and f.get("namespace") == k.namespace(route))
                  for f in spec.get("from") or [] if isinstance(f, dict))
        to = any(((t.get("group") or "") == b.group and t.get("kind") == b.kind and t.get("name") in (None, "", b.name))
                 for t in spec.get("to") or [] if isinstance(t, dict))
        if frm and to:
            return True
    return False


def _pool_finding(snap: Snapshot, route: Obj, b: Backend, all_pools: list[_llmd.Pool],
                  gws: list[Obj]) -> Iterator[Finding]:
    ref, caps = obj_ref(route), route_caps(route)
    if b.group not in POOL_GROUPS:
        yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} with group {b.group!r}, "
                      f"which is not an InferencePool API group ({' or '.join(POOL_GROUPS)})", ref,
                      remediation="Set the backendRef's group to the pool's API group.", capabilities=caps)
        return
    pool = find_pool(all_pools, b)
    if pool is None:
        key = f"InferencePool.{b.group}"
        if not snap.has_collected(key):
            try:
                served = snap.served_versions("InferencePool", b.group)
            except DataUnavailable:
                served = None
            if served == []:
                yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} of group {b.group}, "
                              "whose CRD is not installed", ref, capabilities=caps,
                              remediation="Install that InferencePool CRD, or point the route at the group your "
                              "pools use.")
            else:
                yield Finding(Status.SKIP, f"{ref} points at InferencePool {b.namespace}/{b.name} of group {b.group}, "
                              f"but {key} objects were not read", ref)
            return
        other = next((p for p in all_pools if p.namespace == b.namespace and p.name == b.name), None)
        hint = (f"; a pool of that name exists in group {other.group}: set the backendRef group to it" if other else "")
        yield Finding(Status.FAIL, f"{ref} points at InferencePool {b.namespace}/{b.name} ({b.group}), which does not "
                      f"exist{hint}", ref, (f"backendRef: {b.text}",), capabilities=caps,
                      remediation="Create the InferencePool, or fix the backendRef's name/namespace/group.")
        return
    bad = False
    for gw in gws:
        impl = implementation(snap, gw)
        groups_ok, source = supported_pool_groups(impl)
        if groups_ok is not None and b.group not in groups_ok:
            bad = True
            yield Finding(
                Status.FAIL,
                f"{ref} points at an {b.group} InferencePool, but its parent {obj_ref(gw)} runs {impl.label}, "
                f"which routes only {', '.join(groups_ok)} pools",
                ref, (f"backendRef: {b.text}", f"compat: {source}") + ((f"{impl.label}: {impl.seen_in}",)
                                                                       if impl.seen_in else ()),
                remediation=(f"Use one API group end to end: an InferencePool of {' or '.join(groups_ok)} (and the "
                             "route's backendRef group and the EPP's --pool-group to match), or a gateway version "
                             f"that routes {b.group} pools."),
                capabilities=caps,
            )
    if bad:
        return
    if b.port is not None and pool.target_ports and b.port not in pool.target_ports:
        yield Finding(Status.WARN, f"{ref}: backendRef port {b.port} differs from InferencePool {pool.namespace}/"
                      f"{pool.name} target port(s) {', '.join(map(str, pool.target_ports))}", ref,
                      remediation="Set the backendRef port to the pool's target port (or leave it out).",
                      capabilities=())
        return
    epp = f", endpoint picker Service {pool.epp_name}" if pool.epp_name else ""
    yield Finding(Status.PASS, f"{ref} routes through InferencePool {pool.namespace}/{pool.name} ({pool.group}"
                  f"{epp}): cache-aware routing is possible", ref)


@check(
    "httproute.backends",
    title="HTTPRoute backends",
    area="gateway",
    severity=Severity.MAJOR,
    inputs=(ROUTE_KEY, GATEWAY_KEY, CLASS_KEY, GRANT_KEY, "Service", "Pod", DEPLOYMENT, *_llmd.POOL_KEYS),
    requires=("gateway-api.crds",),
    capabilities=(GATEWAY_ROUTING, OPENAI_API, *EPP_CAPABILITIES),
    remediation=(
        "Point the route's backendRef at the InferencePool (group inference.networking.k8s.io or "
        "inference.networking.x-k8s.io, kind InferencePool, its name and target port), so requests go through "
        "the endpoint picker."
    ),
)
def httproute_backends(ctx: CheckContext) -> Iterator[Finding]:
    """What llm-d routes point at: an InferencePool (EPP in the path) or a plain Service (EPP bypassed);
    the pool exists, its API group is one the gateway routes, cross-namespace refs are granted, ports agree."""
    snap = ctx.snapshot
    routes = llmd_routes(snap)
    if not routes:
        yield Finding(Status.SKIP, "no HTTPRoute points at an InferencePool or an llm-d model-server Service")
        return
    all_pools = _llmd.pools(snap)
    pods = snap.maybe_list("Pod")
    services = snap.list("Service")
    for route in routes:
        ref, caps = obj_ref(route), route_caps(route)
        gws = parent_gateways(snap, route)
        for b in backends(route):
            if b.namespace != k.namespace(route):
                grants = snap.maybe_list(GRANT_KEY)
                if grants is None:
                    yield Finding(Status.WARN, f"{ref} refers across namespaces to {b.text}; whether a ReferenceGrant "
                                  "allows it could not be checked (ReferenceGrants not read)", ref, capabilities=())
                elif not _grant_allows(grants, route, b):
                    yield Finding(
                        Status.FAIL,
                        f"{ref} refers to {b.text} in another namespace, and no ReferenceGrant in {b.namespace} allows "
                        f"HTTPRoutes from {k.namespace(route)}: the gateway refuses the backend (RefNotPermitted)",
                        ref, capabilities=caps,
                                remediation=(f"Create a ReferenceGrant in namespace {b.namespace}: from group {GATEWAY} "
                                     f"kind HTTPRoute namespace {k.namespace(route)}, to group {b.group or 'core'} "
                                     f"kind {b.kind} (name {b.name})."),
                    )
                    continue
            if b.is_pool:
                yield from _pool_finding(snap, route, b, all_pools, gws)
            elif b.kind == "Service" and b.group == "":
                svc = next((s for s in services if k.namespace(s) == b.namespace and k.name(s) == b.name), None)
                if svc is None:
                    yield Finding(Status.FAIL, f"{ref} points at Service {b.namespace}/{b.name}, which does not exist",
                                  ref, capabilities=caps, remediation="Create the Service or fix the backendRef.")
                    continue
                pool = pool_behind_service(svc, all_pools, pods)
                if pool is None:
                    yield Finding(Status.PASS, f"{ref} points at Service {b.namespace}/{b.name} (no InferencePool "
                                  "selects its pods)", ref)
                    continue
                lost = ", ".join(EPP_CAPABILITIES)
                yield Finding(
                    Status.WARN,
                    f"{ref} sends traffic straight to Service {b.namespace}/{b.name}, bypassing InferencePool "
                    f"{pool.namespace}/{pool.name} and its endpoint picker: {lost} are lost (requests are "
                    "load-balanced without looking at the model servers)",
                    ref,
                    (f"backendRef: {b.text}", f"InferencePool {pool.ref} ({pool.group}) selects the same pods"),
                    remediation=(f"Change the backendRef to `group: {pool.group}, kind: InferencePool, name: "
                                 f"{pool.name}" + (f", port: {pool.target_ports[0]}" if pool.target_ports else "")
                                 + "` (and make sure the gateway supports the pool: istio.inference-extension)."),
                    capabilities=EPP_CAPABILITIES,
                )
            else:
                yield Finding(Status.SKIP, f"{ref}: backendRef {b.text} is not a kind llmd-doctor judges", ref)
        if not backends(route):
            yield Finding(Status.WARN, f"{ref} has no backendRefs: requests get 500s", ref, capabilities=caps)
