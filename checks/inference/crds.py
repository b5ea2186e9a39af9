"""inference.crds: InferencePool / InferenceModel / InferenceObjective — which groups and versions are served."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import CRD, INFERENCE, LLMD, X_INFERENCE
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check

from .._lib.crds import bundle_version


@check(
    "inference.crds",
    title="Inference extension CRDs",
    area="inference",
    severity=Severity.CRITICAL,
    inputs=(CRD,),
    requires=("cluster.access",),
    capabilities=(CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING),
    remediation=(
        "Install the Gateway API Inference Extension CRDs of the release your EPP is built on, e.g. "
        "`kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/"
        "download/v1.0.1/manifests.yaml` (v1 pools) or v0.5.1 (v1alpha2 pools for llm-d v0.2)."
    ),
)
def inference_crds(ctx: CheckContext) -> Iterator[Finding]:
    """InferencePool / InferenceModel / InferenceObjective: which groups and versions are served."""
    snap = ctx.snapshot
    kinds = [
        ("InferencePool", X_INFERENCE),
        ("InferencePool", INFERENCE),
        ("InferenceModel", X_INFERENCE),
        ("InferenceObjective", X_INFERENCE),
        ("InferenceObjective", LLMD),
    ]
    served = {(k, g): snap.served_versions(k, g) for k, g in kinds}
    found = [
        f"{k}.{g} {','.join(v)}"
        + (f" (bundle {b})" if (b := bundle_version(snap, k, g, "inference.networking.k8s.io/bundle-version")) else "")
        for (k, g), v in served.items()
        if v
    ]
    pools = [g for (k, g), v in served.items() if k == "InferencePool" and v]
    if not pools:
        yield Finding(
            Status.FAIL,
            "no InferencePool CRD is installed (neither inference.networking.k8s.io nor "
            "inference.networking.x-k8s.io): the endpoint picker has nothing to route for"
            + (f"; served: {'; '.join(found)}" if found else ""),
        )
        return
    yield Finding(Status.PASS, "served: " + "; ".join(found))
