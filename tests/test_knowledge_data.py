"""Schema of the sourced knowledge files: checks/knowledge/epp_plugins.yaml, vllm.yaml and gpus.yaml.

Every entry names its source, version ranges parse, ids are unique, inheritance resolves, and every plugin a
release's built-in default config names (or its loader injects) is in that release's catalog.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml

from llmd_doctor import knowledge as _knowledge
from llmd_doctor import versions as _versions
from llmd_doctor.plugin_catalog import resolve  # the inheritance rule of epp_plugins.yaml's header

FILES = ("epp_plugins", "vllm", "gpus")

# A source is `; `-separated parts: a URL, or `owner/repo[:path]@rev`, each optionally followed by a
# parenthesised remark.
_SOURCE_PART = re.compile(r"^(https?://\S+|[\w.-]+/[\w.-]+(?::\S+)?@[\w.-]+)(\s+\(.*\))?$", re.S)
_RANGE_PART = re.compile(r"^(>=|<=|==|>|<)\s*(\S+)$")

CATEGORIES = {
    "profile-handler",
    "picker",
    "scorer",
    "filter",
    "pd-decider",
    "saturation-detector",
    "flow-fairness-policy",
    "flow-ordering-policy",
    "flow-usage-limit-policy",
    "eviction-filter",
    "eviction-ordering",
    "admission",
    "parser",
    "endpoint-discovery",
    "data-source",
    "data-extractor",
    "data-producer",
    "screener",
    "request-header-processor",
    "pre-request",
    "post-cycle",
    "response-received",
    "response-streaming",
    "response-body",
    "response-complete",
    "post-response",
    "other",
}
PARAM_TYPES = {"int", "float", "bool", "string", "duration", "list", "map", "object", "any"}
PLUGIN_KEYS = {
    "category",
    "also",
    "parameters",
    "metrics",
    "stability",
    "deprecated",
    "selects",
    "note",
    "source",
}
RELEASE_KEYS = {
    "product",
    "image",
    "versions",
    "read_at",
    "gie",
    "inherits",
    "note",
    "registration",
    "config",
    "loader",
    "feature_gates",
    "without_config",
    "without_config_note",
    "default_config",
    "metrics",
    "removed",
    "plugins",
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (plain PyYAML keeps the last one)."""


def _construct_unique(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique)


def _text(name: str) -> str:
    return resources.files("llmd_doctor.checks").joinpath("knowledge", f"{name}.yaml").read_text("utf-8")


def _check_source(where: str, source: Any) -> None:
    assert isinstance(source, str) and source.strip(), f"{where}: no source"
    for part in source.split("; "):
        assert _SOURCE_PART.match(part.strip()), (
            f"{where}: source part {part!r} is neither a URL nor owner/repo:path@rev"
        )


def _check_range(where: str, spec: Any) -> None:
    assert isinstance(spec, str) and spec.strip(), f"{where}: no version range"
    for part in spec.split(","):
        m = _RANGE_PART.match(part.strip())
        assert m, f"{where}: {part!r} is not a constraint"
        assert _versions.parse(m.group(2)) is not None, f"{where}: {m.group(2)!r} is not a version"


@pytest.fixture(scope="module")
def epp() -> dict[str, Any]:
    data: dict[str, Any] = _knowledge.load("epp_plugins")
    return data


@pytest.fixture(scope="module")
def resolved(epp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rid: resolve(epp["releases"], rid) for rid in epp["releases"]}


@pytest.mark.parametrize("name", FILES)
def test_no_duplicate_keys(name: str) -> None:
    yaml.load(_text(name), Loader=_UniqueKeyLoader)


@pytest.mark.parametrize("name", FILES)
def test_header_explains_the_keys(name: str) -> None:
    lines = _text(name).splitlines()
    header = "\n".join(
        line for line in lines[: next(i for i, ln in enumerate(lines) if not ln.startswith("#"))]
    )
    assert "Keys" in header and "source" in header, f"{name}.yaml: no header comment explaining its keys"


