"""cluster.scope: the namespaces asked for exist, and something of llm-d is in what was read."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import GATEWAY_KEY
from llmd_doctor.model import CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import SERVERS, topology

_NO_NAMESPACE = ("Check the namespace's name (`kubectl get namespaces`), the -n flag and the kubeconfig context "
                 "(--context); `llmd-doctor check` without -n reads every namespace.")
_NOTHING = ("Point llmd-doctor at the cluster and namespaces llm-d runs in (--context, -n), or at a bundle "
            "collected there; if llm-d is not deployed there yet, deploy it first (https://github.com/llm-d/llm-d).")


def _where(snap: Snapshot, missing: list[str]) -> str:
    """The same words live and offline (a bundle's results must equal the live run's)."""
    if not snap.namespaces:
        return "all namespaces"
    present = [ns for ns in snap.namespaces if ns not in missing]
    return f"namespace{'s' if len(present) != 1 else ''} {', '.join(present)}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


@check(
    "cluster.scope",
    title="Scope",
    area="cluster",
    severity=Severity.CRITICAL,
    inputs=(GATEWAY_KEY, *SERVERS),
    requires=("cluster.access",),
    remediation=_NOTHING,
    why=("A run that looks at the wrong namespace or cluster finds nothing wrong because it finds nothing: "
         "a namespace asked for that does not exist, or no Gateway, InferencePool, endpoint picker or model "
         "server at all, is a failure, never a green result."),
)
def cluster_scope(ctx: CheckContext) -> Iterator[Finding]:
    """Each namespace asked for with -n exists, and the run found a Gateway, InferencePool, endpoint
    picker or model server (asked of the topology) in what it read."""
    snap = ctx.snapshot
    missing = list(dict.fromkeys(snap.missing_namespaces))
    for ns in missing:
        yield Finding(Status.FAIL, f"namespace {ns} not found", f"Namespace/{ns}", remediation=_NO_NAMESPACE)
    if snap.namespaces and all(ns in missing for ns in snap.namespaces):
        return  # nothing else was asked for: "nothing found there" would say it twice
    topo = topology(snap)
    where = _where(snap, missing)
    parts = {"Gateway": topo.gateways, "InferencePool": topo.pools, "endpoint picker": topo.epps,
             "model-server group": topo.servers}
    found = [_count(len(items), what) for what, items in parts.items() if items]
    if parts["InferencePool"] or parts["endpoint picker"] or parts["model-server group"]:
        yield Finding(Status.PASS, ", ".join(found))  # where: cluster.access says what was read
        return
    gaps = [g for items in parts.values() for g in items.gaps]
    if gaps:  # what could not be read may hold llm-d: not "none"
        yield Finding.unverifiable(gaps[0], f"whether llm-d runs in {where} could not be told")
    elif found:
        yield Finding(Status.WARN, f"only {', '.join(found)} found in {where}: no InferencePool, endpoint picker "
                      "or model server", remediation=_NOTHING)
    else:
        yield Finding(Status.FAIL, f"no Gateway, InferencePool or EPP found in {where} (and no model server)")
