"""e2e.chat-completion, e2e.models, e2e.routing on the examples, with probe records from the real prober.

Each case probes a pytest-httpx gateway with the scenario's snapshot (as the live stage does),
stores the records in the scenario (as a bundle's probes/*.json would) and runs the checks:
the status, the object the hop points at, and the cause in the message.
"""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock
from scenario import EXAMPLES, Scenario

from llmd_doctor.cli import main
from llmd_doctor.model import CACHE_AWARE_ROUTING, GATEWAY_ROUTING, OPENAI_API, PREFIX_CACHE, Status
from llmd_doctor.probes import ProbeOptions, run_probes
from llmd_doctor.sources.bundle import BundleData, read_bundle

GW = "http://gw.test"
CHAT = f"{GW}/v1/chat/completions"
MODEL = "meta-llama/Llama-3.2-3B-Instruct"
GATEWAY_REF = "Gateway/llm-d/llm-d-infra-inference-gateway"
POOL_REF = "InferencePool/llm-d/ms-llm-d"
EPP_REF = "Deployment/llm-d/ms-llm-d-epp"
ROUTE_REF = "HTTPRoute/llm-d/ms-llm-d-epp-route"
ANSWER = {"id": "chatcmpl-a892106c", "object": "chat.completion", "created": 1755826903, "model": MODEL,
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 = 4."}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 44, "total_tokens": 53, "completion_tokens": 9}}
SSE = (b'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"4"}}]}\n\n'
       b"data: [DONE]\n\n")
EPP_HEADERS = {"x-went-into-resp-headers": "true"}
_CLIENT = httpx.Client()


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name)))


def ok_chat(headers: dict[str, str] | None = None, endpoints: itertools.cycle | None = None):
    """A callback answering like vLLM (JSON, or SSE when streaming), with the given response headers."""
    def answer(request: httpx.Request) -> httpx.Response:
        h = dict(headers or {})
        if endpoints is not None:
            h["x-inference-pod"] = next(endpoints)
        if json.loads(request.content).get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream", **h}, content=SSE)
        return httpx.Response(200, json=ANSWER, headers=h)
    return answer


def probe(sc: Scenario, httpx_mock: HTTPXMock, *, chat: Any = None, models: Any = None, **kw: Any) -> None:
    """Probe the mocked gateway with the scenario's snapshot; keep the records in the scenario."""
    if models is None:
        httpx_mock.add_response(method="GET", url=f"{GW}/v1/models",
                                json={"object": "list", "data": [{"id": MODEL}]})
    elif isinstance(models, BaseException):
        httpx_mock.add_exception(models, method="GET", url=f"{GW}/v1/models")
    else:
        httpx_mock.add_response(method="GET", url=f"{GW}/v1/models", **models)
    if isinstance(chat, BaseException):
        httpx_mock.add_exception(chat, method="POST", url=CHAT)
    elif callable(chat):
        httpx_mock.add_callback(chat, method="POST", url=CHAT, is_reusable=True)
    elif chat is not None:
        httpx_mock.add_response(method="POST", url=CHAT, **chat)
    snap = sc.snapshot()
    snap.source.kind = "live"
    opts = {"gateway_url": GW, "prefix_requests": 0, **kw}
    sc.data.probes.update(run_probes(snap, ProbeOptions(client=_CLIENT, **opts)))


def result(sc: Scenario, check_id: str):
    return sc.run(check_id)[check_id]


# ---- e2e.chat-completion ---------------------------------------------------------------------


def test_a_working_path_passes_with_the_answer_and_ttft(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat=ok_chat(EPP_HEADERS))
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.PASS, [GATEWAY_REF])
    assert "answered through http://gw.test/v1/chat/completions" in r.message
    assert "'2 + 2 = 4.'" in r.message and "finish_reason stop" in r.message and "9 completion tokens" in r.message
    assert "streaming: first token after" in r.message