def test_releases_inherit_from_earlier_releases(epp: dict[str, Any]) -> None:
    seen: list[str] = []
    for rid, rel in epp["releases"].items():
        assert set(rel) <= RELEASE_KEYS, f"{rid}: unknown keys {set(rel) - RELEASE_KEYS}"
        parent = rel.get("inherits")
        assert parent is None or parent in seen, f"{rid} inherits {parent!r}, not a release listed before it"
        if parent:
            parent_types = set(resolve(epp["releases"], parent)["plugins"])
            assert set(rel.get("removed") or []) <= parent_types, f"{rid} removes types its parent lacks"
        seen.append(rid)


def test_release_facts_are_complete_and_sourced(resolved: dict[str, dict[str, Any]]) -> None:
    for rid, rel in resolved.items():
        for key in (
            "product",
            "image",
            "versions",
            "read_at",
            "config",
            "loader",
            "metrics",
            "without_config",
        ):
            assert rel.get(key) not in (None, ""), f"{rid}: {key} missing"
        _check_range(rid, rel["versions"])
        assert _SOURCE_PART.match(rel["read_at"]), f"{rid}: read_at {rel['read_at']!r}"
        for section in ("config", "loader", "metrics"):
            _check_source(f"{rid}.{section}", rel[section].get("source"))
        assert rel["config"]["kind"] == "EndpointPickerConfig"
        assert {"apiVersion", "kind", "plugins", "schedulingProfiles"} <= set(rel["config"]["fields"])
        assert rel["without_config"] in ("crash", "exit", "default")
        assert (rel["without_config"] == "default") == bool(rel.get("default_config")), rid
        assert all(isinstance(g, str) and g for g in rel.get("feature_gates") or []), rid
        assert rel["plugins"], f"{rid}: empty catalog"


def test_release_ranges_of_a_product_do_not_overlap(resolved: dict[str, dict[str, Any]]) -> None:
    by_image: dict[str, list[tuple[str, str]]] = {}
    for rid, rel in resolved.items():
        by_image.setdefault(rel["image"], []).append((rid, rel["versions"]))
    probes = [(major, minor, 0) for major in range(0, 3) for minor in range(0, 20)]
    for image, ranges in by_image.items():
        for v in probes:
            owners = [rid for rid, spec in ranges if _versions.in_range(v, spec)]
            assert len(owners) <= 1, f"{image} {v}: claimed by {owners}"


def test_every_plugin_definition_is_well_formed(epp: dict[str, Any]) -> None:
    inputs = set(epp["metric_inputs"]) - {"source"}
    for rid, rel in epp["releases"].items():
        for ptype, plugin in (rel.get("plugins") or {}).items():
            where = f"{rid}.{ptype}"
            assert set(plugin) <= PLUGIN_KEYS, f"{where}: unknown keys {set(plugin) - PLUGIN_KEYS}"
            _check_source(where, plugin.get("source"))
            assert plugin["category"] in CATEGORIES, f"{where}: category {plugin['category']!r}"
            assert set(plugin.get("also") or []) <= CATEGORIES, where
            assert set(plugin.get("metrics") or []) <= inputs, f"{where}: unknown metric input"
            assert plugin.get("stability") in (None, "alpha", "beta"), where
            for pname, spec in (plugin.get("parameters") or {}).items():
                _check_parameter(f"{where}.{pname}", spec)


def _check_parameter(where: str, spec: dict[str, Any]) -> None:
    assert spec["type"] in PARAM_TYPES, f"{where}: type {spec['type']!r}"
    default = spec.get("default")
    python_type = {"int": int, "float": (int, float), "bool": bool, "string": str, "duration": str}.get(
        spec["type"]
    )
    if default is not None and python_type:
        assert isinstance(default, python_type), f"{where}: default {default!r} is not {spec['type']}"
    if "values" in spec and default is not None:
        assert default in spec["values"], f"{where}: default not among values"
    for sub, sub_spec in (spec.get("fields") or {}).items():
        _check_parameter(f"{where}.{sub}", sub_spec)


