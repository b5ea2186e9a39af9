"""`schedulingProfiles` against the release's loader: profiles present and named, every plugin a profile
references defined, scorer weights, one picker per profile (or the release's default), the profile handler
and what it needs of the profiles (used by epp.config)."""

from __future__ import annotations

import re

from llmd_doctor.model import PD_DISAGGREGATION

from ._judge import Judge, ProfileSpec


def judge(j: Judge) -> None:
    cat, cfg = j.cat, j.cfg
    rule = cat.rule("profiles") or {}
    raw = cfg.doc.get("schedulingProfiles")
    profiles = list(cfg.profiles)
    if raw is not None and not isinstance(raw, list):
        j.exits("schedulingProfiles", "is not a list", "schedulingProfiles is a list of named profiles",
                cat.config_source, "Make `schedulingProfiles` a list of `- name: <profile>` entries.", "decode")
        return
    if not raw:
        if rule.get("required"):
            j.exits("schedulingProfiles", "no scheduling profile is defined", "at least one profile is required",
                    cat.loader_source, "Add a `schedulingProfiles` entry listing the filters, scorers and picker.",
                    "no_profiles")
            return
        refs = tuple({"pluginRef": p.name} for p in cfg.plugins if (q := j.plugin(p.type)) and q.in_profiles)
        profiles = [ProfileSpec(0, "default", refs)]  # what the loader builds
    seen: set[str] = set()
    for prof in profiles:
        fld = f"schedulingProfiles[{prof.index}]"
        if not prof.name:
            j.exits(fld, "has no name", "every profile is named", cat.loader_source, "Name the profile.",
                    "profile_no_name", (prof.index,))
        elif prof.name in seen:
            j.exits(fld, f"the profile name {prof.name!r} is used twice", "profile names are unique",
                    cat.loader_source, "Rename one of the profiles.", "duplicate_profile", (prof.index, prof.name))
        seen.add(prof.name)
        _profile(j, prof, f"{fld} ({prof.name})" if prof.name else fld)
    _handler(j, [p.name for p in profiles])


def _profile(j: Judge, prof: ProfileSpec, fld: str) -> None:
    cat = j.cat
    if not prof.refs and (cat.rule("profiles") or {}).get("plugin_required"):
        j.exits(fld, "lists no plugins", "a profile needs at least one plugin", cat.loader_source,
                "List the profile's filters, scorers and picker.", "empty_profile", (prof.name,))
    weights = cat.rule("scorer_weight") or {}
    pickers: list[str] = []
    for i, ref in enumerate(prof.refs):
        name = ref.get("pluginRef")
        rfld = f"{fld}.plugins[{i}]"
        if not name:
            j.exits(rfld, "has no pluginRef", "every profile entry references a plugin", cat.loader_source,
                    "Set `pluginRef` to the name of a plugin in `plugins`.", "missing_ref", (prof.name, i))
            continue
        spec = j.cfg.named(str(name))
        if spec is None:
            names = ", ".join(p.name for p in j.cfg.plugins) or "none"
            j.exits(rfld, f"pluginRef {name!r} names no plugin of `plugins` (defined: {names})",
                    "every plugin a profile references is defined", cat.loader_source,
                    f"Define a plugin named {name!r} in `plugins`, or reference one that is.", "undefined_ref",
                    (prof.name, name))
            continue
        plugin = j.plugin(spec.type)
        if plugin is None:
            continue  # judged with the plugins
        if plugin.is_a("picker"):
            pickers.append(spec.name)
        weight = ref.get("weight")
        if plugin.is_a("scorer") and weight is None and weights.get("required"):
            j.exits(rfld, f"scorer {name!r} has no weight", "scorers need a weight in this release",
                    cat.loader_source, f"Add `weight: 1` to the {name} entry.", "scorer_weight", (name,))
        elif weight is not None and not _weight_ok(weight, cat.weight_type):
            j.exits(f"{rfld}.weight", f"{weight!r} is not {'an integer' if cat.weight_type == 'int' else 'a number'}",
                    f"weights are {cat.weight_type}s in this release", cat.config_source,
                    f"Give {name} a whole-number weight." if cat.weight_type == "int" else "Give a numeric weight.",
                    "decode")
    _picker(j, prof, fld, pickers)


def _weight_ok(weight: object, kind: str) -> bool:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        return False
    return kind != "int" or float(weight).is_integer()


