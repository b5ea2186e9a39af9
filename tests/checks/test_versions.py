"""checks/_versions.py and the facts of knowledge/compat.yaml it serves."""

from __future__ import annotations

import re

import pytest

from llmd_doctor import k8s, knowledge
from llmd_doctor import versions as v
from llmd_doctor.gateways import by_name, for_controller
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
    r = _release(image)
    assert r is not None
    assert (r.flag_style, r.empty_config) == (style, empty)
    assert (r.default_pool_group if r.pool_group_flag else None) == group


def _release(image: str) -> knowledge.EppRelease | None:
    return knowledge.epp_release(image, k8s.image_tag(image))


def test_epp_facts_unknown_for_moving_tags_and_other_images() -> None:
    assert _release("ghcr.io/llm-d/llm-d-inference-scheduler:latest") is None
    assert _release("docker.io/istio/pilot:1.27.0") is None
    assert knowledge.epp_product("ghcr.io/llm-d/llm-d-inference-scheduler:latest") == "llm-d-inference-scheduler"


def test_crd_requirements_follow_the_gie_fix() -> None:
    """InferenceObjective became optional with GIE PR 1967 (v1.3 / scheduler v0.5)."""
    r = _release("ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2")
    assert r is not None and r.requires_crds == ("InferenceObjective.inference.networking.x-k8s.io",)
    r = _release("ghcr.io/llm-d/llm-d-inference-scheduler:v0.5.1")
    assert r is not None and r.requires_crds == ()


def test_one_table_answers_rbac_and_flags() -> None:
    """The release that says an EPP takes camelCase flags is the one that says what it must be allowed."""
    r = _release("ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1")
    assert r is not None and not r.pool_group_flag
    assert {x["resources"][0] for x in r.rbac_rules if x["group"] == "inference.networking.x-k8s.io"} == {"inferencepools"}
    assert knowledge.epp_fallback("kebab").pool_group_flag and not knowledge.epp_fallback("camel").pool_group_flag


def test_gateway_implementations_answer_through_their_plugin() -> None:
    istio = for_controller("istio.io/gateway-controller")
    assert istio is not None and istio.name == "istio"
    assert for_controller("openshift.io/gateway-controller/v1") is istio
    assert for_controller("kgateway.dev/kgateway") is by_name("kgateway")
    assert for_controller(None) is None and for_controller("example.com/other") is None
    assert istio.release((1, 27, 0)).pool_groups == ("inference.networking.x-k8s.io",)  # type: ignore[union-attr]
    assert istio.release((1, 28, 1)).pool_groups == ("inference.networking.k8s.io",)  # type: ignore[union-attr]
    dep = {"kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.27.0"}]}}}}
    c = istio.controller(dep)
    assert c is not None and (c.version_text, c.version, c.ref) == ("1.27.0", (1, 27, 0), "Deployment/istio-system/istiod")
    dev = istio.controller({**dep, "spec": {"template": {"spec": {"containers": [
        {"name": "discovery", "image": "gcr.io/istio-testing/pilot:1.28-alpha.89f3"}]}}}})
    assert dev is not None and dev.version is None and dev.nominal == (1, 28, 0)
    proxy = {**dep, "metadata": {"name": "gw-istio", "namespace": "llm-d"},
             "spec": {"template": {"spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.0"}]}}}}
    assert istio.controller(proxy) is None


def test_known_issues_and_vllm_metrics() -> None:
    kgw = by_name("kgateway")
    assert kgw is not None
    dep = {"kind": "Deployment", "metadata": {"name": "kgateway", "namespace": "kgateway-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "kgateway", "image": "x"}]}}}}

    def ctl(tag: str):  # noqa: ANN202
        spec = {"containers": [{"name": "kgateway", "image": f"cr.kgateway.dev/kgateway-dev/kgateway:{tag}"}]}
        c = kgw.controller({**dep, "spec": {"template": {"spec": spec}}})
        assert c is not None
        return c

    two_pools = {"min_pools_per_gateway": 2}
    assert [i["id"] for i in kgw.known_issues(ctl("v2.0.2"), two_pools)] == [
        "kgateway-multiple-pools-one-gateway", "kgateway-inferencepool-backend-not-found"]
    assert [i["id"] for i in kgw.known_issues(ctl("v2.0.2"), {"min_pools_per_gateway": 1})] == [
        "kgateway-inferencepool-backend-not-found"]
    assert kgw.known_issues(ctl("v2.0.3"), two_pools) == []
    # a release candidate comes before its release: v2.0.0-rc.1 still needs the backendRef's port
    rc = kgw.known_issues(ctl("v2.0.0-rc.1"), {"pool_ref_without_port": True})
    assert "kgateway-inferencepool-ref-port-required" in [i["id"] for i in rc]
    assert "kgateway-inferencepool-ref-port-required" not in [
        i["id"] for i in kgw.known_issues(ctl("v2.0.0-rc.1"), {"pool_ref_without_port": False})]
    assert kgw.known_issues(ctl("v2.0.0"), {"pool_ref_without_port": True}) == []
    assert knowledge.vllm_metric_available("vllm:gpu_cache_usage_perc", (0, 10, 0)) is True
    assert knowledge.vllm_metric_available("vllm:gpu_cache_usage_perc", (0, 11, 0)) is False
    assert knowledge.vllm_metric_available("vllm:kv_cache_usage_perc", (0, 9, 1)) is False
    assert knowledge.vllm_metric_available("vllm:num_requests_waiting", (0, 11, 0)) is None


def test_release_table_is_consistent() -> None:
    data = knowledge.load("epp_releases")
    by_image: dict[str, list[str]] = {}
    for e in data["releases"]:
        assert e.get("source") and e.get("name") and e["flag_style"] in ("camel", "kebab"), e
        for key in e.get("watches", []) + e.get("requires_crds", []) + e.get("prefers_crds", []):
            assert key in KINDS, key
        for rs in e["rbac"]:
            assert rs in data["rulesets"], rs
        by_image.setdefault(e["image"], []).append(e["versions"])
    # No version of an image falls into two entries.
    for image, ranges in by_image.items():
        for probe in [(0, m, p) for m in range(12) for p in range(3)] + [(1, m, 0) for m in range(8)]:
            hits = [r for r in ranges if v.in_range(probe, r)]
            assert len(hits) <= 1, (image, probe, hits)
    ms = knowledge.model_servers()
    assert ms.images and ms.commands and ms.is_gpu_resource("nvidia.com/mig-1g.10gb")
    for p in ms.images + ms.commands:
        assert isinstance(p, re.Pattern)
