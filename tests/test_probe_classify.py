"""Every failure class of the probe, through the real Prober and httpx (mocked by pytest-httpx).

Each case: what the gateway answers (or how the connection fails) -> the recorded error_class, the
hop the answer alone points at, and the record keeping what the report needs.
"""

from __future__ import annotations

import copy
from functools import cache

import httpx
import pytest
from pytest_httpx import HTTPXMock
from scenario import EXAMPLES, Scenario

from llmd_doctor.probes import ProbeOptions, run_probes
from llmd_doctor.probes.classify import chat_shape, classify_http, classify_transport, endpoint_of
from llmd_doctor.sources.bundle import BundleData, read_bundle

GW = "http://gw.test"
MODEL = "meta-llama/Llama-3.2-3B-Instruct"
MODELS = {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "vllm"}]}
ENVOY_EMPTY = {"server": "istio-envoy", "content-length": "0"}
VLLM_404 = {"object": "error", "message": "The model `nope` does not exist.", "type": "NotFoundError",
            "param": None, "code": 404}


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


def live_snapshot(example: str = "healthy"):
    snap = Scenario(copy.deepcopy(_example(example))).snapshot()
    snap.source.kind = "live"
    return snap


_CLIENT = httpx.Client()  # one client for the module: building its SSL context costs ~0.3s


def probe(**kw):
    return run_probes(live_snapshot(), ProbeOptions(gateway_url=GW, client=_CLIENT, **kw))


def models_ok(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models", json=MODELS)


HTTP_CASES = [
    # (status, headers, body, class, hop)
    (404, {"server": "istio-envoy"}, b"", "route_not_found", "httproute"),
    (404, {"content-type": "application/json"}, VLLM_404, "model_not_found", "model"),
    (400, {}, b"model not found in request body", "model_missing_in_body", "epp"),
    (400, {"content-type": "application/json"},
     {"object": "error", "message": "max_tokens must be at least 1", "code": 400}, "bad_request", "model-server"),
    (429, {}, b"system saturated, sheddable request dropped", "saturated", "epp"),
    (500, ENVOY_EMPTY, b"", "ext_proc_failure", "epp"),
    (500, {"server": "envoy"}, b"ext_proc_error_gRPC_error_14{Cluster_not_available}", "ext_proc_failure", "epp"),
    (500, {"server": "istio-envoy"}, b"fault filter abort", "fault_filter_abort", "httproute"),
    (500, {"content-type": "application/json"}, {"object": "error", "message": "CUDA error: out of memory"},
     "server_error", "model-server"),
    (503, {"server": "istio-envoy"}, b"no healthy upstream", "no_healthy_upstream", "pool"),
    (503, {"server": "istio-envoy"},
     b"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, "
     b"transport failure reason: delayed connect error: Connection refused", "upstream_connect_error", "model-server"),
    (502, {"server": "envoy"}, b"upstream connect error or disconnect/reset before headers. reset reason: "
     b"connection termination", "upstream_connect_error", "model-server"),
    (504, {"server": "istio-envoy"}, b"upstream request timeout", "upstream_timeout", "model-server"),
    (401, {"www-authenticate": "Bearer"}, b"unauthorized", "unauthorized", "gateway"),
    (200, {"content-type": "text/html"}, b"<html><body>Log in to OpenShift</body></html>", "not_openai", "httproute"),
    (200, {"content-type": "application/json"}, {"result": "ok"}, "not_openai", "httproute"),
]


@pytest.mark.parametrize(("status", "headers", "body", "cls", "hop"), HTTP_CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in HTTP_CASES])
def test_http_answers_are_classified_with_a_hop(httpx_mock: HTTPXMock, status, headers, body, cls, hop) -> None:
    models_ok(httpx_mock)
    kw = {"json": body} if isinstance(body, dict) else {"content": body}
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", status_code=status, headers=headers, **kw)
    recs = probe()
    e2e = recs["e2e"]
    assert (e2e["status"], e2e["error_class"], e2e["hop"]) == (status, cls, hop)
    assert e2e["error"]  # a sentence, shown by the check
    assert e2e["request"]["body"]["model"] == MODEL and e2e["request"]["body"]["max_tokens"] <= 16
    assert isinstance(e2e["latency_s"], float)
    assert "stream" not in e2e  # no streaming request after a failure
    assert recs["routing"]["prefix"] == {"skipped": "the chat completion failed"}
    if isinstance(body, dict):
        assert e2e["response"] == body
    else:
        assert e2e["body_excerpt"] == body.decode()
    if "server" in headers:
        assert e2e["headers"]["server"] == headers["server"]


