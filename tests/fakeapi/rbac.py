"""Authorization: RBAC over the bundle's Roles/Bindings (or allow-all), plus deny rules from tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .selectors import match_selector_object

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
# What the bootstrap policy grants every authenticated user (system:discovery, system:basic-user,
# system:public-info-viewer), so a bundle without those roles still works under rbac=True.
BOOTSTRAP_RULES: tuple[dict[str, Any], ...] = (
    {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version", "/version/",
                                           "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*"]},
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
)


@dataclass(frozen=True)
class Attributes:
    user: str
    groups: tuple[str, ...]
    verb: str
    resource: str = ""  # "" = non-resource request (path)
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class Deny:
    verb: str
    resource: str  # may be "pods/log"
    namespace: str | None
    group: str

    def matches(self, a: Attributes) -> bool:
        full = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        return (self.verb in ("*", a.verb) and self.resource in ("*", full) and self.group in ("*", a.group)
                and (self.namespace is None or self.namespace == a.namespace))


def _has(items: list[str] | None, value: str) -> bool:
    return bool(items) and ("*" in items or value in items)  # type: ignore[operator]


def rule_allows(rule: dict[str, Any], a: Attributes) -> bool:
    if not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource:
        return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    if not _has(rule.get("apiGroups"), a.group):
        return False
    full = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    res = rule.get("resources") or []
    if not any(r in ("*", full) or (a.subresource and r == f"*/{a.subresource}") for r in res):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def _subject_matches(s: dict[str, Any], binding_ns: str, user: str, groups: tuple[str, ...]) -> bool:
    kind, name = s.get("kind"), s.get("name")
    if kind == "User":
        return name == user
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        return user == f"system:serviceaccount:{s.get('namespace') or binding_ns}:{name}"
    return False


def _describe(s: dict[str, Any], binding_ns: str) -> str:
    if s.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{s.get("name")}/{s.get("namespace") or binding_ns}"'
    return f'{s.get("kind")} "{s.get("name")}"'


class Authorizer:
    def __init__(self, objects: list[dict[str, Any]], rbac: bool):
        self.rbac = rbac
        self.denies: list[Deny] = []
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for o in objects:
            if str(o.get("apiVersion", "")).startswith("rbac.authorization.k8s.io/"):
                by_kind.setdefault(o["kind"], []).append(o)
        self.roles = {(r["metadata"].get("namespace", ""), r["metadata"].get("name")): r.get("rules") or []
                      for r in by_kind.get("Role", [])}
        self.cluster_roles = _aggregate(by_kind.get("ClusterRole", []))
        self.bindings = by_kind.get("ClusterRoleBinding", []) + by_kind.get("RoleBinding", [])

    def _grants(self, user: str, groups: tuple[str, ...], namespace: str):
        """Yield (rules, reason) for every binding of the user that applies in `namespace`."""
        yield list(BOOTSTRAP_RULES), ""
        for b in self.bindings:
            bns = b["metadata"].get("namespace") or ""
            if bns and bns != namespace:
                continue
            ref = b.get("roleRef") or {}
            rules = (self.cluster_roles.get(ref.get("name"), []) if ref.get("kind") == "ClusterRole"
                     else self.roles.get((bns, ref.get("name")), []))
            for s in b.get("subjects") or []:
                if _subject_matches(s, bns, user, groups):
                    where = f'RoleBinding "{b["metadata"].get("name")}/{bns}"' if bns else \
                        f'ClusterRoleBinding "{b["metadata"].get("name")}"'
                    reason = f'RBAC: allowed by {where} of {ref.get("kind")} "{ref.get("name")}" to {_describe(s, bns)}'
                    yield rules, reason
                    break

    def authorize(self, a: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as RBAC would answer, after the test's deny rules."""
        if any(d.matches(a) for d in self.denies):
            return False, ""
        if not self.rbac or MASTERS in a.groups:
            return True, ""
        for rules, reason in self._grants(a.user, a.groups, a.namespace):
            if any(rule_allows(r, a) for r in rules):
                return True, reason
        return False, ""

    def rules_for(self, user: str, groups: tuple[str, ...], namespace: str) -> tuple[list[dict], list[dict]]:
        """(resourceRules, nonResourceRules) for a SelfSubjectRulesReview."""
        if not self.rbac or MASTERS in groups:
            return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
        res: list[dict] = []
        nonres: list[dict] = []
        for rules, _ in self._grants(user, groups, namespace):
            for r in rules:
                if r.get("nonResourceURLs"):
                    nonres.append({"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]})
                else:
                    res.append({k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if k in r})
        return res, nonres


def _aggregate(cluster_roles: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """ClusterRole name -> rules, with aggregationRule selectors folded in (to a fixed point)."""
    rules = {c["metadata"].get("name"): list(c.get("rules") or []) for c in cluster_roles}
    for _ in range(len(cluster_roles) + 1):
        changed = False
        for c in cluster_roles:
            sels = (c.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            me = c["metadata"].get("name")
            for other in cluster_roles:
                labels = other["metadata"].get("labels") or {}
                if other is c or not any(match_selector_object(s, labels) for s in sels):
                    continue
                for r in rules[other["metadata"].get("name")]:
                    if r not in rules[me]:
                        rules[me].append(r)
                        changed = True
        if not changed:
            break
    return rules

