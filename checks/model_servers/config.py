"""model-servers.config: the model servers' specs against what they run on and with — the readiness
probe gates the port the InferencePool sends to, tensor x pipeline (x data) parallelism fits the GPUs the
container gets, prefill and decode of one pool agree (KV connector, roles, parallelism, model, block size,
the routing sidecar's protocol, the endpoint picker's P/D handler), a Pending pod fits some node, and the
node's GPU is one the image's build supports. Facts from checks/knowledge/vllm.yaml and gpus.yaml."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor import k8s
from llmd_doctor.gpu_facts import node_gpu
from llmd_doctor.kinds import CONFIGMAP, DEPLOYMENT, NODE, POD, POOL_KEYS, REPLICASET, STATEFULSET
from llmd_doctor.model import PD_DISAGGREGATION, CheckContext, Finding, Severity, Status
from llmd_doctor.registry import check
from llmd_doctor.topology import topology
from llmd_doctor.topology.impact import SERVING_CAPABILITIES

from .._lib import unread
from . import _gpu_build, _parallel, _pd, _placement, _readiness
from ._spec import vllm_container


@check(
    "model-servers.config",
    title="Model-server spec consistency",
    area="model-servers",
    severity=Severity.CRITICAL,
    inputs=(POD, DEPLOYMENT, REPLICASET, STATEFULSET, *POOL_KEYS, NODE, CONFIGMAP),
    requires=("cluster.access",),
    capabilities=(*SERVING_CAPABILITIES, PD_DISAGGREGATION),
    # Not the e2e checks directly: they follow through model-servers.pods, so a risk found here (a missing
    # probe) never claims an end-to-end failure it did not cause.
    explains=("model-servers.pods", "model-servers.logs", "inferencepool.selector"),
    why="A model server whose spec contradicts itself or its surroundings fails in ways its logs and status only "
        "hint at: vLLM exits when its parallelism exceeds its GPUs, a pod turns Ready before the port the pool "
        "sends to answers, prefill and decode that disagree lose P/D, a pod no node accepts stays Pending, and an "
        "image not built for the node's GPU crashes.",
    remediation="See the cause named above; the evidence lists the flags, probes, node labels and facts compared.",
)
def model_servers_config(ctx: CheckContext) -> Iterator[Finding]:
    """The model servers' specs against the pool, the GPUs, each other and the nodes:

    - **readiness**: every pool member has a readiness or startup probe on a port a request through the pool
      reaches (the pool's target port, or vLLM's port behind the routing sidecar); no probe, or one on another
      port, is `warn` — the pod turns Ready while vLLM loads and the requests sent to it fail;
    - **parallelism**: `--tensor-parallel-size` × `--pipeline-parallel-size` (× local data-parallel engines)
      fits the GPUs the vLLM container is given; more is `fail` — vLLM exits at start-up
      (`--tensor-parallel-size 4 × --pipeline-parallel-size 1 = 4 GPUs per pod, but container vllm is given
      2 nvidia.com/gpu`); engines spread over several pods and values the spec does not show are not compared;
    - **P/D**: prefill and decode of one pool share a KV connector, serve the same model and agree on block
      size, KV-cache dtype and vLLM version; NixlConnector's heterogeneous tensor parallelism by vLLM release
      (prefill TP larger than decode TP crashes the decode of vLLM ≤ 0.11.2: `fail`); the routing sidecar's
      `--connector` matches vLLM's connector; the endpoint picker's P/D profile handler has both roles to pick;
      an invalid `--kv-transfer-config` is `fail`;
    - **placement**: a Pending pod's node selector, required node affinity, tolerations and GPU requests
      against every node, counted like the scheduler (`0/4 nodes fit: 2 node(s) have untolerated taint
      nvidia.com/gpu=true:NoSchedule; 2 node(s) offer 0 allocatable nvidia.com/gpu`) — named even when the
      scheduler's event is missing; no node at all is `fail`;
    - **GPU and build**: the node's compute capability (GPU feature discovery labels, or the product / GKE
      accelerator label) against the image's floors (vLLM wheels, PyTorch, CUDA) — below is `fail` — and
      explicit `--dtype bfloat16` below 8.0 (`fail`); a GPU the image compiles no kernels for, or bfloat16 a
      model's config may ask for, is `warn` while the pods on it crash, and nothing while they are Ready.

    Facts, with their sources, from `checks/knowledge/vllm.yaml` and `gpus.yaml`; nothing is said where no
    fact covers the image or the GPU.
    """
    snap = ctx.snapshot
    topo = topology(snap)
    groups = list(topo.servers.require())
    if not groups:
        yield Finding(Status.SKIP, "no model-server pods or workloads found")
        return
    yield from unread(topo.pools, "InferencePools (readiness against the pool's port, P/D per pool)")
    gap = snap.gap(NODE)
    nodes = [] if gap else snap.list(NODE)
    gpus = {k8s.name(n): node_gpu(n) for n in nodes}  # read each node's GPU labels once
    found: list[Finding] = []
    lines: list[str] = []

    def take(result: Finding | str | None) -> None:
        if isinstance(result, Finding):
            found.append(result)
        elif result:
            lines.append(result)

    # What stops or breaks the servers first, risks last: the first of equal findings is the result's message.
    for g in groups:
        spec = vllm_container(g.template)
        if gap is None:
            take(_placement.judge(topo, g, nodes))
        if spec is not None:
            take(_parallel.judge(topo, g, spec))
            take(_pd.kv_errors(topo, g, spec))
            if gap is None:
                more, notes = _gpu_build.judge(topo, g, spec, gpus)
                found.extend(more)
                lines.extend(notes)
    for pool in topo.pools:
        more, notes = _pd.judge(topo, pool)
        found.extend(more)
        lines.extend(notes)
    for g in groups:
        for pool in g.pools:
            take(_readiness.judge(pool, g))
    if gap is not None:
        yield Finding.unverifiable(gap, "Pending pods against node labels and taints, and GPUs against the images, "
                                   "could not be checked")
    yield from found
    if not any(f.status in (Status.FAIL, Status.WARN) for f in found):
        n = len(groups)
        yield Finding(Status.PASS, f"{n} model-server group{'s' if n != 1 else ''}: no contradiction in their specs "
                      "(readiness, parallelism, P/D, placement, GPU builds)", evidence=tuple(lines))
