"""Would the scheduler place a pod on a node: taints and tolerations, node selectors, required node
affinity, readiness and cordons, and the GPU-like extended resources it asks for — and, for a Pending pod,
every reason each node rules it out, counted like the scheduler's message (`placement`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s, knowledge
from llmd_doctor.memo import per_containers

Obj = dict[str, Any]


def quantity(v: Any) -> int:
    try:
        return int(float(str(v)))
    except ValueError:
        return 0


@per_containers
def gpu_requests(pod: Obj) -> dict[str, int]:
    """GPU-like extended resources a pod (or pod template) asks for: requests, or limits which imply them;
    running containers and native sidecars add up, plain init containers count by their max."""
    ms = knowledge.model_servers()
    spec = k8s.pod_spec(pod)
    total: dict[str, int] = {}
    inits = spec.get("initContainers") or []
    running = list(spec.get("containers") or []) + [c for c in inits if c.get("restartPolicy") == "Always"]
    for c in running:
        res = c.get("resources") or {}
        for name, v in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            if ms.is_gpu_resource(str(name)):
                total[str(name)] = total.get(str(name), 0) + quantity(v)
    for c in inits:
        if c.get("restartPolicy") == "Always":
            continue
        res = c.get("resources") or {}
        for name, v in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            if ms.is_gpu_resource(str(name)):
                total[str(name)] = max(total.get(str(name), 0), quantity(v))
    return {n: v for n, v in total.items() if v > 0}


def allocatable(node: Obj, resource: str) -> int:
    return quantity(((node.get("status") or {}).get("allocatable") or {}).get(resource, 0))


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and str(t.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def match_node_term(term: Obj, labels: dict[str, str]) -> bool:
    for e in term.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in e.get("values") or []]
        have = labels.get(key)
        ok = {
            "In": have is not None and have in values,
            "NotIn": have is None or have not in values,
            "Exists": have is not None,
            "DoesNotExist": have is None,
            "Gt": have is not None and have.isdigit() and bool(values) and values[0].isdigit()
            and int(have) > int(values[0]),
            "Lt": have is not None and have.isdigit() and bool(values) and values[0].isdigit()
            and int(have) < int(values[0]),
        }.get(str(op), True)
        if not ok:
            return False
    return True


def _required_terms(pod: Obj) -> list[Obj]:
    spec = k8s.pod_spec(pod)
    return list((((spec.get("affinity") or {}).get("nodeAffinity") or {})
                  .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])


def _taint_text(taint: Obj) -> str:
    value = f"={taint['value']}" if taint.get("value") not in (None, "") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


def _expression_text(e: Obj) -> str:
    values = ",".join(str(x) for x in e.get("values") or [])
    return f"{e.get('key')} {e.get('operator')}{' ' + values if values else ''}"


def _misfits(node: Obj, pod: Obj) -> list[tuple[str, str]]:
    """(kind, detail) of every constraint of the pod this node fails, in the scheduler's order: not-ready,
    cordoned, taint, selector, affinity (GPU capacity: `node_misfits`)."""
    out: list[tuple[str, str]] = []
    ready = k8s.condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        out.append(("not-ready", ""))
    if (node.get("spec") or {}).get("unschedulable"):
        out.append(("cordoned", ""))
    spec = k8s.pod_spec(pod)
    tols = list(spec.get("tolerations") or [])
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tols, taint):
            out.append(("taint", _taint_text(taint)))
    labels = k8s.labels(node)
    for key, want in (spec.get("nodeSelector") or {}).items():
        if labels.get(str(key)) != str(want):
            out.append(("selector", f"{key}={want}"))
    terms = _required_terms(pod)
    if terms and not any(match_node_term(t, labels) for t in terms):
        failing = [_expression_text(e) for t in terms for e in t.get("matchExpressions") or []
                   if not match_node_term({"matchExpressions": [e]}, labels)]
        out.append(("affinity", "; ".join(dict.fromkeys(failing)) or "no term matches"))
    return out


def node_blocker(node: Obj, pod: Obj) -> str | None:
    """Why the scheduler would not place this pod on this node (None = it may)."""
    why = _misfits(node, pod)
    if not why:
        return None
    kind, detail = why[0]
    if kind == "selector":
        sel = k8s.pod_spec(pod).get("nodeSelector") or {}
        return f"nodeSelector {k8s.selector_text({str(a): str(b) for a, b in sel.items()})} does not match"
    return {"not-ready": "NotReady", "cordoned": "cordoned (unschedulable)", "taint": f"taint {detail} not tolerated",
            "affinity": "required node affinity does not match"}[kind]


def products(nodes: list[Obj]) -> list[str]:
    """The GPU products the nodes' labels name (nvidia.com/gpu.product, gke-accelerator, …)."""
    out: list[str] = []
    for n in nodes:
        labels = k8s.labels(n)
        for lbl in knowledge.model_servers().gpu_product_labels:
            if labels.get(lbl) and labels[lbl] not in out:
                out.append(labels[lbl])
                break
    return out