TRANSPORT_CASES = [
    (httpx.ConnectError("[Errno -2] Name or service not known"), "dns", "DNS lookup of gw.test failed"),
    (httpx.ConnectError("[Errno 111] Connection refused"), "refused", "connection to gw.test:80 refused"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "tls", "TLS handshake"),
    (httpx.ConnectError("[Errno 101] Network is unreachable"), "unreachable", "is unreachable"),
    (httpx.ConnectTimeout("timed out"), "connect_timeout", "no connection to gw.test:80 within 5s"),
]


@pytest.mark.parametrize(("exc", "cls", "text"), TRANSPORT_CASES, ids=[c[1] for c in TRANSPORT_CASES])
def test_connection_failures_stop_the_probe_and_say_so(httpx_mock: HTTPXMock, exc, cls, text) -> None:
    httpx_mock.add_exception(exc, method="GET", url=f"{GW}/v1/models")
    recs = probe()
    assert recs["models"]["error_class"] == cls and text in recs["models"]["error"]
    assert "status" not in recs["models"]
    # --gateway-url was given: the chat completion records the same class, not sent.
    e2e = recs["e2e"]
    assert e2e["error_class"] == cls and e2e["hop"] == "network" and "was not sent" in e2e["error"]
    assert recs["routing"]["not_run"].startswith("the gateway did not accept a connection")


@pytest.mark.parametrize(("exc", "cls"), [
    (httpx.ReadTimeout("timed out"), "timeout"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "disconnected"),
])
def test_answers_that_never_come_are_failures_of_the_path(httpx_mock: HTTPXMock, exc, cls) -> None:
    models_ok(httpx_mock)
    httpx_mock.add_exception(exc, method="POST", url=f"{GW}/v1/chat/completions")
    e2e = probe()["e2e"]
    assert e2e["error_class"] == cls and "status" not in e2e
    assert e2e["hop"] == {"timeout": "model-server", "disconnected": "gateway"}[cls]


def test_a_resolver_that_fails_is_a_dns_failure_without_any_request(httpx_mock: HTTPXMock) -> None:
    opts = ProbeOptions(gateway_url=GW, client=_CLIENT,
                        resolver=lambda host, port, timeout: "[Errno -2] Name or service not known")
    recs = run_probes(live_snapshot(), opts)
    assert recs["models"]["error_class"] == "dns" and recs["e2e"]["error_class"] == "dns"
    assert httpx_mock.get_requests() == []


