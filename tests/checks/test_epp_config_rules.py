"""epp.config: the plugins config judged by the catalog of the deployed EPP release — one case per rule.

Each case starts from an example bundle with a real config (healthy: llm-d-inference-scheduler v0.2.1;
healthy-v0.4-istio-1.28: v0.4.0, re-tagged to other releases; healthy-gke: GIE v1.0.0; healthy-agentgateway: GIE
v1.5.0) and changes the config, the image or the args the way a user would.
"""

from __future__ import annotations

import pytest
from scenario import Scenario

from llmd_doctor import versions as v
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    PD_DISAGGREGATION,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    Status,
)
from llmd_doctor.model import CheckResult as Result

Obj = dict

V04 = "healthy-v0.4-istio-1.28"
V04_EPP = "Deployment/llm-d/gaie-inference-scheduling-epp"
METRIC_FLAG = "--kv-cache-usage-percentage-metric"
SCORERS = """- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
"""
PROFILE = """schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: prefix-cache-scorer
"""


def example(name: str) -> Scenario:
    return Scenario.example(name)  # a fresh copy of the bundle read once per process


def epp_container(sc: Scenario, name: str, ns: str) -> Obj:
    c: Obj = sc.find("Deployment.apps", name, ns)["spec"]["template"]["spec"]["containers"][0]
    return c


def config(plugins: str, profiles: str = PROFILE, api: str = "inference.networking.x-k8s.io/v1alpha1",
           extra: str = "") -> str:
    return f"apiVersion: {api}\nkind: EndpointPickerConfig\n{extra}plugins:\n{plugins}{profiles}"


def v04(text: str | None = None, tag: str = "v0.4.0", args: tuple[str, ...] = ()) -> Scenario:
    """healthy-v0.4-istio-1.28 with its EPP at `tag` (llm-d-router from v0.9) and this config."""
    sc = example(V04)
    c = epp_container(sc, "gaie-inference-scheduling-epp", "llm-d")
    version = v.parse(tag) or (0, 0, 0)
    product = "llm-d-router-endpoint-picker" if version >= (0, 9, 0) else "llm-d-inference-scheduler"
    c["image"] = f"ghcr.io/llm-d/{product}:{tag}"
    if version >= (0, 7, 0):  # these releases refuse the metric flags the example passes
        i = c["args"].index(METRIC_FLAG)
        del c["args"][i:i + 2]
    c["args"] += list(args)
    if text is not None:
        sc.find("ConfigMap", "gaie-inference-scheduling-epp", "llm-d")["data"]["default-plugins.yaml"] = text
    return sc


def healthy(text: str) -> Scenario:
    """examples/healthy (llm-d-inference-scheduler v0.2.1, GIE v0.5) with this config."""
    sc = example("healthy")
    sc.find("ConfigMap", "ms-llm-d-epp-config", "llm-d")["data"]["epp-config.yaml"] = text
    return sc


def gke(text: str) -> Scenario:
    sc = example("healthy-gke")
    sc.find("ConfigMap", "vllm-llama3-8b-instruct-epp", "default")["data"]["default-plugins.yaml"] = text
    return sc


def run(sc: Scenario) -> Result:
    return sc.run("epp.config")["epp.config"]


def problems(r: Result) -> list[str]:
    return [f.message for f in r.findings if f.status in (Status.FAIL, Status.WARN)]


V02_PLUGINS = """- type: prefix-cache-scorer
- type: decode-filter
- type: max-score-picker
- type: single-profile-handler
"""
V02_PROFILE = """schedulingProfiles:
- name: default
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
    weight: 2
"""


# ---- the document ----------------------------------------------------------------------------------------------


