"""Policies an implementation needs attached to each InferencePool it routes (GKE's HealthCheckPolicy):
one that targets the pool must exist, and say it is attached when its controller writes a condition."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API, Finding, Status, obj_ref
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Gateway
from llmd_doctor.topology.pools import Pool

CAPS = (GATEWAY_ROUTING, OPENAI_API)


def _targets(policy: dict, pool: Pool) -> bool:
    ref = (policy.get("spec") or {}).get("targetRef") or {}
    return ref.get("kind") == "InferencePool" and ref.get("name") == pool.name and \
        str(ref.get("group") or "") in ("", pool.group) and str(ref.get("namespace") or pool.namespace) == pool.namespace


def judge(snap: Snapshot, g: Gateway, facts: list[str]) -> Iterator[Finding]:
    """One finding per pool of `g` that lacks a required policy or whose policy is not attached; the
    number of problems found is the generator's return value."""
    impl = g.implementation
    if impl is None:
        return 0
    pools = {id(p): p for r in g.routes for b in r.pool_backends if (p := b.pool.target) is not None}
    problems = 0
    for need in impl.required_pool_policies():
        key, kind = str(need["key"]), str(need["key"]).split(".", 1)[0]
        for pool in pools.values():
            gap = snap.gap(key, pool.namespace)
            if gap is not None:
                problems += 1
                yield Finding.unverifiable(gap, f"{pool.ref}: whether a {kind} targets it could not be read", pool.ref)
                continue
            listed = snap.list(key, pool.namespace) if key in snap.collected else []  # not served: none
            mine = [o for o in listed if _targets(o, pool)]
            if not mine:
                problems += 1
                yield Finding(Status.FAIL, f"{pool.ref} is routed by {g.ref} ({impl.title}), but no {kind} targets "
                              f"it: {str(need.get('missing', '')).strip()}", pool.ref,
                              (f"{impl.title} needs a {kind} per InferencePool ({str(need.get('source', '')).strip()})",),
                              remediation=str(need.get("fix", "")).strip() or None, capabilities=CAPS)
                continue
            attached = k8s.condition(mine[0], "Attached")
            if attached is not None and attached.get("status") == "False":
                problems += 1
                yield Finding(Status.FAIL, f"{obj_ref(mine[0])} targets {pool.ref} but is not attached "
                              f"({k8s.cond_text(attached, 'Attached')})", obj_ref(mine[0]), capabilities=CAPS,
                              remediation=f"`kubectl describe {kind.lower()} -n {pool.namespace} {k8s.name(mine[0])}`.")
                continue
            facts.append(f"{obj_ref(mine[0])} targets {pool.ref}")
    return problems