def _picker(j: Judge, prof: ProfileSpec, fld: str, pickers: list[str]) -> None:
    rule = j.cat.rule("picker") or {}
    limit = int(rule.get("max_per_profile") or 1)
    if len(pickers) > limit:
        j.exits(fld, f"lists {len(pickers)} pickers ({', '.join(pickers)})", f"at most {limit} picker per profile",
                j.cat.loader_source, "Keep one picker in the profile.", "two_pickers", (pickers[1], pickers[0]))
    elif not pickers and rule.get("default") is None:
        j.fails_requests(fld, f"profile {prof.name!r} has no picker and {j.release}'s loader adds none",
                         "the scheduler runs a nil picker and requests fail once they reach it (the EPP turns "
                         "Ready first)", "a profile needs a picker; this release defaults none", j.cat.loader_source,
                         f"Add a picker to profile {prof.name!r} (e.g. `- type: max-score-picker` in `plugins` and "
                         "`- pluginRef: max-score-picker` in the profile).")


def _handler(j: Judge, profiles: list[str]) -> None:
    cat = j.cat
    rule = cat.rule("profile_handler") or {}
    handlers = [p for p in j.cfg.plugins if (q := j.plugin(p.type)) is not None and q.is_a("profile-handler")]
    default = rule.get("default")
    if len(handlers) > 1:
        j.exits("plugins", f"{len(handlers)} profile handlers are defined ({', '.join(h.name for h in handlers)})",
                "exactly one profile handler", cat.loader_source, "Keep one profile handler.",
                "two_profile_handlers", (handlers[0].name, handlers[1].name))
    elif not handlers and (default is None or len(profiles) != 1):
        why = "this release adds none" if default is None else f"the loader adds one only for a single profile ({default})"
        j.exits("plugins", f"no profile handler is defined and {why}", "exactly one profile handler",
                cat.loader_source, "Add a profile handler: `- type: single-profile-handler` for one profile, "
                "a P/D profile handler for prefill and decode profiles.", "no_profile_handler")
    types = [h.type for h in handlers] or (["single-profile-handler"] if default and len(profiles) == 1 else [])
    single = cat.rule("single_profile_handler") or {}
    if "single-profile-handler" in types and len(profiles) > int(single.get("max_profiles") or 1):
        others = ", ".join(repr(p) for p in profiles[1:])
        problem = f"single-profile-handler runs one profile, but {len(profiles)} are defined (also {others})"
        fix = "Keep one profile, or use a profile handler that selects among several (e.g. pd-profile-handler)."
        if single.get("enforced") == "load":
            j.exits("schedulingProfiles", problem, "single-profile-handler allows one profile", cat.loader_source,
                    fix, "single_handler_profiles")
        else:
            note = (j.plugin("single-profile-handler") or j.plugin(types[0]))
            said = re.findall(r'"([^"]+)"', note.note if note else "")
            j.fails_requests("schedulingProfiles", problem, "the config loads and the EPP turns Ready, then every "
                             "request fails" + (f" with '{said[0]}'" if said else ""),
                             "single-profile-handler handles exactly one profile (checked per request in this "
                             "release)", note.source if note else cat.loader_source, fix)
    for h in handlers:
        _named_profiles(j, h.index, h.name, h.type, h.params, profiles)


def _named_profiles(j: Judge, index: int, name: str, ptype: str, raw: object, profiles: list[str]) -> None:
    plugin = j.plugin(ptype)
    params = dict(raw) if isinstance(raw, dict) else {}
    for p in (plugin.parameters or {}).values() if plugin else ():
        if p.names != "profile":
            continue
        key = next((k for k in params if str(k).casefold() == p.name.casefold()), None)
        value = params[key] if key is not None else p.default
        if not isinstance(value, str) or value in profiles:
            continue
        fld = f"plugins[{index}] ({name}).parameters.{p.name}"
        problem = f"names profile {value!r}{' (the default)' if key is None else ''}, which is not defined " \
                  f"(profiles: {', '.join(profiles) or 'none'})"
        fix = f"Add a schedulingProfiles entry named {value!r}, or set `{p.name}` to an existing profile."
        src = plugin.source if plugin else j.cat.loader_source
        rule = f"{ptype} looks its profiles up by name per request"
        if p.when_missing == "ignored":
            cap = p.capability or PD_DISAGGREGATION
            j.degrades(fld, problem, f"{ptype} never runs it: no {cap}", rule, src, fix, (cap,))
        else:
            j.fails_requests(fld, problem, "the config loads, then requests that need the profile fail", rule, src,
                             fix)
