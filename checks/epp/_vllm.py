"""Which vLLM a model-server container runs and whether it emits a metric (checks/knowledge/vllm.yaml), for the
metric names the EPP scrapes (used by epp.config)."""

from __future__ import annotations

from typing import Any

from llmd_doctor import knowledge
from llmd_doctor import versions as v
from llmd_doctor.vllm_facts import image_vllm

Obj = dict[str, Any]


def version_of(image: str) -> tuple[v.Version, str] | None:
    """(vLLM release, how it is known) for a model-server image; None when the image does not say."""
    known = image_vllm(image)
    if known.release is None:
        return None
    return known.release, f"{image} (vLLM {v.text(known.release)[1:]}, from {known.how})"


def _flag(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a == name:
            return args[i + 1] if i + 1 < len(args) else ""
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def emits(metric: str, version: v.Version, args: list[str]) -> bool | None:
    """Whether this vLLM emits the metric with these args; None when vllm.yaml does not know the metric."""
    m = (knowledge.load("vllm").get("metrics") or {}).get(metric)
    if not m:
        return None
    rng = str(m.get("versions") or "")
    if rng and not v.in_range(version, rng):
        hidden, deprecated = v.parse(str(m.get("hidden_in") or "")), str(m.get("deprecated_in") or "")
        shown = _flag(args, "--show-hidden-metrics-for-version")
        return bool(hidden and version[:2] == hidden[:2] and deprecated and shown == deprecated)
    return True


def metric_versions(metric: str) -> str:
    m = (knowledge.load("vllm").get("metrics") or {}).get(metric) or {}
    return str(m.get("versions") or "all versions")


def feeds(metric_input: str) -> list[str]:
    """The vLLM metrics that feed an EPP metric input (vllm.yaml `epp_inputs`)."""
    return [str(f["metric"]) for f in (knowledge.load("vllm").get("epp_inputs") or {}).get(metric_input) or []
            if isinstance(f, dict)]


def needs_flag(metric_input: str) -> bool:
    """Whether the input's vLLM metric needs a flag to exist at all (LoRA info needs --enable-lora)."""
    return any(isinstance(f, dict) and f.get("requires")
               for f in (knowledge.load("vllm").get("epp_inputs") or {}).get(metric_input) or [])