def test_500_empty_from_envoy_while_the_epp_crash_loops_points_at_the_epp(httpx_mock: HTTPXMock) -> None:
    sc = example("seed-rosa-epp-segfault")
    probe(sc, httpx_mock, chat={"status_code": 500, "headers": {"server": "istio-envoy", "content-length": "0"}})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [EPP_REF])
    assert "ext_proc call to the endpoint picker failed" in r.message
    assert "has 0 Ready pods (CrashLoopBackOff)" in r.message
    assert any("server: istio-envoy" in e for e in r.evidence)
    assert set(r.lost_capabilities) == {OPENAI_API, GATEWAY_ROUTING, "GPU inference"}


def test_500_empty_while_the_epp_is_ready_points_at_the_ext_proc_link(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat={"status_code": 500, "headers": {"server": "istio-envoy"}, "content": b""})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [EPP_REF])
    assert "is Ready, so the gateway cannot use it over ext_proc" in r.message
    assert "DestinationRule" in r.remediation


def test_503_no_healthy_upstream_with_an_empty_selection_points_at_the_selector(httpx_mock: HTTPXMock) -> None:
    sc = example()
    sc.patch("InferencePool.inference.networking.x-k8s.io", "ms-llm-d",
             {"spec": {"selector": {"llm-d.ai/inferenceServing": None, "llm-d.ai/inference-serving": "true"}}})
    probe(sc, httpx_mock, chat={"status_code": 503, "text": "no healthy upstream"})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [POOL_REF])
    assert "no healthy upstream" in r.message
    assert "selects 0 pod(s) with llm-d.ai/inference-serving=true, none of them Ready" in r.message


def test_503_no_healthy_upstream_with_ready_pods_says_the_gateway_does_not_see_them(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat={"status_code": 503, "text": "no healthy upstream"})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [POOL_REF])
    assert "has 3 Ready pod(s), yet the gateway saw no healthy endpoint" in r.message
    assert "--pool-name" in r.remediation


def test_upstream_connect_error_on_a_port_nobody_serves_points_at_the_pool_port(httpx_mock: HTTPXMock) -> None:
    sc = example()
    sc.patch("InferencePool.inference.networking.x-k8s.io", "ms-llm-d", {"spec": {"targetPortNumber": 9999}})
    body = ("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, "
            "transport failure reason: delayed connect error: Connection refused")
    probe(sc, httpx_mock, chat={"status_code": 503, "text": body})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [POOL_REF])
    assert "did not accept the connection" in r.message and "sends to port 9999, but its pods' containers declare" in r.message


def test_404_without_a_route_points_at_the_gateway(httpx_mock: HTTPXMock) -> None:
    sc = example()
    sc.remove("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route")
    probe(sc, httpx_mock, chat={"status_code": 404, "headers": {"server": "istio-envoy"}})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [GATEWAY_REF])
    assert f"no HTTPRoute is attached to {GATEWAY_REF}" in r.message


def test_a_model_nobody_serves_names_the_served_ones(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, model="llama-70b", chat={"status_code": 404, "json": {
        "object": "error", "message": "The model `llama-70b` does not exist.", "type": "NotFoundError", "code": 404}})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [POOL_REF])
    assert "model 'llama-70b' is not served; the snapshot shows meta-llama/Llama-3.2-3B-Instruct" in r.message


def test_429_is_a_warning_naming_the_criticality(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat={"status_code": 429, "text": "system saturated, sheddable request dropped"})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.WARN, [EPP_REF])
    assert "shed" in r.message and r.lost_capabilities == []
    assert "InferenceModel/llm-d/llama-3-2-3b-instruct: criticality Critical" in r.evidence


def test_fault_filter_abort_points_at_the_route_to_a_missing_pool(httpx_mock: HTTPXMock) -> None:
    sc = example()
    sc.patch("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d-epp-route", {"spec": {"rules": [{"backendRefs": [
        {"group": "inference.networking.x-k8s.io", "kind": "InferencePool", "name": "ms-llm-d-typo", "port": 8000}]}]}})
    probe(sc, httpx_mock, chat={"status_code": 500, "text": "fault filter abort"})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [ROUTE_REF])
    assert "sends to InferencePool ms-llm-d-typo, which does not exist" in r.message


