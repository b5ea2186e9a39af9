"""checks/_versions.py and the facts of knowledge/compat.yaml it serves."""

from __future__ import annotations

import re

import pytest
from llmd_doctor.checks import _versions as v

from llmd_doctor.kinds import KINDS


@pytest.mark.parametrize(("tag", "parsed", "pre"), [
    ("v0.2.1", (0, 2, 1), False),
    ("0.0.4", (0, 0, 4), False),
    ("1.27.0", (1, 27, 0), False),
    ("1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401", (1, 28, 0), True),
    ("v0.4.0-rc.1", (0, 4, 0), True),
    ("latest", None, True),
    ("sha-1483316", None, True),
    (None, None, True),
])
def test_parse_and_prerelease(tag: str | None, parsed: tuple[int, int, int] | None, pre: bool) -> None:
    assert v.parse(tag) == parsed
    assert v.is_prerelease(tag) is pre


def test_in_range() -> None:
    assert v.in_range((0, 2, 1), ">=0.2.0,<0.3.0")
    assert not v.in_range((0, 3, 0), ">=0.2.0,<0.3.0")
    assert v.in_range((2, 0, 2), "<2.0.3") and not v.in_range((2, 0, 3), "<2.0.3")


@pytest.mark.parametrize(("image", "style", "empty", "group"), [
    ("ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1", "camel", "crash-nil-deref", None),
    ("ghcr.io/llm-d/llm-d-inference-scheduler:0.0.4", "camel", "ok", None),
    ("ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2", "kebab", "exit-scheduler-config-must-be-set",
     "inference.networking.k8s.io"),
    ("ghcr.io/llm-d/llm-d-inference-scheduler:v0.7.1", "kebab", "default", "inference.networking.k8s.io"),
    ("ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0", "kebab", "default", "inference.networking.k8s.io"),
    ("registry.k8s.io/gateway-api-inference-extension/epp:v0.5.1", "camel", "crash-nil-deref", None),
    ("registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0", "kebab", "exit-scheduler-config-must-be-set",
     "inference.networking.k8s.io"),
])
def test_epp_facts_by_image(image: str, style: str, empty: str, group: str | None) -> None:
    facts = v.epp_facts(image)
    assert facts is not None
    assert (facts["flag_style"], facts["empty_config"], facts.get("default_pool_group")) == (style, empty, group)


def test_epp_facts_unknown_for_moving_tags_and_other_images() -> None:
    assert v.epp_facts("ghcr.io/llm-d/llm-d-inference-scheduler:latest") is None
    assert v.epp_facts("docker.io/istio/pilot:1.27.0") is None
    assert v.epp_product("ghcr.io/llm-d/llm-d-inference-scheduler:latest") == "llm-d-inference-scheduler"


def test_crd_requirements_follow_the_gie_fix() -> None:
    """InferenceObjective became optional with GIE PR 1967 (v1.3 / scheduler v0.5)."""
    req = v.epp_facts("ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2")["requires_crds"]  # type: ignore[index]
    assert req == ["InferenceObjective.inference.networking.x-k8s.io"]
    assert v.epp_facts("ghcr.io/llm-d/llm-d-inference-scheduler:v0.5.1")["requires_crds"] == []  # type: ignore[index]


def test_plugin_registry() -> None:
    reg = v.plugin_registry(v.epp_facts("ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1"))
    assert reg is not None
    assert {"prefix-cache-scorer", "decode-filter", "max-score-picker", "single-profile-handler", "kv-cache-scorer"} <= reg
    assert "kv-cache-utilization-scorer" not in reg
    assert v.plugin_registry(v.epp_facts("ghcr.io/llm-d/llm-d-inference-scheduler:v0.7.0")) is None


def test_gateway_facts_and_implementations() -> None:
    assert v.gateway_facts("istio", (1, 27, 0))["pool_groups"] == ["inference.networking.x-k8s.io"]  # type: ignore[index]
    assert v.gateway_facts("istio", (1, 28, 1))["pool_groups"] == ["inference.networking.k8s.io"]  # type: ignore[index]
    assert v.implementation_of("istio.io/gateway-controller") == "istio"
    assert v.implementation_of("kgateway.dev/kgateway") == "kgateway"
    assert v.implementation_of(None) is None
    assert v.gateway_implementation_of_image("docker.io/istio/pilot:1.27.0") == "istio"
    assert v.gateway_implementation_of_image("gcr.io/istio-testing/pilot:1.28-alpha.89f3") == "istio"
    assert v.gateway_implementation_of_image("cr.kgateway.dev/kgateway-dev/kgateway:v2.0.4") == "kgateway"
    assert v.gateway_implementation_of_image("docker.io/istio/proxyv2:1.27.0") is None


def test_gateway_controller_images_from_workloads() -> None:
    dep = {"kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.27.0"}]}}}}
    pod = {"kind": "Pod", "metadata": {"name": "istiod-1", "namespace": "istio-system"},
           "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.27.0"}]}}
    found = v.gateway_controller_images([dep, pod])
    assert list(found) == ["istio"] and len(found["istio"]) == 1
    img = found["istio"][0]
    assert (img.tag, img.version, img.prerelease, img.obj) == ("1.27.0", (1, 27, 0), False, "Deployment/istio-system/istiod")


def test_known_issues_and_vllm_metrics() -> None:
    assert [i["min_pools_per_gateway"] for i in v.known_issues("kgateway", (2, 0, 2))] == [2]
    assert v.known_issues("kgateway", (2, 0, 3)) == []
    assert v.vllm_metric_available("vllm:gpu_cache_usage_perc", (0, 10, 0)) is True
    assert v.vllm_metric_available("vllm:gpu_cache_usage_perc", (0, 11, 0)) is False
    assert v.vllm_metric_available("vllm:kv_cache_usage_perc", (0, 9, 1)) is False
    assert v.vllm_metric_available("vllm:num_requests_waiting", (0, 11, 0)) is None


def test_compat_data_is_consistent() -> None:
    data = v.compat()
    by_image: dict[str, list[str]] = {}
    for e in data["epp"]:
        assert e.get("source") and e.get("name") and e["flag_style"] in ("camel", "kebab"), e
        for key in e.get("watches", []) + e.get("requires_crds", []) \
                + e.get("prefers_crds", []):
            assert key in KINDS, key
        for reg in e.get("plugins", []):
            assert reg in data["plugin_registries"], reg
        by_image.setdefault(e["image"], []).append(e["versions"])
    # No version of an image falls into two entries.
    for image, ranges in by_image.items():
        for probe in [(0, m, p) for m in range(12) for p in range(3)] + [(1, m, 0) for m in range(8)]:
            hits = [r for r in ranges if v.in_range(probe, r)]
            assert len(hits) <= 1, (image, probe, hits)
    for e in data["gateways"] + data["known_issues"]:
        assert e.get("source"), e
    for patterns in data["gateway_images"].values():
        for p in patterns:
            re.compile(p)
    for p in data["model_servers"]["images"] + data["model_servers"]["commands"]:
        re.compile(p)
