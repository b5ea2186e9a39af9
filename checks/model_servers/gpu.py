"""model-servers.gpu: GPU requests of model-server pods against allocatable GPUs on schedulable nodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llmd_doctor import k8s, knowledge
from llmd_doctor.kinds import DEPLOYMENT, EVENT, NODE, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import GPU_INFERENCE, CheckContext, Finding, Severity, Status, obj_ref
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import topology
from llmd_doctor.topology.servers import is_simulator, server_container

from .._lib.events import warning_events
from .._lib.scheduling import allocatable, gpu_requests, node_blocker, products

Obj = dict[str, Any]


def _count_text(reqs: list[int], resource: str) -> str:
    by: dict[int, int] = {}
    for r in reqs:
        by[r] = by.get(r, 0) + 1
    return ", ".join(f"{n} pod{'s' if n != 1 else ''} × {r} {resource}" for r, n in sorted(by.items()))


@check(
    "model-servers.gpu",
    title="GPU requests and capacity",
    area="model-servers",
    severity=Severity.CRITICAL,
    inputs=(POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS, EVENT, NODE),
    requires=("cluster.access",),
    capabilities=(GPU_INFERENCE,),
    explains=("model-servers.pods", "model-servers.logs", "e2e.chat-completion"),
    why="A model server that asks for GPUs no schedulable node offers stays Pending forever.",
    remediation=(
        "Give the cluster schedulable GPU nodes (GPU operator / device plugin advertising nvidia.com/gpu), "
        "or lower the model servers' GPU requests."
    ),
)
def model_servers_gpu(ctx: CheckContext) -> Iterator[Finding]:
    """GPU requests/limits of model-server pods against allocatable GPUs on schedulable nodes; GPU products."""
    snap = ctx.snapshot
    pods = topology(snap).server_pods().require()
    if not pods:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    requested = {id(p): r for p in pods if (r := gpu_requests(p))}  # read once per pod (9,000 on a big cluster)
    gpu_pods = [p for p in pods if id(p) in requested]
    sims = [p for p in gpu_pods if (c := server_container(p)) is not None and is_simulator(c)]
    for p in sims:
        r, ref = gpu_requests(p), obj_ref(p)
        yield Finding(Status.WARN, f"{ref} runs the llm-d inference simulator but requests "
                      f"{', '.join(f'{v} {n}' for n, v in r.items())}: the simulator needs no GPU", ref,
                      (f"image {(server_container(p) or {}).get('image')}",),
                      remediation="Drop the GPU requests/limits from the simulator's resources.", capabilities=())
    if not gpu_pods:
        real = [p for p in pods if (c := server_container(p)) is not None and not is_simulator(c)
                and not k8s.pod_spec(p).get("resourceClaims") and "cpu" not in str(c.get("image", ""))]
        if real:
            ref = obj_ref(real[0])
            yield Finding(Status.WARN, f"{len(real)} vLLM pod(s) request no GPU resource (e.g. {ref}): without "
                          "nvidia.com/gpu (or another accelerator) the device plugin gives them no GPU", ref,
                          capabilities=())
        else:
            yield Finding(Status.PASS, f"{len(pods)} model-server pod(s) need no GPU resource "
                          "(simulator, CPU image or DRA claims)")
        return
    gap = snap.gap(NODE)
    if gap is not None:
        yield Finding.unverifiable(gap, f"{len(gpu_pods)} model-server pods request GPUs, but node capacity is unknown")
        return
    nodes = snap.list(NODE)
    for res in sorted({r for p in gpu_pods for r in requested[id(p)]}):
        wanting = [p for p in gpu_pods if res in requested[id(p)]]
        yield _judge(snap, nodes, wanting, [requested[id(p)][res] for p in wanting], res, bool(sims))


def _judge(snap: Snapshot, nodes: list[Obj], wanting: list[Obj], amounts: list[int], res: str,
           sims: bool) -> Finding:
    """`amounts`: each wanting pod's request of `res`."""
    having = [n for n in nodes if allocatable(n, res) > 0]
    hint = " (the simulator needs none)" if sims else ""
    ms = knowledge.model_servers()
    if not having:
        gpu_nodes = [n for n in nodes if any(ms.is_gpu_resource(str(r)) for r in
                                             ((n.get("status") or {}).get("allocatable") or {}))]
        evidence = [f"{len(nodes)} nodes, none advertises allocatable {res}"]
        evidence += [f"Node/{k8s.name(n)} allocatable: " + ", ".join(
            f"{r}={v}" for r, v in ((n.get("status") or {}).get("allocatable") or {}).items() if ms.is_gpu_resource(str(r)))
            for n in gpu_nodes[:3]]
        evidence += [e for p in wanting for e in warning_events(snap, p) if "FailedScheduling" in e][:2]
        return Finding(Status.FAIL, f"{_count_text(amounts, res)} requested{hint}, but no node has allocatable {res}: "
                       "the pods cannot be scheduled", obj_ref(wanting[0]), tuple(evidence),
                       remediation=("Remove the GPU requests from the simulator pods. " if sims else "")
                       + f"Add nodes that advertise {res} (install the GPU operator / device plugin), or request the "
                       "accelerator the nodes have.")
    # Which nodes each pod could land on; pods of one Deployment share their constraints: judge each set once.
    unplaceable: list[tuple[Obj, list[str]]] = []
    usable: dict[str, Obj] = {}
    judged: dict[tuple[str, int], tuple[bool, list[str]]] = {}
    # Replicas hold the very same constraint parts (sources/prune.Sharer): their text is made once.
    texts: dict[tuple[int, ...], tuple[list[Any], str]] = {}
    for p, want in zip(wanting, amounts, strict=True):
        spec = k8s.pod_spec(p)
        parts = [spec.get("nodeSelector"), spec.get("tolerations"), spec.get("affinity")]
        held = texts.get(key := tuple(map(id, parts)))
        if held is None:
            held = texts[key] = (parts, json.dumps(parts, sort_keys=True, default=str))
        sig = (held[1], want)
        if sig not in judged:
            why: list[str] = []
            ok = False
            for n in having:
                block = node_blocker(n, p)
                if block is None and allocatable(n, res) < want:
                    block = f"only {allocatable(n, res)} {res} allocatable"
                if block is None:
                    ok = True
                    usable[k8s.name(n)] = n
                else:
                    why.append(f"Node/{k8s.name(n)}: {block}")
            judged[sig] = (ok, why)
        ok, why = judged[sig]
        if not ok:
            unplaceable.append((p, why))
    if unplaceable:
        p, why = unplaceable[0]
        return Finding(Status.FAIL, f"{len(unplaceable)} of {len(wanting)} GPU pods fit no node: {obj_ref(p)} needs "
                       f"{gpu_requests(p)[res]} {res}, and no schedulable node offers it{hint}", obj_ref(p),
                       tuple(why[:5]), remediation="Uncordon/repair the GPU nodes, tolerate their taints or fix the "
                       "node selector, or lower the per-pod GPU request.")
    offered = sum(allocatable(n, res) for n in usable.values())
    prods = products(list(usable.values()))
    prod = f" ({', '.join(prods)})" if prods else ""
    if sum(amounts) > offered:
        return Finding(Status.WARN, f"{_count_text(amounts, res)} = {sum(amounts)} {res} requested, but the "
                       f"schedulable nodes offer {offered}{prod}: some pods will stay Pending", obj_ref(wanting[0]),
                       tuple(f"Node/{k8s.name(n)} allocatable {res}={allocatable(n, res)}" for n in usable.values()),
                       remediation=f"Add {res} capacity or lower the replicas/GPU requests.", capabilities=())
    pending = [p for p in wanting if not k8s.pod_spec(p).get("nodeName")]
    insufficient = [e for p in pending for e in warning_events(snap, p) if f"Insufficient {res}" in e]
    if insufficient:
        return Finding(Status.WARN, f"{len(pending)} GPU pod(s) Pending with 'Insufficient {res}' although "
                       f"schedulable nodes offer {offered} {res}{prod}: the GPUs are held by other pods",
                       obj_ref(pending[0]), tuple(insufficient[:3]),
                       remediation=f"Free {res} on the GPU nodes (`kubectl describe node` lists what runs there) or "
                       "add capacity.", capabilities=())
    on = {str(k8s.pod_spec(p).get("nodeName")) for p in wanting if k8s.pod_spec(p).get("nodeName")}
    where = f" on {len(on)} node{'s' if len(on) != 1 else ''}" if on else ""
    run_products = products([n for n in nodes if k8s.name(n) in on]) or prods
    return Finding(Status.PASS, f"{_count_text(amounts, res)}{where}"
                   f"{' (' + ', '.join(run_products) + ')' if run_products else ''}; "
                   f"{offered} {res} allocatable on {len(usable)} schedulable nodes")
