"""Judging an EPP's plugins config against its release's catalog: the parsed config and how a rule reports.

Every finding names the field, the release, the rule and the file the rule is read from (`repo:path@tag`),
and says what the EPP does: exits at start (a loader error: `fail`, everything the EPP provides is lost),
fails requests (`fail`), or silently degrades (`warn`, with the capabilities that go).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    PD_DISAGGREGATION,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    Finding,
    Status,
)
from llmd_doctor.plugin_catalog import Catalog, Plugin, printf
from llmd_doctor.topology import Epp


@dataclass(frozen=True)
class PluginSpec:
    """One entry of `plugins`: its position, name (defaults to its type), type and raw `parameters`."""

    index: int
    name: str
    type: str
    params: Any

    @property
    def field(self) -> str:
        if self.type and self.name != self.type:
            return f"plugins[{self.index}] ({self.name}: {self.type})"
        return f"plugins[{self.index}] ({self.name})"

    @property
    def label(self) -> str:
        """`token-load (token-load-scorer)`, or the type alone when the name is the type."""
        return f"{self.name} ({self.type})" if self.name != self.type else self.type


@dataclass(frozen=True)
class ProfileSpec:
    index: int
    name: str
    refs: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Config:
    """An EndpointPickerConfig as the loader reads it (entries of the wrong shape are dropped here and judged by
    the rules that read the raw document)."""

    doc: dict[str, Any]
    plugins: tuple[PluginSpec, ...]
    profiles: tuple[ProfileSpec, ...]
    builtin: bool = False  # the release's built-in default config

    @classmethod
    def of(cls, doc: dict[str, Any], builtin: bool = False) -> Config:
        plugins = tuple(
            PluginSpec(i, str(p.get("name") or p.get("type") or ""), str(p.get("type") or ""), p.get("parameters"))
            for i, p in enumerate(_list(doc.get("plugins"))) if isinstance(p, dict))
        profiles = tuple(
            ProfileSpec(i, str(p.get("name") or ""), tuple(r for r in _list(p.get("plugins")) if isinstance(r, dict)))
            for i, p in enumerate(_list(doc.get("schedulingProfiles"))) if isinstance(p, dict))
        return cls(doc, plugins, profiles, builtin)

    def named(self, name: str) -> PluginSpec | None:
        return next((p for p in self.plugins if p.name == name), None)

    @property
    def types(self) -> list[str]:
        return [p.type for p in self.plugins]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# Releases word a loader error with fewer values than the newest (GIE v0.5: "the name '%s' has been specified for
# more than one SchedulingProfile"; v1.3: "schedulingProfiles[%d] has duplicate name '%s'"). Call sites pass the
# newest wording's values; these errors keep the last ones when a release's message takes fewer.
_KEEP_LAST = ("factory", "duplicate_profile", "undefined_ref")


def _fit(fmt: str, error: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    n = len(re.findall(r"%[sqvdw]", fmt))
    if n >= len(args):
        return args
    return args[len(args) - n:] if error in _KEEP_LAST else args[:n]


def plugin_capabilities(plugin: Plugin | None) -> tuple[str, ...]:
    """What routing loses when this plugin does not do its job (read from its type, category and metrics)."""
    if plugin is None:
        return (CACHE_AWARE_ROUTING,)
    caps: list[str] = []
    name = plugin.type
    if "prefix" in name:
        caps += [CACHE_AWARE_ROUTING, PREFIX_CACHE]
    if "kv_cache_usage" in plugin.metrics or "kv-cache" in name:
        caps += [CACHE_AWARE_ROUTING, SATURATION_SCHEDULING]
    if {"queued_requests", "running_requests"} & set(plugin.metrics) or any(
            plugin.is_a(c) for c in ("saturation-detector", "admission", "flow-fairness-policy")):
        caps.append(SATURATION_SCHEDULING)
    if plugin.is_a("pd-decider") or "prefill" in name or "disagg" in name or name.startswith("pd-"):
        caps.append(PD_DISAGGREGATION)
    if not caps and plugin.in_profiles:
        caps.append(CACHE_AWARE_ROUTING)
    return tuple(dict.fromkeys(caps))


@dataclass
class Judge:
    """One EPP's config being judged: the rules append findings here."""

    epp: Epp
    cat: Catalog
    cfg: Config
    where: str
    lost: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)

    @property
    def release(self) -> str:
        """`llm-d-inference-scheduler v0.5.0`: the deployed image, named by its product."""
        return f"{self.epp.product} {self.epp.tag}"

    def plugin(self, ptype: str) -> Plugin | None:
        return self.cat.plugins.get(ptype)

    def _add(self, status: Status, fld: str, problem: str, consequence: str, rule: str, source: str,
             fix: str, capabilities: tuple[str, ...], log: str | None = None, evidence: tuple[str, ...] = ()) -> None:
        ev = [*evidence, f"config: {self.where}", f"rule ({self.cat.label}): {rule}", f"source: {source}"]
        if log:
            ev.append(f"the EPP logs: {log}")
        self.findings.append(Finding(status, f"{self.epp.ref}: {fld}: {problem}; {consequence}", self.epp.ref,
                                     tuple(ev), remediation=fix, capabilities=capabilities))

    def exits(self, fld: str, problem: str, rule: str, source: str, fix: str, error: str | None = None,
              args: tuple[Any, ...] = (), evidence: tuple[str, ...] = ()) -> None:
        """A loader or factory error: the EPP exits at start (CrashLoopBackOff)."""
        fmt = self.cat.error(error) if error else None
        log = printf(fmt, *_fit(fmt, error or "", args)) if fmt else None
        self._add(Status.FAIL, fld, problem, f"{self.release} refuses the config and exits at start", rule, source,
                  fix, self.lost, log, evidence)

    def fails_requests(self, fld: str, problem: str, consequence: str, rule: str, source: str, fix: str,
                       evidence: tuple[str, ...] = ()) -> None:
        """The config loads, then requests fail."""
        self._add(Status.FAIL, fld, problem, consequence, rule, source, fix, self.lost, evidence=evidence)

    def degrades(self, fld: str, problem: str, consequence: str, rule: str, source: str, fix: str,
                 capabilities: tuple[str, ...], evidence: tuple[str, ...] = ()) -> None:
        """The EPP runs, without what this part of the config was meant to do."""
        self._add(Status.WARN, fld, problem, consequence, rule, source, fix, capabilities, evidence=evidence)
