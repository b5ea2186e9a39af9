"""epp.config: the EPP's flags and plugins config against its version, on mutations of the examples."""

from __future__ import annotations

from typing import Any

import pytest
from scenario import Scenario

from llmd_doctor.model import CACHE_AWARE_ROUTING, SATURATION_SCHEDULING, Status
from llmd_doctor.registry import load_specs

NS = "llm-d"
EPP = "Deployment/llm-d/ms-llm-d-epp"
Obj = dict[str, Any]

KEBAB_ARGS = ["--pool-name", "ms-llm-d", "--pool-namespace", "llm-d", "--v", "4", "--zap-encoder", "json",
              "--grpc-port", "9002", "--grpc-health-port", "9003", "--config-file", "/etc/epp/epp-config.yaml"]


def epp_container(sc: Scenario) -> Obj:
    dep = sc.find("Deployment.apps", "ms-llm-d-epp", NS)
    c: Obj = dep["spec"]["template"]["spec"]["containers"][0]
    return c


def with_epp(sc: Scenario, image: str | None = None, args: list[str] | None = None) -> Scenario:
    c = epp_container(sc)
    if image:
        c["image"] = image
    if args is not None:
        c["args"] = args
    return sc


def config_map(sc: Scenario) -> Obj:
    return sc.find("ConfigMap", "ms-llm-d-epp-config", NS)


def run(sc: Scenario):  # noqa: ANN201
    return sc.run("epp.config")["epp.config"]


def test_pass_healthy_names_version_pool_and_mounted_config() -> None:
    r = run(Scenario.example("healthy"))
    assert (r.id, r.status, r.objects) == ("epp.config", Status.PASS, [EPP])
    assert "llm-d-inference-scheduler v0.2.1 (GIE v0.5)" in r.message
    assert "pool InferencePool/llm-d/ms-llm-d (inference.networking.x-k8s.io)" in r.message
    assert "config /etc/epp/epp-config.yaml from ConfigMap ms-llm-d-epp-config (key epp-config.yaml)" in r.message
    assert "4 plugins, all known to v0.2.1 (llm-d-inference-scheduler v0.2 rules)" in r.message


def test_fail_seed_v021_without_config_file_will_segfault() -> None:
    r = run(Scenario.example("seed-rosa-epp-segfault"))
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "v0.2.1" in r.message and "-configFile" in r.message and "nil-pointer SIGSEGV" in r.message
    assert 'configFile="" configText=""' in r.evidence
    assert "ConfigMap llm-d/ms-llm-d-epp-config (key epp-config.yaml) holds an EndpointPickerConfig but the EPP " \
           "does not mount it" in r.evidence
    assert any("ENABLE_PREFIX_AWARE_SCORER" in e and "ignores" in e for e in r.evidence)
    assert "-configFile /etc/epp/epp-config.yaml" in r.remediation
    assert CACHE_AWARE_ROUTING in r.lost_capabilities


def test_runs_when_the_epp_crash_loops() -> None:
    spec = next(s for s in load_specs(plugins=False) if s.id == "epp.config")
    assert spec.requires == ("cluster.access",)
    results = Scenario.example("seed-rosa-epp-segfault").run("epp.*")
    assert results["epp.deployment"].status == Status.FAIL and results["epp.config"].status == Status.FAIL


