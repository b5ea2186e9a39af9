"""The endpoint picker's plugin catalog per release (checks/knowledge/epp_plugins.yaml), typed.

Each release line of the EPP (GIE epp, llm-d-inference-scheduler, llm-d-router) says what its binary accepts
in an EndpointPickerConfig: the plugin types it registers with their parameters, the loader's rules, the
built-in default config and the metric names it scrapes. `catalog_for(image, tag)` answers for an EPP
image; inheritance (`inherits:`) is resolved once per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from llmd_doctor import knowledge
from llmd_doctor import versions as v

# Categories that go into schedulingProfiles (the others are wired by the loader or other sections).
PROFILE_CATEGORIES = ("filter", "scorer", "picker")


def _t(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(x) for x in value)


def resolve(releases: dict[str, dict[str, Any]], rid: str) -> dict[str, Any]:
    """A release with its `inherits` chain applied (the rule in the YAML's header).

    Keys not set come from the parent; dict-valued keys merge one level deep (a sub-key set to null drops the
    parent's); `plugins` merge by type and `removed` drops types.
    """
    rel = releases[rid]
    parent = rel.get("inherits")
    if not parent:
        out = {k: val for k, val in rel.items() if k != "removed"}
        out["plugins"] = dict(rel.get("plugins") or {})
        return out
    out = resolve(releases, parent)
    for key, value in rel.items():
        if key in ("plugins", "removed", "inherits"):
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {k: val for k, val in {**out[key], **value}.items() if val is not None}
        else:
            out[key] = value
    plugins = {t: p for t, p in out["plugins"].items() if t not in set(rel.get("removed") or ())}
    plugins.update(rel.get("plugins") or {})
    out["plugins"] = plugins
    out["inherits"] = parent
    return out


@dataclass(frozen=True)
class Param:
    """One parameter of a plugin: its JSON name and type, and what it names when it names something."""

    name: str
    type: str
    default: Any = None
    required: bool = False
    values: tuple[Any, ...] = ()
    fields: dict[str, Param] = field(default_factory=dict)
    names: str | None = None  # profile | a plugin category (pd-decider)
    when_missing: str | None = None  # load | request | ignored
    capability: str | None = None
    note: str = ""

    @classmethod
    def of(cls, name: str, spec: dict[str, Any]) -> Param:
        return cls(
            name=name, type=str(spec.get("type", "any")), default=spec.get("default"),
            required=bool(spec.get("required")), values=tuple(spec.get("values") or ()),
            fields={n: Param.of(n, s) for n, s in (spec.get("fields") or {}).items()},
            names=spec.get("names"), when_missing=spec.get("when_missing"), capability=spec.get("capability"),
            note=str(spec.get("note") or ""),
        )


def lookup(params: dict[str, Param], key: str) -> Param | None:
    """The parameter a JSON key sets, as encoding/json matches it: the exact name, else case-insensitively."""
    if key in params:
        return params[key]
    folded = key.casefold()
    return next((p for n, p in params.items() if n.casefold() == folded), None)


@dataclass(frozen=True)
class Plugin:
    type: str
    category: str
    also: tuple[str, ...]
    parameters: dict[str, Param] | None  # None: the factory reads no parameters
    metrics: tuple[str, ...]
    stability: str | None
    deprecated: dict[str, Any] | None
    note: str
    source: str

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.category, *self.also)

    def is_a(self, category: str) -> bool:
        return category in self.categories

    @property
    def in_profiles(self) -> bool:
        """Whether it goes into schedulingProfiles (a filter, scorer or picker)."""
        return any(c in PROFILE_CATEGORIES for c in self.categories)

    @classmethod
    def of(cls, ptype: str, spec: dict[str, Any]) -> Plugin:
        params = spec.get("parameters")
        return cls(
            type=ptype, category=str(spec["category"]), also=_t(spec.get("also")),
            parameters=None if params is None else {n: Param.of(n, s) for n, s in params.items()},
            metrics=_t(spec.get("metrics")), stability=spec.get("stability"), deprecated=spec.get("deprecated"),
            note=str(spec.get("note") or ""), source=str(spec.get("source") or ""),
        )


@dataclass(frozen=True)
class DataGraph:
    """llm-d-router's data dependencies between plugins (see the YAML's header)."""

    keys: dict[str, dict[str, Any]]
    produces: dict[str, tuple[str, ...]]
    consumes: dict[str, dict[str, str | None]]
    error: str
    source: str


@dataclass(frozen=True)
class MetricInput:
    name: str
    flag: str
    default: str


@dataclass(frozen=True)
class Catalog:
    """What one EPP release line accepts in its plugins config."""

    id: str
    product: str
    image: str
    versions: str
    read_at: str
    api_versions: tuple[str, ...]
    deprecated_api_versions: tuple[str, ...]
    kind: str
    fields: tuple[str, ...]
    weight_type: str
    config_source: str
    loader: dict[str, Any]
    feature_gates: tuple[str, ...]
    without_config: str
    default_config: dict[str, Any] | None
    metrics: dict[str, Any]
    plugins: dict[str, Plugin]

    @property
    def line(self) -> str:
        """`v1.0` — the release line, from the id."""
        return "v" + self.id.rsplit("-v", 1)[-1]

    @property
    def label(self) -> str:
        """`GIE epp v1.0`, `llm-d-inference-scheduler v0.5`."""
        return f"{self.product} {self.line}"

    @property
    def loader_source(self) -> str:
        return first_source(self.loader.get("source"))

    def error(self, key: str) -> str | None:
        """The loader's message for a rule (a Go format string), None when this release has no such check."""
        return (self.loader.get("errors") or {}).get(key)

    def rule(self, key: str) -> Any:
        return self.loader.get(key)

    @property
    def unknown_params(self) -> str:
        return str((self.loader.get("parameters") or {}).get("unknown", "ignored"))

    @property
    def data_graph(self) -> DataGraph | None:
        g = self.loader.get("data_graph")
        if not g:
            return None
        return DataGraph(
            keys=dict(g.get("keys") or {}), produces={t: _t(k) for t, k in (g.get("produces") or {}).items()},
            consumes={t: dict(k or {}) for t, k in (g.get("consumes") or {}).items()},
            error=str(g.get("error") or ""), source=first_source(g.get("source")),
        )

    @property
    def metric_inputs(self) -> dict[str, MetricInput]:
        return {n: MetricInput(n, str(s["flag"]), str(s["default"]))
                for n, s in (self.metrics.get("inputs") or {}).items()}

    @property
    def metrics_source(self) -> str:
        return first_source(self.metrics.get("source"))


def first_source(source: Any) -> str:
    """The first `owner/repo:path@rev` of a `; `-separated source (the file a rule is read from)."""
    return str(source or "").split(";")[0].strip()


def printf(fmt: str, *args: Any) -> str:
    """Fill a Go format string (`%s`, `%q`, `%v`, `%d`, `%w`) with arguments, in order."""
    it = iter(args)

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "%%":
            return "%"
        value = next(it, m.group(0))
        return f'"{value}"' if m.group(1) == "q" else str(value)

    return re.sub(r"%%|%([sqvdw])", sub, " ".join(fmt.split()))


def _catalog(rid: str, rel: dict[str, Any]) -> Catalog:
    cfg = rel["config"]
    return Catalog(
        id=rid, product=str(rel["product"]), image=str(rel["image"]), versions=str(rel["versions"]),
        read_at=str(rel["read_at"]), api_versions=_t(cfg.get("api_versions")),
        deprecated_api_versions=_t(cfg.get("deprecated_api_versions")), kind=str(cfg.get("kind")),
        fields=_t(cfg.get("fields")), weight_type=str(cfg.get("weight_type", "int")),
        config_source=first_source(cfg.get("source")), loader=dict(rel.get("loader") or {}),
        feature_gates=_t(rel.get("feature_gates")), without_config=str(rel["without_config"]),
        default_config=rel.get("default_config") or None, metrics=dict(rel.get("metrics") or {}),
        plugins={t: Plugin.of(t, p) for t, p in rel["plugins"].items()},
    )


@cache
def catalogs() -> tuple[Catalog, ...]:
    """Every release line, inheritance resolved, in the file's order."""
    releases = knowledge.load("epp_plugins")["releases"]
    return tuple(_catalog(rid, resolve(releases, rid)) for rid in releases)


@cache
def catalog_for(image: str, tag: str | None) -> Catalog | None:
    """The catalog of an EPP image and tag; None for an unknown image, a moving tag or an uncatalogued line."""
    version = v.parse(tag)
    if version is None:
        return None
    return next((c for c in catalogs() if c.image in image and v.in_range(version, c.versions)), None)


def lines_with_plugin(ptype: str, product_of: Catalog | None = None) -> list[Catalog]:
    """Release lines that register a plugin type (of the same product family first, when given)."""
    found = [c for c in catalogs() if ptype in c.plugins]
    if product_of is not None:
        found.sort(key=lambda c: c.image != product_of.image)
    return found


def lines_with_param(ptype: str, key: str) -> list[Catalog]:
    """Release lines whose plugin `ptype` takes a parameter `key`."""
    out = []
    for c in catalogs():
        p = c.plugins.get(ptype)
        if p is not None and p.parameters and lookup(p.parameters, key) is not None:
            out.append(c)
    return out


def lines_with_field(name: str) -> list[Catalog]:
    """Release lines whose EndpointPickerConfig has a top-level field `name`."""
    return [c for c in catalogs() if name in c.fields]


def span(lines: list[Catalog]) -> str:
    """`llm-d-inference-scheduler v0.2–v0.5, GIE epp v0.5` — release lines grouped by product."""
    by_product: dict[str, list[str]] = {}
    for c in lines:
        by_product.setdefault(c.product, []).append(c.line)
    return ", ".join(f"{p} {ls[0]}" + (f"–{ls[-1]}" if len(ls) > 1 else "") for p, ls in by_product.items())
