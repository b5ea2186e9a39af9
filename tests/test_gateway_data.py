"""The gateway implementations as data (src/llmd_doctor/gateways/*.yaml): the schema of _common.yaml holds,
every fact names an https source, version ranges parse and do not overlap, regexes compile and feed the
messages, ids are unique; and the facts describe the gateways of the example bundles as they are."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmd_doctor.sources.bundle import read_bundle

ROOT = Path(__file__).resolve().parents[1]
GATEWAYS = ROOT / "src" / "llmd_doctor" / "gateways"
FILES = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(GATEWAYS.glob("*.yaml"))}
IMPLS = {name: data for name, data in FILES.items() if not name.startswith("_")}
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/bundle.yaml"))
HEALTHY = [e for e in EXAMPLES if e.startswith("healthy")]

BASE_KEYS = {"name", "title", "controller_names", "controller", "switch", "releases", "parameters_ref", "data_plane",
             "routes", "routes_source", "extra_kinds", "log_markers", "log_signatures", "condition_signatures",
             "known_issues"}
REQUIRED = BASE_KEYS - {"log_markers"}
RELEASE_KEYS = {"versions", "pool_groups", "switch", "requires", "prerelease", "note", "source"}
# Entries that state facts, by section: each must carry `source` or `sources`.
SOURCED_DICTS = ("controller", "switch", "data_plane", "extension", "aigatewayroute")
SOURCED_LISTS = ("controller_names", "releases", "parameters_ref", "extra_kinds", "log_markers", "log_signatures",
                 "condition_signatures", "known_issues", "supported_classes", "policies")
POOL_GROUPS = {"inference.networking.k8s.io", "inference.networking.x-k8s.io"}
SWITCH_KINDS = {"env", "flag", "always", "config", "not-observable"}
COMPONENTS = {"httproute-status", "inferencepool-status", "gateway-status", "aigatewayroute-status"}
_BOUND = re.compile(r"^(>=|<=|==|>|<)\s*v?(\d+)\.(\d+)(?:\.(\d+))?$")
_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_PRERELEASE = re.compile(r"-(alpha|beta|rc|dev|main|pre|snapshot)", re.I)
INF = (10**9, 0, 0)


def _header(name: str) -> str:
    text = (GATEWAYS / f"{name}.yaml").read_text()
    return "\n".join(line for line in text.splitlines() if line.startswith("#"))


def _entries(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, entry) for every entry that states a fact."""
    out = [(k, data[k]) for k in SOURCED_DICTS if isinstance(data.get(k), dict)]
    for key in SOURCED_LISTS:
        out += [(f"{key}[{i}]", e) for i, e in enumerate(data.get(key) or [])]
    out += [(f"releases[{i}].prerelease", r["prerelease"]) for i, r in enumerate(data.get("releases") or [])
            if r.get("prerelease")]
    return out


