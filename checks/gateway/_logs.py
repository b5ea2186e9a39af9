"""Why a gateway controller or data-plane pod crash-loops, read from its logs by the one logs routine.

The implementation's own `log_signatures` (src/llmd_doctor/gateways/<name>.yaml) are tried first; a
crash no signature knows is named from its root error (a Go panic, a fatal record, an exit code).
Only unhealthy pods are read (not Ready, or restarted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.gateways import GatewayImplementation
from llmd_doctor.model import Finding, Status, obj_ref
from llmd_doctor.snapshot import LogRequest, Snapshot
from llmd_doctor.topology import Gateway, topology

from .._lib import logs

Obj = dict[str, Any]


def _pods(g: Gateway) -> list[tuple[Obj, list[str]]]:
    """(pod, containers whose logs explain it): the controller's container, every data-plane container."""
    out: list[tuple[Obj, list[str]]] = []
    ctl = g.controller.target
    if ctl is not None:
        out += [(p, [str(ctl.container.get("name"))]) for p in g.controller_pods]
    dp = g.data_plane
    if dp is not None and not dp.spec.managed:
        out += [(p, [str(c.get("name")) for c in k8s.containers(k8s.pod_spec(p), init=False)]) for p in dp.pods]
    return out


def log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """The `logs=` hook: current and previous logs of unhealthy controller and data-plane pods."""
    gws, _ = topology(snap).llmd_gateways
    for g in gws:
        for pod, containers in _pods(g):
            if not logs.healthy(pod):
                yield from logs.requests_for(pod, containers)


def crash_findings(snap: Snapshot, g: Gateway, impl: GatewayImplementation, seen: set[str],
                   caps: Iterable[str]) -> Iterator[Finding]:
    """A finding per cause its unhealthy controller and data-plane pods' logs name (each pod once per run)."""
    for pod, containers in _pods(g):
        ref = obj_ref(pod)
        if logs.healthy(pod) or ref in seen:
            continue
        seen.add(ref)
        diag = logs.diagnose(snap, pod, [(c, impl.name) for c in containers], lambda _: impl.log_signatures)
        role = "controller" if any(p is pod for p in g.controller_pods) else f"data plane of {g.ref}"
        for c in diag.causes:
            status = Status(c.status)
            yield Finding(status, f"{ref} ({impl.title} {role}): {c.text}", ref, tuple(c.evidence), remediation=c.fix,
                          capabilities=tuple(caps) if status == Status.FAIL else ())
        if not diag.causes and not diag.texts and diag.unavailable and not k8s.pod_ready(pod):
            yield Finding(Status.SKIP, f"{ref} ({impl.title} {role}) is unhealthy ({k8s.pod_summary(pod)}) but "
                          f"{diag.unavailable}", ref, unverified=True)
