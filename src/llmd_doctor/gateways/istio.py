"""Istio: facts in istio.yaml; code only for what data cannot say.

A cluster may run several istiod revisions: a Gateway is programmed by the revision its
`istio.io/rev` label names, else the default one (OpenShift's Gateway API controller runs its own
`openshift-gateway` istiod). For each InferencePool it reconciles, istiod creates a headless
"shadow" Service labelled `istio.io/inferencepool-name` — evidence that the pool was picked up.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor import k8s
from llmd_doctor.gateways.base import Controller, GatewayImplementation, load_facts

Obj = dict[str, Any]
SHADOW_LABEL = "istio.io/inferencepool-name"


class Istio(GatewayImplementation):
    def controller_for(self, gateway: Obj, controller_name: str | None,
                       controllers: list[Controller]) -> Controller | None:
        if not controllers:
            return None
        rev = k8s.labels(gateway).get("istio.io/rev")
        if rev:
            hit = next((c for c in controllers if c.revision == rev), None)
            if hit:
                return hit
        if (controller_name or "").startswith("openshift.io/"):
            hit = next((c for c in controllers if "openshift-gateway" in k8s.name(c.workload)), None)
            if hit:
                return hit
        return next((c for c in controllers if k8s.name(c.workload) == "istiod"), None) \
            or next((c for c in controllers if c.revision == "default"), None) or controllers[0]

    def pool_objects(self, pool_namespace: str, pool_name: str, services: list[Obj]) -> list[str]:
        return [f"Service/{k8s.namespace(s)}/{k8s.name(s)}" for s in services
                if k8s.namespace(s) == pool_namespace and k8s.labels(s).get(SHADOW_LABEL) == pool_name]


IMPLEMENTATION = Istio(load_facts(__name__, "istio"))