def test_default_configs_name_only_plugins_of_their_release(resolved: dict[str, dict[str, Any]]) -> None:
    for rid, rel in resolved.items():
        default = rel.get("default_config")
        if not default:
            continue
        _check_source(f"{rid}.default_config", default.get("source"))
        catalog = rel["plugins"]
        named = set(default["plugins"]) | set(default.get("injected") or [])
        for weights in default["profiles"].values():
            named |= set(weights)
        for source_type, extractors in (default.get("data_layer") or {}).items():
            named |= {source_type, *extractors}
        assert named <= set(catalog), (
            f"{rid}: default config names {named - set(catalog)} outside its catalog"
        )
        for weights in default["profiles"].values():
            for ptype, weight in weights.items():
                assert catalog[ptype]["category"] == "scorer" and weight > 0, f"{rid}: {ptype} weighted"


def test_metric_flags_name_known_inputs(epp: dict[str, Any], resolved: dict[str, dict[str, Any]]) -> None:
    inputs = set(epp["metric_inputs"]) - {"source"}
    _check_source("metric_inputs", epp["metric_inputs"]["source"])
    for rid, rel in resolved.items():
        metrics = rel["metrics"]
        assert metrics["from"] in ("flags", "engine-configs"), rid
        assert set(metrics["inputs"]) <= inputs, rid
        for spec in metrics["inputs"].values():
            assert spec["flag"].startswith("-") and spec["default"], rid
        used = {m for p in rel["plugins"].values() for m in p.get("metrics") or []}
        missing = used - set(metrics["inputs"])
        assert not missing, f"{rid}: plugins read {missing} but the release names no metric for them"


def test_profile_handler_and_picker_exist_in_every_release(resolved: dict[str, dict[str, Any]]) -> None:
    for rid, rel in resolved.items():
        categories = {p["category"] for p in rel["plugins"].values()}
        assert {"profile-handler", "picker", "scorer"} <= categories, rid
        assert "single-profile-handler" in rel["plugins"] and "max-score-picker" in rel["plugins"], rid


def test_anchored_facts(resolved: dict[str, dict[str, Any]]) -> None:
    """Facts checked by hand against the cited code, so a regeneration that loses them fails here."""
    # GIE v1.0 renamed kv-cache-scorer and dropped the v0.5 filters (cmd/epp/runner/runner.go@v1.0.2).
    assert "kv-cache-scorer" in resolved["gie-v0.5"]["plugins"]
    assert "kv-cache-scorer" not in resolved["gie-v1.0"]["plugins"]
    assert "low-queue-filter" not in resolved["llm-d-inference-scheduler-v0.3"]["plugins"]
    # The metric the KV-cache scorer scrapes changed default in GIE v1.3.0 (pkg/epp/server/options.go@v1.3.1).
    assert (
        resolved["gie-v1.2"]["metrics"]["inputs"]["kv_cache_usage"]["default"] == "vllm:gpu_cache_usage_perc"
    )
    assert (
        resolved["gie-v1.3"]["metrics"]["inputs"]["kv_cache_usage"]["default"] == "vllm:kv_cache_usage_perc"
    )
    # pd-profile-handler lost threshold in llm-d-inference-scheduler v0.6 and needs a decider from then on.
    assert (
        "threshold"
        in resolved["llm-d-inference-scheduler-v0.5"]["plugins"]["pd-profile-handler"]["parameters"]
    )
    v06 = resolved["llm-d-inference-scheduler-v0.6"]["plugins"]["pd-profile-handler"]["parameters"]
    assert "threshold" not in v06 and v06["deciderPluginName"]["default"] == "always-disagg-pd-decider"
    # Only llm-d-router reads parameters strictly and accepts llm-d.ai/v1alpha1.
    assert resolved["llm-d-inference-scheduler-v0.8"]["loader"]["parameters"]["unknown"] == "ignored"
    assert resolved["llm-d-router-v0.9"]["loader"]["parameters"]["unknown"] == "rejected"
    assert resolved["llm-d-router-v0.9"]["config"]["api_versions"] == ["llm-d.ai/v1alpha1"]
    # Stability levels exist from llm-d-router v0.10 on, on every plugin.
    assert all(p.get("stability") for p in resolved["llm-d-router-v0.10"]["plugins"].values())


