"""Real EPP plugins-config failures (tests/cases): epp.config names each cause from the release's catalog.

None of these needs the EPP's logs: the config, the image and the model servers' image are read against
checks/knowledge/epp_plugins.yaml and vllm.yaml. Two are `generic` (their failure text is in no knowledge
file): the catalog's rules find them without a signature.
"""

from __future__ import annotations

import pytest
from cases.build import CASES, cause_named, load_case, read_case

from llmd_doctor.model import CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING, Status

CHECK = "epp.config"
EPP_CASES = [
    "epp-token-load-scorer-missing-data-producer",
    "epp-single-profile-handler-with-two-profiles",
    "epp-kv-cache-metric-renamed-in-vllm",
    "epp-precise-prefix-block-size-param-ignored",
    "generic-profile-without-picker",
]


def result(case_id: str):  # noqa: ANN201 - a CheckResult
    sc, expect = load_case(CASES / f"{case_id}.yaml")
    (e,) = [e for e in expect if e.check == CHECK]
    return sc.run(CHECK)[CHECK], e


@pytest.mark.parametrize("case_id", EPP_CASES)
def test_epp_config_names_the_cause(case_id: str) -> None:
    r, e = result(case_id)
    assert r.status.value in e.status, r.message
    assert cause_named(r, e.names_cause), (e.names_cause, r.message, r.evidence, r.remediation)


def test_token_load_scorer_without_its_producer_exits_at_start() -> None:
    """llm-d-router v0.9.0 registers no default producer for UncachedRequestTokensDataKey (fixed after v0.10)."""
    r, _ = result("epp-token-load-scorer-missing-data-producer")
    first = next(f for f in r.findings if "token-load-scorer" in f.message)
    assert first.status == Status.FAIL
    assert "token-load (token-load-scorer) requires UncachedRequestTokensDataKey, which no configured plugin " \
           "produces, and llm-d-router v0.9.0 registers no default producer for it" in first.message
    # the words the EPP logs, as the case's log records them
    log = read_case(CASES / "epp-token-load-scorer-missing-data-producer.yaml")["logs"][0]["text"]
    said = next(e for e in first.evidence if e.startswith("the EPP logs: "))[len("the EPP logs: "):]
    assert said in log.replace("token-load-scorer", "token-load")
    assert "`- type: inflight-load-producer`" in (first.remediation or "")


def test_single_profile_handler_with_two_profiles_fails_every_request_on_gie_v10() -> None:
    r, _ = result("epp-single-profile-handler-with-two-profiles")
    assert r.status == Status.FAIL
    assert "then every request fails with 'single profile handler is intended to be used with a single profile, " \
           "failed to process multiple profiles'" in r.message
    assert "rule (GIE epp v1.0): single-profile-handler handles exactly one profile (checked per request in this " \
           "release)" in r.evidence


def test_kv_cache_metric_renamed_names_the_vllm_the_llm_d_image_ships() -> None:
    r, _ = result("epp-kv-cache-metric-renamed-in-vllm")
    assert r.status == Status.WARN
    assert "vLLM 0.11.2 does not emit (it emits vllm:kv_cache_usage_perc)" in r.message
    assert any(e.startswith("model servers run ghcr.io/llm-d/llm-d-cuda:v0.4.0 (vLLM 0.11.2") for e in r.evidence)
    assert set(r.lost_capabilities) == {CACHE_AWARE_ROUTING, SATURATION_SCHEDULING}


def test_precise_prefix_block_size_is_an_ignored_parameter() -> None:
    r, _ = result("epp-precise-prefix-block-size-param-ignored")
    assert r.status == Status.WARN
    assert "`blockSizeTokens` is not a parameter of precise-prefix-cache-scorer in llm-d-inference-scheduler " \
           "v0.5.0 (it takes tokenProcessorConfig, indexerConfig, kvEventsConfig)" in r.message
    assert set(r.lost_capabilities) == {CACHE_AWARE_ROUTING, PREFIX_CACHE}


def test_profile_without_picker_on_gie_v05_fails_requests() -> None:
    r, _ = result("generic-profile-without-picker")
    assert r.status == Status.FAIL
    assert "profile 'default' has no picker and llm-d-inference-scheduler v0.2.1's loader adds none" in r.message
