"""cluster.access: can we see the cluster (or read the bundle), and what can we not see."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.model import CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check


@check(
    "cluster.access",
    title="Cluster access",
    area="cluster",
    severity=Severity.CRITICAL,
    remediation=(
        "Grant the identity llmd-doctor runs as get/list/watch on the kinds named above "
        "(see deploy/ for a least-privilege ClusterRole), or run with a kubeconfig that has them."
    ),
)
def cluster_access(ctx: CheckContext) -> Iterator[Finding]:
    """The API server answers (or the bundle reads), its version, who we are, which reads are forbidden."""
    snap = ctx.snapshot
    src = snap.source
    objects = sum(len(v) for v in snap.objects.values())
    scope = f"namespaces {', '.join(snap.namespaces)}" if snap.namespaces else "all namespaces"
    version = f"Kubernetes {src.server_version}" if src.server_version else "Kubernetes version unknown"
    if src.kind == "bundle":
        when = f", collected {src.collected_at}" if src.collected_at else ""
        ctx_name = f" from context {src.context}" if src.context else ""
        base = f"bundle readable{ctx_name}{when}: {objects} objects, {len(snap.logs)} logs, {scope}; {version}"
        if snap.warnings:
            yield Finding(
                Status.WARN,
                f"{base}; {len(snap.warnings)} file(s) could not be read",
                evidence=tuple(snap.warnings[:10]),
                remediation="Fix or remove the files named in the evidence; the rest of the bundle was read.",
            )
        else:
            yield Finding(Status.PASS, base)
        return
    who = f" as {src.user}" if src.user else ""
    base = f"API server reachable{who} (context {src.context or 'in-cluster'}): {version}, {objects} objects read, {scope}"
    if snap.denied:
        denied = [str(d) for d in snap.denied]
        yield Finding(
            Status.WARN,
            f"{base}; {len(denied)} read(s) forbidden, the checks that need them report error",
            evidence=tuple(denied),
        )
    else:
        yield Finding(Status.PASS, base)
    for w in snap.warnings:
        yield Finding(Status.WARN, w)