def test_vllm_metrics_and_inputs() -> None:
    vllm = _knowledge.load("vllm")
    epp_inputs = set(_knowledge.load("epp_plugins")["metric_inputs"]) - {"source"}
    _check_source("deprecation_policy", vllm["deprecation_policy"]["source"])
    for name, metric in vllm["metrics"].items():
        assert name.startswith("vllm:"), name
        _check_source(name, metric.get("source"))
        assert metric["type"] in ("gauge", "counter", "histogram"), name
        if "versions" in metric:
            _check_range(name, metric["versions"])
        for key in ("deprecated_in", "hidden_in", "removed_in"):
            if key in metric:
                assert _versions.parse(metric[key]), f"{name}.{key}"
        if "replaced_by" in metric:
            assert metric["replaced_by"].split(" ")[0] in vllm["metrics"], name
    assert set(vllm["epp_inputs"]) - {"source"} == epp_inputs
    _check_source("epp_inputs", vllm["epp_inputs"]["source"])
    for inp, feeds in vllm["epp_inputs"].items():
        if inp == "source":
            continue
        for feed in feeds:
            assert feed["metric"] in vllm["metrics"], f"{inp}: {feed['metric']}"
            if "versions" in feed:
                _check_range(inp, feed["versions"])


def _printf_regex(fmt: str) -> str:
    """A printf-style log format (whitespace-insensitive) as a regex: %d, %03d, %.1f match a number."""
    escaped = re.escape(" ".join(fmt.split()))
    escaped = re.sub(r"%(?:03|\\\.\d)?[df]", lambda _: r"-?[\d.]+", escaped)
    return escaped.replace("%%", "%")


def test_vllm_log_formats_flags_and_images() -> None:
    vllm = _knowledge.load("vllm")
    for fmt in vllm["stats_log"]["formats"]:
        _check_source(f"stats_log.{fmt['engine']}", fmt["source"])
        # The documented format must describe its own example once the printf fields are made wildcards.
        pattern = _printf_regex(fmt["format"])
        for example in fmt.get("examples") or []:
            assert re.search(pattern, " ".join(example.split())), (
                f"{fmt['engine']}: example does not fit the format"
            )
    for flag, spec in vllm["cli"].items():
        assert flag.startswith("--"), flag
        _check_source(flag, spec.get("source"))
    _check_source("kv_transfer_config", vllm["kv_transfer_config"]["source"])
    roles = vllm["kv_transfer_config"]["fields"]["kv_role"]["values"]
    assert vllm["kv_transfer_config"]["llm_d_pd"]["kv_role"] in roles
    seen = set()
    for image in vllm["images"]["llm_d"]:
        _check_source(image["image"], image["source"])
        assert image["image"] not in seen, f"duplicate image {image['image']}"
        seen.add(image["image"])


