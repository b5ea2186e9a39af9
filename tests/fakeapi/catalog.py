"""Which resources the fake server serves: built-in kinds plus whatever the bundle's CRDs define."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmd_doctor.kinds import CORE_GROUPS, KINDS, split_api_version

RW_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)
SUB_VERBS = {"log": ("get",), "status": ("get", "patch", "update"), "finalize": ("update",)}


@dataclass(frozen=True)
class ResourceType:
    group: str
    kind: str
    plural: str
    namespaced: bool
    versions: tuple[str, ...]  # served, preferred first
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = RW_VERBS
    custom: bool = False  # served from a CRD: list items keep apiVersion/kind
    singular: str = ""

    @property
    def readable(self) -> bool:
        return "list" in self.verbs

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version


def _b(group: str, kind: str, plural: str, namespaced: bool = True, short: Iterable[str] = (),
       cats: Iterable[str] = (), subs: Iterable[str] = (), verbs: tuple[str, ...] = RW_VERBS) -> ResourceType:
    return ResourceType(group, kind, plural, namespaced, ("v1",), tuple(short), tuple(cats), tuple(subs), verbs)


RBAC, AUTHZ, AUTHN = "rbac.authorization.k8s.io", "authorization.k8s.io", "authentication.k8s.io"
BUILTINS: tuple[ResourceType, ...] = (
    _b("", "Namespace", "namespaces", False, ["ns"], subs=["status", "finalize"]),
    _b("", "Pod", "pods", short=["po"], cats=["all"], subs=["log", "status"]),
    _b("", "Service", "services", short=["svc"], cats=["all"], subs=["status"]),
    _b("", "ServiceAccount", "serviceaccounts", short=["sa"]),
    _b("", "ConfigMap", "configmaps", short=["cm"]),
    _b("", "Secret", "secrets"),
    _b("", "Node", "nodes", False, ["no"], subs=["status"]),
    _b("", "Event", "events", short=["ev"]),
    _b("", "Endpoints", "endpoints", short=["ep"]),
    _b("", "PersistentVolumeClaim", "persistentvolumeclaims", short=["pvc"], subs=["status"]),
    _b("", "PersistentVolume", "persistentvolumes", False, ["pv"], subs=["status"]),
    _b("", "ResourceQuota", "resourcequotas", short=["quota"], subs=["status"]),
    _b("", "LimitRange", "limitranges", short=["limits"]),
    _b("apps", "Deployment", "deployments", short=["deploy"], cats=["all"], subs=["status"]),
    _b("apps", "ReplicaSet", "replicasets", short=["rs"], cats=["all"], subs=["status"]),
    _b("apps", "StatefulSet", "statefulsets", short=["sts"], cats=["all"], subs=["status"]),
    _b("apps", "DaemonSet", "daemonsets", short=["ds"], cats=["all"], subs=["status"]),
    _b("apps", "ControllerRevision", "controllerrevisions"),
    _b("batch", "Job", "jobs", cats=["all"], subs=["status"]),
    _b("batch", "CronJob", "cronjobs", short=["cj"], cats=["all"], subs=["status"]),
    _b(RBAC, "Role", "roles"),
    _b(RBAC, "ClusterRole", "clusterroles", False),
    _b(RBAC, "RoleBinding", "rolebindings"),
    _b(RBAC, "ClusterRoleBinding", "clusterrolebindings", False),
    _b("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", False,
       ["crd", "crds"], ["api-extensions"], ["status"]),
    _b("discovery.k8s.io", "EndpointSlice", "endpointslices"),
    _b("events.k8s.io", "Event", "events", short=["ev"]),
    _b("policy", "PodDisruptionBudget", "poddisruptionbudgets", short=["pdb"], subs=["status"]),
    _b("networking.k8s.io", "NetworkPolicy", "networkpolicies", short=["netpol"]),
    _b("networking.k8s.io", "Ingress", "ingresses", short=["ing"], subs=["status"]),
    _b("networking.k8s.io", "IngressClass", "ingressclasses", False),
    _b("storage.k8s.io", "StorageClass", "storageclasses", False, ["sc"]),
    _b("coordination.k8s.io", "Lease", "leases"),
    _b("scheduling.k8s.io", "PriorityClass", "priorityclasses", False, ["pc"]),
    _b(AUTHZ, "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, verbs=CREATE_ONLY),
    _b(AUTHZ, "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=CREATE_ONLY),
    _b(AUTHZ, "SubjectAccessReview", "subjectaccessreviews", False, verbs=CREATE_ONLY),
    _b(AUTHZ, "LocalSubjectAccessReview", "localsubjectaccessreviews", True, verbs=CREATE_ONLY),
    _b(AUTHN, "SelfSubjectReview", "selfsubjectreviews", False, verbs=CREATE_ONLY),
)

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(v: str) -> tuple:
    """Kube-aware order (v1 > v1beta2 > v1beta1 > v1alpha1 > others alphabetically), as a sort key."""
    m = _VERSION_RE.match(v)
    if not m:
        return (1, 0, 0, 0, v)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (0, stage, -int(m.group(1)), -int(m.group(3) or 0), v)


def _crd_type(crd: dict[str, Any]) -> ResourceType | None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    if not spec.get("group") or not names.get("kind") or not names.get("plural"):
        return None
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("name")]
    if not versions and spec.get("version"):  # apiextensions v1beta1 CRDs
        versions = [{"name": spec["version"], "served": True, "subresources": spec.get("subresources")}]
    served = [v for v in versions if v.get("served", True)]
    if not served:
        return None
    subs = {s for v in served for s in (v.get("subresources") or spec.get("subresources") or {}) if s == "status"}
    return ResourceType(
        group=spec["group"], kind=names["kind"], plural=names["plural"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        versions=tuple(sorted((v["name"] for v in served), key=version_priority)),
        short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
        subresources=tuple(sorted(subs)), custom=True, singular=names.get("singular") or "",
    )


def _guessed_type(group: str, kind: str, versions: set[str], namespaced: bool) -> ResourceType:
    """A custom kind with objects but no CRD (bundles without any CRD): serve it as its objects say."""
    k = KINDS.get(f"{kind}.{group}")
    return ResourceType(group, kind, k.plural if k else kind.lower() + "s", k.namespaced if k else namespaced,
                        tuple(sorted(versions, key=version_priority)), custom=True)


class Catalog:
    def __init__(self, objects: list[dict[str, Any]]):
        types = list(BUILTINS)
        have = {(t.group, t.kind) for t in types}
        for k in KINDS.values():  # built-ins the tool knows that the table above lacks
            if k.group in CORE_GROUPS and (k.group, k.kind) not in have:
                types.append(ResourceType(k.group, k.kind, k.plural, k.namespaced, k.versions))
                have.add((k.group, k.kind))
        crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"
                and split_api_version(str(o.get("apiVersion")))[0] == "apiextensions.k8s.io"]
        for crd in crds:
            t = _crd_type(crd)
            if t and (t.group, t.kind) not in have:
                types.append(t)
                have.add((t.group, t.kind))
        if not crds:
            seen: dict[tuple[str, str], tuple[set[str], bool]] = {}
            for o in objects:
                group, version = split_api_version(str(o.get("apiVersion")))
                if group and (group, o["kind"]) not in have:
                    vs, _ = seen.setdefault((group, o["kind"]), (set(), bool(o["metadata"].get("namespace"))))
                    vs.add(version)
            types += [_guessed_type(g, k, vs, ns) for (g, k), (vs, ns) in seen.items()]
        self.types = types
        self._by_path = {(t.group, v, t.plural): t for t in types for v in t.versions}
        self._by_kind = {(t.group, t.kind): t for t in types}

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def for_kind(self, group: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, kind))

    def groups(self) -> dict[str, list[str]]:
        """Group -> served versions, preferred first ("" is the core group)."""
        out: dict[str, set[str]] = {}
        for t in self.types:
            out.setdefault(t.group, set()).update(t.versions)
        return {g: sorted(vs, key=version_priority) for g, vs in out.items()}

    def in_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and version in t.versions]
