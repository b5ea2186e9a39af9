"""config.expectations: what the user said the deployment should look like (`expect:` in the config file)."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s as k
from llmd_doctor.model import CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check

WORKLOADS = {"Deployment": "Deployment.apps", "StatefulSet": "StatefulSet.apps"}


def _workload(ctx: CheckContext, ref: str) -> dict | None:
    parts = ref.split("/")
    if len(parts) != 3 or parts[0] not in WORKLOADS:
        raise ValueError(f"expectation target {ref!r} must be Deployment/<namespace>/<name> or StatefulSet/...")
    return ctx.snapshot.get(WORKLOADS[parts[0]], parts[1], parts[2])


@check(
    "config.expectations",
    title="Expectations from the config file",
    area="config",
    severity=Severity.MAJOR,
    inputs=tuple(WORKLOADS.values()),
    requires=("cluster.access",),
    remediation="Bring the workload to what `expect:` in .llmd-doctor.yaml says, or update the expectation.",
    why="What you said the deployment should look like (`expect:` in .llmd-doctor.yaml), checked like the rest.",
)
def expectations(ctx: CheckContext) -> Iterator[Finding]:
    """Ready replicas and images of the workloads named under `expect:` in .llmd-doctor.yaml."""
    expect = ctx.options.get("expect") or {}
    if not expect.get("replicas") and not expect.get("images"):
        yield Finding(Status.SKIP, "no expectations configured (expect: in .llmd-doctor.yaml)")
        return
    for ref, want in (expect.get("replicas") or {}).items():
        obj = _workload(ctx, ref)
        if obj is None:
            yield Finding(Status.FAIL, f"{ref} is expected with {want} ready replicas but does not exist", ref)
            continue
        ready = int((obj.get("status") or {}).get("readyReplicas") or 0)
        if ready < int(want):
            yield Finding(Status.FAIL, f"{ref} has {ready} ready replicas, {want} expected", ref)
        else:
            yield Finding(Status.PASS, f"{ref} has {ready} ready replicas ({want} expected)", ref)
    for ref, want in (expect.get("images") or {}).items():
        obj = _workload(ctx, ref)
        if obj is None:
            yield Finding(Status.FAIL, f"{ref} is expected to run {want} but does not exist", ref)
            continue
        images = [str(c.get("image")) for c in k.containers(k.pod_spec(obj))]
        if want in images:
            yield Finding(Status.PASS, f"{ref} runs {want}", ref)
        else:
            yield Finding(Status.FAIL, f"{ref} runs {', '.join(images)}, {want} expected", ref,
                          evidence=tuple(f"image {i}" for i in images))
