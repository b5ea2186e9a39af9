"""gateway-api.crds: GatewayClass, Gateway and HTTPRoute are served; which versions; the CRD bundle version."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import CRD, GATEWAY
from llmd_doctor.model import GATEWAY_ROUTING, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check

from .._lib.crds import bundle_version


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
    bundle = bundle_version(ctx.snapshot, "Gateway", GATEWAY, "gateway.networking.k8s.io/bundle-version")
    channel = bundle_version(ctx.snapshot, "Gateway", GATEWAY, "gateway.networking.k8s.io/channel")
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
