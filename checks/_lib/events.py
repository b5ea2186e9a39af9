"""Events of an object, as `kubectl describe` shows them."""

from __future__ import annotations

from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import EVENT
from llmd_doctor.snapshot import Snapshot

Obj = dict[str, Any]


def events_for(snap: Snapshot, kind: str, namespace: str, name: str) -> list[Obj]:
    """core/v1 (involvedObject) or events.k8s.io (regarding) events of one object, newest last;
    [] when events were not read (they are evidence, never the only proof of a finding)."""
    if snap.gap(EVENT, namespace) is not None:
        return []
    out = []
    for e in snap.list(EVENT, namespace):
        inv = e.get("involvedObject") or e.get("regarding") or {}
        if inv.get("kind") == kind and inv.get("name") == name and (inv.get("namespace") or namespace) == namespace:
            out.append(e)
    return sorted(out, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or
                                         k8s.meta(e).get("creationTimestamp") or ""))


def event_text(e: Obj) -> str:
    """`Warning FailedScheduling: 0/5 nodes are available: ... (×12)`."""
    count = e.get("count") or (e.get("series") or {}).get("count")
    msg = str(e.get("message") or e.get("note") or "").strip()
    tail = f" (×{count})" if count and int(count) > 1 else ""
    return f"{e.get('type', 'Normal')} {e.get('reason', '')}: {msg}{tail}"


def warning_events(snap: Snapshot, pod: Obj) -> list[str]:
    evs = events_for(snap, "Pod", k8s.namespace(pod), k8s.name(pod))
    return [f"event on Pod/{k8s.namespace(pod)}/{k8s.name(pod)}: {event_text(e)}"
            for e in evs if e.get("type") == "Warning"]
