"""Typed loaders for the knowledge that changes with upstream releases (checks/knowledge/*.yaml).

Each file cites its sources; a new llm-d release is an edit to the YAML, not to code. This module
turns the YAML into small frozen dataclasses once per process, so the topology and the checks read
fields, not dict keys:

- `EppRelease` (epp_releases.yaml): one table of endpoint-picker releases — flags, plugins config,
  the pool groups it reads, what it watches, the RBAC it needs.
- `Signature` (signatures_*.yaml): a log or condition text with a known cause and fix.
- `ModelServerFacts` (model_servers.yaml): how model-server pods are recognised, GPU resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from llmd_doctor import compiled_facts
from llmd_doctor import versions as v


@cache
def load(name: str) -> Any:
    """A knowledge file by stem (`epp_releases`), parsed once (from its JSON copy: compiled_facts.py)."""
    return compiled_facts.load("llmd_doctor.checks", name, "knowledge")


def _t(value: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in value or ())


# ---- endpoint-picker releases ---------------------------------------------------------------------


@dataclass(frozen=True)
class EppRelease:
    """What an endpoint-picker image of a known release (or, `known=False`, of a flag style) is."""

    name: str
    image: str
    versions: str
    gie: str
    flag_style: str  # camel | kebab
    config: str  # env | file | file-or-default
    empty_config: str  # ok | default | crash-nil-deref | exit-scheduler-config-must-be-set | unknown
    pool_groups: tuple[str, ...]
    default_pool_group: str
    watches: tuple[str, ...]
    requires_crds: tuple[str, ...]
    prefers_crds: tuple[str, ...]
    kv_metric_default: str | None
    rbac: tuple[str, ...]
    sources: tuple[str, ...]
    known: bool = True

    @property
    def pool_group_flag(self) -> bool:
        """Whether `--pool-group` exists (GIE >= v1.0, kebab-case flags)."""
        return self.flag_style == "kebab"

    @property
    def rbac_rules(self) -> tuple[dict[str, Any], ...]:
        sets: dict[str, list[dict[str, Any]]] = load("epp_releases")["rulesets"]
        return tuple(rule for name in self.rbac for rule in sets[name])


def _release(e: dict[str, Any], known: bool = True) -> EppRelease:
    groups = _t(e.get("pool_groups")) or (str(e["default_pool_group"]),)
    return EppRelease(
        name=str(e.get("name") or e.get("image") or ""),
        image=str(e.get("image") or ""),
        versions=str(e.get("versions") or ""),
        gie=str(e.get("gie") or ""),
        flag_style=str(e["flag_style"]),
        config=str(e.get("config") or "file"),
        empty_config=str(e.get("empty_config") or "unknown"),
        pool_groups=groups,
        default_pool_group=str(e.get("default_pool_group") or groups[0]),
        watches=_t(e.get("watches")),
        requires_crds=_t(e.get("requires_crds")),
        prefers_crds=_t(e.get("prefers_crds")),
        kv_metric_default=e.get("kv_metric_default"),
        rbac=_t(e.get("rbac")),
        sources=tuple(s for s in (*_t([e.get("source")] if e.get("source") else []), *_t(e.get("rbac_sources")))),
        known=known,
    )


@cache
def epp_releases() -> tuple[EppRelease, ...]:
    return tuple(_release(e) for e in load("epp_releases")["releases"])


@cache
def epp_release(image: str, tag: str | None) -> EppRelease | None:
    """The release an EPP image and tag are (None when the image or its tag is unknown)."""
    version = v.parse(tag)
    if version is None:
        return None
    return next((r for r in epp_releases() if r.image in image and v.in_range(version, r.versions)), None)


@cache
def epp_fallback(flag_style: str) -> EppRelease:
    """What an EPP of unknown release most likely is, going by its flag style."""
    return _release(load("epp_releases")["fallback"][flag_style], known=False)


def epp_product(image: str) -> str | None:
    """The EPP product an image is, whatever its tag (`llm-d-inference-scheduler`, `GIE epp`)."""
    return next((r.name for r in epp_releases() if r.image in image), None)


def pool_namespace_fallback(flag_style: str) -> tuple[str | None, str]:
    """(env var read, default) for the pool namespace when no flag gives it."""
    entry = (load("epp_releases").get("pool_namespace_fallback") or {}).get(flag_style) or {}
    return entry.get("env"), str(entry.get("default", "default"))


# ---- log and condition signatures ---------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A log signature: when every `all` pattern matches (and no `none` pattern), the cause is known."""

    id: str
    component: str
    status: str
    all: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...]
    cause: str
    fix: str
    versions: str
    sources: tuple[str, ...]
    capabilities: tuple[str, ...] | None
    also: bool = False
    # Lines worth showing when present (stack frames, flag dumps), beside the matched ones.
    evidence: tuple[re.Pattern[str], ...] = ()

    def match(self, text: str) -> tuple[dict[str, str], list[str]] | None:
        """Named groups of the matches and the matching lines, or None."""
        groups: dict[str, str] = {}
        lines: list[str] = []
        for pat in self.all:
            m = pat.search(text)
            if not m:
                return None
            groups.update({k: val for k, val in m.groupdict().items() if val is not None})
            excerpt(lines, text, m)
        if any(p.search(text) for p in self.none):
            return None
        for pat in self.evidence:
            m = pat.search(text)
            if m:
                excerpt(lines, text, m)
        return groups, lines


