"""Typed facts about GPUs from checks/knowledge/gpus.yaml, for comparing a node's GPU with an image's build.

What GPU a node has and its compute capability (GPU feature discovery's labels, else its product or GKE
accelerator label matched against the known models); what an image's build runs on: its floors (the
lowest compute capability its vLLM wheels, PyTorch, CUDA toolkit or image declare) and the architectures
its own kernels are compiled for, read with CUDA's binary-compatibility rules. Every fact keeps its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from llmd_doctor import k8s, knowledge
from llmd_doctor import versions as v
from llmd_doctor.vllm_facts import image_vllm, repository

CC = tuple[int, int]
MAJOR, MINOR = "nvidia.com/gpu.compute.major", "nvidia.com/gpu.compute.minor"
PRODUCT_LABELS = ("nvidia.com/gpu.product", "cloud.google.com/gke-accelerator", "amd.com/gpu.product-name")


def cc_of(text: Any) -> CC | None:
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?", str(text).strip())
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def cc_text(cc: CC) -> str:
    return f"{cc[0]}.{cc[1]}"


@dataclass(frozen=True)
class NodeGpu:
    product: str | None  # the label value that names the GPU
    label: str | None
    model: str | None  # the gpus.yaml model it matched
    vendor: str
    cc: CC | None
    cc_from: str

    @property
    def text(self) -> str:
        name = self.product or self.model or "a GPU"
        return f"{name} (compute capability {cc_text(self.cc)})" if self.cc else name


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = knowledge.load("gpus")
    return data


def _model(label: str, value: str) -> dict[str, Any] | None:
    for m in _data()["models"]:
        if label == "cloud.google.com/gke-accelerator":
            if value in (m.get("gke_accelerator") or []):
                return m
        elif re.search(str(m["match"]), value, re.I):
            return m
    return None


def node_gpu(node: dict[str, Any]) -> NodeGpu | None:
    """The GPU a node's labels describe; None when no label names one."""
    labels = k8s.labels(node)
    label = next((lbl for lbl in PRODUCT_LABELS if labels.get(lbl)), None)
    product = labels.get(label) if label else None
    model = _model(label, product) if label and product else None
    major, minor = labels.get(MAJOR), labels.get(MINOR)
    if major is not None and str(major).isdigit():
        cc = (int(major), int(minor) if str(minor or "").isdigit() else 0)
        return NodeGpu(product, label, model and model["name"], "nvidia", cc, f"node labels {MAJOR}/{MINOR}")
    if model is None:
        return NodeGpu(product, label, None, "unknown", None, "no compute capability label") if product else None
    cc = cc_of(model["compute_capability"]) if model["vendor"] == "nvidia" else None
    return NodeGpu(product, label, str(model["name"]), str(model["vendor"]), cc,
                   f"{label}={product} is an {model['name']} ({model['source'].split(';')[0].strip()})")


@dataclass(frozen=True)
class Floor:
    """The lowest compute capability one layer of an image runs on."""

    cc: CC
    what: str
    source: str


def _entries(image: str) -> list[dict[str, Any]]:
    repo, tag = repository(image)
    version = v.release_tag(tag)
    return [e for e in _data()["builds"]["images"] if e["image"] == repo and version is not None
            and v.in_range(version, str(e.get("versions") or ""))]


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


@lru_cache(maxsize=256)  # asked per model-server group: the groups of a cluster run a few images
def floors(image: str) -> tuple[Floor, ...]:
    """Every floor that applies to the image: the image's own, its vLLM release's wheels, its PyTorch and
    CUDA builds (from the llm-d image pins)."""
    out: list[Floor] = []
    builds = _data()["builds"]
    for e in _entries(image):
        if e.get("min_compute_capability"):
            out.append(Floor(cc_of(e["min_compute_capability"]) or (0, 0), f"{e['image']} {e['versions']}",
                             _one_line(e["source"])))
    vl = image_vllm(image)
    if vl.release is not None:
        for e in builds["vllm_wheels"]:
            if e.get("min_compute_capability") and v.in_range(vl.release, str(e["versions"])):
                out.append(Floor(cc_of(e["min_compute_capability"]) or (0, 0), f"vLLM {v.text(vl.release)[1:]}",
                                 _one_line(e["source"])))
    pin = vl.pin or {}
    torch, cuda = v.parse(pin.get("torch")), v.parse(str(pin.get("cuda") or ""))
    if torch is not None and cuda is not None:
        for e in builds["pytorch"]:
            if v.in_range(torch, str(e["versions"])) and f"{cuda[0]}.{cuda[1]}" in [str(c) for c in e["cuda"]]:
                out.append(Floor(cc_of(e["min_compute_capability"]) or (0, 0),
                                 f"PyTorch {pin['torch']} (CUDA {pin['cuda']})", _one_line(e["source"])))
    if cuda is not None:
        for e in builds["cuda"]:
            if v.in_range(cuda, str(e["versions"])):
                out.append(Floor(cc_of(e["min_compute_capability"]) or (0, 0), f"CUDA {pin['cuda']}",
                                 _one_line(e["source"])))
    return tuple(out)


@dataclass(frozen=True)
class Kernels:
    """The architectures an image compiles its own kernels for (TORCH_CUDA_ARCH_LIST)."""

    archs: tuple[str, ...]  # "8.0", "9.0a", "10.0+PTX"
    what: str
    source: str

    def covers(self, cc: CC) -> bool:
        """CUDA's rules: a cubin for X.y runs on X.z (z >= y); an `a` build only on X.y; PTX on any >= X.y."""
        for arch in self.archs:
            m = re.fullmatch(r"(\d+)\.(\d+)(a?)(\+PTX)?", arch.strip())
            if not m:
                continue
            built = (int(m.group(1)), int(m.group(2)))
            if m.group(4) and cc >= built:
                return True
            if m.group(3) and cc == built:
                return True
            if not m.group(3) and cc[0] == built[0] and cc[1] >= built[1]:
                return True
        return False


@lru_cache(maxsize=256)
def kernels(image: str) -> Kernels | None:
    for e in _entries(image):
        if e.get("kernels_built_for"):
            text = str(e["kernels_built_for"])
            return Kernels(tuple(a for a in re.split(r"[;\s]+", text) if a), f"{e['image']} {e['versions']}",
                           _one_line(e["source"]))
    return None


def lacks_kernels_for(image: str, cc: CC) -> list[tuple[str, str, str]]:
    """(what, note, source) of every fact saying the image has no kernels for this compute capability."""
    return [(f"{e['image']} {e['versions']}", _one_line(e.get("note") or ""), _one_line(e["source"]))
            for e in _entries(image) if cc_text(cc) in [str(x) for x in e.get("no_kernels_for") or []]]


def binary_compatibility_source() -> str:
    return _one_line(_data()["binary_compatibility"]["source"])
