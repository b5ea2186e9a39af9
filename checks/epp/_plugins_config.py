"""Reading an EndpointPickerConfig against the release that loads it (used by epp.config)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import yaml

from llmd_doctor.model import EPP_CAPABILITIES, Finding, Status
from llmd_doctor.topology import Epp

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def parse(text: str) -> Any:
    """EPPs of one chart share their config text: parse each distinct text once (a fresh copy each time)."""
    return copy.deepcopy(_parse_cached(text))


def findings(epp: Epp, text: str, where: str) -> tuple[list[Finding], str]:
    """Check an EndpointPickerConfig: it parses, one profile handler, refs resolve, plugin types known."""
    ref = epp.ref
    try:
        doc = parse(text)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0]
        return [Finding(Status.FAIL, f"{ref}: the plugins config {where} is not valid YAML ({first}); the EPP exits "
                        "with 'Failed to parse plugins configuration'", ref,
                        remediation="Fix the EndpointPickerConfig YAML.")], "unparsable"
    if not isinstance(doc, dict) or doc.get("kind") != "EndpointPickerConfig":
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        return [Finding(Status.WARN, f"{ref}: {where} is not an EndpointPickerConfig (kind {kind})", ref,
                        capabilities=())], "not an EndpointPickerConfig"
    plugins = [p for p in doc.get("plugins") or [] if isinstance(p, dict)]
    types = [str(p.get("type", "")) for p in plugins]
    names = {str(p.get("name") or p.get("type")) for p in plugins}
    out: list[Finding] = []
    registry = epp.release.plugin_types if epp.release else None
    if registry is not None:
        unknown = [t for t in types if t not in registry]
        if unknown:
            out.append(Finding(Status.WARN, f"{ref}: plugin type(s) {', '.join(unknown)} in {where} are not registered "
                               f"in {epp.label}; the EPP would exit with \"plugin type '{unknown[0]}' is not found in "
                               "registry\"", ref, (f"plugin types: {', '.join(types)}",),
                               remediation="Use the plugin types of the deployed image (GIE v1.x renamed "
                               "kv-cache-scorer to kv-cache-utilization-scorer and dropped the filters), or run "
                               "the image the config was written for.", capabilities=EPP_CAPABILITIES))
    handlers = [t for t in types if t.endswith("profile-handler")]
    if len(handlers) > 1 or (not handlers and epp.facts.profile_handler_required):
        out.append(Finding(Status.WARN, f"{ref}: {where} declares {len(handlers)} profile handlers; the EPP needs "
                           "exactly one (e.g. single-profile-handler)", ref, (f"plugin types: {', '.join(types)}",),
                           capabilities=EPP_CAPABILITIES))
    dangling = [str(r.get("pluginRef")) for prof in doc.get("schedulingProfiles") or [] if isinstance(prof, dict)
                for r in prof.get("plugins") or [] if isinstance(r, dict) and str(r.get("pluginRef")) not in names]
    if dangling:
        out.append(Finding(Status.WARN, f"{ref}: schedulingProfiles in {where} reference undefined plugin(s) "
                           f"{', '.join(dangling)}", ref, capabilities=EPP_CAPABILITIES))
    desc = f"{len(plugins)} plugins" + (f", all known to {epp.tag}" if registry is not None and not out else "")
    return out, desc
