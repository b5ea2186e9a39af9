"""Where the probe goes and which model it asks for, read from the snapshot."""

from __future__ import annotations

import copy
from functools import cache

import pytest
from scenario import EXAMPLES, Scenario

from llmd_doctor.probes import ProbeOptions
from llmd_doctor.probes.target import Target, discover, is_internal, served_model_of
from llmd_doctor.sources.bundle import BundleData, read_bundle

GW_KEY = "Gateway.gateway.networking.k8s.io"
GW_NAME = "llm-d-infra-inference-gateway"


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name)))


def test_the_gateway_status_address_listener_service_and_inference_model() -> None:
    t = discover(example().snapshot(), ProbeOptions())
    assert t.base_url == "http://llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local"
    assert (t.source, t.gateway, t.listener, t.port) == ("gateway", f"Gateway/llm-d/{GW_NAME}", "http", 80)
    assert t.internal and t.service == "llm-d/llm-d-infra-inference-gateway-istio"
    assert t.port_forward == "kubectl port-forward -n llm-d svc/llm-d-infra-inference-gateway-istio 8000:80"
    assert (t.model, t.model_source) == ("meta-llama/Llama-3.2-3B-Instruct",
                                         "InferenceModel/llm-d/llama-3-2-3b-instruct")
    assert t.not_found is None


def test_flags_win_over_discovery() -> None:
    t = discover(example().snapshot(), ProbeOptions(gateway_url="http://localhost:8000/", model="m"))
    assert (t.base_url, t.source, t.model, t.model_source) == ("http://localhost:8000", "flag", "m", "--model")
    assert t.gateway == f"Gateway/llm-d/{GW_NAME}"  # still known, for attributing failures


def test_without_an_inference_model_the_model_servers_arguments_name_the_model() -> None:
    sc = example()
    sc.remove("InferenceModel.inference.networking.x-k8s.io")
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.model == "meta-llama/Llama-3.2-3B-Instruct"
    assert t.model_source.startswith("Pod/llm-d/ms-llm-d-modelservice-decode-")


@pytest.mark.parametrize(("command", "args", "served"), [
    (["vllm", "serve"], ["Qwen/Qwen3-0.6B", "--port", "8200"], "Qwen/Qwen3-0.6B"),
    (["python3", "-m", "vllm.entrypoints.openai.api_server"], ["--model=/models/llama", "--served-model-name",
                                                               "llama"], "llama"),
    (["/bin/sh", "-c"], ["vllm serve meta-llama/Llama-3.1-8B-Instruct --port 8000"], "meta-llama/Llama-3.1-8B-Instruct"),
    ([], ["--model", "random", "--port", "8000"], "random"),  # llm-d-inference-sim
    (["/app/llm-d-routing-sidecar"], ["--port=8000", "--vllm-port=8200"], None),
])
def test_served_model_names_from_arguments(command, args, served) -> None:
    assert served_model_of({"command": command, "args": args}) == served


def test_a_gateway_without_an_address_is_not_probed_and_says_how() -> None:
    sc = example()
    sc.patch(GW_KEY, GW_NAME, {"status": {"addresses": None}})
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.base_url is None
    assert f"Gateway/llm-d/{GW_NAME} has no address in status.addresses" in t.not_found
    assert "kubectl port-forward -n llm-d svc/llm-d-infra-inference-gateway-istio 8000:80" in t.not_found


def test_no_gateway_asks_for_a_url() -> None:
    sc = example()
    sc.remove(GW_KEY)
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.base_url is None and t.not_found == "no Gateway found; pass --gateway-url to probe an OpenAI-compatible endpoint"


def test_an_https_listener_on_a_public_address() -> None:
    sc = example()
    sc.patch(GW_KEY, GW_NAME, {"spec": {"listeners": [{"name": "https", "port": 8443, "protocol": "HTTPS"}]},
                               "status": {"addresses": [{"type": "IPAddress", "value": "34.120.1.2"}]}})
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.base_url == "https://34.120.1.2:8443" and not t.internal
    assert t.local_url == "https://localhost:8000"


def test_the_gateway_that_routes_to_a_pool_is_chosen() -> None:
    sc = example()
    other = copy.deepcopy(sc.find(GW_KEY, GW_NAME))
    other["metadata"]["name"] = "aaa-other-gateway"
    sc.data.objects.insert(0, other)
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.gateway == f"Gateway/llm-d/{GW_NAME}" and t.others == ["Gateway/llm-d/aaa-other-gateway"]


@pytest.mark.parametrize(("host", "internal"), [
    ("gw.llm-d.svc.cluster.local", True), ("gw.llm-d.svc", True), ("10.0.3.4", True), ("172.30.1.1", True),
    ("34.120.1.2", False), ("gw.example.com", False), ("fd00::1", True),
])
def test_internal_addresses(host, internal) -> None:
    assert is_internal(host) is internal


def test_a_target_survives_its_record() -> None:
    t = discover(example().snapshot(), ProbeOptions())
    again = Target.from_dict(t.to_dict())
    assert again == t and again.port_forward == t.port_forward


@pytest.mark.parametrize(("key", "name", "patch"), [
    (GW_KEY, GW_NAME, {"spec": None, "status": None}),
    (GW_KEY, GW_NAME, {"spec": {"listeners": [{"protocol": "HTTP", "port": "eighty"}, None]}}),
    (GW_KEY, GW_NAME, {"status": {"addresses": [None, {"value": None}]}}),
    ("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route", {"spec": {"parentRefs": None, "rules": [None]}}),
    ("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route", {"spec": {"parentRefs": "gw"}}),
    ("InferencePool.inference.networking.x-k8s.io", "ms-llm-d", {"spec": None}),
    ("InferenceModel.inference.networking.x-k8s.io", "llama-3-2-3b-instruct", {"spec": {"poolRef": None}}),
    ("Service", "llm-d-infra-inference-gateway-istio", {"spec": {"ports": [{"port": None}]}}),
])
def test_malformed_objects_never_crash_discovery(key, name, patch) -> None:
    sc = example()
    sc.patch(key, name, patch)
    t = discover(sc.snapshot(), ProbeOptions())
    assert t.base_url is not None or t.not_found


def test_routes_to_a_service_probe_every_model_server_with_no_pool_known() -> None:
    from llmd_doctor.probes.target import plan_models

    snap = example("seed-rosa-epp-segfault").snapshot()  # its route sends to a Service
    plan, left = plan_models(snap, discover(snap, ProbeOptions()), ["extra-model"], None)
    assert [(p.name, p.pools) for p in plan] == [("meta-llama/Llama-3.2-3B-Instruct", []), ("extra-model", [])]
    assert plan[0].sources[0] == "InferenceModel/llm-d/llama-3-2-3b-instruct" and plan[1].sources == ["GET /v1/models"]
    assert left == []
