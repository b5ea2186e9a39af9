"""inferencemodel.refs: each InferenceModel / InferenceObjective poolRef names an existing pool whose
endpoint picker reads that kind; the model names it serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.kinds import (
    DEPLOYMENT,
    HTTPROUTE,
    INFERENCE,
    INFERENCE_MODEL,
    OBJECTIVE_LLMD,
    OBJECTIVE_X,
    POD,
    POOL_KEYS,
    X_INFERENCE,
)
from llmd_doctor.memo import distinct_containers
from llmd_doctor.model import GATEWAY_ROUTING, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.snapshot import NotCollected, Snapshot
from llmd_doctor.topology import Pool, Topology, topology
from llmd_doctor.topology.servers import model_names, serving_containers

from .._lib.epp_needs import watches

Obj = dict[str, Any]
KINDS = (INFERENCE_MODEL, OBJECTIVE_X, OBJECTIVE_LLMD)
# poolRef.group defaults, from the CRDs (gie-v0.5.1 inferencemodels, gie-v1.0.0 inferenceobjectives,
# llm-d-router-v0.10.0 llm-d.ai_inferenceobjectives; copies in tests/upstream).
POOLREF_GROUP_DEFAULT = {INFERENCE_MODEL: X_INFERENCE, OBJECTIVE_X: INFERENCE, OBJECTIVE_LLMD: INFERENCE}


def _objects(snap: Snapshot) -> tuple[list[tuple[str, Obj]], list[str]]:
    objs: list[tuple[str, Obj]] = []
    unknown = []
    for key in KINDS:
        gap = snap.gap(key)
        if gap is not None:
            unknown.append(key)
        elif key in snap.collected:
            objs += [(key, o) for o in snap.list(key)]
    return objs, unknown


def _served_models(pool: Pool) -> set[str] | None:
    """Names the pool's pods serve; None when any selected pod's vLLM arguments cannot be read."""
    if not pool.pods.complete or not pool.pods:
        return None
    names: set[str] = set()
    for p in distinct_containers(pool.pods):  # what a pod serves is read from its containers only
        found = [n for c in serving_containers(p) if (n := model_names(c))]
        if not found:
            return None
        for n in found:
            names.update(n)
    return names


@check(
    "inferencemodel.refs",
    title="InferenceModel / InferenceObjective references",
    area="inference",
    severity=Severity.MAJOR,
    inputs=(*KINDS, *POOL_KEYS, POD, DEPLOYMENT, HTTPROUTE),
    requires=("cluster.access",),
    capabilities=(GATEWAY_ROUTING,),
    explains=("e2e.chat-completion", "e2e.models"),
    why="An InferenceModel the endpoint picker does not see means requests for its model are rejected; an "
        "objective on a missing pool or a kind the EPP does not read has no effect.",
    remediation="Set spec.poolRef (name, and group when the pool is not in the default group) to an existing "
    "InferencePool in the same namespace.",
)
def inferencemodel_refs(ctx: CheckContext) -> Iterator[Finding]:
    """Each InferenceModel / InferenceObjective poolRef names an existing pool; the served model names."""
    snap = ctx.snapshot
    objs, unknown = _objects(snap)
    if not objs:
        if unknown:
            raise snap.gap(unknown[0]) or NotCollected(f"{' and '.join(unknown)} objects were not collected")
        yield Finding(Status.SKIP, "no InferenceModel or InferenceObjective objects")
        return
    for key in unknown:
        yield Finding.unverifiable(snap.gap(key) or NotCollected(key), f"{key} objects could not be read")
    topo = topology(snap)
    for key, o in objs:
        yield _judge(snap, topo, key, o)


def _judge(snap: Snapshot, topo: Topology, key: str, o: Obj) -> Finding:
    spec = o.get("spec") or {}
    ref = spec.get("poolRef") or {}
    ns = k8s.namespace(o)
    group = str(ref.get("group") or POOLREF_GROUP_DEFAULT[key])
    kind = str(ref.get("kind") or "InferencePool")
    name = str(ref.get("name") or "")
    me = f"{o.get('kind')}/{ns}/{k8s.name(o)}"
    api = key.partition(".")[2]
    is_model = key == INFERENCE_MODEL
    targets = [str(t.get("name")) for t in spec.get("targetModels") or [] if t.get("name")]
    what = (f"model {spec.get('modelName')}" + (f" -> {', '.join(targets)}" if targets else "")
            + (f", criticality {spec['criticality']}" if spec.get("criticality") else "")) if is_model \
        else f"priority {spec.get('priority', 0)}"
    evidence = [f"{me} ({api}): {what}; poolRef {group}/{kind} {name}"]
    if kind != "InferencePool":
        return Finding(Status.WARN, f"{me}: poolRef kind {kind} is not InferencePool", me, tuple(evidence),
                       capabilities=())
    found = topo.pool(group, ns, name)
    if found.unknown:
        return Finding.unverifiable(found.gap, f"{me}: InferencePool {ns}/{name} ({group}) could not be looked up", me)
    pool = found.target
    if pool is None:
        other = [p for p in topo.pools if p.namespace == ns and p.name == name]
        hint = f"; a pool of that name exists in group {other[0].group}: set poolRef.group" if other else ""
        if is_model:
            return Finding(Status.FAIL, f"{me}: poolRef names InferencePool {ns}/{name} ({group}), which does not "
                           f"exist: the EPP does not serve model {spec.get('modelName')}{hint}", me, tuple(evidence),
                           capabilities=(GATEWAY_ROUTING,))
        return Finding(Status.WARN, f"{me}: poolRef names InferencePool {ns}/{name} ({group}), which does not "
                       f"exist: its priority is applied nowhere{hint}", me, tuple(evidence), capabilities=())
    # Does the pool's endpoint picker read this kind at all?
    epps = list(pool.epps)
    ignoring = [e for e in epps if not watches(snap, e, key)]
    if epps and len(ignoring) == len(epps):
        e = ignoring[0]
        return Finding(Status.WARN, f"{me} refers to {pool.ref}, but its endpoint picker {e.ref} ({e.label}) does not "
                       f"read {key} objects: this one has no effect", me, tuple(evidence), capabilities=(),
                       remediation="Use the objective/model kind your EPP version reads (InferenceModel for GIE <= "
                       "v0.5, x-k8s.io InferenceObjective for GIE v1.x, llm-d.ai InferenceObjective for llm-d-router).")
    if is_model:
        served = _served_models(pool)
        wanted = targets or [str(spec.get("modelName"))]
        if served is not None and not any(w in served for w in wanted):
            return Finding(Status.WARN, f"{me}: model {', '.join(wanted)} is not served by the pods of {pool.ref} "
                           f"(they serve {', '.join(sorted(served))}): requests for it fail at the model server",
                           me, tuple(evidence), capabilities=(),
                           remediation="Make modelName/targetModels match vLLM's --served-model-name (or a LoRA "
                           "adapter name).")
        return Finding(Status.PASS, f"{me} serves model {', '.join(wanted)} through {pool.ref}", me, tuple(evidence))
    return Finding(Status.PASS, f"{me} ({api}, {what}) applies to {pool.ref}", me, tuple(evidence))
