"""Read a vLLM container's spec: its flags (with the container's env substituted, shell scripts split,
aliases and underscore spellings folded), the GPUs it is given, its KV-transfer config and probes.

Everything a flag's value depends on that the spec does not show (a `$(VAR)` from a Secret, a `--config`
file) makes that value unknown, never the default.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s, knowledge
from llmd_doctor.memo import per_object
from llmd_doctor.topology.epps import argv
from llmd_doctor.topology.servers import (
    is_model_server_container,
    is_simulator,
    is_vllm,
    model_names,
    server_container,
)
from llmd_doctor.vllm_facts import facts

Obj = dict[str, Any]
_VAR = re.compile(r"\$\((\w+)\)|\$\{(\w+)\}|\$(\w+)")
KV = "--kv-transfer-config"


def _env(c: Obj) -> dict[str, str]:
    return {str(e["name"]): str(e["value"]) for e in c.get("env") or [] if "name" in e and "value" in e}


def _words(c: Obj) -> list[str]:
    env = _env(c)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return env.get(name, m.group(0))

    words = [_VAR.sub(sub, a) for a in argv(c)]
    shell = len(words) > 1 and words[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash") and "-c" in words[1:3]
    if not shell:  # exec form: each argument is one word, even with blanks (a JSON --kv-transfer-config)
        return words
    out: list[str] = []
    for w in words:
        try:
            out += shlex.split(w, comments=True)
        except ValueError:
            out += w.split()
    return out


@dataclass
class VllmSpec:
    """The flags of one vLLM container, as vLLM would read them from its command line."""

    container: Obj
    flags: dict[str, str] = field(default_factory=dict)  # canonical --flag -> value ("" for a bare flag)
    config_file: str | None = None  # --config: flags may hide in a file the spec does not show

    @property
    def name(self) -> str:
        return str(self.container.get("name"))

    @property
    def image(self) -> str:
        return str(self.container.get("image") or "")

    def given(self, flag: str) -> bool:
        return flag in self.flags

    def value(self, flag: str) -> tuple[str | None, str]:
        """(value, how it is known): the flag's value, else vLLM's default; None when unknowable."""
        if flag in self.flags:
            raw = self.flags[flag]
            return (None, f"{flag} {raw} is not resolved from the spec") if "$" in raw else (raw, flag)
        if self.config_file:
            return None, f"{flag} may be set in --config {self.config_file}"
        default = facts().default(flag)
        return (None if default is None else str(default)), f"vLLM's default for {flag}"

    def int_value(self, flag: str) -> tuple[int | None, str]:
        raw, how = self.value(flag)
        if raw is None or not raw.strip().isdigit():
            return None, how if raw is None else f"{flag} {raw} is not a number"
        return int(raw), how

    @property
    def kv(self) -> tuple[Obj | None, str | None]:
        """(--kv-transfer-config as a dict, why it could not be read)."""
        dotted = {k[len(KV) + 1:]: val for k, val in self.flags.items() if k.startswith(KV + ".")}
        raw = self.flags.get(KV)
        if raw is None:
            return (dotted or None), None
        if "$" in raw:
            return None, f"{KV} {raw} is not resolved from the spec"
        try:
            data = json.loads(raw)
        except ValueError as e:
            return None, f"{KV} is not JSON ({e})"
        return (data, None) if isinstance(data, dict) else (None, f"{KV} is not a JSON object")

    @property
    def models(self) -> list[str]:
        return model_names(self.container) or []


@per_object  # per container: replicas and the groups' templates share theirs (a spec is never changed)
def read(c: Obj) -> VllmSpec:
    f = facts()
    spec = VllmSpec(c)
    words = _words(c)
    start = next((i + 1 for i, w in enumerate(words) if w == "serve" and i and words[i - 1].endswith("vllm")), 0)
    i = start
    while i < len(words):
        w = words[i]
        if w.startswith("-") and len(w) > 1 and not w[1:].replace(".", "").isdigit():
            name, eq, val = w.partition("=")
            name = f.canonical(name)
            if not eq:
                nxt = words[i + 1] if i + 1 < len(words) else None
                takes = nxt is not None and (not nxt.startswith("-") or nxt[1:].isdigit())
                val = nxt if takes and nxt is not None else ""
                i += 1 if takes else 0
            spec.flags[name] = val
        i += 1
    spec.config_file = spec.flags.get("--config")
    return spec


def vllm_container(pod_or_template: Obj) -> VllmSpec | None:
    """The vLLM container of a pod or pod template: `vllm serve`, or a vLLM image's own entrypoint (None for
    the inference simulator and other servers)."""
    c = server_container(pod_or_template)
    if c is None or is_simulator(c) or not (is_vllm(c) or is_model_server_container(c)):
        return None
    return read(c)


def gpus(c: Obj) -> dict[str, int]:
    """GPU-like resources of one container (a limit implies the request)."""
    ms = knowledge.model_servers()
    res = c.get("resources") or {}
    out: dict[str, int] = {}
    for part in (res.get("requests") or {}, res.get("limits") or {}):
        for name, val in part.items():
            if ms.is_gpu_resource(str(name)):
                try:
                    out[str(name)] = max(out.get(str(name), 0), int(float(str(val))))
                except ValueError:
                    continue
    return {n: q for n, q in out.items() if q > 0}


def pod_has_claims(pod_or_template: Obj) -> bool:
    """Dynamic resource allocation: the GPUs come from ResourceClaims, not counted resources."""
    return bool(k8s.pod_spec(pod_or_template).get("resourceClaims"))
