"""example.model-label: every decode/prefill pod says which model it serves (`llm-d.ai/model`).

A team convention, not an llm-d requirement: the kind of rule a plugin adds. Install this package
(`pip install examples/plugin`) or point `--checks-dir` at this folder.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.model import CheckContext, Finding, Severity, Status, obj_ref
from llmd_doctor.registry import check

ROLE = "llm-d.ai/role"
MODEL = "llm-d.ai/model"


@check(
    "example.model-label",
    title="Model servers carry a model label",
    area="example",
    severity=Severity.MINOR,
    inputs=("Pod",),
    requires=("cluster.access",),
    remediation=f"Add the `{MODEL}` label to the pod template of every decode/prefill Deployment.",
    docs="examples/plugin/README.md",
)
def model_label(ctx: CheckContext) -> Iterator[Finding]:
    """Decode and prefill pods carry the llm-d.ai/model label."""
    servers = [p for p in ctx.snapshot.list("Pod") if ROLE in ((p.get("metadata") or {}).get("labels") or {})]
    if not servers:
        yield Finding(Status.SKIP, f"no pods labelled {ROLE}")
        return
    for pod in servers:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get(MODEL):
            yield Finding(Status.PASS, f"{obj_ref(pod)} serves {labels[MODEL]}", obj_ref(pod))
        else:
            yield Finding(Status.WARN, f"{obj_ref(pod)} has no {MODEL} label", obj_ref(pod))