def test_gpu_labels_models_and_builds() -> None:
    gpus = _knowledge.load("gpus")
    for label, spec in gpus["labels"].items():
        _check_source(label, spec["source"])
    _check_source("families", gpus["source_families"])
    for fam in gpus["families"]:
        _check_range(fam["family"], fam["compute_capability"])
    names, gke_values = set(), set()
    models = gpus["models"]
    for model in models:
        where = model["name"]
        assert where not in names, f"duplicate model {where}"
        names.add(where)
        _check_source(where, model["source"])
        cc = model["compute_capability"]
        if model["vendor"] == "nvidia":
            assert re.fullmatch(r"\d+\.\d", cc), f"{where}: compute capability {cc!r}"
            family = [
                f["family"]
                for f in gpus["families"]
                if _versions.in_range(_versions.parse(cc), f["compute_capability"])
            ]
            assert family == [model["family"]], f"{where}: family {model['family']} vs {family}"
        else:
            assert re.fullmatch(r"gfx[0-9a-f]+", cc), f"{where}: gfx target {cc!r}"
        rx = re.compile(model["match"], re.I)
        for value in model.get("product_labels") or []:
            assert rx.search(value), f"{where}: {value} does not match its own pattern"
            others = [m["name"] for m in models if m is not model and re.search(m["match"], value, re.I)]
            assert not others, f"{value} also matches {others}"
        for value in model.get("gke_accelerator") or []:
            assert value not in gke_values, f"{value} listed twice"
            gke_values.add(value)
    for component, entries in gpus["builds"].items():
        for entry in entries:
            where = f"builds.{component}"
            _check_source(where, entry["source"])
            if "versions" in entry:
                _check_range(where, entry["versions"])
            floor = entry.get("min_compute_capability")
            assert floor is None or re.fullmatch(r"\d+\.\d", floor), f"{where}: {floor!r}"


# ---- the JSON copies the tool loads (src/llmd_doctor/compiled_facts.py) ------------------------------

from pathlib import Path  # noqa: E402

from llmd_doctor import compiled_facts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FACT_FILES = compiled_facts.yaml_files(ROOT)


@pytest.mark.parametrize("path", FACT_FILES, ids=lambda p: p.name)
def test_every_facts_file_has_a_fresh_json_copy(path: Path) -> None:
    """Run `python -m llmd_doctor.compiled_facts` after editing a facts file."""
    copy = path.with_suffix(".json")
    assert copy.exists(), f"{copy.relative_to(ROOT)} is missing: run python -m llmd_doctor.compiled_facts"
    assert copy.read_text("utf-8") == compiled_facts.compiled(path.read_bytes()), (
        f"{copy.relative_to(ROOT)} is stale: run python -m llmd_doctor.compiled_facts")
    assert json_data(copy) == yaml.safe_load(path.read_text("utf-8"))


def json_data(path: Path) -> Any:
    import json

    return json.loads(path.read_text("utf-8"))["data"]


def test_a_stale_or_broken_copy_is_ignored_and_the_yaml_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "factspkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "f.yaml").write_text("a: 1\nb: [x, y]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert compiled_facts.load("factspkg", "f") == {"a": 1, "b": ["x", "y"]}  # no copy: the YAML
    (pkg / "f.json").write_text(compiled_facts.compiled((pkg / "f.yaml").read_bytes()) or "")
    (pkg / "f.yaml").write_text("a: 2\nb: [x, y]\n")  # edited, not compiled: the copy is stale
    assert compiled_facts.load("factspkg", "f") == {"a": 2, "b": ["x", "y"]}
    (pkg / "f.json").write_text("{not json")
    assert compiled_facts.load("factspkg", "f") == {"a": 2, "b": ["x", "y"]}
    (pkg / "f.json").write_text(compiled_facts.compiled((pkg / "f.yaml").read_bytes()) or "")
    assert compiled_facts.load("factspkg", "f") == {"a": 2, "b": ["x", "y"]}


def test_data_json_cannot_hold_exactly_gets_no_copy() -> None:
    assert compiled_facts.compiled(b"released: 2025-01-01\n") is None  # a date
    assert compiled_facts.compiled(b"1: one\n") is None  # an integer key
    assert compiled_facts.compiled(b"a: [1, 2.5, true, null]\n") is not None
