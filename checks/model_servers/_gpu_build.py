"""The GPUs a model-server group runs on against what its image's build supports (gpus.yaml, vllm.yaml).

Below a floor (the vLLM wheels, PyTorch, the CUDA toolkit or the image declare a lowest compute
capability) the server cannot run: fail. bfloat16 asked for explicitly on a GPU without it: fail. A GPU
the image compiles no kernels for, or bfloat16 a model's config may ask for, is only a risk that the
pods' own state settles: said (warn) when the pods on that GPU crash, nothing when they are Ready. Where
no fact covers the image or the GPU, nothing is said.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor import gpu_facts as gf
from llmd_doctor import k8s
from llmd_doctor import versions as v
from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import ServerGroup, Topology
from llmd_doctor.vllm_facts import facts, image_vllm

from ._spec import VllmSpec

Obj = dict[str, Any]
BF16 = ("bfloat16", "bf16")


def crashing(pods: list[Obj]) -> bool:
    return any(not k8s.pod_ready(p) and (k8s.restarts(p) > 0 or any(
        r in ("CrashLoopBackOff", "Error") for _, r, _ in k8s.waiting_reasons(p))) for p in pods)


def _by_gpu(g: ServerGroup, gpus: dict[str, gf.NodeGpu | None]) -> dict[gf.NodeGpu, list[Obj]]:
    out: dict[gf.NodeGpu, list[Obj]] = {}
    for p in g.pods:
        gpu = gpus.get(str(k8s.pod_spec(p).get("nodeName") or ""))
        if gpu is not None and gpu.cc is not None and gpu.vendor == "nvidia":
            out.setdefault(gpu, []).append(p)
    return out


def _where(gpu: gf.NodeGpu, pods: list[Obj]) -> str:
    nodes = sorted({str(k8s.pod_spec(p).get("nodeName")) for p in pods})
    return f"{gpu.text} on Node/{', Node/'.join(nodes[:3])}{' …' if len(nodes) > 3 else ''} ({gpu.cc_from})"


def _risks(spec: VllmSpec, gpu: gf.NodeGpu, cc: gf.CC) -> list[tuple[str, str]]:
    """(what, source) of the build facts that say this image may not run on this GPU."""
    out = [(f"{what} has no kernels for compute capability {gf.cc_text(cc)}: {note}", src)
           for what, note, src in gf.lacks_kernels_for(spec.image, cc)]
    k = gf.kernels(spec.image)
    if k is not None and not k.covers(cc):
        out.append((f"{spec.image} compiles its own kernels for {';'.join(k.archs)} ({k.what}), none of which runs on "
                    f"compute capability {gf.cc_text(cc)}", f"{k.source}; {gf.binary_compatibility_source()}"))
    f = facts()
    dtype, _ = spec.value("--dtype")
    release = image_vllm(spec.image).release
    if cc < f.bf16_min_cc and dtype == "auto" and (release is None or not v.in_range(release, f.bf16_fallback_versions)):
        out.append((f"bfloat16 needs compute capability {gf.cc_text(f.bf16_min_cc)}: a model whose config says "
                    f"bfloat16 is refused under --dtype auto by vLLM releases before the float16 fallback "
                    f"({f.bf16_fallback_versions}); this image's vLLM is "
                    f"{v.text(release)[1:] if release else 'not known'}", f"{f.bf16_source}; {f.bf16_fallback_source}"))
    return out


def judge(topo: Topology, g: ServerGroup, spec: VllmSpec,
          gpus: dict[str, gf.NodeGpu | None]) -> tuple[list[Finding], list[str]]:
    """Findings and pass lines for one group; `gpus`: each node's GPU by node name."""
    out: list[Finding] = []
    lines: list[str] = []
    f = facts()
    for gpu, pods in _by_gpu(g, gpus).items():
        cc = gpu.cc
        assert cc is not None
        where = f"{len(pods)} pod(s) of {g.ref} run on {gpu.text}"
        below = [fl for fl in gf.floors(spec.image) if cc < fl.cc]
        dtype, _ = spec.value("--dtype")
        if dtype in BF16 and cc < f.bf16_min_cc:
            below.append(gf.Floor(f.bf16_min_cc, f"--dtype {dtype}", f.bf16_source))
        if below:
            out.append(Finding(
                Status.FAIL, f"{where}, below what the image supports: "
                + "; ".join(f"{fl.what} needs compute capability {gf.cc_text(fl.cc)}" for fl in below)
                + ": the model server cannot run there", g.ref,
                (_where(gpu, pods), f"image {spec.image}", *(f"source ({fl.what}): {fl.source}" for fl in below)),
                remediation="Schedule the model servers on newer GPUs (a nodeSelector on nvidia.com/gpu.product or the "
                "cloud's accelerator label), or use an image built for this GPU" + (" and --dtype half" if any(
                    fl.what.startswith("--dtype") for fl in below) else "") + ".",
                capabilities=topo.impact_of_servers(g)))
            continue
        risks = _risks(spec, gpu, cc)
        if risks and crashing(pods):
            out.append(Finding(
                Status.WARN, f"{where} and crash: " + "; ".join(r for r, _ in risks), g.ref,
                (_where(gpu, pods), f"image {spec.image}", *(f"source: {s}" for _, s in risks)),
                remediation="Run an image built for this GPU's compute capability, or schedule the pods on GPUs the "
                "image supports" + ("; pass --dtype half for a bfloat16 model" if any("bfloat16" in r for r, _ in risks)
                                    else "") + ".", capabilities=()))
        elif gf.floors(spec.image) or gf.kernels(spec.image):
            lines.append(f"{where}, within what {spec.image} supports")
    return out, lines
