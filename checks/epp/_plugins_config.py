"""An EPP's plugins config read against the release that loads it (used by epp.config).

The config is what `--config-text` holds, the file `--config-file` names in its mounted ConfigMap, or — when
neither is given and the release has one — its built-in default. With the release's catalog
(src/llmd_doctor/plugin_catalog.py) every rule is data: the document, the plugins and their parameters, the
profiles and profile handler, the data plugins need. Without one (an unreleased tag) only what holds for
every release is checked.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from llmd_doctor.model import EPP_CAPABILITIES, Finding, Status
from llmd_doctor.plugin_catalog import Catalog, catalog_for, first_source
from llmd_doctor.topology import Epp

from . import _data_graph, _doc_rules, _plugin_rules, _profile_rules
from ._config_source import file_findings, no_config
from ._judge import Config, Judge

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def _fresh(value: Any) -> Any:
    """A copy of parsed YAML's mappings and lists (its scalars are immutable); deepcopy's generality
    cost more than the checks of 500 EPPs sharing one chart's config."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def parse(text: str) -> Any:
    """EPPs of one chart share their config text: parse each distinct text once (a fresh copy each time)."""
    return _fresh(_parse_cached(text))


def config_findings(epp: Epp, lost: tuple[str, ...]) -> tuple[list[Finding], str, Config | None]:
    """Findings about the plugins config, a note for the pass message, and the config as read (None: unknown)."""
    cfg, cat = epp.config, catalog_for(epp.image, epp.tag)
    if cfg.given == "both":
        status = Status.FAIL if epp.flag_style == "camel" else Status.WARN
        return [Finding(status, f"{epp.ref}: both a config file and config text are given; the EPP refuses both at "
                        "once", epp.ref, (epp.argv_text,), remediation="Pass only one of the config file and config "
                        "text flags.", capabilities=lost if status == Status.FAIL else ())], "two configs", None
    if cfg.file is not None:
        found, text, where = file_findings(epp, cfg.file, lost)
        if text is None:
            return found, f"config {where}", None
        more, what, read = judge_text(epp, cat, text, where, lost)
        return found + more, f"config {where}, {what}", read
    if cfg.text_flag:
        more, what, read = judge_text(epp, cat, cfg.text_flag, "the config text", lost)
        return more, f"config text, {what}", read
    if cat is not None and cat.without_config == "default" and cat.default_config:
        return judge_default(epp, cat, lost)
    more, what = no_config(epp, lost)
    return more, what, None


def judge_text(epp: Epp, cat: Catalog | None, text: str, where: str,
               lost: tuple[str, ...]) -> tuple[list[Finding], str, Config | None]:
    ref = epp.ref
    if text == "" and cat is not None and cat.without_config == "default" and cat.default_config:
        found, what, read = judge_default(epp, cat, lost)  # zero bytes: the loader uses its default
        return found, f"empty, so {what.removeprefix('no plugins config: ')}", read
    try:
        doc = parse(text)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0]
        return [Finding(Status.FAIL, f"{ref}: the plugins config {where} is not valid YAML ({first}); the EPP exits "
                        "with 'Failed to parse plugins configuration'", ref,
                        remediation="Fix the EndpointPickerConfig YAML.", capabilities=lost)], "unparsable", None
    if not isinstance(doc, dict):
        return [Finding(Status.FAIL if cat else Status.WARN, f"{ref}: {where} is not an EndpointPickerConfig (a "
                        f"{type(doc).__name__}, not a mapping)", ref,
                        capabilities=lost if cat else ())], "not an EndpointPickerConfig", None
    read = Config.of(doc)
    if cat is None:
        return _uncatalogued(epp, read, where), f"{len(read.plugins)} plugins (release not catalogued)", read
    j = Judge(epp, cat, read, where, lost)
    _doc_rules.judge(j)
    if doc.get("kind") == cat.kind:
        for rules in (_plugin_rules, _profile_rules, _data_graph):
            rules.judge(j)
    return j.findings, f"{len(read.plugins)} plugins, all known to {epp.tag} ({cat.label} rules)", read


def judge_default(epp: Epp, cat: Catalog, lost: tuple[str, ...]) -> tuple[list[Finding], str, Config]:
    """The release's built-in default config, judged like a given one; the note says what it enables."""
    d = cat.default_config or {}
    profiles = d.get("profiles") or {}
    doc = {"apiVersion": cat.api_versions[0], "kind": cat.kind, "plugins": [{"type": t} for t in d["plugins"]],
           "schedulingProfiles": [{"name": n, "plugins": [{"pluginRef": t, "weight": w} for t, w in ws.items()]}
                                  for n, ws in profiles.items()]}
    read = Config.of(doc, builtin=True)
    j = Judge(epp, cat, read, f"the built-in default config of {cat.label} ({first_source(d.get('source'))})", lost)
    for rules in (_doc_rules, _plugin_rules, _profile_rules, _data_graph):
        rules.judge(j)
    weights = {t: w for ws in profiles.values() for t, w in ws.items()}
    enabled = ", ".join(f"{t} (weight {weights[t]})" if t in weights else t for t in d["plugins"])
    added = ", ".join(d.get("injected") or ())
    return j.findings, (f"no plugins config: the built-in default of {cat.label} enables {enabled}"
                        + (f"; the loader adds {added}" if added else "")), read


def _uncatalogued(epp: Epp, cfg: Config, where: str) -> list[Finding]:
    """What holds for every release: one profile handler at most, profile references resolve."""
    ref, out = epp.ref, []
    if cfg.doc.get("kind") != "EndpointPickerConfig":
        out.append(Finding(Status.WARN, f"{ref}: {where} is not an EndpointPickerConfig (kind {cfg.doc.get('kind')})",
                           ref, capabilities=()))
    handlers = [t for t in cfg.types if t.endswith("profile-handler")]
    if len(handlers) > 1:
        out.append(Finding(Status.WARN, f"{ref}: {where} declares {len(handlers)} profile handlers; the EPP needs "
                           "exactly one (e.g. single-profile-handler)", ref, (f"plugin types: {', '.join(cfg.types)}",),
                           capabilities=EPP_CAPABILITIES))
    names = {p.name for p in cfg.plugins}
    dangling = [str(r.get("pluginRef")) for prof in cfg.profiles for r in prof.refs if str(r.get("pluginRef")) not in names]
    if dangling:
        out.append(Finding(Status.WARN, f"{ref}: schedulingProfiles in {where} reference undefined plugin(s) "
                           f"{', '.join(dangling)}", ref, capabilities=EPP_CAPABILITIES))
    return out
