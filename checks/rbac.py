"""rbac.epp: may the endpoint picker's ServiceAccount read what its version watches?

What each EPP version needs is data (knowledge/rbac.yaml). The answer comes from the API server's
SubjectAccessReview when the live source asked it (`access=`), otherwise from evaluating the
snapshot's Roles, ClusterRoles and bindings (`_rbac.py`); the finding says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import EPP_CAPABILITIES, GATEWAY_ROUTING, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import AccessQuestion, ApiError, DataUnavailable, NotCollected, Snapshot

from . import _k8s as k
from . import _knowledge, _llmd, _rbac, _versions

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE, CLUSTER_ROLE = f"Role.{RBAC_GROUP}", f"ClusterRole.{RBAC_GROUP}"
ROLE_BINDING, CLUSTER_ROLE_BINDING = f"RoleBinding.{RBAC_GROUP}", f"ClusterRoleBinding.{RBAC_GROUP}"
RBAC_KINDS = (ROLE, CLUSTER_ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING)

SERVER = "the API server's SubjectAccessReview"
STATIC = "static evaluation of the snapshot's Roles, ClusterRoles and bindings"


# ---- what an EPP is, by version (shared with inferencepool.py) --------------------------------


@dataclass(frozen=True)
class EppProfile:
    """What knowledge/rbac.yaml says about an EPP image: its family, pool group and RBAC needs."""

    label: str
    pool_group: str
    pool_group_from: str  # "--pool-group" | "the default of <label>"
    rules: tuple[dict[str, Any], ...]
    sources: tuple[str, ...]


def _flatten(rules: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in rules:
        out.extend(_flatten(r) if isinstance(r, list) else [r])
    return out


def epp_profile(epp: _llmd.Epp) -> EppProfile:
    """The rbac.yaml entry for an EPP's image and tag, else the fallback for its flag style."""
    data = _knowledge.load("rbac")
    version = _versions.parse(epp.tag)
    entry = None
    if version is not None:
        entry = next((e for e in data["epp"] if e["image"] in epp.image and _versions.in_range(version, e["versions"])),
                     None)
    if entry is not None:
        label = f"{entry['image']} {_versions.text(version)} (GIE {entry['gie']})" if version else entry["image"]
    else:
        entry = data["fallback"][epp.flag_style]
        label = f"{epp.image or 'unknown image'}, version unknown: GIE {entry['gie']}"
    flag_ok = entry.get("pool_group_flag", True)
    if flag_ok and epp.pool_group:
        group, source = epp.pool_group, "--pool-group"
    else:
        group, source = entry["default_pool_group"], f"the default of {label}"
    return EppProfile(label, group, source, tuple(_flatten(entry["rules"])), tuple(entry.get("sources") or ()))


def epp_pool_namespace(epp: _llmd.Epp) -> tuple[str, bool]:
    """The namespace the EPP looks for its pool in, and whether a flag says so explicitly.

    Without the flag: env POOL_NAMESPACE (GIE v0.5 bindEnvToFlags) or NAMESPACE (GIE >= v1.1),
    else the flag default "default" (llm-d-facts.md §2.1).
    """
    ns = epp.flag("poolNamespace", "pool-namespace")
    if ns:
        return ns, True
    for env in ("POOL_NAMESPACE", "NAMESPACE"):
        for e in epp.container.get("env") or []:
            if not isinstance(e, dict) or e.get("name") != env:
                continue
            if e.get("value"):
                return str(e["value"]), False
            field_path = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            if field_path == "metadata.namespace":
                return epp.namespace, False
    return "default", False


def service_account(epp: _llmd.Epp) -> str:
    spec = k.pod_spec(epp.deployment)
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


