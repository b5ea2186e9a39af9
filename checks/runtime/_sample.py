"""Which logs the runtime checks read: a few Ready pods per pool, role and Gateway, within one budget.

A cluster can run hundreds of pools, and each log costs a request (live) and up to a megabyte, so the
runtime checks read a sample, the same one live and from a bundle (a bundle may hold more; the checks
read only the sample):

- per InferencePool (or model-server group outside any pool) and role: `SERVER_PODS_PER_ROLE` Ready
  model-server pods, their server container (vLLM);
- per InferencePool: `EPP_PODS_PER_POOL` Ready endpoint-picker pods;
- per llm-d Gateway: `DATA_PLANE_PODS_PER_GATEWAY` Ready data-plane pods, every container;
- in all: `MAX_POOL_LOGS` logs of model servers and endpoint pickers (pools in name order) and
  `MAX_DATA_PLANE_LOGS` of gateway proxies (Gateways in name order), so `MAX_LOGS` per run; what a budget
  leaves out is named as not sampled, never judged. The two budgets are apart so that which pods a check
  samples does not depend on what the other kind of check reads.

Pods are taken Ready first, then by name, so a sample is stable from one run to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.snapshot import DataUnavailable, LogRequest, NotCollected, Snapshot
from llmd_doctor.topology import Gateway, Pool, ServerGroup, topology
from llmd_doctor.topology.servers import server_container

Obj = dict[str, Any]

SERVER_PODS_PER_ROLE = 2
EPP_PODS_PER_POOL = 2  # an EPP runs 1 replica, or 2+ with leader election (only the leader is Ready)
DATA_PLANE_PODS_PER_GATEWAY = 1
MAX_POOL_LOGS = 120
MAX_DATA_PLANE_LOGS = 30
MAX_LOGS = MAX_POOL_LOGS + MAX_DATA_PLANE_LOGS


@dataclass(frozen=True)
class PodLog:
    pod: Obj
    container: str

    @property
    def ref(self) -> str:
        return f"Pod/{k8s.namespace(self.pod)}/{k8s.name(self.pod)}"

    @property
    def request(self) -> LogRequest:
        return LogRequest(k8s.namespace(self.pod), k8s.name(self.pod), self.container)

    def read(self, snap: Snapshot) -> tuple[str, str | None]:
        """(the current log, why it could not be read: refused or failed). A log the source did not capture reads
        as an empty one: a healthy pod's log proves nothing by its absence, and the words are the same live
        (where an unasked-for log is not fetched) and from any bundle."""
        try:
            return snap.log(self.request) or "", None
        except NotCollected:
            return "", None
        except DataUnavailable as e:
            return "", str(e)


@dataclass
class PoolSample:
    """One pool (or model-server group outside any pool): the sampled model-server pods per role, its EPP pods."""

    ref: str
    pool: Pool | None
    groups: list[ServerGroup]
    servers: dict[str, list[PodLog]] = field(default_factory=dict)  # role ("" = no role label) -> pods
    epps: list[PodLog] = field(default_factory=list)
    cut: bool = False  # the budget left some of it out


@dataclass
class GatewaySample:
    gateway: Gateway
    pods: list[PodLog] = field(default_factory=list)
    cut: bool = False


def _ready_first(pods: list[Obj]) -> list[Obj]:
    return _by_name(p for p in pods if k8s.pod_ready(p))


def _by_name(pods: Iterable[Obj]) -> list[Obj]:
    return sorted(pods, key=k8s.name)


class _Budget:
    def __init__(self, size: int) -> None:
        self.left = size

    def take(self, logs: list[PodLog]) -> tuple[list[PodLog], bool]:
        kept = logs[: max(self.left, 0)]
        self.left -= len(kept)
        return kept, len(kept) < len(logs)


def gateway_plan(snap: Snapshot) -> list[GatewaySample]:
    """The data-plane pods sampled per llm-d Gateway (see the module's docstring); planned once per
    run (the logs hook and the check ask for the same plan)."""
    plan: list[GatewaySample] = snap.derive_for_checks("runtime-gateway-plan", lambda: _gateway_plan(snap))
    return plan


def _gateway_plan(snap: Snapshot) -> list[GatewaySample]:
    budget = _Budget(MAX_DATA_PLANE_LOGS)
    out = []
    for g in sorted(topology(snap).llmd_gateways[0], key=lambda g: g.ref):
        dp = g.data_plane
        if dp is None or dp.spec.managed:
            out.append(GatewaySample(g))
            continue
        pods = _ready_first(list(dp.pods))[:DATA_PLANE_PODS_PER_GATEWAY]
        logs = [PodLog(p, str(c.get("name"))) for p in pods for c in k8s.containers(k8s.pod_spec(p), init=False)]
        kept, cut = budget.take(logs)
        out.append(GatewaySample(g, kept, cut))
    return out


def pool_plan(snap: Snapshot) -> list[PoolSample]:
    """The model-server and endpoint-picker pods sampled per pool (see the module's docstring);
    planned once per run (two logs hooks and two checks ask for the same plan)."""
    plan: list[PoolSample] = snap.derive_for_checks("runtime-pool-plan", lambda: _pool_plan(snap))
    return plan


def _pool_plan(snap: Snapshot) -> list[PoolSample]:
    topo = topology(snap)
    budget = _Budget(MAX_POOL_LOGS)
    units = [PoolSample(p.ref, p, list(p.servers)) for p in sorted(topo.pools, key=lambda p: p.ref)]
    units += [PoolSample(g.ref, None, [g]) for g in topo.servers if not g.pools]
    for u in units:
        epps = list(u.pool.epps) if u.pool else []
        names = {id(p): str(e.container.get("name")) for e in epps for p in e.pods}
        epp_pods = _ready_first([p for e in epps for p in e.pods])[:EPP_PODS_PER_POOL]
        u.epps, cut = budget.take([PodLog(p, names[id(p)]) for p in epp_pods])
        u.cut = u.cut or cut
        for role in sorted({g.role for g in u.groups}):
            # The groups' Ready pods (known per group), as _ready_first would pick them.
            pods = _by_name(p for g in u.groups if g.role == role for p in g.ready)[:SERVER_PODS_PER_ROLE]
            logs = [PodLog(p, str(c.get("name"))) for p in pods if (c := server_container(p)) is not None]
            u.servers[role], cut = budget.take(logs)
            u.cut = u.cut or cut
    return units


def server_requests(snap: Snapshot) -> list[LogRequest]:
    """The `logs=` hook of the load check: the sampled model-server pods' current logs."""
    return [pl.request for u in pool_plan(snap) for logs in u.servers.values() for pl in logs]


def epp_requests(snap: Snapshot) -> list[LogRequest]:
    """The `logs=` hook of the EPP traffic check: the sampled EPP and model-server pods' current logs."""
    return [pl.request for u in pool_plan(snap) for pl in u.epps] + server_requests(snap)


def data_plane_requests(snap: Snapshot) -> list[LogRequest]:
    """The `logs=` hook of the access-log check: the sampled data-plane pods' current logs."""
    return [pl.request for g in gateway_plan(snap) for pl in g.pods]


def role_name(role: str) -> str:
    return f"{role} pods" if role else "model-server pods"
