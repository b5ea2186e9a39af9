"""rbac.epp: may the endpoint picker's ServiceAccount read what its release watches?

What each release needs is data (knowledge/epp_releases.yaml `rbac`). The answer comes from the API
server's SubjectAccessReview when the live source asked it (`access=`), otherwise from evaluating the
snapshot's Roles, ClusterRoles and bindings; the finding says which.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.kinds import DEPLOYMENT, HTTPROUTE, POOL_KEYS, RBAC_KINDS, SERVICE_ACCOUNT
from llmd_doctor.model import EPP_CAPABILITIES, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import AccessQuestion, DataUnavailable, Snapshot
from llmd_doctor.topology import Epp, topology

from .._lib.epp_needs import needs
from ._answers import STATIC, answer, describe, question, remediation, static_rbac, subject


def _access_questions(snap: Snapshot) -> Iterator[AccessQuestion]:
    """For the live source: one SubjectAccessReview per verb the EPP ServiceAccounts need."""
    for epp in topology(snap).epps:
        sub = subject(epp)
        for need in needs(snap, epp):
            for verb in need.verbs:
                yield question(sub, need, verb)


@check(
    "rbac.epp",
    title="Endpoint picker RBAC",
    area="rbac",
    severity=Severity.CRITICAL,
    inputs=(DEPLOYMENT, SERVICE_ACCOUNT, *RBAC_KINDS, *POOL_KEYS, HTTPROUTE),
    requires=("cluster.access",),
    capabilities=EPP_CAPABILITIES,
    access=_access_questions,
    explains=("epp.logs", "epp.deployment", "inferencepool.endpoint-picker", "e2e.chat-completion", "e2e.routing"),
    why="An EPP whose informers get 'is forbidden' never syncs its pool: it stays not Ready and routes nothing.",
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
    topo = topology(snap)
    epps = topo.epps.require()
    if not epps:
        yield Finding(Status.SKIP, "no endpoint-picker Deployment found (no EPP image or pool flags in any Deployment)")
        return
    for epp in epps:
        yield _judge(snap, epp, topo.impact_of_epp(epp))


def _judge(snap: Snapshot, epp: Epp, lost: tuple[str, ...]) -> Finding:
    sa = epp.service_account
    sub = subject(epp)
    ref = f"ServiceAccount/{epp.namespace}/{sa}"
    wanted = needs(snap, epp)
    ans = answer(snap, sub, wanted)
    who = f"ServiceAccount {epp.namespace}/{sa} of {epp.ref}"
    facts = epp.facts
    release = epp.label if epp.release else f"an unknown release ({facts.flag_style} flags: GIE {facts.gie})"
    evidence = [f"EPP image {epp.image}: rules of {release}; sources: {'; '.join(facts.sources)}"]
    if sa == "default":
        evidence.append("the EPP runs as the namespace's default ServiceAccount (no spec.serviceAccountName)")
    if snap.gap(SERVICE_ACCOUNT, epp.namespace) is None and snap.get(SERVICE_ACCOUNT, epp.namespace, sa) is None:
        evidence.append(f"ServiceAccount {epp.namespace}/{sa} does not exist: the Deployment cannot create pods")
    evidence += [f"SubjectAccessReview failed, used the static evaluation: {e}" for e in ans.review_errors[:3]]
    fails = [(n, v) for n, v in ans.denied if n.severity == "fail"]
    warns = [(n, v) for n, v in ans.denied if n.severity != "fail"]
    if ans.by.get(STATIC) and ans.denied:
        try:
            rbac = static_rbac(snap, set())
            bound = rbac.bindings_of(sub, epp.target.namespace)
            dangling = rbac.dangling(sub, epp.target.namespace)
        except DataUnavailable:
            bound, dangling = [], []
        evidence.append("bindings naming this ServiceAccount: " + (", ".join(str(g) for g in bound) if bound
                                                                    else "none"))
        evidence += [f"{g.binding} refers to {g.role}, which does not exist" for g in dangling]
    if fails:
        why = "; ".join(dict.fromkeys(n.why for n, _ in fails if n.why))
        return Finding(
            Status.FAIL,
            f"{who} may not {describe(fails)} (by {ans.method}): the EPP's informers get 'is forbidden' and it "
            "never syncs its pool",
            ref,
            tuple(evidence + ([f"needed because {why}"] if why else [])
                  + ([f"also missing (metrics auth only): {describe(warns)}"] if warns else [])),
            remediation=remediation(epp, fails + warns), capabilities=lost,
        )
    if warns:
        return Finding(Status.WARN, f"{who} may not {describe(warns)} (by {ans.method}): "
                       + "; ".join(dict.fromkeys(n.why for n, _ in warns if n.why)), ref, tuple(evidence),
                       remediation=remediation(epp, warns), capabilities=())
    granted = [f"granted by {g}" for g in ans.granted]
    all_needs = [(n, v) for n in wanted for v in n.verbs]
    return Finding(Status.PASS, f"{who} may {describe(all_needs)} (by {ans.method})", ref, tuple(evidence + granted))

