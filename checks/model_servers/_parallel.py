"""vLLM's parallelism against the GPUs its container is given: one engine needs tensor x pipeline parallel
size GPUs, and a pod running several data-parallel engines needs that times its local engines. A container
that sees fewer GPUs makes vLLM exit at start-up. An engine spread over several pods (Ray, multi-node
flags, LeaderWorkerSet) holds only part of the product per pod, so it is not compared."""

from __future__ import annotations

from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import ServerGroup, Topology
from llmd_doctor.vllm_facts import facts

from ._spec import VllmSpec, gpus, pod_has_claims

TP, PP, DP, DPL = "--tensor-parallel-size", "--pipeline-parallel-size", "--data-parallel-size", "--data-parallel-size-local"


def spans_pods(g: ServerGroup, spec: VllmSpec) -> str | None:
    """Why one engine may span several pods (None when it runs in one)."""
    f = facts()
    given = [flag for flag in f.multi_node_flags if spec.given(flag)]
    if given:
        return f"{', '.join(given)} given"
    flag, value = f.multi_node_executor
    if spec.flags.get(flag) == value:
        return f"{flag} {value}"
    if g.owner_kind == "LeaderWorkerSet":
        return "a LeaderWorkerSet runs it"
    return None


def judge(topo: Topology, g: ServerGroup, spec: VllmSpec) -> Finding | str | None:
    """A fail when the product exceeds the container's GPUs, else a line for the pass summary."""
    have = gpus(spec.container)
    if not have:
        return f"{g.ref}: GPUs from ResourceClaims, not counted" if pod_has_claims(g.template) else None
    multi = spans_pods(g, spec)
    if multi:
        return f"{g.ref}: one engine spans several pods ({multi}); GPUs per pod not compared"
    sizes = {flag: spec.int_value(flag) for flag in (TP, PP, DP)}
    local = spec.int_value(DPL) if spec.given(DPL) else sizes[DP]
    unknown = [how for n, how in (*sizes.values(), local) if n is None]
    if unknown:
        return f"{g.ref}: parallelism not known from the spec ({unknown[0]})"
    tp, pp, lp = sizes[TP][0] or 1, sizes[PP][0] or 1, local[0] or 1
    need = tp * pp * lp
    total = sum(have.values())
    res = ", ".join(f"{q} {n}" for n, q in have.items())
    expr = f"--tensor-parallel-size {tp} × --pipeline-parallel-size {pp}" + (
        f" × {lp} local data-parallel engines" if lp > 1 else "")
    if need <= total:
        spare = f" ({total - need} unused)" if need < total else ""
        return f"{g.ref}: {expr} = {need} GPU(s) on {res}{spare}"
    defaulted = [flag for flag in (TP, PP, DP) if not spec.given(flag)]
    return Finding(
        Status.FAIL, f"{g.ref}: vLLM is asked for {expr} = {need} GPUs per pod, but container {spec.name} is given "
        f"{res}: vLLM exits at start-up because it sees fewer GPUs than its parallelism needs, so every {g.role or 'model-server'} "
        "pod crash-loops", g.ref,
        (f"container {spec.name} args: " + " ".join(f"{k} {spec.flags[k]}" for k in (TP, PP, DP, DPL) if k in spec.flags)
         + (f" ({', '.join(defaulted)} not given: vLLM's default 1)" if defaulted else ""),
         f"container {spec.name} resources: {res}",
         f"rule: {facts().gpus_rule} ({facts().gpus_source})"),
        remediation=f"Give the {spec.name} container {need} GPUs (limits and requests of {', '.join(have)}), or lower "
        "--tensor-parallel-size / --pipeline-parallel-size so that their product (times the local data-parallel "
        "engines) fits the GPUs the pod gets.",
        capabilities=topo.impact_of_servers(g))
