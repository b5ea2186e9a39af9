"""The model-server metrics the EPP scrapes (used by epp.config): metric flags a release refuses, and the metric
names its scorers and saturation detector read — the release's defaults or the flags — against what the model
servers' vLLM version emits (checks/knowledge/vllm.yaml)."""

from __future__ import annotations

from llmd_doctor import versions as v
from llmd_doctor.model import CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING, Finding, Status
from llmd_doctor.plugin_catalog import Catalog, printf
from llmd_doctor.topology import Epp, ServerGroup
from llmd_doctor.topology.servers import server_container

from . import _vllm
from ._judge import Config, plugin_capabilities

_INPUT_CAPABILITIES = {"kv_cache_usage": (CACHE_AWARE_ROUTING, SATURATION_SCHEDULING),
                       "queued_requests": (SATURATION_SCHEDULING,), "running_requests": (SATURATION_SCHEDULING,),
                       "cache_info": (PREFIX_CACHE,), "lora_info": (CACHE_AWARE_ROUTING,)}


def findings(epp: Epp, cat: Catalog | None, cfg: Config | None, groups: list[ServerGroup],
             lost: tuple[str, ...]) -> list[Finding]:
    out = _refused_flags(epp, cat, lost) if cat else []
    for inp, name, how, readers in _scraped(epp, cat, cfg):
        if _vllm.needs_flag(inp):
            continue  # LoRA info exists only with LoRA enabled, where it matters
        out += _against_servers(epp, cat, inp, name, how, readers, groups)
    return out


def _refused_flags(epp: Epp, cat: Catalog, lost: tuple[str, ...]) -> list[Finding]:
    fmt = cat.metrics.get("flag_error")
    out = []
    for mi in cat.metric_inputs.values() if fmt else ():
        flag = mi.flag.lstrip("-")
        if flag in epp.flags:
            out.append(Finding(
                Status.FAIL, f"{epp.ref}: {mi.flag}: {epp.product} {epp.tag} refuses the metric flags and exits at "
                f"start (metric names come from the metrics extractor's engineConfigs)", epp.ref,
                (epp.argv_text, f"the EPP logs: {printf(str(fmt), flag)}",
                 f"rule ({cat.label}): metric flags cannot be set", f"source: {cat.metrics_source}"),
                remediation=f"Remove `{mi.flag}` from the EPP's args (its default {mi.default} applies; other names "
                "go in engineConfigs of the metrics extractor plugin).", capabilities=lost))
    return out


def _scraped(epp: Epp, cat: Catalog | None, cfg: Config | None) -> list[tuple[str, str, str, list[str]]]:
    """(input, metric name, where the name comes from, who reads it) for each metric the EPP's config reads."""
    if cat is None:
        flag = epp.flag("kvCacheUsagePercentageMetric", "kv-cache-usage-percentage-metric")
        name = flag or epp.facts.kv_metric_default
        how = "set by flag" if flag else f"the default of {epp.tag}"
        return [("kv_cache_usage", str(name), how, ["the KV-cache scorer"])] if name else []
    if cfg is not None and any(isinstance(p.params, dict) and any(str(k).casefold() == "engineconfigs"
                                                                  for k in p.params) for p in cfg.plugins):
        return []  # names chosen per engine in the config: not judged here
    readers: dict[str, list[str]] = {i: ["the saturation detector"] for i in cat.metrics.get("always_read") or ()}
    types = [p.type for p in cfg.plugins] if cfg else []
    if cfg is not None and cfg.builtin:
        types += list((cat.default_config or {}).get("injected") or ())
    for t in dict.fromkeys(types):
        for inp in (cat.plugins[t].metrics if t in cat.plugins else ()):
            readers.setdefault(inp, []).append(t)
    out = []
    for inp, who in readers.items():
        mi = cat.metric_inputs.get(inp)
        if mi is None:
            continue
        if cat.metrics.get("from") == "flags":
            flag = epp.flags.get(mi.flag.lstrip("-"))
            how = f"set by {mi.flag}" if flag else f"the default of {mi.flag} in {epp.tag}"
        else:
            flag, how = None, f"the built-in vllm engineConfig of {epp.tag}"
        out.append((inp, flag or mi.default, how, who))
    return out


def _against_servers(epp: Epp, cat: Catalog | None, inp: str, name: str, how: str, readers: list[str],
                     groups: list[ServerGroup]) -> list[Finding]:
    seen: set[v.Version] = set()
    looked: set[int] = set()  # groups may share a server container too: each is judged once
    out = []
    for pod in (p for g in groups for p in g.variants):
        c = server_container(pod)
        if c is None or id(c) in looked:
            continue
        looked.add(id(c))
        known = _vllm.version_of(str(c.get("image", "")))
        if known is None or known[0] in seen:
            continue
        version, image = known
        args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        if _vllm.emits(name, version, args) is not False:
            continue
        seen.add(version)
        ver = v.text(version)[1:]
        other = next((m for m in _vllm.feeds(inp) if m != name and _vllm.emits(m, version, args)), None)
        settable = cat is None or cat.metrics.get("from") == "flags"
        flag = cat.metric_inputs[inp].flag if cat else epp.flag_name("kvCacheUsagePercentageMetric",
                                                                      "kv-cache-usage-percentage-metric")
        fld = flag if settable else "the metrics extractor's engineConfigs"
        if other and settable:
            fix = f"Pass `{flag} {other}` to the EPP (vLLM {ver} emits {other})."
        elif other:
            fix = (f"Name {other} for vLLM in the engineConfigs of the metrics extractor plugin, or run a vLLM that "
                   f"emits {name} ({_vllm.metric_versions(name)}).")
        else:
            fix = f"Run a vLLM that emits {name} ({_vllm.metric_versions(name)})."
        caps = tuple(dict.fromkeys(cap for r in readers for cap in (
            plugin_capabilities(cat.plugins.get(r)) if cat and r in cat.plugins else _INPUT_CAPABILITIES.get(inp, ()))))
        who = ", ".join(readers)
        rule = f"the {inp} metric name is {how}"
        out.append(Finding(
            Status.WARN, f"{epp.ref}: {fld}: the EPP scrapes {name} ({how}), which vLLM {ver} does not emit"
            + (f" (it emits {other})" if other else "") + f": {who} see{'s' if len(readers) == 1 else ''} no data",
            epp.ref,
            (f"model servers run {image}", f"vllm.yaml: {name} is emitted by vLLM {_vllm.metric_versions(name)}",
             f"rule ({cat.label if cat else epp.label}): {rule}",
             f"source: {cat.metrics_source if cat else 'checks/knowledge/epp_releases.yaml'}"),
            remediation=fix, capabilities=caps or _INPUT_CAPABILITIES.get(inp, ())))
    return out
