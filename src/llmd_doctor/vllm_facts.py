"""Typed facts about vLLM from checks/knowledge/vllm.yaml, for reading model-server specs.

The flags whose defaults and aliases the spec checks need, how parallelism maps to GPUs and which
flags spread one engine over several pods, what NixlConnector's prefill and decode instances must agree
on (by vLLM release), the routing sidecar's P/D protocols, the bfloat16 rule, and which vLLM release an
image carries. Loaded once per process; every fact keeps its `source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from llmd_doctor import knowledge
from llmd_doctor import versions as v


@dataclass(frozen=True)
class Flag:
    name: str  # "--tensor-parallel-size"
    default: Any
    aliases: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Nixl:
    connector: str
    role_ignored: bool
    role_note: str
    must_match: tuple[str, ...]
    must_match_source: str
    d_gt_p_versions: str  # decode TP a multiple of prefill TP, from these releases
    d_gt_p_rule: str
    d_gt_p_source: str
    p_gt_d_unsupported: str  # releases where prefill TP > decode TP breaks the decode
    p_gt_d_supported_from: v.Version | None
    p_gt_d_symptom: str
    p_gt_d_note: str
    p_gt_d_source: str
    block_size_rule: str
    block_size_source: str


@dataclass(frozen=True)
class VllmFacts:
    flags: dict[str, Flag]
    kv_roles: tuple[str, ...]
    kv_rules_source: str
    nixl: Nixl
    sidecar_flags: tuple[str, ...]
    sidecar_default: str
    sidecar_protocols: dict[str, tuple[str, ...]]  # protocol -> vLLM connectors that speak it
    sidecar_source: str
    gpus_rule: str
    gpus_source: str
    multi_node_flags: tuple[str, ...]
    multi_node_executor: tuple[str, str]  # (flag, value)
    bf16_min_cc: tuple[int, int]
    bf16_source: str
    bf16_fallback_versions: str
    bf16_fallback_source: str
    pins: tuple[dict[str, Any], ...]  # llm-d images and the vLLM they carry

    def canonical(self, name: str) -> str:
        """`-tp`, `--tensor_parallel_size` -> `--tensor-parallel-size` (vLLM accepts both spellings)."""
        name = name if not name.startswith("--") else "--" + name[2:].replace("_", "-")
        for f in self.flags.values():
            if name in f.aliases:
                return f.name
        return name

    def default(self, name: str) -> Any:
        f = self.flags.get(name)
        return None if f is None else f.default


def _cc(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


@cache
def facts() -> VllmFacts:
    data = knowledge.load("vllm")
    flags = {name: Flag(name, spec.get("default"), tuple(spec.get("aliases") or ()), str(spec.get("source")))
             for name, spec in data["cli"].items()}
    kv = data["kv_transfer_config"]
    nx = kv["nixl"]
    d_gt_p, p_gt_d = nx["heterogeneous_tp"][0], nx["heterogeneous_tp"][1]
    side = data["sidecar_connectors"]
    gpr = data["gpus_per_replica"]
    dt = data["dtype"]
    return VllmFacts(
        flags=flags,
        kv_roles=tuple(kv["fields"]["kv_role"]["values"]),
        kv_rules_source=str(kv["source"]),
        nixl=Nixl(
            connector=str(nx["connector"]), role_ignored=bool(nx["kv_role_ignored"]), role_note=str(nx["kv_role_note"]),
            must_match=tuple(nx["must_match"]), must_match_source=str(nx["must_match_source"]),
            d_gt_p_versions=str(d_gt_p["versions"]), d_gt_p_rule=str(d_gt_p["rule"]), d_gt_p_source=str(d_gt_p["source"]),
            p_gt_d_unsupported=str(p_gt_d["unsupported"]), p_gt_d_supported_from=v.parse(p_gt_d.get("supported_from")),
            p_gt_d_symptom=" ".join(str(p_gt_d["symptom"]).split()), p_gt_d_note=" ".join(str(p_gt_d["note"]).split()),
            p_gt_d_source=str(p_gt_d["source"]),
            block_size_rule=" ".join(str(nx["block_size"]["rule"]).split()),
            block_size_source=str(nx["block_size"]["source"]),
        ),
        sidecar_flags=tuple(side["flags"]), sidecar_default=str(side["default"]),
        sidecar_protocols={str(k): tuple(p.get("vllm") or ()) for k, p in side["protocols"].items()},
        sidecar_source=" ".join(str(side["source"]).split()),
        gpus_rule=" ".join(str(gpr["rule"]).split()), gpus_source=" ".join(str(gpr["source"]).split()),
        multi_node_flags=tuple(gpr["multi_node"]["flags"]),
        multi_node_executor=(str(gpr["multi_node"]["executor"]["flag"]), str(gpr["multi_node"]["executor"]["value"])),
        bf16_min_cc=_cc(dt["bfloat16_min_compute_capability"]), bf16_source=" ".join(str(dt["bfloat16_source"]).split()),
        bf16_fallback_versions=str(dt["auto_fallback"]["versions"]), bf16_fallback_source=str(dt["auto_fallback"]["source"]),
        pins=tuple(data["images"]["llm_d"]),
    )


def repository(image: str) -> tuple[str, str | None]:
    """(`vllm/vllm-openai`, `v0.9.0`) from `docker.io/vllm/vllm-openai:v0.9.0@sha256:…`."""
    ref = image.split("@", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    return name, tag or None


@dataclass(frozen=True)
class ImageVllm:
    """The vLLM an image carries: its release when known, and how that is known."""

    image: str
    release: v.Version | None
    how: str  # "the image tag" | "the llm-d v0.4 pin (source)" | why it is unknown
    pin: dict[str, Any] | None = None


def _pin_matches(pin_image: str, repo: str, tag: str | None) -> bool:
    pin_repo, pin_tag = repository(pin_image)
    if pin_repo != repo or not tag or not pin_tag:
        return False
    if pin_tag.endswith(".x"):  # a release line: any patch release of it
        want, have = v.parse(pin_tag[:-2] + ".0"), v.release_tag(tag)
        return want is not None and have is not None and want[:2] == have[:2]
    return v.release_tag(tag) is not None and v.release_tag(tag) == v.release_tag(pin_tag)


@cache
def image_vllm(image: str) -> ImageVllm:
    repo, tag = repository(image)
    if repo == "vllm/vllm-openai":
        release = v.release_tag(tag)
        return ImageVllm(image, release, "the image tag" if release else f"tag {tag or '(none)'} names no release")
    pin = next((p for p in facts().pins if _pin_matches(str(p["image"]), repo, tag)), None)
    if pin is None:
        return ImageVllm(image, None, "not a known image")
    release = v.parse(pin.get("vllm_release"))
    name = f"llm-d {pin['llm_d']}" if pin.get("llm_d") else str(pin["image"])
    how = f"the {name} image pin ({pin['source']})" if release else f"no release number: {pin['vllm']}"
    return ImageVllm(image, release, how, pin)