def test_a_good_answer_is_recorded_with_request_response_and_stream(httpx_mock: HTTPXMock) -> None:
    models_ok(httpx_mock)
    answer = {"id": "chatcmpl-a892106c", "object": "chat.completion", "created": 1755826903, "model": MODEL,
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 = 4.", "refusal": None},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 44, "total_tokens": 53, "completion_tokens": 9}}
    sse = b"".join(
        b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % w
        for w in (b"2", b" + 2 = 4.")) + b"data: [DONE]\n\n"

    def answer_for(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse)
        return httpx.Response(200, json=answer, headers={"x-went-into-resp-headers": "true",
                                                         "x-inference-pod": "decode-0", "set-cookie": "s=1"})

    httpx_mock.add_callback(answer_for, method="POST", url=f"{GW}/v1/chat/completions", is_reusable=True)
    recs = probe(prefix_requests=3)
    e2e = recs["e2e"]
    assert (e2e["status"], e2e["error_class"], e2e["hop"]) == (200, None, None)
    assert e2e["response"] == answer and e2e["url"] == f"{GW}/v1/chat/completions"
    assert e2e["headers"]["x-went-into-resp-headers"] == "true" and "set-cookie" not in e2e["headers"]
    assert e2e["target"]["source"] == "flag" and e2e["target"]["model_source"].startswith("InferenceModel/")
    assert e2e["stream"]["chunks"] == 2 and e2e["stream"]["done"] is True
    assert e2e["stream"]["content_excerpt"] == "2 + 2 = 4." and e2e["stream"]["ttft_s"] >= 0
    assert recs["models"]["models"] == [MODEL] and recs["models"]["expected"] == MODEL
    prefix = recs["routing"]["prefix"]
    assert prefix["n"] == 3 and prefix["endpoints"] == {"decode-0": 3} and prefix["rate"] == 1.0
    assert prefix["prefix_chars"] > 2000 and prefix["request"]["body"]["max_tokens"] == 1
    assert recs["routing"]["epp_evidence"] == ["x-went-into-resp-headers: true"]
    # bounded: models + chat + stream + 3 prefix requests
    assert len(httpx_mock.get_requests()) == 6


def test_the_api_key_is_sent_but_never_recorded(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-very-secret-123"
    monkeypatch.setenv("LLMD_TEST_KEY", secret)
    models_ok(httpx_mock)
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", status_code=401,
                            json={"error": {"message": f"invalid key {secret}"}})
    recs = probe(api_key_env="LLMD_TEST_KEY")
    sent = httpx_mock.get_requests()
    assert all(r.headers["authorization"] == f"Bearer {secret}" for r in sent)
    e2e = recs["e2e"]
    assert e2e["request"]["headers"]["authorization"] == "Bearer <redacted>"
    assert secret not in repr(recs)
    assert e2e["error_class"] == "unauthorized"


def test_the_model_falls_back_to_the_first_listed_one(httpx_mock: HTTPXMock) -> None:
    snap = live_snapshot()
    snap.objects.pop("InferenceModel.inference.networking.x-k8s.io")
    snap.objects["Pod"] = []  # no model-server arguments either
    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models", json={"object": "list", "data": [{"id": "m1"}]})
    httpx_mock.add_response(method="POST", url=f"{GW}/v1/chat/completions", status_code=503,
                            content=b"no healthy upstream")
    recs = run_probes(snap, ProbeOptions(gateway_url=GW, client=_CLIENT))
    assert recs["e2e"]["request"]["body"]["model"] == "m1"
    assert recs["e2e"]["target"]["model_source"] == "GET /v1/models"


def test_no_model_anywhere_is_not_run(httpx_mock: HTTPXMock) -> None:
    snap = live_snapshot()
    snap.objects.pop("InferenceModel.inference.networking.x-k8s.io")
    snap.objects["Pod"] = []
    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models", status_code=404)
    recs = run_probes(snap, ProbeOptions(gateway_url=GW, client=_CLIENT))
    assert "pass --model" in recs["e2e"]["not_run"]


# ---- the pure parts -------------------------------------------------------------------------


def test_transport_texts_map_to_classes() -> None:
    assert classify_transport("ConnectError", "[Errno 8] nodename nor servname provided, or not known") == "dns"
    assert classify_transport("ConnectError", "[Errno 61] Connection refused") == "refused"
    assert classify_transport("ConnectError", "[Errno 113] No route to host") == "unreachable"
    assert classify_transport("ConnectError", "something else") == "connect_error"
    assert classify_transport("ReadTimeout", "") == "timeout"
    assert classify_transport("ReadError", "") == "disconnected"


def test_a_503_from_envoy_with_an_empty_body_points_at_the_epp() -> None:
    c = classify_http(503, {"server": "istio-envoy"}, "")
    assert (c.cls, c.hop) == ("unavailable", "epp") and "empty body" in c.message


def test_chat_shape_names_what_is_missing() -> None:
    fatal, missing = chat_shape({"choices": [{"message": {"content": "4"}}]})
    assert fatal == [] and missing == ["id", "object", "usage", "choices[0].finish_reason"]
    assert chat_shape({"choices": []})[0] == ["no choices[]"]
    assert chat_shape([1])[0] == ["the body is not a JSON object"]


def test_endpoint_headers_most_specific_first() -> None:
    assert endpoint_of({"x-inference-pod": "p", "x-gateway-destination-endpoint-served": "10.0.0.1:8000"}) == \
        "10.0.0.1:8000"
    assert endpoint_of({"x-conformance-test-served-endpoint": "fail: missing envoy lb metadata"}) is None
    assert endpoint_of({}) is None