def test_fail_api_version_the_release_does_not_decode() -> None:
    r = run(v04(config(SCORERS, api="llm-d.ai/v1alpha1")))
    assert (r.status, r.objects) == (Status.FAIL, [V04_EPP])
    assert "apiVersion: 'llm-d.ai/v1alpha1' is not an apiVersion llm-d-inference-scheduler v0.4.0 decodes " \
           "(inference.networking.x-k8s.io/v1alpha1)" in r.message
    assert "exits at start" in r.message
    assert "rule (llm-d-inference-scheduler v0.4): the config is decoded by the scheme of the release's " \
           "EndpointPickerConfig API" in r.evidence
    assert "source: kubernetes-sigs/gateway-api-inference-extension:apix/config/v1alpha1/" \
           "endpointpickerconfig_types.go@v1.2.0" in r.evidence


def test_pass_llm_d_router_reads_the_deprecated_api_version_and_its_own() -> None:
    for api in ("inference.networking.x-k8s.io/v1alpha1", "llm-d.ai/v1alpha1"):
        r = run(v04(config(SCORERS, api=api), tag="v0.9.0"))
        assert r.status == Status.PASS, problems(r)
        assert "all known to v0.9.0 (llm-d-router v0.9 rules)" in r.message


def test_fail_data_section_renamed_data_layer_in_gie_v15() -> None:
    sc = example("healthy-agentgateway")
    cm = sc.find("ConfigMap", "vllm-qwen3-32b-epp", "default")
    cm["data"]["default-plugins.yaml"] += "data:\n  sources:\n  - pluginRef: metrics-data-source\n"
    r = run(sc)
    assert r.status == Status.FAIL
    assert "data: `data` is not a top-level field of the EndpointPickerConfig of GIE epp v1.5.0 (this release calls " \
           "it `dataLayer`); `data` is a field of GIE epp v1.3–v1.4" in r.message
    assert any(e.startswith("rule (GIE epp v1.5): strict decoding: only apiVersion, kind") for e in r.evidence)


def test_fail_feature_gate_the_release_does_not_know() -> None:
    r = run(v04(config(SCORERS, extra="featureGates:\n- prepareDataPlugins\n")))
    assert r.status == Status.FAIL
    assert "featureGates: feature gate 'prepareDataPlugins' is not one llm-d-inference-scheduler v0.4.0 knows " \
           "(dataLayer, flowControl)" in r.message
    assert "the EPP logs: prepareDataPlugins is an unregistered Feature Gate" in r.evidence
    # GIE v1.3 (scheduler v0.5) knows it
    assert run(v04(config(SCORERS, extra="featureGates:\n- prepareDataPlugins\n"), tag="v0.5.1")).status == Status.PASS


def test_fail_feature_gates_before_the_release_had_them() -> None:
    r = run(healthy(config(V02_PLUGINS, V02_PROFILE, extra="featureGates:\n- flowControl\n")))
    assert r.status == Status.FAIL and "`featureGates` is not a top-level field" in r.message


def test_fail_data_section_without_the_data_layer_gate() -> None:
    r = run(v04(config(SCORERS, extra="data:\n  sources: []\n"), tag="v0.5.1"))
    assert r.status == Status.FAIL
    assert "data: a `data` section is given without the dataLayer feature gate" in r.message
    assert "the EPP logs: the Datalayer has not been enabled, but you specified a configuration for it" in r.evidence


def test_fail_not_an_endpoint_picker_config() -> None:
    r = run(v04(config(SCORERS).replace("kind: EndpointPickerConfig", "kind: SchedulerConfig")))
    assert r.status == Status.FAIL and "kind: kind is 'SchedulerConfig', not EndpointPickerConfig" in r.message


# ---- plugins and their parameters ------------------------------------------------------------------------------


def test_fail_plugin_without_a_type_and_duplicate_names() -> None:
    r = run(v04(config(SCORERS + "- name: extra\n- type: queue-scorer\n")))
    assert r.status == Status.FAIL
    msgs = problems(r)
    assert any("plugins[3] (extra): has no type" in m for m in msgs)
    assert any("plugins[4] (queue-scorer): the name 'queue-scorer' is used twice" in m for m in msgs)