# ---- why a Pending pod fits no node -------------------------------------------------------------------


_PHRASES = {"not-ready": "are NotReady", "cordoned": "are cordoned", "taint": "have untolerated taint {}",
            "selector": "lack label {} (nodeSelector)", "affinity": "fail required node affinity ({})"}


def node_misfits(node: Obj, pod: Obj) -> list[str]:
    """Every reason the scheduler would not place this pod on this node, ignoring what other pods use
    (empty = the node may take it): readiness, cordon, untolerated taints, node selector, required node
    affinity, and GPU-like resources beyond the node's allocatable."""
    out = [_PHRASES[kind].format(detail) for kind, detail in _misfits(node, pod)]
    for res, want in gpu_requests(pod).items():
        have = allocatable(node, res)
        if have < want:
            out.append(f"offer {have} allocatable {res} (the pod needs {want})")
    return out


def _label_keys(pod: Obj) -> list[str]:
    """The node labels the pod's nodeSelector and required affinity ask about."""
    keys = [str(k) for k in k8s.pod_spec(pod).get("nodeSelector") or {}]
    keys += [str(e.get("key")) for t in _required_terms(pod) for e in t.get("matchExpressions") or []]
    return list(dict.fromkeys(keys))


def label_values(nodes: list[Obj], key: str) -> str:
    """`NVIDIA-A100-SXM4-80GB on 2 nodes, Tesla-T4 on 1, no label on 2`: what the nodes carry for a key."""
    counts: dict[str, int] = {}
    for n in nodes:
        val = k8s.labels(n).get(key)
        counts[val if val is not None else ""] = counts.get(val if val is not None else "", 0) + 1
    parts = [f"{val or 'no label'} on {c} node{'s' if c != 1 else ''}"
             for val, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ", ".join(parts)


@dataclass
class Placement:
    """Where a pod could go: the nodes that may take it, and per reason how many nodes it rules out."""

    nodes: int
    fits: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # reason -> nodes it applies to
    hints: list[str] = field(default_factory=list)  # the values nodes carry for the labels the pod asks about
    capacity_only: list[str] = field(default_factory=list)  # GPU nodes ruled out by their GPU count alone
    gpu_nodes: int = 0  # nodes offering some of every GPU resource the pod asks for

    @property
    def summary(self) -> str:
        """`0/4 nodes fit: 2 node(s) have untolerated taint nvidia.com/gpu=true:NoSchedule; 2 offer 0 allocatable …`"""
        parts = [f"{n} node(s) {r}" for r, n in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        return f"{len(self.fits)}/{self.nodes} nodes fit" + (": " + "; ".join(parts) if parts else "")

    @property
    def taints(self) -> list[str]:
        return [r.split("untolerated taint ", 1)[1] for r in self.reasons if "untolerated taint " in r]


def placement(pod: Obj, nodes: list[Obj]) -> Placement:
    """Which nodes could take the pod by its selectors, affinity, tolerations and GPU requests — named even
    when the scheduler's event is missing or truncated."""
    out = Placement(len(nodes))
    wants = gpu_requests(pod)
    for n in nodes:
        why = node_misfits(n, pod)
        if not why:
            out.fits.append(k8s.name(n))
        gpu_node = all(allocatable(n, res) > 0 for res in wants)
        if why and gpu_node and all(" allocatable " in r for r in why):
            out.capacity_only.append(k8s.name(n))
        out.gpu_nodes += gpu_node
        for r in dict.fromkeys(why):
            out.reasons[r] = out.reasons.get(r, 0) + 1
    out.hints = [f"node labels {key}: {label_values(nodes, key)}" for key in _label_keys(pod)]
    for key, want in (k8s.pod_spec(pod).get("nodeSelector") or {}).items():
        near = sorted({v for n in nodes if (v := k8s.labels(n).get(str(key))) and v != str(want)
                       and (str(want).lower() in v.lower() or v.lower() in str(want).lower())})
        if near:  # a selector value matches only exactly: NVIDIA-H100 is not NVIDIA-H100-80GB-HBM3
            out.hints.append(f"nodeSelector {key}={want} must match exactly; nodes carry {', '.join(near)}")
    return out
