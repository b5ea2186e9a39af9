"""Which pods to read, from the objects read first: llm-d's namespaces in full, a few selectors elsewhere.

On a shared cluster llm-d is a few namespaces among hundreds, and listing every pod costs most of a
run (issue #15). The first round of LISTs (workloads, pools, routes, gateways) already says where
llm-d is, so pods are read in a second round:

- every pod of the namespaces that hold llm-d objects: InferencePools, InferenceModels/Objectives,
  HTTPRoutes to a pool and their Gateways, Services and workloads with llm-d labels or images;
- elsewhere, the pods of each workload whose pod template a check may care about (gateway
  controllers and data planes, GPU workloads), by that workload's label selector;
- everywhere, the pods of no Deployment, StatefulSet, DaemonSet or Job (bare pods, static pods,
  operator-made pods), by one label selector: their spec is known nowhere else; and the pods that
  carry llm-d's role label themselves.

What is left out is honest by construction: a pod not read belongs to a Deployment, StatefulSet,
DaemonSet or Job whose pod template was read and shows no marker below, outside the namespaces read in
full. Templates are matched broadly (a superset of what the checks recognise), so a check never sees a
model server, endpoint picker or gateway pod go missing. When the plan would read most pods anyway (a
cluster that is mostly llm-d), or a kind it needs could not be read, it lists every pod instead.

Written against raw objects (kind key -> list of dicts), so any layer that has them can feed it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import memo
from llmd_doctor.kinds import GATEWAY, INFERENCE, KINDS, LLMD, X_INFERENCE

Obj = dict[str, Any]

DEPLOYMENT, REPLICASET, STATEFULSET = "Deployment.apps", "ReplicaSet.apps", "StatefulSet.apps"
# Read for planning only (their templates say what their pods run); never put in the snapshot.
DAEMONSET, JOB = "DaemonSet.apps", "Job.batch"
WORKLOADS = (DEPLOYMENT, REPLICASET, STATEFULSET, DAEMONSET, JOB)
POOLS = (f"InferencePool.{X_INFERENCE}", f"InferencePool.{INFERENCE}")
ROUTE, GATEWAY_KEY = f"HTTPRoute.{GATEWAY}", f"Gateway.{GATEWAY}"
# Kinds the plan cannot do without: if one could not be read, every pod is listed.
NEEDED = (DEPLOYMENT, REPLICASET, STATEFULSET, ROUTE, GATEWAY_KEY, *POOLS)
# Everything the plan reads (DaemonSets and Jobs are optional: without them their pods are read).
PLAN_INPUTS = (*NEEDED, "Service", DAEMONSET, JOB, *(
    k for k in KINDS if k.startswith(("InferenceModel", "InferenceObjective")) or k.endswith("." + LLMD)))
# Small lists that can settle the question early (see `mostly_llmd`): listed first.
EARLY = (*POOLS, "Namespace")

# ---- what makes a pod template worth reading (data; broad on purpose) ------------------------------

# llm-d's own: the namespace is read in full. Images and arguments of model servers (vLLM, SGLang, the
# llm-d images and simulator), endpoint pickers (GIE epp, llm-d inference scheduler / router) and llm-d
# sidecars; the flags an EPP is started with.
# Searched over fields joined by newlines (see `classify`), so `^` is a line's start.
LLMD_IMAGE = re.compile(r"vllm|llm-d|sglang|inference-sim|inference-scheduler|gateway-api-inference-extension|"
                        r"(^|/)epp[:@]|lmcache|nixl|routing-sidecar|pd-sidecar", re.I | re.M)
LLMD_ARG = re.compile(r"vllm|sglang|(^|\s)--?(poolName|pool-name|poolNamespace|pool-namespace|endpoint-selector)\b",
                      re.M)
LLMD_LABEL_PREFIXES = ("llm-d.ai/", "inference.networking", "llm-d.")
# Looked at by some check outside llm-d's namespaces: gateway controllers and data planes, GPU workloads.
OTHER_IMAGE = re.compile(r"pilot|istio|proxyv2|kgateway|agentgateway|envoy|gateway|triton|text-generation|tgi|"
                         r"inference|serving", re.I)
OTHER_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name", "gateway.istio.io/managed",
                "istio.io/rev", "gateway.envoyproxy.io/owning-gateway-name")
OTHER_LABEL_VALUES = re.compile(r"istio|gateway|kgateway|envoy", re.I)
ACCELERATOR = re.compile(r"gpu|tpu|gaudi|neuron|accelerator|habana", re.I)
# Pod labels that make a pod llm-d's whatever its template says (a label set on the pod itself): their
# pods are read cluster-wide by these selectors. `llm-d.ai/role` is the model servers' role label.
LLMD_POD_SELECTORS = ("llm-d.ai/role",)
# Labels the pod controllers stamp on their pods: a pod with none of them has no controller whose
# template we read (bare, static, or made by an operator), so it is read whatever it is.
CONTROLLER_LABELS = {
    REPLICASET: ("pod-template-hash",),
    STATEFULSET: ("controller-revision-hash",),
    DAEMONSET: ("controller-revision-hash",),
    JOB: ("batch.kubernetes.io/controller-uid", "controller-uid"),
}


def _labels(meta: Any) -> dict[str, str]:
    raw = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _meta(o: Obj) -> Obj:
    m = o.get("metadata")
    return m if isinstance(m, dict) else {}


def _ns(o: Obj) -> str:
    return str(_meta(o).get("namespace") or "")


def _template(w: Obj) -> Obj:
    spec = w.get("spec") if isinstance(w.get("spec"), dict) else {}
    if w.get("kind") == "Job" or "jobTemplate" not in spec:
        t = spec.get("template")
    else:
        t = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    return t if isinstance(t, dict) else {}


def _containers(pod_spec: Obj) -> list[Obj]:
    out: list[Obj] = []
    for key in ("containers", "initContainers", "ephemeralContainers"):
        v = pod_spec.get(key)
        out += [c for c in v if isinstance(c, dict)] if isinstance(v, list) else []
    return out


def _resource_names(c: Obj) -> list[str]:
    res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
    return [str(n) for part in ("requests", "limits") if isinstance(res.get(part), dict) for n in res[part]]


def _llmd_labelled(labels: Mapping[str, str]) -> bool:
    return any(k.startswith(LLMD_LABEL_PREFIXES) or "llm-d" in k or "llm-d" in v for k, v in labels.items())


def classify(template: Obj) -> str | None:
    """"llmd" (its namespace is read in full), "other" (its pods are read by selector) or None.

    Each pattern is searched once over its fields joined by newlines: none matches a newline, and `^`
    (multiline), `\\s` and `\\b` see one as a field's start or end, so it is the same test as one search
    per field, at a fraction of the cost (thousands of templates on a big cluster)."""
    labels = _labels(template.get("metadata"))
    if _llmd_labelled(labels):
        return "llmd"
    spec = template.get("spec")
    llmd, other = _containers_say(spec if isinstance(spec, dict) else _NO_SPEC)
    if llmd:
        return "llmd"
    if other or any(k in labels for k in OTHER_LABELS) or OTHER_LABEL_VALUES.search("\n".join(labels.values())):
        return "other"
    return None


_NO_SPEC: Obj = {}


@memo.per_object
def _containers_say(spec: Obj) -> tuple[bool, bool]:
    """(llm-d's, looked at by some check) from a pod spec's containers alone: once per spec object (a
    Deployment and its ReplicaSets hold one, and so do equal templates of other namespaces,
    sources/prune.Sharer)."""
    containers = _containers(spec)
    images = "\n".join(str(c.get("image", "")) for c in containers)
    argvs = "\n".join(" ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or [])
                               if isinstance(a, str | int)) for c in containers)
    if LLMD_IMAGE.search(images) or LLMD_ARG.search(argvs):
        return True, False
    return False, bool(OTHER_IMAGE.search(images) or ACCELERATOR.search(
        "\n".join(n for c in containers for n in _resource_names(c))))


# ---- label selectors as query strings ----------------------------------------------------------------

_OPS = {"In": "in", "NotIn": "notin"}


def selector_query(sel: Any) -> str | None:
    """A metav1.LabelSelector as a `labelSelector=` string; None when it cannot be one (empty: it would
    match every pod, or a shape the API would not accept)."""
    if not isinstance(sel, dict):
        return None
    parts: list[str] = []
    ml = sel.get("matchLabels")
    if isinstance(ml, dict):
        parts += [f"{k}={v}" for k, v in ml.items()]
    for e in sel.get("matchExpressions") or []:
        if not isinstance(e, dict) or not e.get("key"):
            return None
        key, op, values = str(e["key"]), e.get("operator"), [str(v) for v in e.get("values") or []]
        if op in _OPS and values:
            parts.append(f"{key} {_OPS[op]} ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            return None
    return ",".join(parts) or None


# ---- the plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodQuery:
    namespace: str | None  # None = cluster-wide
    selector: str = ""  # "" = every pod (of the namespace)
    why: str = ""

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.namespace, self.selector)


@dataclass
class PodScope:
    """What a live read listed of Pods when it did not list them all (Snapshot.pod_scope)."""

    namespaces: list[str]  # every pod of these was read
    selectors: list[PodQuery]  # and the pods these label selectors matched
    left_out: str  # what the pods not read are, for certain
    workloads_left_out: int = 0  # workloads whose pods were not read

    def complete(self, namespace: str | None) -> bool:
        """Whether every pod of `namespace` (None = of the cluster) was read."""
        return namespace is not None and namespace in self.namespaces

    def to_dict(self) -> dict[str, Any]:
        return {"namespaces": list(self.namespaces),
                "selectors": [{"namespace": q.namespace, "labelSelector": q.selector, "why": q.why}
                              for q in self.selectors],
                "left_out": self.left_out, "workloads_left_out": self.workloads_left_out}


@dataclass
class PodPlan:
    queries: list[PodQuery]
    scope: PodScope | None  # None = every pod is read
    why: str = ""  # why every pod is read, when it is
    estimate: int = 0  # pods the plan reads, estimated from the workloads' replica counts
    total: int = 0  # pods in the cluster, estimated the same way
    reasons: dict[str, str] = field(default_factory=dict)  # full namespace -> what is llm-d in it


EVERY_POD = PodQuery(None, "", "every pod")


def everything(why: str, estimate: int = 0, total: int = 0) -> PodPlan:
    return PodPlan([EVERY_POD], None, why, estimate, total)


def _pods_of(w: Obj) -> int:
    """How many pods a workload has now (from its status), for the cost estimate."""
    st = w.get("status") if isinstance(w.get("status"), dict) else {}
    keys = {"ReplicaSet": ("replicas",), "StatefulSet": ("replicas",), "DaemonSet": ("currentNumberScheduled",),
            "Job": ("active", "succeeded", "failed")}.get(str(w.get("kind")), ())
    return sum(int(st[k]) for k in keys if isinstance(st.get(k), int))


def _llmd_namespaces(objects: Mapping[str, list[Obj]]) -> dict[str, str]:
    """Namespaces that hold llm-d objects, with the first reason found."""
    out: dict[str, str] = {}

    def add(ns: str, why: str) -> None:
        if ns:
            out.setdefault(ns, why)

    for key, items in objects.items():
        group = key.split(".", 1)[1] if "." in key else ""
        if key.startswith(("InferencePool.", "InferenceModel", "InferenceObjective")) or group == LLMD:
            for o in items:
                add(_ns(o), f"{o.get('kind')} {_meta(o).get('name')}")
    inference_gws = {(_ns(g), str(_meta(g).get("name"))) for g in objects.get(GATEWAY_KEY, [])
                     if _llmd_labelled(_labels(_meta(g))) or _labels(_meta(g)).get("istio.io/enable-inference-extproc")
                     or _labels(_meta(g)).get("app.kubernetes.io/component") == "inference-gateway"}
    for ns, name in inference_gws:
        add(ns, f"Gateway {name} (labelled for inference)")
    for r in objects.get(ROUTE, []):
        spec = r.get("spec") if isinstance(r.get("spec"), dict) else {}
        parents = [(str(p.get("namespace") or _ns(r)), str(p.get("name"))) for p in spec.get("parentRefs") or []
                   if isinstance(p, dict)]
        to_pool = [b for rule in spec.get("rules") or [] if isinstance(rule, dict)
                   for b in rule.get("backendRefs") or [] if isinstance(b, dict) and b.get("kind") == "InferencePool"]
        if to_pool or set(parents) & inference_gws:
            why = f"HTTPRoute {_meta(r).get('name')}"
            add(_ns(r), why)
            for b in to_pool:
                add(str(b.get("namespace") or _ns(r)), why)
            for ns, name in parents:
                add(ns, f"Gateway {name} (parent of {why})")
    for s in objects.get("Service", []):
        spec = s.get("spec") if isinstance(s.get("spec"), dict) else {}
        sel = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
        if _llmd_labelled(_labels(_meta(s))) or _llmd_labelled({str(k): str(v) for k, v in sel.items()}):
            add(_ns(s), f"Service {_meta(s).get('name')} (llm-d labels)")
    return out


def _old_revision(key: str, w: Obj) -> bool:
    """A Deployment's ReplicaSet scaled to zero (an old revision): it has no pods, so what its template
    runs decides no pod list (its Deployment's template is classified)."""
    if key != REPLICASET or _owner_deployment(w) is None:
        return False
    spec = w.get("spec") if isinstance(w.get("spec"), dict) else {}
    status = w.get("status") if isinstance(w.get("status"), dict) else {}
    return spec.get("replicas") == 0 and status.get("replicas", 0) == 0


def _owner_deployment(rs: Obj) -> str | None:
    for r in _meta(rs).get("ownerReferences") or []:
        if isinstance(r, dict) and r.get("kind") == "Deployment" and r.get("name"):
            return str(r["name"])
    return None


def mostly_llmd(objects: Mapping[str, list[Obj]], share: float = 0.5) -> str | None:
    """Why every pod should be read, said from the pools and namespaces alone (None = plan properly):
    when InferencePools sit in most namespaces, llm-d's namespaces hold most pods, and the plan would
    end in one list of every pod anyway, so it can start before the workloads are read."""
    namespaces = {str(_meta(n).get("name")) for n in objects.get("Namespace", [])}
    with_pools = {_ns(p) for key in POOLS for p in objects.get(key, [])} & namespaces
    if namespaces and len(with_pools) >= share * len(namespaces):
        return f"InferencePools in {len(with_pools)} of {len(namespaces)} namespaces"
    return None


def plan(objects: Mapping[str, list[Obj]], unreadable: Iterable[str] = (), *,
         classify_template: Callable[[Obj], str | None] = classify, full_ratio: float = 0.5,
         max_queries: int = 64) -> PodPlan:
    """The pod LISTs to make, given the objects of the first round (kind key -> items) and the kinds
    that could not be read. `classify_template` may be swapped for a finer one (the same contract)."""
    unreadable = set(unreadable)
    missing = [k for k in NEEDED if k in unreadable or k not in objects]
    if missing:
        return everything(f"{', '.join(missing)} could not be read")
    workloads = [(key, w, None if _old_revision(key, w) else classify_template(_template(w)))
                 for key in WORKLOADS for w in objects.get(key, []) if isinstance(w, dict)]
    full = _llmd_namespaces(objects)
    for _, w, kind in workloads:
        if kind == "llmd":
            full.setdefault(_ns(w), f"{w.get('kind')} {_meta(w).get('name')}")
    relevant_deployments = {(_ns(w), str(_meta(w).get("name"))) for key, w, kind in workloads
                            if key == DEPLOYMENT and kind is not None}
    pods_now = {(key, _ns(w), str(_meta(w).get("name"))): _pods_of(w) for key, w, _ in workloads}
    total = sum(pods_now.values())  # Deployments count 0: their pods are their ReplicaSets'
    estimate = sum(n for (_, ns, _), n in pods_now.items() if ns in full)
    selected: dict[tuple[str | None, str], PodQuery] = {}
    left_out = 0
    for key, w, kind in workloads:
        ns, name = _ns(w), str(_meta(w).get("name"))
        owner = _owner_deployment(w) if key == REPLICASET else None
        if ns in full or (owner and (ns, owner) in relevant_deployments):
            continue  # read with its namespace, or with its Deployment
        if kind is None:
            left_out += not owner
            continue
        spec = w.get("spec") if isinstance(w.get("spec"), dict) else {}
        sel = selector_query(spec.get("selector"))
        if sel is None:  # no usable selector: read the namespace
            full.setdefault(ns, f"{w.get('kind')} {name} (no usable selector)")
            estimate += sum(n for (_, wns, _), n in pods_now.items() if wns == ns)
            continue
        q = PodQuery(ns, sel, f"{w.get('kind')} {ns}/{name}")
        if q.key not in selected:
            selected[q.key] = q
            estimate += pods_now[(key, ns, name)] if key != DEPLOYMENT else sum(
                pods_now[(REPLICASET, ns, str(_meta(r).get("name")))] for r in objects.get(REPLICASET, [])
                if _ns(r) == ns and _owner_deployment(r) == name)
    # Pods no controller we read made: read them all, cluster-wide, whatever they run.
    readable = {k for k in CONTROLLER_LABELS if k in objects and k not in unreadable}
    exclude = [lbl for k in sorted(readable) for lbl in CONTROLLER_LABELS[k]]
    if not {STATEFULSET, DAEMONSET} <= readable:  # their pods share the label
        exclude = [x for x in exclude if x != "controller-revision-hash"]
    if not exclude:
        return everything("no pod controller could be read", estimate, total)
    queries = [PodQuery(ns, "", f"namespace {ns}: {why}") for ns, why in sorted(full.items())]
    queries += [q for q in selected.values() if q.namespace not in full]
    queries.append(PodQuery(None, ",".join(f"!{x}" for x in dict.fromkeys(exclude)),
                            "pods of no Deployment, StatefulSet, DaemonSet or Job"))
    queries += [PodQuery(None, sel, "pods labelled for llm-d") for sel in LLMD_POD_SELECTORS]
    if total and estimate > full_ratio * total:
        return everything(f"llm-d's namespaces hold most pods ({estimate:,} of about {total:,})", estimate, total)
    if len(queries) > max_queries:
        return everything(f"{len(queries)} selective lists would cost more than one list of every pod",
                           estimate, total)
    scope = PodScope(
        namespaces=sorted(full), selectors=[q for q in queries if q.selector],
        left_out=("pods outside these namespaces, without an llm-d role label, whose Deployment, StatefulSet, "
                  "DaemonSet or Job pod template shows no model server, endpoint picker, gateway, accelerator or "
                  "llm-d label"),
        workloads_left_out=left_out)
    return PodPlan(queries, scope, "", estimate, total, dict(full))