def test_warn_unknown_parameter_ignored_names_the_releases_that_take_it() -> None:
    """v0.2.1's prefix-cache-scorer calls it hashBlockSize; blockSize came with GIE v1.1. Ignored, not fatal."""
    plugins = V02_PLUGINS.replace("- type: prefix-cache-scorer\n", "- type: prefix-cache-scorer\n  parameters:\n"
                                  "    blockSize: 16\n")
    r = run(healthy(config(plugins, V02_PROFILE)))
    assert (r.status, r.objects) == (Status.WARN, ["Deployment/llm-d/ms-llm-d-epp"])
    assert "plugins[0] (prefix-cache-scorer).parameters.blockSize: `blockSize` is not a parameter of " \
           "prefix-cache-scorer in llm-d-inference-scheduler v0.2.1 (it takes mode, hashBlockSize" in r.message
    assert "`blockSize` is taken by prefix-cache-scorer of GIE epp v1.1–v1.5, llm-d-inference-scheduler v0.4–v0.8"\
        in r.message
    assert "the loader ignores unknown parameters, so the setting has no effect" in r.message
    assert "source: llm-d/llm-d-inference-scheduler:pkg/plugins/scorer/prefix_cache.go@v0.2.1" in r.evidence
    assert set(r.lost_capabilities) == {CACHE_AWARE_ROUTING, PREFIX_CACHE}


def test_fail_unknown_parameter_rejected_by_llm_d_router() -> None:
    """A parameter name no knowledge file mentions is judged all the same: llm-d-router decodes strictly."""
    plugins = SCORERS.replace("- type: prefix-cache-scorer\n", "- type: prefix-cache-scorer\n  parameters:\n"
                              "    frobnicateTokens: 3\n")
    r = run(v04(config(plugins), tag="v0.10.0"))
    assert r.status == Status.FAIL
    assert "`frobnicateTokens` is not a parameter of prefix-cache-scorer in llm-d-router v0.10.0 (it takes " \
           "prefixMatchInfoProducerName, matchLengthWeight, matchLengthScaleTokens)" in r.message
    assert any(e == "the EPP logs: failed to create plugin 'prefix-cache-scorer' (type: prefix-cache-scorer): "
               'json: unknown field "frobnicateTokens"' for e in r.evidence)


def test_pass_parameter_names_match_case_insensitively_and_whole_floats_are_ints() -> None:
    plugins = V02_PLUGINS.replace("- type: prefix-cache-scorer\n", "- type: prefix-cache-scorer\n  parameters:\n"
                                  "    HashBlockSize: 64\n").replace(
        "- type: max-score-picker\n", "- type: max-score-picker\n  parameters:\n    maxNumOfEndpoints: 2.0\n")
    assert run(healthy(config(plugins, V02_PROFILE))).status == Status.PASS


def test_fail_parameter_of_the_wrong_type() -> None:
    plugins = V02_PLUGINS.replace("- type: max-score-picker\n", "- type: max-score-picker\n  parameters:\n"
                                  "    maxNumOfEndpoints: one\n")
    r = run(healthy(config(plugins, V02_PROFILE)))
    assert r.status == Status.FAIL
    assert "plugins[2] (max-score-picker).parameters.maxNumOfEndpoints: 'one' is not an integer" in r.message


def test_fail_required_parameter_missing() -> None:
    plugins = SCORERS + "- type: by-label\n  parameters:\n    validValues: [decode]\n"
    r = run(v04(config(plugins)))
    assert r.status == Status.FAIL
    assert "plugins[3] (by-label).parameters.label: by-label requires `label`, which is not set" in r.message


def test_warn_parameters_on_a_plugin_that_reads_none() -> None:
    plugins = SCORERS.replace("- type: queue-scorer\n", "- type: queue-scorer\n  parameters:\n    threshold: 5\n")
    r = run(v04(config(plugins)))
    assert r.status == Status.WARN
    assert "queue-scorer reads no parameters in llm-d-inference-scheduler v0.4.0, so threshold is ignored" in r.message
    assert SATURATION_SCHEDULING in r.lost_capabilities


