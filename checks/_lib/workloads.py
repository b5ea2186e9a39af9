"""Is a workload available, in words: `1/1 ready, Available=True`, and its pods when it is not."""

from __future__ import annotations

from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import POD
from llmd_doctor.snapshot import Snapshot

Obj = dict[str, Any]


def pods_of(snap: Snapshot, workload: Obj) -> list[Obj] | None:
    """The pods of a Deployment/StatefulSet (None when pods of its namespace were not read)."""
    ns = k8s.namespace(workload)
    if snap.gap(POD, ns) is not None:
        return None
    return k8s.pods_of(workload, snap.list(POD, ns))


def availability(snap: Snapshot, workload: Obj) -> tuple[bool, str]:
    """(available, `1/1 ready, Available=True` — plus its pods' states when it is not)."""
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    ready = int(status.get("readyReplicas") or 0)
    avail = k8s.condition(workload, "Available")
    ok = want > 0 and ready > 0 and (avail is None or avail.get("status") == "True")
    text = f"{ready}/{want} ready, {k8s.cond_text(avail, 'Available')}"
    if not ok:
        pods = pods_of(snap, workload)
        if pods is not None:
            text += "; " + ("; ".join(f"Pod/{k8s.namespace(p)}/{k8s.name(p)}: {k8s.pod_summary(p)}" for p in pods)
                            if pods else "no pods")
    return ok, text
