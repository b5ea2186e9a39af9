"""A Pending model-server pod that no node can ever take: its node selector, required node affinity,
tolerations and GPU requests against every node's labels, taints and allocatable GPUs
(checks/_lib/scheduling.py), named even when the scheduler's event is missing or truncated. A pod that
some node could take waits for capacity: model-servers.gpu and the scheduler's event say why."""

from __future__ import annotations

import json
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import ServerGroup, Topology

from .._lib.scheduling import Placement, placement

Obj = dict[str, Any]


def pending(g: ServerGroup) -> list[Obj]:
    return [p for p in g.pods if not k8s.pod_spec(p).get("nodeName")
            and (p.get("status") or {}).get("phase", "Pending") == "Pending"]


def _tolerations(spec: Obj) -> str:
    tols = [f"{t.get('key') or '*'}{'=' + str(t['value']) if t.get('value') else ''}:{t.get('effect') or '*'} "
            f"({t.get('operator') or 'Equal'})" for t in spec.get("tolerations") or []]
    return ", ".join(tols) or "none"


def _fix(pl: Placement) -> str:
    fixes = []
    if pl.taints:
        fixes.append(f"tolerate {', '.join(pl.taints)} in the pod template (spec.tolerations, e.g. key "
                     f"{pl.taints[0].split('=')[0].split(':')[0]}, operator Exists) or remove the taint from the GPU nodes")
    if any("label" in r or "affinity" in r for r in pl.reasons):
        fixes.append("make the nodeSelector / required node affinity ask for labels the GPU nodes carry (their "
                     "values are listed above), or label the nodes")
    if pl.capacity_only:
        fixes.append("request no more GPUs than one node offers, or add nodes with more")
    elif not pl.gpu_nodes:
        fixes.append("add nodes that offer the GPU resource the pod requests (GPU operator / device plugin)")
    if any("NotReady" in r or "cordoned" in r for r in pl.reasons):
        fixes.append("repair or uncordon the nodes")
    text = "; ".join(fixes) or "make the pod's scheduling constraints match a node"
    return text[0].upper() + text[1:] + "."


def judge(topo: Topology, g: ServerGroup, nodes: list[Obj]) -> Finding | None:
    waiting = pending(g)
    seen: set[str] = set()
    for p in waiting:
        spec = k8s.pod_spec(p)
        sig = json.dumps([spec.get("nodeSelector"), spec.get("tolerations"), spec.get("affinity")], sort_keys=True,
                         default=str)
        if sig in seen:
            continue
        seen.add(sig)
        pl = placement(p, nodes)
        if pl.fits:
            continue
        cond = k8s.condition(p, "PodScheduled") or {}
        said = [f"scheduler: {cond['message']}"] if cond.get("message") else ["no scheduler message recorded"]
        return Finding(
            Status.FAIL, f"{len(waiting)}/{len(g.pods)} {g.noun} Pending ({g.ref}) and no node can take them: "
            f"{pl.summary}", g.ref,
            (*pl.hints, f"pod tolerations: {_tolerations(spec)}", *said),
            remediation=_fix(pl), capabilities=topo.impact_of_servers(g))
    return None