def test_fail_alpha_plugin_without_allow_experimental_plugins() -> None:
    text = config(SCORERS + "- type: agent-identity\n")
    r = run(v04(text, tag="v0.10.0"))
    assert r.status == Status.FAIL
    assert "agent-identity is an alpha plugin and --allow-experimental-plugins is not set" in r.message
    assert "the EPP logs: plugin 'agent-identity' (type: 'agent-identity') has Alpha stability " \
           "level, but command line flag --allow-experimental-plugins is not set" in r.evidence
    assert run(v04(text, tag="v0.10.0", args=("--allow-experimental-plugins",))).status == Status.PASS
    assert run(v04(text, tag="v0.9.0")).status == Status.PASS  # no stability levels before v0.10


# ---- profiles and the profile handler --------------------------------------------------------------------------


def test_fail_profile_references_an_undefined_plugin() -> None:
    r = run(v04(config(SCORERS, PROFILE + "  - pluginRef: lora-affinity-scorer\n")))
    assert r.status == Status.FAIL
    assert "schedulingProfiles[0] (default).plugins[3]: pluginRef 'lora-affinity-scorer' names no plugin of " \
           "`plugins`" in r.message
    assert "the EPP logs: lora-affinity-scorer is a reference to an undefined Plugin" in r.evidence


def test_fail_scorer_weight_missing_or_fractional_where_weights_are_ints() -> None:
    r = run(healthy(config(V02_PLUGINS, V02_PROFILE.replace("    weight: 2\n", ""))))
    assert r.status == Status.FAIL and "scorer 'prefix-cache-scorer' has no weight" in r.message
    r = run(healthy(config(V02_PLUGINS, V02_PROFILE.replace("weight: 2", "weight: 1.5"))))
    assert r.status == Status.FAIL and ".weight: 1.5 is not an integer" in r.message
    weighted = PROFILE.replace("  - pluginRef: queue-scorer\n", "  - pluginRef: queue-scorer\n    weight: 1.5\n")
    assert run(v04(config(SCORERS, weighted), tag="v0.7.1")).status == Status.PASS  # float weights from GIE v1.4


def test_fail_two_pickers_in_a_profile() -> None:
    r = run(healthy(config(V02_PLUGINS + "- type: random-picker\n", V02_PROFILE + "  - pluginRef: random-picker\n")))
    assert r.status == Status.FAIL and "lists 2 pickers (max-score-picker, random-picker)" in r.message


def test_pass_a_profile_without_picker_where_the_loader_adds_one() -> None:
    r = run(example(V04))  # its profile lists three scorers and no picker (GIE v1.2 adds max-score-picker)
    assert r.status == Status.PASS


def test_fail_two_profile_handlers() -> None:
    r = run(healthy(config(V02_PLUGINS + "- type: pd-profile-handler\n", V02_PROFILE)))
    assert r.status == Status.FAIL
    assert "2 profile handlers are defined (single-profile-handler, pd-profile-handler)" in r.message


def test_fail_no_profile_handler_for_two_profiles() -> None:
    text = config(SCORERS, PROFILE + "- name: second\n  plugins:\n  - pluginRef: queue-scorer\n")
    r = run(gke(text))
    assert r.status == Status.FAIL
    assert "no profile handler is defined and the loader adds one only for a single profile" in r.message


def test_fail_single_profile_handler_with_two_profiles_refused_at_load_from_gie_v11() -> None:
    text = config(SCORERS + "- type: single-profile-handler\n",
                  PROFILE + "- name: second\n  plugins:\n  - pluginRef: queue-scorer\n")
    r = run(v04(text))
    assert r.status == Status.FAIL
    assert "single-profile-handler runs one profile, but 2 are defined (also 'second')" in r.message
    assert "refuses the config and exits at start" in r.message
    assert "the EPP logs: single profile handler is intended to be used with a single profile, but multiple " \
           "profiles were specified" in r.evidence


