"""A pure Kubernetes RBAC evaluator over Role/ClusterRole/RoleBinding/ClusterRoleBinding objects.

It answers what the API server's RBAC authorizer would answer for a request, from the objects
alone: bindings to Roles and ClusterRoles, ClusterRole aggregation (`aggregationRule`),
ServiceAccount/User/Group subjects, `*` wildcards, subresources and `resourceNames`. Other
authorizers (webhooks, Node, OpenShift's) are invisible here, which is why a live run prefers the
server's SubjectAccessReview.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s as k
from llmd_doctor import memo

Obj = dict[str, Any]

AUTHENTICATED = "system:authenticated"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"


@dataclass(frozen=True)
class Subject:
    """Who asks: a user name and the groups the authenticator gives it."""

    user: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> Subject:
        """A ServiceAccount's identity, with the groups every SA token carries."""
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            (ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED),
        )

    @property
    def service_account_ref(self) -> tuple[str, str] | None:
        """(namespace, name) when the user is a ServiceAccount."""
        parts = self.user.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
            return parts[2], parts[3]
        return None


@dataclass(frozen=True)
class Request:
    """A resource request (namespace None = cluster-wide) or, with `path`, a non-resource one."""

    verb: str
    resource: str = ""
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    path: str = ""

    def __str__(self) -> str:
        if not self.resource:
            return f"{self.verb} {self.path}"
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        res = f"{res}.{self.group}" if self.group else res
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.verb} {res}{where}"


@dataclass(frozen=True)
class Grant:
    """Which binding gave a permission, and through which role."""

    binding: str  # "RoleBinding/ns/name" | "ClusterRoleBinding/name"
    role: str  # "Role/ns/name" | "ClusterRole/name"

    def __str__(self) -> str:
        return f"{self.binding} -> {self.role}"


@dataclass
class Rbac:
    roles: list[Obj] = field(default_factory=list)
    cluster_roles: list[Obj] = field(default_factory=list)
    role_bindings: list[Obj] = field(default_factory=list)
    cluster_role_bindings: list[Obj] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._role_rules = {(k.namespace(r), k.name(r)): _rules(r) for r in self.roles}
        self._cluster_rules = aggregate(self.cluster_roles)
        self._bindings_by_ns: dict[str, list[Obj]] = {}
        for b in self.role_bindings:
            self._bindings_by_ns.setdefault(k.namespace(b), []).append(b)
        # Cluster-wide grants per subject: every question of a subject (a dozen per EPP) reads them.
        self._cluster_grants: dict[tuple[str, tuple[str, ...]], list[tuple[list[Obj], Grant]]] = {}
        self._ns_grants: dict[tuple[str, tuple[str, ...], str], list[tuple[list[Obj], Grant]]] = {}

    # ---- questions ------------------------------------------------------------------------

    def allows(self, subject: Subject, req: Request) -> Grant | None:
        """The first binding that allows the request, or None when RBAC denies it."""
        for rules, grant in self._grants(subject, req.namespace):
            for r in rules:
                if _compiled(r).allows(req):
                    return grant
        return None

    def bindings_of(self, subject: Subject, namespace: str | None = None) -> list[Grant]:
        """Every binding naming the subject (in `namespace`, plus cluster-wide ones)."""
        return [g for _, g in self._grants(subject, namespace, include_dangling=True)]

    def dangling(self, subject: Subject, namespace: str | None = None) -> list[Grant]:
        """Bindings of the subject whose role does not exist (they grant nothing)."""
        out = []
        for rules, g in self._grants(subject, namespace, include_dangling=True):
            if rules is _MISSING:
                out.append(g)
        return out

    # ---- internals ------------------------------------------------------------------------

    def _grants(
        self, subject: Subject, namespace: str | None, include_dangling: bool = False
    ) -> Iterator[tuple[list[Obj], Grant]]:
        for rules, grant in self._cluster_grants_of(subject):
            if rules is not _MISSING or include_dangling:
                yield rules, grant
        if namespace is None:  # RoleBindings never grant cluster-wide requests
            return
        for rules, grant in self._namespace_grants_of(subject, namespace):
            if rules is not _MISSING or include_dangling:
                yield rules, grant

    def _namespace_grants_of(self, subject: Subject, namespace: str) -> list[tuple[list[Obj], Grant]]:
        """The RoleBindings of `namespace` naming the subject, with their rules: asked once per subject
        and namespace (an EPP's dozen questions all read the same ones)."""
        key = (subject.user, tuple(subject.groups), namespace)
        found = self._ns_grants.get(key)
        if found is not None:
            return found
        found = self._ns_grants[key] = []
        for b in self._bindings_by_ns.get(namespace, []):
            bns = k.namespace(b)
            if not _binds(b, subject, bns):
                continue
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                rules = self._cluster_rules.get(str(ref.get("name")), _MISSING)
                role = f"ClusterRole/{ref.get('name')}"
            elif ref.get("kind") == "Role":
                rules = self._role_rules.get((bns, str(ref.get("name"))), _MISSING)
                role = f"Role/{bns}/{ref.get('name')}"
            else:
                continue
            found.append((rules, Grant(f"RoleBinding/{bns}/{k.name(b)}", role)))
        return found

    def _cluster_grants_of(self, subject: Subject) -> list[tuple[list[Obj], Grant]]:
        key = (subject.user, tuple(subject.groups))
        found = self._cluster_grants.get(key)
        if found is None:
            found = self._cluster_grants[key] = []
            for b in self.cluster_role_bindings:
                ref = b.get("roleRef") or {}
                if ref.get("kind") == "ClusterRole" and _binds(b, subject, None):
                    found.append((self._cluster_rules.get(str(ref.get("name")), _MISSING),
                                  Grant(f"ClusterRoleBinding/{k.name(b)}", f"ClusterRole/{ref.get('name')}")))
        return found


