"""The interface every gateway implementation plugin has, and its data-driven default.

A gateway implementation (Istio, kgateway, agentgateway, GKE, Envoy AI Gateway) is one module beside
this one and one YAML file of facts with sources (`<name>.yaml`). The module subclasses
`GatewayImplementation` only where the data cannot say it (Istio picks its control plane by
revision); everything else — which GatewayClass controller names it owns, how to find its controller
and version, which InferencePool API groups a release routes, the switch that turns InferencePool
support on, what a Gateway's parametersRef must name, the data plane it creates per Gateway, its log
signatures — is read from the facts. The topology asks this interface; no check names an
implementation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from llmd_doctor import compiled_facts, k8s, memo
from llmd_doctor import versions as v
from llmd_doctor.knowledge import Signature, signature_from

Obj = dict[str, Any]
_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go strconv.ParseBool


@dataclass(frozen=True)
class Controller:
    """A control plane that programs Gateways: its workload, the container that carries its
    switch and version, and that version (None for dev builds and moving tags)."""

    implementation: str
    workload: Obj
    container: Obj
    version_text: str | None
    version: v.Version | None
    nominal: v.Version | None  # major.minor of any build, pre-releases included
    revision: str = ""

    @property
    def ref(self) -> str:
        return f"{self.workload.get('kind', 'Deployment')}/{k8s.namespace(self.workload)}/{k8s.name(self.workload)}"

    @property
    def image(self) -> str:
        return str(self.container.get("image", ""))

    @property
    def label(self) -> str:
        if self.version_text and self.version is None:
            return f"{self.version_text} (pre-release build)"
        return self.version_text or "unknown version"

    def env(self, name: str) -> tuple[bool, str | None]:
        """(is set, literal value) of an env var on the controller container (None = valueFrom)."""
        for e in self.container.get("env") or []:
            if e.get("name") == name:
                return True, (str(e["value"]) if "value" in e else None)
        return False, None

    def flag(self, name: str) -> str | None:
        argv = [str(a) for a in (self.container.get("command") or []) + (self.container.get("args") or [])]
        return k8s.parse_args(argv).get(name)


@dataclass(frozen=True)
class Switch:
    """The state of the switch that turns InferencePool backends on in a controller."""

    state: str  # on | off | unknown (set from a reference) | always (no switch) | not-observable
    name: str | None = None  # the env var or flag that says so
    value: str | None = None
    names: tuple[str, ...] = ()  # every name this release reads
    enable: str = ""  # how to turn it on, as the user types it
    source: str = ""
    # Names other releases read that are set on this controller, which its release ignores (the trap of
    # Istio's SUPPORT_… name, which 1.27.0 no longer reads).
    ignored: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        if self.state == "always":
            return "no switch needed"
        if self.name:
            return f"{self.name}={self.value if self.value is not None else '<from a reference>'}"
        return f"{' / '.join(self.names) or 'the switch'} not set"


@dataclass(frozen=True)
class Release:
    """What one release range of an implementation routes and needs (for pre-release builds in the
    range, `prerelease` overrides: their features cannot be read off the version number)."""

    versions: str
    pool_groups: tuple[str, ...]
    source: str
    switch: dict[str, Any] = field(default_factory=dict)
    requires: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    prerelease: Release | None = None

    @classmethod
    def of(cls, r: dict[str, Any], versions: str | None = None) -> Release:
        pre = r.get("prerelease")
        return cls(str(versions or r["versions"]), tuple(r.get("pool_groups") or ()), str(r.get("source") or ""),
                   dict(r.get("switch") or {}), dict(r.get("requires") or {}), str(r.get("note") or ""),
                   cls.of(pre, versions or r["versions"]) if isinstance(pre, dict) else None)


@dataclass(frozen=True)
class DataPlaneSpec:
    """Where the proxy the controller creates for one Gateway lives (None fields: not known)."""

    managed: bool
    namespace: str | None
    deployment: str | None
    service: str | None
    labels: dict[str, str]
    source: str
    name_pattern: str | None = None  # a regex for hashed names (Envoy Gateway)


class GatewayImplementation:
    """A gateway implementation, its facts read from `<name>.yaml` beside its module."""

    name: str = ""

    def __init__(self, facts: dict[str, Any]):
        self.facts = facts
        self.name = str(facts["name"])
        self.title = str(facts.get("title") or self.name)

    # ---- which GatewayClasses -----------------------------------------------------------------

    def owns(self, controller_name: str | None) -> bool:
        if not controller_name:
            return False
        for entry in self.facts.get("controller_names") or []:
            if entry.get("value") == controller_name or (
                    entry.get("prefix") and controller_name.startswith(str(entry["prefix"]))):
                return True
        return False

    # ---- the control plane ----------------------------------------------------------------------

    @property
    def managed(self) -> bool:
        """The controller runs outside the cluster (a cloud service): nothing to find or read."""
        return bool((self.facts.get("controller") or {}).get("managed"))

    @cached_property
    def _images(self) -> re.Pattern[str] | None:
        """The facts' image patterns as one: every Deployment of the cluster is tested against it."""
        return _any_of((self.facts.get("controller") or {}).get("images"))

    @cached_property
    def _names(self) -> re.Pattern[str] | None:
        return _any_of((self.facts.get("controller") or {}).get("deployment_names"))

    @cached_property
    def _match(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, tuple[tuple[Any, Any], ...],
                              tuple[Any, ...]]:
        """(image pattern, name pattern, labels, container names) of the controller facts."""
        c = self.facts.get("controller") or {}
        return (self._images, self._names, tuple((c.get("labels") or {}).items()),
                tuple((c.get("container") or {}).get("names") or ()))

    def controller_container(self, workload: Obj) -> Obj | None:
        """The container of a Deployment that is this implementation's controller, or None."""
        images, names, labels, wanted = self._match
        name, lbls, containers = _looks(workload)
        if images is not None:
            for x in containers:
                if images.search(str(x.get("image", ""))):
                    return x
        if names is not None and names.search(name):
            pass
        elif not labels or any(lbls.get(a) != b for a, b in labels):
            return None
        return next((x for x in containers if x.get("name") in wanted), None)

    def controller(self, workload: Obj) -> Controller | None:
        container = self.controller_container(workload)
        if container is None:
            return None
        text = self.version_text(workload, container)
        revision = ""
        rev_label = (self.facts.get("controller") or {}).get("revision_label")
        if rev_label:
            revision = k8s.labels(workload).get(str(rev_label), "default")
        release = text if text and re.match(r"^v?\d+\.\d+\.\d+$", text) else None
        return Controller(self.name, workload, container, text, v.parse(release), v.parse(text), revision)

    def version_text(self, workload: Obj, container: Obj) -> str | None:
        """The version as shipped, read where the facts say (`version_from`): the image tag (suffixes
        like -distroless dropped), or a label of the workload."""
        sources = (self.facts.get("controller") or {}).get("version_from") or ["image-tag"]
        for how in [sources] if isinstance(sources, str) else sources:
            if how == "image-tag":
                tag = k8s.image_tag(str(container.get("image", "")))
                if tag and v.parse(tag):
                    return re.sub(r"-(distroless|debug)$", "", tag)
            elif str(how).startswith("label:"):
                label = k8s.labels(workload).get(str(how)[len("label:"):])
                if label and v.parse(label):
                    return label
        return None

    def controller_for(self, gateway: Obj, controller_name: str | None,
                       controllers: list[Controller]) -> Controller | None:
        """The control plane that programs this Gateway (one, when the implementation runs one)."""
        return controllers[0] if controllers else None

    # ---- what a release routes and needs ----------------------------------------------------------

    @cached_property
    def releases(self) -> tuple[Release, ...]:
        return tuple(Release.of(r) for r in self.facts.get("releases") or [])

    def release(self, version: v.Version | None) -> Release | None:
        if version is None:
            return None
        return next((r for r in self.releases if v.in_range(version, r.versions)), None)

    def release_of(self, controller: Controller | None) -> Release | None:
        """The facts of the controller's build: its release's, or for a pre-release build of that
        range the `prerelease` facts when there are any (else none: they cannot be read off the number)."""
        if controller is None:
            return None
        if controller.version is not None:
            return self.release(controller.version)
        rel = self.release(controller.nominal)
        return rel.prerelease if rel is not None else None

    def pool_groups(self, controller: Controller | None) -> tuple[tuple[str, ...] | None, str]:
        """InferencePool API groups this implementation routes (at the controller's release), with
        the source; None when unknown (a dev build or an unknown version whose releases disagree)."""
        if not self.releases:
            return None, ""
        rel = self.release_of(controller)
        if rel is not None:
            return rel.pool_groups, rel.source
        if controller is not None and controller.version is not None:
            return None, ""  # a release outside every known range
        if len({tuple(sorted(r.pool_groups)) for r in self.releases}) == 1:
            return self.releases[0].pool_groups, "; ".join(dict.fromkeys(r.source for r in self.releases))
        return None, ""

    # ---- the inference-extension switch ---------------------------------------------------------

    def switch(self, controller: Controller | None, config: Obj | None = None) -> Switch:
        """Whether the controller has InferencePool support on. `config`: the object a `config` switch
        lives in (the ConfigMap `switch.config` names), when the caller could read it."""
        base = dict(self.facts.get("switch") or {"kind": "always"})
        rel = self.release_of(controller)
        if rel is not None and rel.switch:
            base.update(rel.switch)
        elif controller is not None and controller.version is None:
            # A dev build without facts of its own: any name some release reads may be the one it reads.
            names = [*base.get("names", []), *(n for r in self.releases for p in (r, r.prerelease) if p
                                               for n in p.switch.get("names", []))]
            base["names"] = list(dict.fromkeys(names))
        kind = str(base.get("kind", "env"))
        names = tuple(str(n) for n in base.get("names") or ())
        enable, source = " ".join(str(base.get("enable") or "").split()), str(base.get("source") or "")
        if kind == "config":
            return self._config_switch(base, config, enable, source)
        if kind in ("always", "not-observable") or not names:
            return Switch(kind if kind in ("always", "not-observable") else "always", names=names, enable=enable,
                          source=source)
        if controller is None:
            return Switch("unknown", names=names, enable=enable, source=source)
        truthy = tuple(str(t) for t in base.get("truthy") or _TRUE)
        found: list[tuple[str, str | None]] = []
        for n in names:
            if kind == "env":
                present, value = controller.env(n)
            else:
                value = controller.flag(n)
                present = value is not None
            if present:
                found.append((n, value))
        for n, value in found:
            if value is not None and value.strip() in truthy:
                return Switch("on", n, value, names, enable, source)
        unset = next((n for n, value in found if value is None), None)
        if unset is not None:
            return Switch("unknown", unset, None, names, enable, source)
        others = {n for r in self.releases for p in (r, r.prerelease) if p for n in p.switch.get("names", [])}
        ignored = tuple(f"{n}={value}" for n in sorted(others - set(names))
                        for present, value in [controller.env(n)] if present and value and value.strip() in truthy)
        if found:
            return Switch("off", found[0][0], found[0][1], names, enable, source, ignored)
        return Switch("on" if base.get("default") else "off", None, None, names, enable, source, ignored)

    def _config_switch(self, base: dict[str, Any], config: Obj | None, enable: str, source: str) -> Switch:
        """A switch that is a setting in the controller's configuration file (Envoy Gateway's
        extensionManager.backendResources listing InferencePool)."""
        where = base.get("config") or {}
        name = f"ConfigMap {where.get('namespace')}/{where.get('configmap')} key {where.get('key')}"
        if config is None:
            return Switch("unknown", name, None, (), enable, source)
        text = str((config.get("data") or {}).get(str(where.get("key"))) or "")
        on = "InferencePool" in text and "backendResources" in text
        return Switch("on" if on else "off", name, "lists InferencePool in backendResources" if on
                      else "does not list InferencePool in extensionManager.backendResources", (), enable, source)

    def switch_config(self) -> tuple[str, str, str] | None:
        """(namespace, ConfigMap, key) a `config` switch lives in, for the caller to look up."""
        where = (self.facts.get("switch") or {}).get("config") or {}
        if (self.facts.get("switch") or {}).get("kind") != "config" or not where.get("configmap"):
            return None
        return str(where.get("namespace")), str(where["configmap"]), str(where.get("key"))

    # ---- parametersRef and data plane ---------------------------------------------------------------

    def required_pool_policies(self) -> list[dict[str, Any]]:
        """Policy kinds that must target each InferencePool the implementation routes ({key, missing, fix,
        source}): without one, the data plane it programs fails the pool (GKE's HealthCheckPolicy)."""
        return [p for p in self.facts.get("policies") or [] if p.get("required")]

    def parameters_kinds(self) -> list[dict[str, Any]]:
        """What a Gateway's spec.infrastructure.parametersRef may name ({group, kind, source})."""
        return list(self.facts.get("parameters_ref") or [])

    def data_plane(self, gateway: Obj) -> DataPlaneSpec:
        dp = self.facts.get("data_plane") or {}
        values = {"gateway": k8s.name(gateway), "namespace": k8s.namespace(gateway),
                  "class": str((gateway.get("spec") or {}).get("gatewayClassName", ""))}

        def fill(t: Any) -> str | None:
            return str(t).format(**values) if t else None

        ns = dp.get("namespace", "gateway")
        return DataPlaneSpec(
            managed=bool(dp.get("managed")),
            namespace=values["namespace"] if ns == "gateway" else fill(ns),
            deployment=fill(dp.get("deployment")), service=fill(dp.get("service")),
            labels={str(a): str(fill(b)) for a, b in (dp.get("selector_labels") or {}).items()},
            source=" ".join(str(dp.get("source") or "").split()),
            name_pattern=str(dp["name_pattern"]).replace("{namespace}", re.escape(values["namespace"]))
            .replace("{gateway}", re.escape(values["gateway"])) if dp.get("name_pattern") else None,
        )

    # ---- logs and known issues -------------------------------------------------------------------

    @cached_property
    def log_signatures(self) -> tuple[Signature, ...]:
        return tuple(signature_from({**e, "component": self.name}) for e in self.facts.get("log_signatures") or [])

    @cached_property
    def condition_signatures(self) -> tuple[Signature, ...]:
        """Status conditions this implementation writes, then the ones every implementation writes."""
        own = [e for e in self.facts.get("condition_signatures") or []]
        return tuple(signature_from({**e, "component": e.get("component") or self.name})
                     for e in own + common_condition_signatures())

    def known_issues(self, controller: Controller | None,
                     shape: dict[str, int | bool] | None = None) -> list[dict[str, Any]]:
        """The known issues of the controller's build (a pre-release counts as coming before its
        release) that bite `shape` (`topology.routes.shape_of`; None: every one of the build)."""
        if controller is None or (controller.version or controller.nominal) is None:
            return []
        version, pre = (controller.version, False) if controller.version else (controller.nominal, True)
        return [e for e in self.facts.get("known_issues") or []
                if v.in_range(version, str(e.get("versions", "")), prerelease=pre)  # type: ignore[arg-type]
                and (shape is None or issue_bites(e, shape))]

    # ---- implementation-specific evidence (overridden by plugins that have some) ----------------------

    def pool_objects(self, pool_namespace: str, pool_name: str, services: list[Obj]) -> list[str]:
        """Objects the controller creates for a pool it reconciled (Istio's shadow Service), as refs:
        evidence that it picked the pool up."""
        return []