PD_PLUGINS = """- type: prefill-filter
- type: decode-filter
- type: max-score-picker
- type: prefix-cache-scorer
- type: pd-profile-handler
"""
PD_PROFILES = """schedulingProfiles:
- name: prefill
  plugins:
  - pluginRef: prefill-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
- name: decode
  plugins:
  - pluginRef: decode-filter
  - pluginRef: max-score-picker
  - pluginRef: prefix-cache-scorer
"""


def test_pass_pd_profile_handler_with_prefill_and_decode_profiles() -> None:
    assert run(v04(config(PD_PLUGINS, PD_PROFILES), tag="v0.5.1")).status == Status.PASS


def test_pd_profile_handler_needs_its_profiles() -> None:
    only_decode = PD_PROFILES.split("- name: decode")[0].replace("- name: prefill", "- name: decode")
    r = run(v04(config(PD_PLUGINS, only_decode), tag="v0.5.1"))
    assert r.status == Status.WARN
    assert "parameters.prefillProfile: names profile 'prefill' (the default), which is not defined (profiles: " \
           "decode)" in r.message
    assert r.lost_capabilities == [PD_DISAGGREGATION]
    r = run(v04(config(PD_PLUGINS, PD_PROFILES.replace("name: decode", "name: generate")), tag="v0.5.1"))
    assert r.status == Status.FAIL
    assert "parameters.decodeProfile: names profile 'decode' (the default), which is not defined" in r.message
    assert "requests that need the profile fail" in r.message


def test_pd_profile_handler_needs_a_decider_defined_before_it_from_v06() -> None:
    r = run(v04(config(PD_PLUGINS, PD_PROFILES), tag="v0.6.1"))
    assert r.status == Status.FAIL
    assert "plugins[4] (pd-profile-handler).parameters.deciderPluginName: names pd-decider plugin " \
           "'always-disagg-pd-decider' (the default), which the config does not define" in r.message
    assert "the EPP logs: failed to create plugin 'pd-profile-handler' (type: pd-profile-handler): invalid decider " \
           "plugin type: always-disagg-pd-decider" in r.evidence
    assert "`- type: always-disagg-pd-decider`" in r.remediation
    after = run(v04(config(PD_PLUGINS + "- type: always-disagg-pd-decider\n", PD_PROFILES), tag="v0.6.1"))
    assert after.status == Status.FAIL and "which is listed after pd-profile-handler" in after.message
    before = config("- type: always-disagg-pd-decider\n" + PD_PLUGINS, PD_PROFILES)
    assert run(v04(before, tag="v0.6.1")).status == Status.PASS


def test_warn_pd_profile_handler_parameter_the_release_no_longer_takes() -> None:
    plugins = "- type: always-disagg-pd-decider\n" + PD_PLUGINS.replace(
        "- type: pd-profile-handler\n", "- type: pd-profile-handler\n  parameters:\n    threshold: 100\n")
    r = run(v04(config(plugins, PD_PROFILES), tag="v0.6.1"))
    assert r.status == Status.WARN
    assert "`threshold` is not a parameter of pd-profile-handler in llm-d-inference-scheduler v0.6.1" in r.message
    assert "`threshold` is taken by pd-profile-handler of llm-d-inference-scheduler v0.2–v0.5" in r.message


# ---- data the plugins need (llm-d-router) ----------------------------------------------------------------------


def test_pass_token_load_scorer_with_its_producer() -> None:
    text = config("- type: inflight-load-producer\n- type: token-load-scorer\n",
                  PROFILE.replace("queue-scorer", "token-load-scorer").split("  - pluginRef: kv")[0],
                  api="llm-d.ai/v1alpha1")
    assert run(v04(text, tag="v0.9.0")).status == Status.PASS


def test_fail_consumer_names_a_producer_the_config_does_not_define() -> None:
    plugins = SCORERS + "- type: active-request-scorer\n  parameters:\n    inFlightLoadProducerName: my-load\n"
    r = run(v04(config(plugins, PROFILE + "  - pluginRef: active-request-scorer\n"), tag="v0.10.0"))
    assert r.status == Status.FAIL
    assert "active-request-scorer reads InFlightLoadDataKey from producer 'my-load', which the config does not " \
           "define" in r.message


