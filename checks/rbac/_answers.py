"""Answering "may this ServiceAccount do that?": the API server's SubjectAccessReview when the live
source asked it, else a static evaluation of the snapshot's RBAC objects (llmd_doctor.rbac_eval)."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmd_doctor import rbac_eval
from llmd_doctor.kinds import CLUSTER_ROLE, CLUSTER_ROLE_BINDING, RBAC_KINDS, ROLE, ROLE_BINDING
from llmd_doctor.snapshot import AccessQuestion, ApiError, NotCollected, Snapshot
from llmd_doctor.topology import Epp

from .._lib.epp_needs import Need

SERVER = "the API server's SubjectAccessReview"
STATIC = "static evaluation of the snapshot's Roles, ClusterRoles and bindings"


def subject(epp: Epp) -> rbac_eval.Subject:
    return rbac_eval.Subject.service_account(epp.namespace, epp.service_account)


def question(sub: rbac_eval.Subject, need: Need, verb: str) -> AccessQuestion:
    return AccessQuestion(sub.user, verb, need.resource, need.group, need.namespace, sub.groups)


@dataclass
class Answers:
    """Answers to one EPP's questions, and where each came from."""

    denied: list[tuple[Need, str]] = field(default_factory=list)
    granted: dict[str, None] = field(default_factory=dict)  # which bindings granted (static only)
    by: dict[str, int] = field(default_factory=dict)  # SERVER/STATIC -> count
    review_errors: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        used = [m for m in (SERVER, STATIC) if self.by.get(m)]
        return " and ".join(used) if used else STATIC


def static_rbac(snap: Snapshot, namespaces: set[str]) -> rbac_eval.Rbac:
    """The snapshot's RBAC objects; NotCollected (-> skip) when a kind or a namespace is missing."""
    model: rbac_eval.Rbac = snap.derive("rbac-model", lambda: rbac_eval.Rbac(
        snap.list(ROLE), snap.list(CLUSTER_ROLE), snap.list(ROLE_BINDING), snap.list(CLUSTER_ROLE_BINDING)))
    for key in RBAC_KINDS:
        if (gap := snap.gap(key)) is not None:
            raise gap
    if snap.namespaces is not None:
        missing = sorted(n for n in namespaces if n not in snap.namespaces)
        if missing:
            raise NotCollected(f"Roles and RoleBindings of namespace {', '.join(missing)} were not collected")
    return model


def answer(snap: Snapshot, sub: rbac_eval.Subject, wanted: list[Need]) -> Answers:
    ans = Answers()
    asked = [(need, verb) for need in wanted for verb in need.verbs]
    # No review was made (a bundle collected without them, or none asked): all static, without raising
    # a NotCollected per question.
    static = _reviewed(snap, sub, asked, ans) if snap.access else asked
    if static:
        rbac = static_rbac(snap, {n.namespace for n, _ in static if n.namespace})
        for need, verb in static:
            ans.by[STATIC] = ans.by.get(STATIC, 0) + 1
            grant = rbac.allows(sub, rbac_eval.Request(verb, need.resource, need.group, need.namespace))
            if grant is None:
                ans.denied.append((need, verb))
            else:
                ans.granted.setdefault(str(grant))
    return ans


def _reviewed(snap: Snapshot, sub: rbac_eval.Subject, asked: list[tuple[Need, str]],
              ans: Answers) -> list[tuple[Need, str]]:
    """The API server's answers, into `ans`; the questions it did not answer (to evaluate statically)."""
    static: list[tuple[Need, str]] = []
    for need, verb in asked:
        q = question(sub, need, verb)
        if q not in snap.access:  # not asked (most, past the first reviews): no NotCollected per question
            static.append((need, verb))
            continue
        try:
            allowed = snap.reviewed(q)
        except ApiError as e:  # the review failed
            ans.review_errors.append(str(e))
            static.append((need, verb))
            continue
        ans.by[SERVER] = ans.by.get(SERVER, 0) + 1
        if not allowed:
            ans.denied.append((need, verb))
    return static


def describe(items: list[tuple[Need, str]]) -> str:
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


def remediation(epp: Epp, missing: list[tuple[Need, str]]) -> str:
    sa = epp.service_account
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