@pytest.mark.parametrize(("example_name", "obj", "cause"), [
    ("healthy", POOL_REF, "the model server did not answer in time"),
    ("seed-rosa-epp-segfault", EPP_REF, "has 0 Ready pods"),
])
def test_a_timeout_is_a_failure_attributed_with_the_snapshot(httpx_mock: HTTPXMock, example_name, obj, cause) -> None:
    sc = example(example_name)
    probe(sc, httpx_mock, chat=httpx.ReadTimeout("timed out"))
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [obj])
    assert "no complete answer from gw.test:80 within 30s" in r.message and cause in r.message


def test_200_with_a_web_page_is_not_the_openai_api(httpx_mock: HTTPXMock) -> None:
    sc = example("seed-rosa-epp-segfault")  # the route sends to a Service
    probe(sc, httpx_mock, chat={"status_code": 200, "html": "<html>Log in</html>"})
    r = result(sc, "e2e.chat-completion")
    assert (r.status, r.objects) == (Status.FAIL, [ROUTE_REF])
    assert "not an OpenAI chat completion" in r.message and "sends to Service ms-llm-d-modelservice-decode" in r.message


@pytest.mark.parametrize(("exc", "text"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "connection to gw.test:80 refused"),
    (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS lookup of gw.test failed"),
    (httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS handshake with gw.test:80 failed"),
    (httpx.ConnectTimeout("timed out"), "no connection to gw.test:80 within 5s"),
])
def test_an_unreachable_gateway_url_is_an_error_not_a_finding(httpx_mock: HTTPXMock, exc, text) -> None:
    sc = example()
    probe(sc, httpx_mock, models=exc)
    results = sc.run("e2e.*")
    r = results["e2e.chat-completion"]
    assert r.status == Status.ERROR and r.message.startswith("could not check: ") and text in r.message
    assert "was not sent" in r.message
    if "refused" in text:
        assert r.message.endswith("is the port-forward running?")
    assert results["e2e.models"].status == Status.ERROR
    assert results["e2e.routing"].status == Status.SKIP


def test_a_discovered_address_this_machine_cannot_reach_is_skipped_with_the_port_forward() -> None:
    sc = example()
    snap = sc.snapshot()
    snap.source.kind = "live"
    sc.data.probes.update(run_probes(snap, ProbeOptions(client=_CLIENT, resolver=lambda *a: "Name or service not known")))
    results = sc.run("e2e.*")
    for check_id in ("e2e.chat-completion", "e2e.models"):
        r = results[check_id]
        assert r.status == Status.SKIP
        assert "cluster-internal address llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local:80" in r.message
        assert "`kubectl port-forward -n llm-d svc/llm-d-infra-inference-gateway-istio 8000:80`" in r.message
        assert "--gateway-url http://localhost:8000" in r.message


def test_401_asks_for_the_api_key(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat={"status_code": 401, "json": {"error": {"message": "Missing bearer token"}}})
    r = result(sc, "e2e.chat-completion")
    assert r.status == Status.ERROR and "wants credentials" in r.message and "--api-key-env" in r.remediation


def test_a_failing_stream_and_a_thin_shape_are_warnings(httpx_mock: HTTPXMock) -> None:
    thin = {"choices": [{"message": {"role": "assistant", "content": "4"}}]}

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(503, text="no healthy upstream")
        return httpx.Response(200, json=thin)

    sc = example()
    probe(sc, httpx_mock, chat=answer)
    r = result(sc, "e2e.chat-completion")
    assert r.status == Status.WARN and r.lost_capabilities == []
    messages = [f.message for f in r.findings if f.status == Status.WARN]
    assert any("lacks id, object, usage, choices[0].finish_reason" in m for m in messages)
    assert any(m.startswith("the streaming chat completion failed: HTTP 503 no healthy upstream") for m in messages)


# ---- e2e.models --------------------------------------------------------------------------------


def test_models_lists_the_expected_model(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat=ok_chat())
    r = result(sc, "e2e.models")
    assert (r.status, r.objects) == (Status.PASS, [GATEWAY_REF])
    assert f"lists '{MODEL}' (1 model(s))" in r.message


@pytest.mark.parametrize(("model", "status"), [(None, Status.WARN), ("meta-llama/Llama-3.2-3B-Instruct", Status.FAIL)])
def test_models_without_the_expected_one(httpx_mock: HTTPXMock, model, status) -> None:
    sc = example()
    listing = {"json": {"object": "list", "data": [{"id": "Qwen/Qwen3-0.6B"}]}}
    probe(sc, httpx_mock, models=listing, chat=ok_chat(), **({"model": model} if model else {}))
    r = result(sc, "e2e.models")
    assert (r.status, r.objects) == (status, [GATEWAY_REF])
    assert f"does not list '{MODEL}'" in r.message and "it lists Qwen/Qwen3-0.6B" in r.message


def test_models_failing_while_chat_works_is_a_warning(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, models={"status_code": 500, "headers": {"server": "istio-envoy"}}, chat=ok_chat())
    r = result(sc, "e2e.models")
    assert r.status == Status.WARN and "(chat completions work)" in r.message and r.lost_capabilities == []


def test_models_failing_with_chat_is_a_failure(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, models={"status_code": 503, "text": "no healthy upstream"},
          chat={"status_code": 503, "text": "no healthy upstream"})
    r = result(sc, "e2e.models")
    assert (r.status, r.objects) == (Status.FAIL, [POOL_REF])
    assert r.message.startswith("GET /v1/models: HTTP 503 no healthy upstream")


# ---- e2e.routing -------------------------------------------------------------------------------


def test_routing_passes_with_epp_headers_and_prefix_affinity(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat=ok_chat(EPP_HEADERS, itertools.cycle(["ms-llm-d-decode-0"])), prefix_requests=5)
    r = result(sc, "e2e.routing")
    assert (r.status, r.objects) == (Status.PASS, [POOL_REF])
    assert "the endpoint picker is in the request path (x-went-into-resp-headers: true)" in r.message
    assert "landed on ms-llm-d-decode-0 (100%)" in r.message and "5/5 requests sharing a" in r.message


def test_routing_warns_when_prefix_affinity_is_low_with_a_prefix_scorer(httpx_mock: HTTPXMock) -> None:
    sc = example()  # its EPP config uses prefix-cache-scorer
    pods = itertools.cycle(["decode-a", "decode-b", "decode-c"])
    probe(sc, httpx_mock, chat=ok_chat(EPP_HEADERS, pods), prefix_requests=6)
    r = result(sc, "e2e.routing")
    assert (r.status, r.objects) == (Status.WARN, [POOL_REF])
    assert "prefix affinity 33%" in r.message and "config uses prefix-cache-scorer" in r.message
    assert set(r.lost_capabilities) == {PREFIX_CACHE, CACHE_AWARE_ROUTING}


def test_routing_without_a_prefix_scorer_only_reports_the_rate(httpx_mock: HTTPXMock) -> None:
    sc = example()
    cm = sc.find("ConfigMap", "ms-llm-d-epp-config")
    cm["data"]["epp-config.yaml"] = cm["data"]["epp-config.yaml"].replace("prefix-cache-scorer", "queue-scorer")
    probe(sc, httpx_mock, chat=ok_chat(EPP_HEADERS, itertools.cycle(["decode-a", "decode-b"])), prefix_requests=4)
    r = result(sc, "e2e.routing")
    assert r.status == Status.PASS and "(50%)" in r.message and "config has no prefix scorer" in r.message


def test_routing_warns_when_the_route_bypasses_the_pool(httpx_mock: HTTPXMock) -> None:
    sc = example("seed-rosa-epp-segfault")
    probe(sc, httpx_mock, chat=ok_chat())
    r = result(sc, "e2e.routing")
    assert (r.status, r.objects) == (Status.WARN, [ROUTE_REF])
    assert "sends to Service ms-llm-d-modelservice-decode, not an InferencePool" in r.message
    assert set(r.lost_capabilities) == {CACHE_AWARE_ROUTING, PREFIX_CACHE}


def test_routing_warns_without_any_epp_evidence(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat=ok_chat(), prefix_requests=2)
    r = result(sc, "e2e.routing")
    assert (r.status, r.objects) == (Status.WARN, [POOL_REF])
    assert "no evidence the EPP chose the endpoint" in r.message
    assert "not measured: the responses name no endpoint" not in r.message  # warn message is about the EPP


def test_intermittent_failures_in_the_prefix_series_are_attributed(httpx_mock: HTTPXMock) -> None:
    sc = example()
    answers = itertools.count()
    refused = ("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, "
               "transport failure reason: delayed connect error: Connection refused")

    def flaky(request: httpx.Request) -> httpx.Response:
        n = next(answers)
        if n >= 2 and n % 2:  # chat, stream, then every other prefix request fails
            return httpx.Response(503, text=refused, headers={"server": "istio-envoy"})
        return ok_chat(EPP_HEADERS)(request)

    probe(sc, httpx_mock, chat=flaky, prefix_requests=4)
    r = result(sc, "e2e.routing")
    assert r.status == Status.WARN and r.lost_capabilities == []
    assert "2 of 4 requests of the prefix series failed" in r.message
    assert "the chosen endpoint did not accept the connection" in r.message


def test_routing_is_blocked_when_the_chat_completion_fails(httpx_mock: HTTPXMock) -> None:
    sc = example()
    probe(sc, httpx_mock, chat={"status_code": 503, "text": "no healthy upstream"})
    r = result(sc, "e2e.routing")
    assert r.status == Status.BLOCKED and r.blocked_by == ["e2e.chat-completion"]


# ---- offline: a bundle carries the records --------------------------------------------------------


def test_an_offline_bundle_replays_a_recorded_probe(httpx_mock: HTTPXMock, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sc = example()
    probe(sc, httpx_mock, chat=ok_chat(EPP_HEADERS, itertools.cycle(["decode-0"])), prefix_requests=2)
    sc.remove("CustomResourceDefinition.apiextensions.k8s.io")  # not read by e2e.*; slow to write as YAML
    path = sc.write(tmp_path / "bundle")
    assert sorted(p.name for p in (path / "probes").iterdir()) == ["e2e.json", "models.json", "routing.json"]
    with pytest.raises(SystemExit) as exc:
        main(["check", "--bundle", str(path), "--only", "e2e.*", "-o", "json"])
    assert exc.value.code == 0
    checks = {c["id"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert {i: c["status"] for i, c in checks.items()} == {
        "e2e.chat-completion": "pass", "e2e.models": "pass", "e2e.routing": "pass"}
    assert "'2 + 2 = 4.'" in checks["e2e.chat-completion"]["message"]


def test_a_hand_written_record_is_enough() -> None:
    sc = example()
    sc.data.probes["e2e"] = {"url": "http://localhost:8000/v1/chat/completions", "status": 200,
                             "request": {"method": "POST", "body": {"model": MODEL}}, "response": ANSWER,
                             "latency_s": 0.84}
    r = result(sc, "e2e.chat-completion")
    assert r.status == Status.PASS and "in 0.84s" in r.message


def test_an_offline_bundle_without_probes_skips() -> None:
    results = example().run("e2e.*")
    assert results["e2e.chat-completion"].status == Status.SKIP
    assert results["e2e.chat-completion"].message == "probe not run: offline bundle (it holds no probes/e2e.json)"
    assert results["e2e.models"].status == Status.SKIP