def _interval(spec: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A range as [low, high): the grammar of checks/_versions.py, with patch-level bounds."""
    low, high = (0, 0, 0), INF
    for part in spec.split(","):
        m = _BOUND.match(part.strip())
        assert m, f"version constraint {part!r} of {spec!r} does not parse"
        v = (int(m.group(2)), int(m.group(3)), int(m.group(4) or 0))
        op = m.group(1)
        nxt = (v[0], v[1], v[2] + 1)
        if op in (">=", ">"):
            low = max(low, v if op == ">=" else nxt)
        if op in ("<", "<="):
            high = min(high, v if op == "<" else nxt)
        if op == "==":
            low, high = max(low, v), min(high, nxt)
    assert low < high, f"{spec!r} is empty"
    return low, high


def _all_versions(node: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        out = [(where, node["versions"])] if isinstance(node.get("versions"), str) else []  # not extra_kinds
        if "envoy_gateway" in node:
            out.append((f"{where}.envoy_gateway", str(node["envoy_gateway"])))
        for k, v in node.items():
            out += _all_versions(v, f"{where}.{k}")
        return out
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in _all_versions(v, f"{where}[{i}]")]
    return []


def _signatures(data: dict[str, Any]) -> list[dict[str, Any]]:
    return (data.get("log_signatures") or []) + (data.get("condition_signatures") or [])


def test_every_file_is_a_mapping_that_names_itself() -> None:
    assert "_common" in FILES and set(IMPLS) == {"istio", "kgateway", "agentgateway", "gke", "envoy-ai-gateway"}
    for name, data in FILES.items():
        assert isinstance(data, dict) and data["name"] == name and data["title"]
    for name, data in IMPLS.items():
        assert sorted(REQUIRED - set(data)) == [], name


@pytest.mark.parametrize("name", sorted(IMPLS))
def test_keys_beyond_the_base_schema_are_documented_in_the_header(name: str) -> None:
    header = _header(name) + _header("_common")
    data = IMPLS[name]
    extra = set(data) - BASE_KEYS
    for rel in data["releases"]:
        extra |= set(rel) - RELEASE_KEYS
        extra |= set(rel.get("requires") or {}) | set((rel.get("prerelease") or {}).get("requires") or {})
    for section in ("controller", "switch", "data_plane"):
        extra |= {k for k in data[section] if k not in header}
    assert sorted(k for k in extra if k not in header) == []


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_fact_names_an_https_source(name: str) -> None:
    data = FILES[name]
    missing = []
    for where, entry in _entries(data):
        sources = entry.get("sources") or ([entry["source"]] if entry.get("source") else [])
        if not sources or not all(str(s).startswith("https://") for s in sources):
            missing.append(where)
    if data.get("routes"):
        assert str(data.get("routes_source", "")).startswith("https://"), "routes need routes_source"
    assert missing == []


@pytest.mark.parametrize("name", sorted(FILES))
def test_version_ranges_parse(name: str) -> None:
    found = _all_versions(FILES[name])
    for _where, spec in found:
        _interval(spec)  # asserts
    if name in IMPLS:
        assert len(found) >= len(IMPLS[name]["releases"])


@pytest.mark.parametrize("name", sorted(IMPLS))
def test_release_ranges_do_not_overlap_and_name_known_pool_groups(name: str) -> None:
    ranges = sorted(_interval(r["versions"]) for r in IMPLS[name]["releases"])
    assert ranges, "an implementation needs at least one release"
    for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False):
        assert high <= low, f"{name}: overlapping releases {ranges}"
    for rel in IMPLS[name]["releases"]:
        for facts in (rel, rel.get("prerelease") or {}):
            assert set(facts.get("pool_groups") or []) <= POOL_GROUPS


@pytest.mark.parametrize("name", sorted(FILES))
def test_regexes_compile_and_their_groups_feed_the_messages(name: str) -> None:
    data = FILES[name]
    for sig in _signatures(data):
        patterns = [re.compile(p) for p in (sig.get("all") or []) + (sig.get("none") or [])]
        assert sig.get("all"), sig["id"]
        groups = {g for p in patterns for g in p.groupindex}
        used = {f for text in (sig["cause"], sig["fix"]) for _, f, _, _ in string.Formatter().parse(text) if f}
        assert used <= groups, f"{sig['id']} uses {sorted(used - groups)} that no regex captures"
    for sig in data.get("condition_signatures") or []:
        assert sig["component"] in COMPONENTS, sig["id"]
    for marker in data.get("log_markers") or []:
        re.compile(marker["pattern"])
    if name in IMPLS:
        ctl = data["controller"]
        for p in ctl["images"] + ctl["deployment_names"] + [data["data_plane"].get("name_pattern") or ""]:
            re.compile(p)


def test_ids_are_unique_across_all_files() -> None:
    ids = [e["id"] for data in FILES.values()
           for key in ("log_signatures", "condition_signatures", "log_markers", "known_issues")
           for e in data.get(key) or []]
    assert [i for i in ids if ids.count(i) > 1] == []


def test_each_controller_name_belongs_to_one_implementation() -> None:
    owners: dict[str, list[str]] = {}
    for name, data in IMPLS.items():
        for entry in data["controller_names"]:
            owners.setdefault(entry.get("value") or entry.get("prefix"), []).append(name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


@pytest.mark.parametrize("name", sorted(IMPLS))
def test_the_switch_is_well_formed(name: str) -> None:
    switch = IMPLS[name]["switch"]
    assert switch["kind"] in SWITCH_KINDS and isinstance(switch["default"], bool) and switch["enable"]
    if switch["kind"] in ("env", "flag"):
        assert switch["names"] and switch["truthy"]
    if switch["kind"] == "always":
        assert switch["names"] == [] and switch["default"] is True
    if switch["kind"] == "config":
        assert {"configmap", "namespace", "key", "backend_resources"} <= set(switch["config"])


# ---- the facts against the example bundles ------------------------------------------------------------------


def _objects(example: str) -> list[dict[str, Any]]:
    return read_bundle(ROOT / "examples" / example).objects


def _of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def _implementation(controller_name: str) -> str:
    found = [name for name, data in IMPLS.items() for e in data["controller_names"]
             if controller_name == e.get("value") or controller_name.startswith(e.get("prefix") or "\0")]
    assert len(found) == 1, f"{controller_name} is claimed by {found}"
    return found[0]


def _controller(data: dict[str, Any], objects: list[dict[str, Any]],
                section: str = "controller") -> tuple[dict[str, Any], dict[str, Any]]:
    """The controller (or extension) Deployment and its container, found by image or Deployment name."""
    ctl = data[section]
    for dep in _of(objects, "Deployment"):
        for c in dep["spec"]["template"]["spec"]["containers"]:
            by_image = any(re.search(p, c["image"]) for p in ctl["images"])
            by_name = any(re.search(p, dep["metadata"]["name"]) for p in ctl["deployment_names"])
            if (by_image or by_name) and (not ctl["container"]["names"] or c["name"] in ctl["container"]["names"]):
                return dep, c
    raise AssertionError(f"no {data['name']} {section} Deployment")


def _tag(container: dict[str, Any]) -> str:
    return str(container["image"]).rsplit(":", 1)[-1]


def _version(tag: str) -> tuple[int, int, int]:
    m = _TAG.match(tag)
    assert m, f"tag {tag!r} names no version"
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def _in(tag: str, spec: str) -> bool:
    low, high = _interval(spec)
    return low <= _version(tag) < high


def _release(data: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The release facts of the running controller (of the extension, when the file has one)."""
    _, container = _controller(data, objects, "extension" if "extension" in data else "controller")
    tag = _tag(container)
    found = [r for r in data["releases"] if _in(tag, r["versions"])]
    assert len(found) == 1, f"{data['name']} {tag}: releases {found}"
    rel = found[0]
    if "envoy_gateway" in (rel.get("requires") or {}):
        assert _in(_tag(_controller(data, objects)[1]), rel["requires"]["envoy_gateway"])
    return {**rel, **rel["prerelease"]} if _PRERELEASE.search(tag) and rel.get("prerelease") else rel


def _routed_pool_groups(objects: list[dict[str, Any]]) -> set[str]:
    return {ref.get("group", "") for route in _of(objects, "HTTPRoute") for rule in route["spec"].get("rules", [])
            for ref in rule.get("backendRefs") or [] if ref.get("kind") == "InferencePool"}


def _switch_on(data: dict[str, Any], rel: dict[str, Any], container: dict[str, Any],
               objects: list[dict[str, Any]]) -> bool:
    switch = {**data["switch"], **(rel.get("switch") or {})}
    if switch["kind"] == "always":
        return True
    if switch["kind"] == "env":
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        return any(env.get(n, str(switch["default"]).lower()) in data["switch"]["truthy"] for n in switch["names"])
    cfg = data["switch"]["config"]
    cm = next(o for o in _of(objects, "ConfigMap") if o["metadata"]["name"] == cfg["configmap"]
              and o["metadata"]["namespace"] == cfg["namespace"])
    manager = yaml.safe_load(cm["data"][cfg["key"]])["extensionManager"]
    service = data["extension"]["service"]
    fqdn = manager["service"]["fqdn"]
    return rel["backend_resource"] in manager.get("backendResources", []) \
        and fqdn["hostname"].startswith(service["name"] + ".") and fqdn["port"] == service["port"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_gateways_are_identified_and_their_controller_routes_the_pools(example: str) -> None:
    objects = _objects(example)
    classes = {c["metadata"]["name"]: c["spec"]["controllerName"] for c in _of(objects, "GatewayClass")}
    gateways = _of(objects, "Gateway")
    assert gateways
    for gw in gateways:
        data = IMPLS[_implementation(classes[gw["spec"]["gatewayClassName"]])]
        if data["controller"]["managed"]:
            assert gw["spec"]["gatewayClassName"] in {c["name"] for c in data["supported_classes"]}
            continue
        assert _routed_pool_groups(objects) <= set(_release(data, objects)["pool_groups"])


def _fill(template: str, fill: dict[str, str]) -> str:
    """{gateway}, {class}, {namespace} filled in; other braces (regex counts) left alone."""
    for key, value in fill.items():
        template = template.replace("{" + key + "}", value)
    return template


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_data_plane_is_where_the_facts_say(example: str) -> None:
    objects = _objects(example)
    for gw in _of(objects, "Gateway"):
        classes = {c["metadata"]["name"]: c["spec"]["controllerName"] for c in _of(objects, "GatewayClass")}
        plane = IMPLS[_implementation(classes[gw["spec"]["gatewayClassName"]])]["data_plane"]
        if plane["managed"]:
            continue
        fill = {"gateway": gw["metadata"]["name"], "namespace": gw["metadata"]["namespace"],
                "class": gw["spec"]["gatewayClassName"]}
        namespace = fill["namespace"] if plane["namespace"] == "gateway" else plane["namespace"]
        labels = {k: _fill(v, fill) for k, v in plane["selector_labels"].items()}
        for kind, template in (("Deployment", plane["deployment"]), ("Service", plane["service"])):
            found = [o for o in _of(objects, kind) if o["metadata"]["namespace"] == namespace
                     and labels.items() <= (o["metadata"].get("labels") or {}).items()]
            assert len(found) == 1, f"{kind} of Gateway {fill['gateway']}"
            name = found[0]["metadata"]["name"]
            assert name == _fill(template, fill) if template else re.match(_fill(plane["name_pattern"], fill), name)


@pytest.mark.parametrize("example", HEALTHY)
def test_healthy_examples_have_the_inference_switch_on(example: str) -> None:
    objects = _objects(example)
    classes = {c["metadata"]["name"]: c["spec"]["controllerName"] for c in _of(objects, "GatewayClass")}
    for gw in _of(objects, "Gateway"):
        data = IMPLS[_implementation(classes[gw["spec"]["gatewayClassName"]])]
        if data["controller"]["managed"]:
            continue
        _, container = _controller(data, objects)
        assert _switch_on(data, _release(data, objects), container, objects), f"{data['name']} {container['image']}"
