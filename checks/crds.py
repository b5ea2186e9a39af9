"""Which Gateway API and inference-extension APIs the cluster serves."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import GATEWAY, INFERENCE, LLMD, X_INFERENCE
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    GATEWAY_ROUTING,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.registry import check

CRD = "CustomResourceDefinition.apiextensions.k8s.io"


def _bundle_version(ctx: CheckContext, kind: str, group: str, annotation: str) -> str | None:
    crd = ctx.snapshot.crd(kind, group)
    if crd is None:
        return None
    return ((crd.get("metadata") or {}).get("annotations") or {}).get(annotation)


@check(
    "gateway-api.crds",
    title="Gateway API CRDs",
    area="gateway",
    severity=Severity.CRITICAL,
    inputs=(CRD,),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING,),
    remediation=(
        "Install the Gateway API standard CRDs of the version your llm-d release pins, e.g. "
        "`kubectl apply -k https://github.com/kubernetes-sigs/gateway-api/config/crd?ref=v1.3.0` "
        "(llm-d <= v0.4), v1.4.0 (v0.5), v1.5.1 (>= v0.6)."
    ),
)
def gateway_api_crds(ctx: CheckContext) -> Iterator[Finding]:
    """GatewayClass, Gateway and HTTPRoute are served; which versions; the CRD bundle version."""
    served = {kind: ctx.snapshot.served_versions(kind, GATEWAY) for kind in ("GatewayClass", "Gateway", "HTTPRoute")}
    missing = [k for k, v in served.items() if not v]
    versions = "; ".join(f"{k} {','.join(v)}" for k, v in served.items() if v)
    bundle = _bundle_version(ctx, "Gateway", GATEWAY, "gateway.networking.k8s.io/bundle-version")
    channel = _bundle_version(ctx, "Gateway", GATEWAY, "gateway.networking.k8s.io/channel")
    tail = f" (bundle {bundle}{', ' + channel + ' channel' if channel else ''})" if bundle else ""
    if missing:
        yield Finding(
            Status.FAIL,
            f"Gateway API CRD(s) not installed: {', '.join(missing)}" + (f"; served: {versions}" if versions else ""),
        )
        return
    not_v1 = [k for k, v in served.items() if "v1" not in v]
    if not_v1:
        yield Finding(
            Status.WARN,
            f"{', '.join(not_v1)} not served as v1 (served: {versions}){tail}; llm-d manifests use "
            "gateway.networking.k8s.io/v1",
            remediation="Upgrade the Gateway API CRDs to v1.0 or newer (llm-d pins v1.3.0 or later).",
        )
        return
    yield Finding(Status.PASS, f"Gateway API served: {versions}{tail}")


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
        + (f" (bundle {b})" if (b := _bundle_version(ctx, k, g, "inference.networking.k8s.io/bundle-version")) else "")
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
