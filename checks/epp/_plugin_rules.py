"""`plugins` against the release's catalog: types it registers, names, each plugin's parameters (unknown,
required, wrong type), stability, and parameters that name another plugin (used by epp.config)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from llmd_doctor.plugin_catalog import (
    Param,
    Plugin,
    lines_with_param,
    lines_with_plugin,
    lookup,
    printf,
    span,
)

from ._judge import Judge, PluginSpec, plugin_capabilities

_JSON_TYPES = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
               "duration": "a duration", "list": "a list", "map": "a mapping", "object": "a mapping"}


def judge(j: Judge) -> None:
    raw = j.cfg.doc.get("plugins")
    if raw is not None and not isinstance(raw, list):
        j.exits("plugins", "is not a list", "plugins is a list of plugin specs", j.cat.config_source,
                "Make `plugins` a list of `- type: <plugin type>` entries.", "decode")
        return
    seen: set[str] = set()
    for i, entry in enumerate(raw or []):
        if not isinstance(entry, dict):
            j.exits(f"plugins[{i}]", "is not a mapping", "each plugin is a mapping with a type", j.cat.config_source,
                    "Write each plugin as `- type: <plugin type>` (and `name`, `parameters`).", "decode")
            continue
        spec = next(p for p in j.cfg.plugins if p.index == i)
        if not spec.type:
            j.exits(spec.field, "has no type", "every plugin names its type", j.cat.loader_source,
                    "Give the plugin a `type`.", "missing_type", (spec.name,))
            continue
        if spec.name in seen:
            j.exits(spec.field, f"the name {spec.name!r} is used twice (a plugin's name defaults to its type)",
                    "plugin names are unique", j.cat.loader_source,
                    "Give each plugin of the same type its own `name`.", "duplicate_name", (spec.name,))
        seen.add(spec.name)
        plugin = j.plugin(spec.type)
        if plugin is None:
            _unknown_type(j, spec)
            continue
        _parameters(j, spec, plugin)
        _stability(j, spec, plugin)
        _references(j, spec, plugin)


def _unknown_type(j: Judge, spec: PluginSpec) -> None:
    close = difflib.get_close_matches(spec.type, list(j.cat.plugins), n=2, cutoff=0.7)
    elsewhere = span(lines_with_plugin(spec.type, j.cat))
    hint = "; ".join(x for x in (f"registered by {elsewhere}" if elsewhere else "",
                                 f"this release has {' or '.join(close)}" if close else "") if x)
    j.exits(spec.field, f"plugin type {spec.type!r} is not registered in {j.release}" + (f" ({hint})" if hint else ""),
            "the loader instantiates only registered plugin types", j.cat.loader_source,
            f"Use a plugin type of {j.cat.label}" + (f" ({' or '.join(close)})" if close else "")
            + ", or run the EPP image the config was written for.", "unknown_type", (spec.type,))


def _parameters(j: Judge, spec: PluginSpec, plugin: Plugin) -> None:
    raw = spec.params
    if raw is not None and not isinstance(raw, dict):
        j.exits(f"{spec.field}.parameters", "is not a mapping", "parameters are decoded into the plugin's struct",
                plugin.source, "Write `parameters` as a mapping of parameter names to values.", "factory",
                (spec.name, spec.type, "cannot unmarshal into the parameters struct"))
        return
    if plugin.parameters is None:
        if raw:
            j.degrades(f"{spec.field}.parameters", f"{spec.type} reads no parameters in {j.release}, so "
                       f"{', '.join(map(str, raw))} {'is' if len(raw) == 1 else 'are'} ignored",
                       "the setting has no effect", "this plugin's factory reads no parameters", plugin.source,
                       f"Remove the parameters of {spec.name}.", plugin_capabilities(plugin))
        return
    _fields(j, spec, plugin, plugin.parameters, raw or {}, "parameters")
    given = {str(k).casefold() for k in (raw or {})}
    for p in plugin.parameters.values():
        if p.required and p.name.casefold() not in given:
            j.exits(f"{spec.field}.parameters.{p.name}", f"{spec.type} requires `{p.name}`, which is not set",
                    "the plugin's factory rejects a config without it", plugin.source,
                    f"Set `{p.name}` in the parameters of {spec.name}.", "factory",
                    (spec.name, spec.type, f"'{p.name}' must be specified"))


def _fields(j: Judge, spec: PluginSpec, plugin: Plugin, params: dict[str, Param], raw: dict[str, Any],
            path: str) -> None:
    for key, value in raw.items():
        where = f"{spec.field}.{path}.{key}"
        p = lookup(params, str(key))
        if p is None:
            _unknown_parameter(j, spec, plugin, params, str(key), where, top=path == "parameters")
            continue
        if not _type_ok(p.type, value):
            j.exits(where, f"{value!r} is not {_JSON_TYPES.get(p.type, p.type)}", "parameters are decoded with "
                    "encoding/json: a value of the wrong JSON type is an error", plugin.source,
                    f"Give `{key}` {_JSON_TYPES.get(p.type, p.type)} value.", "factory",
                    (spec.name, spec.type, f"cannot unmarshal {type(value).__name__} into {key} ({p.type})"))
        elif p.values and value is not None and value not in p.values:
            j.degrades(where, f"{value!r} is not one of {', '.join(map(str, p.values))}", "the plugin does not do "
                       "what the value asks" + (f" ({plugin.note})" if plugin.note else ""), "accepted values",
                       plugin.source, f"Set `{key}` to one of {', '.join(map(str, p.values))}.",
                       plugin_capabilities(plugin))
        elif p.fields and isinstance(value, dict):
            _fields(j, spec, plugin, p.fields, value, f"{path}.{key}")


def _unknown_parameter(j: Judge, spec: PluginSpec, plugin: Plugin, params: dict[str, Param], key: str,
                       where: str, top: bool) -> None:
    close = difflib.get_close_matches(key.casefold(), [n.casefold() for n in params], n=1, cutoff=0.75)
    known = ", ".join(params) or "none"
    others = span([c for c in lines_with_param(spec.type, key) if c.id != j.cat.id]) if top else ""
    hint = f"it takes {known}" + (f"; `{key}` is taken by {spec.type} of {others}" if others else "")
    fix = f"Remove `{key}` from {spec.name}'s parameters" + (
        f" or write it as `{next(n for n in params if n.casefold() == close[0])}`" if close else
        f" or set the value through one of its parameters ({known})") + "."
    if j.cat.unknown_params == "rejected":
        j.exits(where, f"`{key}` is not a parameter of {spec.type} in {j.release} ({hint})",
                "parameters are decoded strictly (DisallowUnknownFields): an unknown key is an error", plugin.source,
                fix, "factory", (spec.name, spec.type, f'json: unknown field "{key}"'))
    else:
        j.degrades(where, f"`{key}` is not a parameter of {spec.type} in {j.release} ({hint})",
                   "the loader ignores unknown parameters, so the setting has no effect",
                   "parameters are decoded with encoding/json: unknown keys are ignored, names match "
                   "case-insensitively", plugin.source, fix, plugin_capabilities(plugin))


def _type_ok(kind: str, value: Any) -> bool:
    """Whether encoding/json would decode the YAML value into a Go field of this kind (null leaves it unset)."""
    if value is None or kind == "any":
        return True
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {
        "int": number and float(value).is_integer(),
        "float": number,
        "bool": isinstance(value, bool),
        "string": isinstance(value, str),
        "duration": isinstance(value, str) or number,
        "list": isinstance(value, list),
        "map": isinstance(value, dict),
        "object": isinstance(value, dict),
    }.get(kind, True)


def _stability(j: Judge, spec: PluginSpec, plugin: Plugin) -> None:
    if plugin.stability != "alpha" or not j.cat.error("alpha_plugin"):
        return
    if j.epp.flags.get("allow-experimental-plugins", "false").lower() not in ("false", "0"):
        return
    j.exits(spec.field, f"{spec.type} is an alpha plugin and --allow-experimental-plugins is not set",
            str(j.cat.rule("experimental_plugins") or "alpha plugins need --allow-experimental-plugins"),
            j.cat.loader_source, "Add `--allow-experimental-plugins` to the EPP's args, or use a beta plugin.",
            "alpha_plugin", (spec.name, spec.type))


def _references(j: Judge, spec: PluginSpec, plugin: Plugin) -> None:
    """Parameters that name another plugin (a pd-decider...): it must exist, be of that kind and, where plugins
    are created in list order, come first."""
    raw = spec.params if isinstance(spec.params, dict) else {}
    for p, value, path, defaulted in _named(plugin.parameters or {}, raw, "parameters"):
        if p.names == "profile" or p.when_missing != "load" or not isinstance(value, str) or not value:
            continue
        target = j.cfg.named(value)
        src = "the default" if defaulted else "set"
        quoted = re.findall(r'"([^"]*%s[^"]*)"', plugin.note)
        log = (spec.name, spec.type, printf(quoted[0], value) if quoted else f"{value} not found")
        kinds = [t for t, q in j.cat.plugins.items() if q.is_a(p.names or "")]
        fix = (f"Define a {p.names} plugin named {value!r} before {spec.name} in `plugins`"
               + (f" (e.g. `- type: {kinds[0]}`" + (f", name: {value}" if value != kinds[0] else "") + ")" if kinds
                  else "") + f", or point `{p.name}` at one.")
        fld = f"{spec.field}.{path}"
        if target is None:
            j.exits(fld, f"names {p.names} plugin {value!r} ({src}), which the config does not define",
                    f"{spec.type} looks the plugin up by name when it is created", plugin.source, fix, "factory", log)
            continue
        other = j.plugin(target.type)
        if other is not None and not other.is_a(p.names or ""):
            j.exits(fld, f"names {value!r}, a {target.type}, which is not a {p.names}",
                    f"{spec.type} needs a {p.names} plugin", plugin.source, fix, "factory", log)
        elif j.cat.rule("plugin_order") == "list" and target.index > spec.index:
            j.exits(fld, f"names {value!r} ({src}), which is listed after {spec.name}",
                    str(j.cat.rule("instantiation")), j.cat.loader_source, fix, "factory", log)


def _named(params: dict[str, Param], raw: dict[str, Any], path: str):  # noqa: ANN202 - a generator of tuples
    """(param, value, path, defaulted) for every parameter that names something, nested fields included."""
    for p in params.values():
        key = next((k for k in raw if str(k).casefold() == p.name.casefold()), None)
        value = raw.get(key) if key is not None else None
        if p.names:
            yield p, (value if key is not None else p.default), f"{path}.{p.name}", key is None
        if p.fields and isinstance(value, dict):
            yield from _named(p.fields, value, f"{path}.{p.name}")