# ---- what it needs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    group: str
    resource: str
    verbs: tuple[str, ...]
    namespace: str | None
    severity: str  # fail | warn
    why: str

    @property
    def res(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


def _served(snap: Snapshot, key: str) -> bool | None:
    kind, _, group = key.partition(".")
    try:
        return bool(snap.served_versions(kind, group))
    except DataUnavailable:
        return None


def needs(snap: Snapshot, epp: _llmd.Epp, profile: EppProfile | None = None) -> list[Need]:
    """The rules this EPP needs, with the version's conditions (CRD installed or not) applied."""
    profile = profile or epp_profile(epp)
    pool_ns, _ = epp_pool_namespace(epp)
    selector_mode = not epp.pool_name and "endpoint-selector" in epp.flags  # no pool, no CRD watches
    out: list[Need] = []
    for rule in profile.rules:
        severity, why = str(rule.get("severity", "fail")), str(rule.get("why", ""))
        group = str(rule.get("group", "")).replace("{pool_group}", profile.pool_group)
        if selector_mode and group and rule.get("scope") == "pool":
            continue
        if rule.get("if_served"):
            served = _served(snap, rule["if_served"])
            if served is False:
                continue
            if served is None:  # the snapshot cannot say: ask, but do not fail on it
                severity, why = "warn", f"{why} (if its CRD is installed; the snapshot does not say)"
        if rule.get("unless_served") and _served(snap, rule["unless_served"]):
            continue
        ns = pool_ns if rule.get("scope") == "pool" else None
        for res in rule["resources"]:
            out.append(Need(group, str(res), tuple(rule["verbs"]), ns, severity, why))
    return out


def _subject(epp: _llmd.Epp) -> _rbac.Subject:
    return _rbac.Subject.service_account(epp.namespace, service_account(epp))


def _question(subject: _rbac.Subject, need: Need, verb: str) -> AccessQuestion:
    return AccessQuestion(subject.user, verb, need.resource, need.group, need.namespace, subject.groups)


def _access_questions(snap: Snapshot) -> Iterator[AccessQuestion]:
    """For the live source: one SubjectAccessReview per verb the EPP ServiceAccounts need."""
    for epp in _llmd.epps(snap):
        subject = _subject(epp)
        for need in needs(snap, epp):
            for verb in need.verbs:
                yield _question(subject, need, verb)


# ---- answering --------------------------------------------------------------------------------


@dataclass
class _Answers:
    """Answers to one EPP's questions, and where each came from."""

    denied: list[tuple[Need, str]] = field(default_factory=list)
    granted: dict[str, None] = field(default_factory=dict)  # which bindings granted (static only)
    by: dict[str, int] = field(default_factory=dict)  # SERVER/STATIC -> count
    review_errors: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        used = [m for m in (SERVER, STATIC) if self.by.get(m)]
        return " and ".join(used) if used else STATIC


@k.per_snapshot
def _rbac_model(snap: Snapshot) -> _rbac.Rbac:
    objs = {key: snap.list(key) for key in RBAC_KINDS}
    return _rbac.Rbac(objs[ROLE], objs[CLUSTER_ROLE], objs[ROLE_BINDING], objs[CLUSTER_ROLE_BINDING])


def _static_rbac(snap: Snapshot, namespaces: set[str]) -> _rbac.Rbac:
    """The snapshot's RBAC objects; NotCollected (-> skip) when a kind or a namespace is missing."""
    model = _rbac_model(snap)
    if snap.namespaces is not None:
        missing = sorted(n for n in namespaces if n not in snap.namespaces)
        if missing:
            raise NotCollected(f"Roles and RoleBindings of namespace {', '.join(missing)} were not collected")
    return model


def _answer(snap: Snapshot, subject: _rbac.Subject, wanted: list[Need]) -> _Answers:
    ans = _Answers()
    static: list[tuple[Need, str]] = []
    for need in wanted:
        for verb in need.verbs:
            q = _question(subject, need, verb)
            try:
                allowed = snap.reviewed(q)
            except NotCollected:
                static.append((need, verb))
                continue
            except ApiError as e:
                ans.review_errors.append(str(e))
                static.append((need, verb))
                continue
            ans.by[SERVER] = ans.by.get(SERVER, 0) + 1
            if not allowed:
                ans.denied.append((need, verb))
    if static:
        rbac = _static_rbac(snap, {n.namespace for n, _ in static if n.namespace})
        for need, verb in static:
            ans.by[STATIC] = ans.by.get(STATIC, 0) + 1
            grant = rbac.allows(subject, _rbac.Request(verb, need.resource, need.group, need.namespace))
            if grant is None:
                ans.denied.append((need, verb))
            else:
                ans.granted.setdefault(str(grant))
    return ans


def _describe(items: list[tuple[Need, str]]) -> str:
    """`get,list,watch pods, inferencepools.x in llm-d; create tokenreviews... cluster-wide`."""
    by_where: dict[str | None, dict[str, list[str]]] = {}
    for need, verb in items:
        verbs = by_where.setdefault(need.namespace, {}).setdefault(need.res, [])
        if verb not in verbs:
            verbs.append(verb)
    parts = []
    for ns, res in by_where.items():
        by_verbs: dict[str, list[str]] = {}
        for r, verbs in res.items():
            by_verbs.setdefault("/".join(verbs), []).append(r)
        what = "; ".join(f"{v} {', '.join(rs)}" for v, rs in by_verbs.items())
        parts.append(f"{what} {'in namespace ' + ns if ns else 'cluster-wide'}")
    return "; ".join(parts)


def _remediation(epp: _llmd.Epp, sa: str, missing: list[tuple[Need, str]]) -> str:
    name = f"{epp.name}-epp-rbac" if not epp.name.endswith("epp") else f"{epp.name}-rbac"
    cmds = []
    namespaced = [(n, v) for n, v in missing if n.namespace]
    for ns in dict.fromkeys(n.namespace for n, _ in namespaced):
        verbs = sorted({v for n, v in namespaced if n.namespace == ns})
        res = ",".join(dict.fromkeys(n.res for n, _ in namespaced if n.namespace == ns))
        cmds.append(f"kubectl create role {name} -n {ns} --verb={','.join(verbs)} --resource={res}")
        cmds.append(f"kubectl create rolebinding {name} -n {ns} --role={name} --serviceaccount={epp.namespace}:{sa}")
    cluster = [(n, v) for n, v in missing if not n.namespace]
    if cluster:
        res = ",".join(dict.fromkeys(n.res for n, _ in cluster))
        cmds.append(f"kubectl create clusterrole {name}-auth --verb=create --resource={res}")
        cmds.append(f"kubectl create clusterrolebinding {name}-auth --clusterrole={name}-auth "
                    f"--serviceaccount={epp.namespace}:{sa}")
    tail = "" if sa != "default" else (
        f" Better: give the EPP its own ServiceAccount (spec.template.spec.serviceAccountName on "
        f"Deployment {epp.namespace}/{epp.name}) and bind the rules to it.")
    return "Grant the EPP ServiceAccount the rules its version needs: " + " && ".join(cmds) + "." + tail


def _lost(snap: Snapshot, epp: _llmd.Epp, profile: EppProfile) -> tuple[str, ...]:
    """An EPP that cannot sync stays not Ready: its features go, and routing too when a route sends
    traffic through its pool with FailClose."""
    ns, _ = epp_pool_namespace(epp)
    for pool in _llmd.pools(snap):
        if pool.name == epp.pool_name and pool.namespace == ns and pool.group == profile.pool_group \
                and _llmd.routes_to_pool(snap, pool) and pool.epp_failure_mode != "FailOpen":
            return (*EPP_CAPABILITIES, GATEWAY_ROUTING)
    return EPP_CAPABILITIES


@check(
    "rbac.epp",
    title="Endpoint picker RBAC",
    area="rbac",
    severity=Severity.CRITICAL,
    inputs=(_llmd.DEPLOYMENT, "ServiceAccount", *RBAC_KINDS, *_llmd.POOL_KEYS, _llmd.HTTPROUTE),
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    access=_access_questions,
    remediation=(
        "Bind the EPP ServiceAccount to a Role in the pool's namespace allowing get/list/watch on pods and "
        "the inference kinds its version watches (and a ClusterRole for tokenreviews/subjectaccessreviews "
        "create); see the upstream rbac.yaml of your EPP release."
    ),
)
def rbac_epp(ctx: CheckContext) -> Iterator[Finding]:
    """The EPP ServiceAccount may get/list/watch pods and the inference kinds its version watches,
    and create tokenreviews/subjectaccessreviews (metrics auth)."""
    snap = ctx.snapshot
    epps = _llmd.epps(snap)
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        profile = epp_profile(epp)
        sa = service_account(epp)
        subject = _subject(epp)
        ref = f"ServiceAccount/{epp.namespace}/{sa}"
        wanted = needs(snap, epp, profile)
        ans = _answer(snap, subject, wanted)
        who = f"ServiceAccount {epp.namespace}/{sa} of {epp.ref}"
        evidence = [f"EPP image {epp.image}: rules of {profile.label}; sources: {'; '.join(profile.sources)}"]
        if sa == "default":
            evidence.append("the EPP runs as the namespace's default ServiceAccount (no spec.serviceAccountName)")
        sas = snap.maybe_list("ServiceAccount", epp.namespace)
        if sas is not None and not any(k.name(s) == sa for s in sas):
            evidence.append(f"ServiceAccount {epp.namespace}/{sa} does not exist: the Deployment cannot create pods")
        evidence += [f"SubjectAccessReview failed, used the static evaluation: {e}" for e in ans.review_errors[:3]]
        fails = [(n, v) for n, v in ans.denied if n.severity == "fail"]
        warns = [(n, v) for n, v in ans.denied if n.severity != "fail"]
        if ans.by.get(STATIC):
            try:
                rbac = _static_rbac(snap, set())
                pool_ns = epp_pool_namespace(epp)[0]
                bound = rbac.bindings_of(subject, pool_ns)
                dangling = rbac.dangling(subject, pool_ns)
            except DataUnavailable:
                bound, dangling = [], []
            if ans.denied:
                evidence.append("bindings naming this ServiceAccount: " + (
                    ", ".join(str(g) for g in bound) if bound else "none"))
                evidence += [f"{g.binding} refers to {g.role}, which does not exist" for g in dangling]
        if fails:
            why = "; ".join(dict.fromkeys(n.why for n, _ in fails if n.why))
            yield Finding(
                Status.FAIL,
                f"{who} may not {_describe(fails)} (by {ans.method}): the EPP's informers get "
                f"'is forbidden' and it never syncs its pool",
                ref,
                tuple(evidence + ([f"needed because {why}"] if why else [])
                      + ([f"also missing (metrics auth only): {_describe(warns)}"] if warns else [])),
                remediation=_remediation(epp, sa, fails + warns),
                capabilities=_lost(snap, epp, profile),
            )
            continue
        if warns:
            yield Finding(
                Status.WARN,
                f"{who} may not {_describe(warns)} (by {ans.method}): "
                + "; ".join(dict.fromkeys(n.why for n, _ in warns if n.why)),
                ref,
                tuple(evidence),
                remediation=_remediation(epp, sa, warns),
                capabilities=(),
            )
            continue
        granted = [f"granted by {g}" for g in ans.granted]
        all_needs = [(n, v) for n in wanted for v in n.verbs]
        yield Finding(
            Status.PASS,
            f"{who} may {_describe(all_needs)} (by {ans.method})",
            ref,
            tuple(evidence + granted),
        )
