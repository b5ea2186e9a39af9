"""The Kubernetes kinds llmd-doctor knows how to read, keyed as `Kind.group` (core kinds bare).

The key is the one the bundle manifest uses (`kinds:` in bundle.yaml) and the one checks name in
their `inputs`. A kind in two API groups (the two InferencePool generations) is two keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str  # "" for core
    plural: str
    namespaced: bool
    # Versions to try, preferred first; for CRD kinds the served ones come from discovery.
    versions: tuple[str, ...]

    @property
    def key(self) -> str:
        return kind_key(self.kind, self.group)


def kind_key(kind: str, group: str) -> str:
    return f"{kind}.{group}" if group else kind


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1")."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def key_of(obj: dict[str, Any]) -> str:
    group, _ = split_api_version(str(obj.get("apiVersion", "")))
    return kind_key(str(obj.get("kind", "")), group)


X_INFERENCE = "inference.networking.x-k8s.io"
INFERENCE = "inference.networking.k8s.io"
LLMD = "llm-d.ai"
GATEWAY = "gateway.networking.k8s.io"
ISTIO_NET = "networking.istio.io"

_KNOWN = [
    KindInfo("Namespace", "", "namespaces", False, ("v1",)),
    KindInfo("Pod", "", "pods", True, ("v1",)),
    KindInfo("Service", "", "services", True, ("v1",)),
    KindInfo("ServiceAccount", "", "serviceaccounts", True, ("v1",)),
    KindInfo("ConfigMap", "", "configmaps", True, ("v1",)),
    KindInfo("Secret", "", "secrets", True, ("v1",)),
    KindInfo("Node", "", "nodes", False, ("v1",)),
    KindInfo("Event", "", "events", True, ("v1",)),
    KindInfo("Endpoints", "", "endpoints", True, ("v1",)),
    KindInfo("Deployment", "apps", "deployments", True, ("v1",)),
    KindInfo("ReplicaSet", "apps", "replicasets", True, ("v1",)),
    KindInfo("StatefulSet", "apps", "statefulsets", True, ("v1",)),
    KindInfo("Role", "rbac.authorization.k8s.io", "roles", True, ("v1",)),
    KindInfo("ClusterRole", "rbac.authorization.k8s.io", "clusterroles", False, ("v1",)),
    KindInfo("RoleBinding", "rbac.authorization.k8s.io", "rolebindings", True, ("v1",)),
    KindInfo("ClusterRoleBinding", "rbac.authorization.k8s.io", "clusterrolebindings", False, ("v1",)),
    KindInfo("CustomResourceDefinition", "apiextensions.k8s.io", "customresourcedefinitions", False, ("v1",)),
    KindInfo("EndpointSlice", "discovery.k8s.io", "endpointslices", True, ("v1",)),
    KindInfo("GatewayClass", GATEWAY, "gatewayclasses", False, ("v1", "v1beta1")),
    KindInfo("Gateway", GATEWAY, "gateways", True, ("v1", "v1beta1")),
    KindInfo("HTTPRoute", GATEWAY, "httproutes", True, ("v1", "v1beta1")),
    KindInfo("ReferenceGrant", GATEWAY, "referencegrants", True, ("v1beta1", "v1")),
    KindInfo("InferencePool", X_INFERENCE, "inferencepools", True, ("v1alpha2",)),
    KindInfo("InferencePool", INFERENCE, "inferencepools", True, ("v1",)),
    KindInfo("InferenceModel", X_INFERENCE, "inferencemodels", True, ("v1alpha2",)),
    KindInfo("InferenceObjective", X_INFERENCE, "inferenceobjectives", True, ("v1alpha2",)),
    KindInfo("InferenceObjective", LLMD, "inferenceobjectives", True, ("v1alpha2",)),
    KindInfo("InferenceModelRewrite", X_INFERENCE, "inferencemodelrewrites", True, ("v1alpha2",)),
    KindInfo("InferenceModelRewrite", LLMD, "inferencemodelrewrites", True, ("v1alpha2",)),
    KindInfo("DestinationRule", ISTIO_NET, "destinationrules", True, ("v1", "v1beta1", "v1alpha3")),
    KindInfo("GatewayParameters", "gateway.kgateway.dev", "gatewayparameters", True, ("v1alpha1",)),
    KindInfo("HealthCheckPolicy", "networking.gke.io", "healthcheckpolicies", True, ("v1",)),
]

KINDS: dict[str, KindInfo] = {k.key: k for k in _KNOWN}
CORE_GROUPS = frozenset({"", "apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "discovery.k8s.io"})


def info(key: str) -> KindInfo:
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(f"unknown kind {key!r}; known: {', '.join(sorted(KINDS))}") from None


def is_builtin(key: str) -> bool:
    """Built-in kinds are always served; CRD kinds are served only when their CRD says so."""
    k = KINDS.get(key)
    return k is not None and k.group in CORE_GROUPS


# ---- keys the topology and the checks name -------------------------------------------------------

POD, SERVICE, CONFIGMAP, NODE, EVENT = "Pod", "Service", "ConfigMap", "Node", "Event"
SERVICE_ACCOUNT, NAMESPACE = "ServiceAccount", "Namespace"
DEPLOYMENT, REPLICASET, STATEFULSET = "Deployment.apps", "ReplicaSet.apps", "StatefulSet.apps"
CRD = "CustomResourceDefinition.apiextensions.k8s.io"
GATEWAY_CLASS, GATEWAY_KEY = f"GatewayClass.{GATEWAY}", f"Gateway.{GATEWAY}"
HTTPROUTE, REFERENCE_GRANT = f"HTTPRoute.{GATEWAY}", f"ReferenceGrant.{GATEWAY}"
POOL_X, POOL_V1 = f"InferencePool.{X_INFERENCE}", f"InferencePool.{INFERENCE}"
POOL_KEYS = (POOL_X, POOL_V1)
POOL_GROUPS = (X_INFERENCE, INFERENCE)
INFERENCE_MODEL = f"InferenceModel.{X_INFERENCE}"
OBJECTIVE_X, OBJECTIVE_LLMD = f"InferenceObjective.{X_INFERENCE}", f"InferenceObjective.{LLMD}"
DESTINATION_RULE = f"DestinationRule.{ISTIO_NET}"
HEALTH_CHECK_POLICY = "HealthCheckPolicy.networking.gke.io"
RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE, CLUSTER_ROLE = f"Role.{RBAC_GROUP}", f"ClusterRole.{RBAC_GROUP}"
ROLE_BINDING, CLUSTER_ROLE_BINDING = f"RoleBinding.{RBAC_GROUP}", f"ClusterRoleBinding.{RBAC_GROUP}"
RBAC_KINDS = (ROLE, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING)
