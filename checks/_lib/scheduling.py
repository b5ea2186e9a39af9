"""Would the scheduler place a pod on a node: taints and tolerations, node selectors, required node
affinity, readiness and cordons, and the GPU-like extended resources it asks for."""

from __future__ import annotations

from typing import Any

from llmd_doctor import k8s, knowledge

Obj = dict[str, Any]


def quantity(v: Any) -> int:
    try:
        return int(float(str(v)))
    except ValueError:
        return 0


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


def node_blocker(node: Obj, pod: Obj) -> str | None:
    """Why the scheduler would not place this pod on this node (None = it may)."""
    ready = k8s.condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned (unschedulable)"
    spec = k8s.pod_spec(pod)
    tols = list(spec.get("tolerations") or [])
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tols, taint):
            value = f"={taint['value']}" if taint.get("value") else ""
            return f"taint {taint.get('key')}{value}:{taint.get('effect')} not tolerated"
    labels = k8s.labels(node)
    sel = spec.get("nodeSelector") or {}
    if any(labels.get(a) != str(b) for a, b in sel.items()):
        return f"nodeSelector {k8s.selector_text({str(a): str(b) for a, b in sel.items()})} does not match"
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    if terms and not any(match_node_term(t, labels) for t in terms):
        return "required node affinity does not match"
    return None


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