def test_fail_camel_case_flags_on_a_kebab_case_image() -> None:
    sc = with_epp(Scenario.example("healthy"), image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2")
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "takes kebab-case flags" in r.message and "flag provided but not defined: -poolName" in r.message
    assert "--pool-name" in r.remediation


def test_fail_kebab_case_flags_on_v021() -> None:
    sc = with_epp(Scenario.example("healthy"), args=KEBAB_ARGS)
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "takes camelCase flags" in r.message and "--pool-name" in r.message


def test_fail_default_pool_group_does_not_match_the_x_k8s_pool() -> None:
    """kserve/ODH case: --pool-group left at its default (k8s.io) while the pool is x-k8s.io."""
    sc = with_epp(Scenario.example("healthy"), image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2", args=KEBAB_ARGS)
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "group inference.networking.k8s.io (the default of --pool-group)" in r.message
    assert "that pool is inference.networking.x-k8s.io" in r.message
    assert "--pool-group inference.networking.x-k8s.io" in r.remediation


def test_pass_v032_with_matching_pool_group() -> None:
    sc = with_epp(Scenario.example("healthy"), image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2",
                  args=[*KEBAB_ARGS, "--pool-group", "inference.networking.x-k8s.io"])
    r = run(sc)
    assert (r.status, r.objects) == (Status.PASS, [EPP])
    assert "kebab flags" in r.message and "all known to v0.3.2" in r.message


def test_fail_v032_without_config_exits() -> None:
    args = [*KEBAB_ARGS[:-2], "--pool-group", "inference.networking.x-k8s.io"]
    sc = with_epp(Scenario.example("healthy"), image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.2", args=args)
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "scheduler config must be set" in r.message and "--config-file" in r.message


def test_pass_v07_without_config_uses_the_built_in_default() -> None:
    args = [*KEBAB_ARGS[:-2], "--pool-group", "inference.networking.x-k8s.io"]
    sc = with_epp(Scenario.example("healthy"), image="ghcr.io/llm-d/llm-d-inference-scheduler:v0.7.0", args=args)
    r = run(sc)
    assert r.status == Status.PASS and "built-in default" in r.message


def test_warn_unreleased_tag_without_config_never_fails() -> None:
    sc = Scenario.example("seed-rosa-epp-segfault")
    with_epp(sc, image="ghcr.io/llm-d/llm-d-inference-scheduler:latest")
    r = run(sc)
    assert (r.status, r.objects) == (Status.WARN, [EPP])
    assert "not a known release" in r.message


def test_fail_mounted_config_map_missing() -> None:
    sc = Scenario.example("healthy")
    sc.remove("ConfigMap", "ms-llm-d-epp-config", NS)
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "ConfigMap llm-d/ms-llm-d-epp-config, mounted at /etc/epp for -configFile /etc/epp/epp-config.yaml, " \
           "does not exist" in r.message


def test_fail_config_file_key_missing_from_the_config_map() -> None:
    sc = Scenario.example("healthy")
    cm = config_map(sc)
    cm["data"] = {"default-plugins.yaml": cm["data"]["epp-config.yaml"]}
    r = run(sc)
    assert r.status == Status.FAIL
    assert "has no key epp-config.yaml (keys: default-plugins.yaml)" in r.message


def test_warn_config_file_on_no_volume() -> None:
    sc = Scenario.example("healthy")
    epp_container(sc)["volumeMounts"] = []
    r = run(sc)
    assert (r.status, r.objects) == (Status.WARN, [EPP])
    assert "is on no mounted volume" in r.message


def test_fail_plugin_type_unknown_to_the_version() -> None:
    """GIE v1.0 renamed kv-cache-scorer: the v0.2.1 loader exits on the new name, and says where it exists."""
    sc = Scenario.example("healthy")
    cm = config_map(sc)
    cm["data"]["epp-config.yaml"] = cm["data"]["epp-config.yaml"].replace(
        "- type: prefix-cache-scorer", "- type: kv-cache-utilization-scorer").replace(
        "pluginRef: prefix-cache-scorer", "pluginRef: kv-cache-utilization-scorer")
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "plugins[0] (kv-cache-utilization-scorer): plugin type 'kv-cache-utilization-scorer' is not registered " \
           "in llm-d-inference-scheduler v0.2.1" in r.message
    assert "registered by llm-d-inference-scheduler v0.3" in r.message and "this release has kv-cache-scorer" in r.message
    assert "the EPP logs: plugin type 'kv-cache-utilization-scorer' is not found in registry" in r.evidence
    assert CACHE_AWARE_ROUTING in r.lost_capabilities


def test_fail_config_is_not_yaml() -> None:
    sc = Scenario.example("healthy")
    config_map(sc)["data"]["epp-config.yaml"] = "plugins:\n- type: [prefix-cache-scorer\n"
    r = run(sc)
    assert r.status == Status.FAIL and "is not valid YAML" in r.message


def test_fail_pool_name_matches_no_pool() -> None:
    sc = Scenario.example("healthy")
    args = epp_container(sc)["args"]
    args[args.index("-poolName") + 1] = "ms-llama"
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "names InferencePool llm-d/ms-llama" in r.message and "does not exist" in r.message


def test_fail_pool_namespace_defaults_to_default() -> None:
    sc = Scenario.example("healthy")
    args = epp_container(sc)["args"]
    i = args.index("-poolNamespace")
    del args[i:i + 2]
    r = run(sc)
    assert (r.status, r.objects) == (Status.FAIL, [EPP])
    assert "looks for InferencePool ms-llm-d in namespace default" in r.message and "it is in llm-d" in r.message
    assert "-poolNamespace llm-d" in r.remediation


def test_warn_kv_cache_metric_that_the_vllm_version_no_longer_emits() -> None:
    sc = Scenario.example("healthy")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode-"):
            p["spec"]["containers"][0]["image"] = "vllm/vllm-openai:v0.11.0"
    r = run(sc)
    assert (r.status, r.objects) == (Status.WARN, [EPP])
    assert "-kvCacheUsagePercentageMetric: the EPP scrapes vllm:gpu_cache_usage_perc (the default of " \
           "-kvCacheUsagePercentageMetric in v0.2.1), which vLLM 0.11.0 does not emit (it emits " \
           "vllm:kv_cache_usage_perc): the saturation detector sees no data" in r.message
    assert "vllm.yaml: vllm:gpu_cache_usage_perc is emitted by vLLM <0.11.0" in r.evidence
    assert "-kvCacheUsagePercentageMetric vllm:kv_cache_usage_perc" in r.remediation
    assert set(r.lost_capabilities) == {CACHE_AWARE_ROUTING, SATURATION_SCHEDULING}


@pytest.mark.parametrize("tag", ["v0.9.2", "v0.10.0"])
def test_pass_kv_cache_metric_still_emitted(tag: str) -> None:
    sc = Scenario.example("healthy")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode-"):
            p["spec"]["containers"][0]["image"] = f"vllm/vllm-openai:{tag}"
    assert run(sc).status == Status.PASS


def test_skip_without_an_endpoint_picker() -> None:
    sc = Scenario.example("healthy")
    sc.remove("Deployment.apps", "ms-llm-d-epp", NS)
    r = run(sc)
    assert r.status == Status.SKIP and "no endpoint-picker Deployment" in r.message


def test_relative_config_path_resolves_against_a_matching_mount() -> None:
    sc = Scenario.example("healthy")
    c = epp_container(sc)
    c["args"][c["args"].index("/etc/epp/epp-config.yaml")] = "config/epp-config.yaml"
    c["volumeMounts"][0]["mountPath"] = "/workspace/config"
    r = run(sc)
    assert r.status == Status.PASS
    assert "config config/epp-config.yaml from ConfigMap ms-llm-d-epp-config (key epp-config.yaml)" in r.message
    c["volumeMounts"][0]["mountPath"] = "/etc/epp"
    skipped = [f for f in run(sc).findings if f.status == Status.SKIP]
    assert len(skipped) == 1 and "relative to the image's working directory" in skipped[0].message
