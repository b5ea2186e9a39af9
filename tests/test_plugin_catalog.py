"""src/llmd_doctor/plugin_catalog.py: the typed EPP plugin catalog, and how it maps to the EPP release table."""

from __future__ import annotations

import pytest

from llmd_doctor import knowledge
from llmd_doctor import versions as v
from llmd_doctor.plugin_catalog import (
    catalog_for,
    catalogs,
    lines_with_param,
    lines_with_plugin,
    lookup,
    printf,
    resolve,
    span,
)


def test_inheritance() -> None:
    """Unset keys come from the parent, dicts merge one level (null drops a key), plugins merge by type."""
    releases = knowledge.load("epp_plugins")["releases"]
    v08, v09 = resolve(releases, "llm-d-inference-scheduler-v0.8"), resolve(releases, "llm-d-router-v0.9")
    assert v08["loader"]["prefix_cache"] and "prefix_cache" not in v09["loader"]  # `prefix_cache: null`
    assert v09["loader"]["profile_handler"] == v08["loader"]["profile_handler"]  # inherited sub-key
    assert v09["product"] == "llm-d-router" and v09["inherits"] == "llm-d-inference-scheduler-v0.8"
    assert "model-server-protocol-models" in v08["plugins"] and "model-server-protocol-models" not in v09["plugins"]
    assert v09["plugins"]["prefix-cache-scorer"]["source"].endswith("@v0.9.0")  # replaced whole
    assert resolve(releases, "gie-v1.0")["metrics"]["always_read"] == ["queued_requests", "kv_cache_usage"]


@pytest.mark.parametrize(("image", "line"), [
    ("ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1", "llm-d-inference-scheduler v0.2"),
    ("ghcr.io/llm-d/llm-d-inference-scheduler:v0.6.1", "llm-d-inference-scheduler v0.6"),
    ("ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0", "llm-d-router v0.10"),
    ("registry.k8s.io/gateway-api-inference-extension/epp:v1.0.2", "GIE epp v1.0"),
    ("registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0-rc.1", "GIE epp v1.5"),
])
def test_catalog_for_an_image(image: str, line: str) -> None:
    c = catalog_for(image, image.rsplit(":", 1)[1])
    assert c is not None and c.label == line


@pytest.mark.parametrize("image", [
    "ghcr.io/llm-d/llm-d-inference-scheduler:latest",  # a moving tag
    "ghcr.io/llm-d/llm-d-inference-scheduler:v0.1.0",  # ENABLE_* env configuration, no EndpointPickerConfig
    "registry.k8s.io/gateway-api-inference-extension/epp:v1.6.0",  # GIE moved the EPP out in v1.6
    "docker.io/istio/pilot:1.27.0",
])
def test_no_catalog(image: str) -> None:
    assert catalog_for(image, image.rsplit(":", 1)[1]) is None


def test_every_file_based_release_line_has_a_catalog_and_back() -> None:
    """The release table and the catalog cover the same EPP versions, from GIE v0.5 / scheduler v0.2 on."""
    probes = [(major, minor, patch) for major in (0, 1) for minor in range(12) for patch in (0, 1)]
    for r in knowledge.epp_releases():
        # up to the newest catalogued line of the image (the table's last ranges are open-ended)
        last = max((c.versions.split(",")[-1].lstrip("<") for c in catalogs() if c.image == r.image), key=v.parse)
        for ver in (p for p in probes if v.in_range(p, f"{r.versions},<{last}") and r.config != "env"):
            c = catalog_for(f"x/{r.image}:{v.text(ver)}", v.text(ver))
            assert c is not None, (r.name, ver)
            assert c.image in r.image or r.image in c.image
    for c in catalogs():
        low = v.parse(c.versions.split(",")[0].lstrip(">="))
        assert low and knowledge.epp_release(f"x/{c.image}:{v.text(low)}", v.text(low)) is not None, c.id


def test_the_catalog_answers_what_the_retired_registries_did() -> None:
    """epp_releases.yaml's plugin_registries (GIE v0.5, v1.0; scheduler v0.2, v0.3) are subsets of the catalog."""
    v02 = catalog_for("ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1", "v0.2.1")
    assert v02 is not None
    assert {"prefix-cache-scorer", "decode-filter", "max-score-picker", "single-profile-handler", "kv-cache-scorer",
            "pd-profile-handler", "load-aware-scorer"} <= set(v02.plugins)
    assert "kv-cache-utilization-scorer" not in v02.plugins
    v10 = catalog_for("registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0", "v1.0.0")
    assert v10 is not None and "kv-cache-utilization-scorer" in v10.plugins and "low-queue-filter" not in v10.plugins
    later = catalog_for("ghcr.io/llm-d/llm-d-inference-scheduler:v0.7.0", "v0.7.0")
    assert later is not None and "precise-prefix-cache-scorer" in later.plugins


def test_typed_facts() -> None:
    v05 = catalog_for("x/llm-d-inference-scheduler:v0.5.0", "v0.5.0")
    router = catalog_for("x/llm-d-router-endpoint-picker:v0.9.0", "v0.9.0")
    assert v05 is not None and router is not None
    assert (v05.unknown_params, router.unknown_params) == ("ignored", "rejected")
    assert router.api_versions == ("llm-d.ai/v1alpha1",)
    assert router.deprecated_api_versions == ("inference.networking.x-k8s.io/v1alpha1",)
    pd = v05.plugins["pd-profile-handler"].parameters or {}
    assert (pd["decodeProfile"].names, pd["decodeProfile"].when_missing) == ("profile", "request")
    assert pd["prefillProfile"].capability == "P/D disaggregation"
    assert lookup(pd, "DECODEPROFILE") is pd["decodeProfile"] and lookup(pd, "decoder") is None
    assert v05.plugins["kv-cache-utilization-scorer"].metrics == ("kv_cache_usage",)
    assert v05.metric_inputs["kv_cache_usage"].default == "vllm:kv_cache_usage_perc"
    graph = router.data_graph
    assert graph is not None and graph.keys["UncachedRequestTokensDataKey"]["default"] is False
    assert v05.data_graph is None
    assert v05.error("unknown_type") == "plugin type '%s' is not registered"
    assert v05.rule("single_profile_handler") == {"max_profiles": 1, "enforced": "load"}


def test_history_helpers() -> None:
    assert span(lines_with_param("pd-profile-handler", "threshold")) == "llm-d-inference-scheduler v0.2–v0.5"
    assert [c.id for c in lines_with_plugin("kv-cache-scorer")] == ["gie-v0.5", "llm-d-inference-scheduler-v0.2"]
    assert printf("flag %q is deprecated", "x") == 'flag "x" is deprecated'
    assert printf("%s is a reference to an undefined Plugin", "p") == "p is a reference to an undefined Plugin"