def issue_bites(issue: dict[str, Any], shape: dict[str, int | bool]) -> bool:
    """Whether the shape a known issue needs is there: `min_*` counts reached, boolean keys true."""
    for key, need in issue.items():
        if key.startswith("min_"):
            if int(shape.get(key, 0)) < int(need):
                return False
        elif isinstance(need, bool) and key in SHAPE_FLAGS and bool(shape.get(key)) != need:
            return False
    return True


SHAPE_FLAGS = ("pool_ref_without_port",)


@cache
def common_condition_signatures() -> list[dict[str, Any]]:
    """The route conditions the Gateway API spec defines, written alike by every implementation (_common.yaml)."""
    return list(load_facts(__name__, "_common").get("condition_signatures") or [])


@memo.per_object
def _looks(workload: Obj) -> tuple[str, dict[str, str], list[Obj]]:
    """(name, labels, regular containers) of a workload: every implementation asks them of every
    Deployment of the cluster (issue #15: read once, not once per implementation)."""
    return k8s.name(workload), k8s.labels(workload), k8s.containers(k8s.pod_spec(workload), init=False)


def _any_of(patterns: Any) -> re.Pattern[str] | None:
    """Regular expressions as one alternation (None for none): one search instead of one per pattern."""
    parts = [str(p) for p in patterns or ()]
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


def load_facts(module: str, name: str) -> dict[str, Any]:
    """The `<name>.yaml` beside a plugin module (from its JSON copy: compiled_facts.py)."""
    return compiled_facts.load(module.rsplit(".", 1)[0], name)
