"""cluster.access: can we see the cluster (or read the bundle), and what can we not see."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.model import CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check

from ._reads import reasons, unreadable

_GRANT = ("Grant the identity llmd-doctor runs as get/list/watch on the kinds named above "
          "(see deploy/rbac.yaml for a least-privilege ClusterRole), or run with a kubeconfig that has them.")
_RETRY = ("Reads that failed (HTTP errors, timeouts) are not permissions: check the API server's health "
          "(`kubectl get --raw '/readyz?verbose'`), raise --request-timeout or --timeout, and run again.")
_RECOLLECT = ("The bundle was collected without these reads: collect it again (`llmd-doctor collect`) with an "
              "identity that may read them (deploy/rbac.yaml) once the API server answers them.")


@check(
    "cluster.access",
    title="Cluster access",
    area="cluster",
    severity=Severity.CRITICAL,
    remediation=_GRANT,
    why=("Every other check is only as good as what it could read: a refused or failed read leaves the "
         "checks that need it unable to conclude, and this check names each such read."),
)
def cluster_access(ctx: CheckContext) -> Iterator[Finding]:
    """The API server answers (or the bundle reads), its version, who we are, and every read that was
    refused or failed (live, or when the bundle was collected)."""
    snap = ctx.snapshot
    src = snap.source
    objects = sum(len(v) for v in snap.objects.values())
    scope = f"namespaces {', '.join(snap.namespaces)}" if snap.namespaces else "all namespaces"
    version = f"Kubernetes {src.server_version}" if src.server_version else "Kubernetes version unknown"
    reads = unreadable(snap)
    if src.kind == "bundle":
        when = f", collected {src.collected_at}" if src.collected_at else ""
        ctx_name = f" from context {src.context}" if src.context else ""
        base = f"bundle readable{ctx_name}{when}: {objects} objects, {len(snap.logs)} logs, {scope}; {version}"
        if reads:
            yield Finding(Status.WARN, f"{base}; {len(reads)} read(s) were refused or failed when it was collected, "
                          "the checks that need them report error", evidence=tuple(reads), remediation=_RECOLLECT)
        if snap.warnings:
            yield Finding(
                Status.WARN,
                f"{base}; {len(snap.warnings)} warning(s) while reading it",
                evidence=tuple(snap.warnings[:10]) + ((f"… and {len(snap.warnings) - 10} more",)
                                                      if len(snap.warnings) > 10 else ()),
                remediation="Fix or remove the files named in the evidence; the rest of the bundle was read.",
            )
        if not reads and not snap.warnings:
            yield Finding(Status.PASS, base)
        return
    who = f" as {src.user}" if src.user else ""
    base = f"API server reachable{who} (context {src.context or 'in-cluster'}): {version}, {objects} objects read, {scope}"
    if reads:
        why = reasons(snap)
        yield Finding(
            Status.WARN,
            f"{base}; {len(reads)} read(s) {'forbidden' if why == {'forbidden'} else 'refused or failed'}, "
            "the checks that need them report error",
            evidence=tuple(reads),
            remediation=" ".join(([_RETRY] if why - {"forbidden"} else []) + ([_GRANT] if "forbidden" in why else [])),
        )
    else:
        yield Finding(Status.PASS, base)
    for w in snap.warnings:
        yield Finding(Status.WARN, w)