def excerpt(lines: list[str], text: str, m: re.Match[str], width: int = 160) -> None:
    """Add the line of a match; a long line (a JSON log record) is cut around the match."""
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    end = len(text) if end == -1 else end
    line = text[start:end].strip()
    if len(line) > width:
        lo = max(start, m.start() - 40)
        hi = min(end, max(m.end(), lo + width - 40) + 20)
        line = ("…" if lo > start else "") + text[lo:hi].strip() + ("…" if hi < end else "")
    if line and line not in lines:
        lines.append(line)


def _signature_files() -> list[str]:
    folder = resources.files("llmd_doctor.checks").joinpath("knowledge")
    return sorted(f.name[: -len(".yaml")] for f in folder.iterdir()
                  if f.name.startswith("signatures_") and f.name.endswith(".yaml"))


def _compile(patterns: Any) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.MULTILINE) for p in patterns or ())


def signature_from(e: dict[str, Any]) -> Signature:
    caps = e.get("capabilities")
    return Signature(
        id=str(e["id"]), component=str(e.get("component") or ""), status=str(e.get("status", "fail")),
        all=_compile(e["all"]), none=_compile(e.get("none")), cause=str(e["cause"]).strip(),
        fix=str(e["fix"]).strip(), versions=str(e.get("versions", "")), sources=_t(e.get("sources")),
        capabilities=_t(caps) if caps is not None else None, also=bool(e.get("also")),
        evidence=_compile(e.get("evidence")),
    )


@cache
def signatures(component: str) -> tuple[Signature, ...]:
    """The signatures of one component (`epp`, `vllm`, `routing-sidecar`, `httproute-status`, …)."""
    entries = [e for n in _signature_files() for e in load(n)["signatures"]]
    return tuple(signature_from(e) for e in entries if e["component"] == component)


def fill(template: str, groups: dict[str, str], signature: Signature | None = None) -> str:
    """`{name}` placeholders from regex groups. A named group of `signature`'s patterns that did not
    match (one side of an alternation) becomes ""; any other unknown placeholder stays as it is."""
    optional = {n for p in (*signature.all, *signature.evidence) for n in p.groupindex} if signature else set()
    return re.sub(r"\{(\w+)\}", lambda m: groups.get(m.group(1), "" if m.group(1) in optional else m.group(0)),
                  template)


def match_signatures(sigs: tuple[Signature, ...], text: str) -> list[tuple[Signature, dict[str, str], list[str]]]:
    """The first matching signature, plus every matching `also` signature."""
    out = []
    primary = False
    for sig in sigs:
        if primary and not sig.also:
            continue
        m = sig.match(text)
        if m:
            out.append((sig, *m))
            primary = primary or not sig.also
    return out


def match_log(component: str, text: str) -> list[tuple[Signature, dict[str, str], list[str]]]:
    return match_signatures(signatures(component), text)


# ---- model servers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelServerFacts:
    role_label: str
    roles: tuple[str, ...]
    images: tuple[re.Pattern[str], ...]
    commands: tuple[re.Pattern[str], ...]
    simulator_images: tuple[str, ...]
    sidecar_images: tuple[str, ...]
    sidecar_names: tuple[str, ...]
    default_vllm_port: int
    default_sidecar_vllm_port: int
    gpu_resources: tuple[str, ...]
    gpu_product_labels: tuple[str, ...]

    def is_gpu_resource(self, name: str) -> bool:
        """`nvidia.com/gpu`, `nvidia.com/mig-1g.10gb`, `amd.com/gpu`… (a trailing / or - is a prefix)."""
        return _is_gpu_resource(name, self.gpu_resources)


@lru_cache(maxsize=1024)  # asked for every resource of every pod, by several checks
def _is_gpu_resource(name: str, resources: tuple[str, ...]) -> bool:
    return any(name == r or (r.endswith(("/", "-")) and name.startswith(r)) for r in resources)


@cache
def model_servers() -> ModelServerFacts:
    ms = load("model_servers")["model_servers"]
    return ModelServerFacts(
        role_label=str(ms["role_label"]), roles=_t(ms["roles"]),
        images=tuple(re.compile(p) for p in ms["images"]), commands=tuple(re.compile(p) for p in ms["commands"]),
        simulator_images=_t(ms["simulator_images"]), sidecar_images=_t(ms["sidecar_images"]),
        sidecar_names=_t(ms["sidecar_names"]), default_vllm_port=int(ms["default_vllm_port"]),
        default_sidecar_vllm_port=int(ms["default_sidecar_vllm_port"]), gpu_resources=_t(ms["gpu_resources"]),
        gpu_product_labels=_t(ms["gpu_product_labels"]),
    )


def vllm_metric_available(metric: str, version: v.Version) -> bool | None:
    """Does this vLLM version emit this metric by default? None when the metric is not in the table."""
    entry = (load("model_servers").get("vllm_metrics") or {}).get(metric)
    if not entry:
        return None
    return v.in_range(version, str(entry.get("versions", "")))