# ---- metrics ---------------------------------------------------------------------------------------------------


def test_fail_metric_flag_a_release_refuses() -> None:
    sc = v04(tag="v0.7.1", args=(METRIC_FLAG, "vllm:kv_cache_usage_perc"))
    r = run(sc)
    assert r.status == Status.FAIL
    assert "--kv-cache-usage-percentage-metric: llm-d-inference-scheduler v0.7.1 refuses the metric flags" in r.message
    assert 'the EPP logs: flag "kv-cache-usage-percentage-metric" is deprecated and cannot be used; configure ' \
           "metrics via engineConfigs in EndpointPickerConfig instead" in r.evidence


def test_warn_default_metric_names_of_gie_v15_on_an_old_vllm() -> None:
    """GIE v1.5 scrapes vllm:kv_cache_usage_perc (engineConfigs' default); vLLM 0.8.5 has only the old gauge."""
    sc = example("healthy-agentgateway")
    for obj in sc.all("Pod") + sc.all("Deployment.apps"):
        for c in (obj.get("spec", {}).get("template", {}).get("spec") or obj.get("spec", {})).get("containers", []):
            if c["image"].startswith("vllm/vllm-openai"):
                c["image"] = "vllm/vllm-openai:v0.8.5"
    r = run(sc)
    assert r.status == Status.WARN
    assert "the metrics extractor's engineConfigs: the EPP scrapes vllm:kv_cache_usage_perc (the built-in vllm " \
           "engineConfig of v1.5.0), which vLLM 0.8.5 does not emit (it emits vllm:gpu_cache_usage_perc)" in r.message
    assert "engineConfigs" in r.remediation and CACHE_AWARE_ROUTING in r.lost_capabilities


def test_pass_hidden_metric_shown_again_by_flag() -> None:
    sc = example("healthy")
    for p in sc.all("Pod"):
        if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode-"):
            c = p["spec"]["containers"][0]
            c["image"] = "vllm/vllm-openai:v0.11.0"
            c["args"] = [*(c.get("args") or []), "--show-hidden-metrics-for-version=0.10"]
    assert run(sc).status == Status.PASS


# ---- no config: the release's built-in default -----------------------------------------------------------------


def test_pass_built_in_default_says_what_it_enables() -> None:
    sc = v04(tag="v0.7.1")
    c = epp_container(sc, "gaie-inference-scheduling-epp", "llm-d")
    i = c["args"].index("--config-file")
    del c["args"][i:i + 2]
    r = run(sc)
    assert r.status == Status.PASS
    assert "no plugins config: the built-in default of llm-d-inference-scheduler v0.7 enables queue-scorer " \
           "(weight 2), kv-cache-utilization-scorer (weight 2), prefix-cache-scorer (weight 3); the loader adds " \
           "single-profile-handler, max-score-picker" in r.message


def test_warn_built_in_default_scrapes_a_metric_the_model_servers_lack() -> None:
    sc = example("healthy-gke")
    c = epp_container(sc, "vllm-llama3-8b-instruct-epp", "default")
    c["image"] = "registry.k8s.io/gateway-api-inference-extension/epp:v1.4.0"
    i = c["args"].index("--config-file")
    del c["args"][i:i + 2]
    r = run(sc)
    assert r.status == Status.WARN
    assert "which vLLM 0.8.5 does not emit" in r.message
    assert "the saturation detector, kv-cache-utilization-scorer see no data" in r.message


@pytest.mark.parametrize("tag", ["v0.7.1", "v0.8.0", "v0.9.0", "v0.10.0"])
def test_built_in_defaults_pass_their_own_rules(tag: str) -> None:
    sc = v04(tag=tag)
    c = epp_container(sc, "gaie-inference-scheduling-epp", "llm-d")
    i = c["args"].index("--config-file")
    del c["args"][i:i + 2]
    r = run(sc)
    assert r.status == Status.PASS, problems(r)