_MISSING: list[Obj] = []  # identity marker: a binding whose role does not exist


def _rules(role: Obj) -> list[Obj]:
    return [r for r in role.get("rules") or [] if isinstance(r, dict)]


def _binds(binding: Obj, subject: Subject, binding_ns: str | None) -> bool:
    return any(subject_matches(s, subject, binding_ns) for s in binding.get("subjects") or [] if isinstance(s, dict))


def subject_matches(s: Obj, subject: Subject, binding_ns: str | None) -> bool:
    """Does a binding's subject entry name this identity? (SA subjects default to the binding's namespace,
    as kustomize and Helm fill them; a ClusterRoleBinding SA subject without a namespace names nobody.)"""
    kind, name = s.get("kind"), s.get("name")
    if kind == "User":
        return name == subject.user
    if kind == "Group":
        return name in subject.groups
    if kind == "ServiceAccount":
        ns = s.get("namespace") or binding_ns
        return bool(ns) and subject.user == f"system:serviceaccount:{ns}:{name}"
    return False


def _has(values: Iterable[Any] | None, value: str) -> bool:
    vals = [str(v) for v in values or []]
    return "*" in vals or value in vals


@dataclass(frozen=True)
class _Rule:
    """A PolicyRule's lists as sets, made once per rule object: `rule_allows` for the many questions
    asked of the same few roles (a dozen per EPP, 500 EPPs on issue #15's cluster)."""

    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str]
    rule: Obj

    def allows(self, req: Request) -> bool:
        if req.verb not in self.verbs and "*" not in self.verbs:
            return False
        if not req.resource:
            return rule_allows(self.rule, req)  # non-resource URLs: rare, read as written
        if req.group not in self.groups and "*" not in self.groups:
            return False
        full = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
        res = self.resources
        if not ("*" in res or full in res or (req.subresource and f"*/{req.subresource}" in res)):
            return False
        return not self.names or (req.name is not None and req.name in self.names)


@memo.per_object
def _compiled(rule: Obj) -> _Rule:
    def strs(key: str) -> frozenset[str]:
        return frozenset(str(v) for v in rule.get(key) or [])

    return _Rule(strs("verbs"), strs("apiGroups"), strs("resources"), strs("resourceNames"), rule)


def rule_allows(rule: Obj, req: Request) -> bool:
    """One PolicyRule against one request, as the RBAC authorizer matches it."""
    if not _has(rule.get("verbs"), req.verb):
        return False
    if not req.resource:
        return any(
            u == "*" or u == req.path or (u.endswith("*") and req.path.startswith(u[:-1]))
            for u in (str(x) for x in rule.get("nonResourceURLs") or [])
        )
    if not _has(rule.get("apiGroups"), req.group):
        return False
    full = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    resources = [str(r) for r in rule.get("resources") or []]
    if not any(r in ("*", full) or (req.subresource and r == f"*/{req.subresource}") for r in resources):
        return False
    names = [str(n) for n in rule.get("resourceNames") or []]
    # A rule limited to names never matches a request without a name (list, watch, create).
    return not names or (req.name is not None and req.name in names)


def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    # An empty clusterRoleSelector selects every ClusterRole (metav1.LabelSelectorAsSelector).
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return True
    return k.match_selector(selector, labels)


def aggregate(cluster_roles: list[Obj]) -> dict[str, list[Obj]]:
    """ClusterRole name -> rules, with `aggregationRule.clusterRoleSelectors` folded in to a fixed point.

    The aggregation controller overwrites an aggregated role's rules with the union of the selected
    roles' rules; a captured cluster already shows that union, a hand-written bundle may not, so both
    the role's own rules and the selected ones count.
    """
    rules = {k.name(c): _rules(c) for c in cluster_roles}
    for _ in range(len(cluster_roles) + 1):
        changed = False
        for c in cluster_roles:
            selectors = [s for s in (c.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
                         if isinstance(s, dict)]
            if not selectors:
                continue
            mine = rules[k.name(c)]
            for other in cluster_roles:
                if other is c or not any(_selector_matches(s, k.labels(other)) for s in selectors):
                    continue
                for r in rules[k.name(other)]:
                    if r not in mine:
                        mine.append(r)
                        changed = True
        if not changed:
            break
    return rules
