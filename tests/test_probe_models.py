"""Every model behind the Gateway probed, safely: one chat completion per model (capped, time-bounded),
routing evidence per model, the public-address notice, the API key only to --gateway-url, and records
of both formats replayed from a bundle.

The gateway is pytest-httpx; the cluster is an example bundle or a real case (tests/cases) read as a
live snapshot. Nothing leaves the machine.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from cases.build import CASES, load_case
from pytest_httpx import HTTPXMock
from scenario import EXAMPLES, Scenario

from llmd_doctor.cli import main
from llmd_doctor.model import GPU_INFERENCE, Status
from llmd_doctor.probes import ProbeOptions, run_probes
from llmd_doctor.sources.bundle import BundleData, read_bundle

GW = "http://gw.test"
LLAMA = "meta-llama/Llama-3.2-3B-Instruct"
QWEN_A, QWEN_B = "Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B"
POOL_A, POOL_B = "InferencePool/llm-d/gaie-inference-scheduling", "InferencePool/llm-d/gaie-qwen3-8b"
ROUTE = "HTTPRoute/llm-d/llm-d-inference-scheduling"
POD_A = "ms-inference-scheduling-llm-d-modelservice-decode-8ff7fd5b8-t5f9s"
GW_KEY, GW_NAME = "Gateway.gateway.networking.k8s.io", "llm-d-infra-inference-gateway"
PUBLIC = "34.120.1.2"
EPP = {"server": "istio-envoy", "x-went-into-resp-headers": "true"}
_CLIENT = httpx.Client()


def answer(model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}}


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


@cache
def _two_models() -> BundleData:
    return load_case(CASES / "generic-second-model-pool-selects-nothing.yaml")[0].data


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name)))


def two_models() -> Scenario:
    """Model A in pool gaie-inference-scheduling; model B routed by X-Gateway-Model-Name to gaie-qwen3-8b."""
    return Scenario(copy.deepcopy(_two_models()))


def gateway(per_model: dict[str, httpx.Response | dict[str, str]]):
    """Answers by the body's model: a Response as is, or a 200 with those response headers."""
    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        got = per_model.get(body["model"], {})
        if isinstance(got, httpx.Response):
            return got
        if body.get("stream"):
            return httpx.Response(200, headers={**got, "content-type": "text/event-stream"},
                                  content=b'data: {"choices":[{"delta":{"content":"4"}}]}\n\ndata: [DONE]\n\n')
        return httpx.Response(200, json=answer(body["model"]), headers=got)
    return reply


def probe(sc: Scenario, httpx_mock: HTTPXMock, per_model: dict[str, Any], *, url: str = GW,
          listed: list[str] | None = None, **kw: Any) -> dict[str, dict[str, Any]]:
    httpx_mock.add_response(method="GET", url=f"{url}/v1/models", is_optional=True,
                            json={"object": "list", "data": [{"id": m} for m in listed or []]})
    httpx_mock.add_callback(gateway(per_model), method="POST", url=f"{url}/v1/chat/completions",
                            is_reusable=True, is_optional=True)
    snap = sc.snapshot()
    snap.source.kind = "live"
    opts = {"gateway_url": GW if url == GW else None, "prefix_requests": 0, **kw}
    recs = run_probes(snap, ProbeOptions(client=_CLIENT, **opts))
    sc.data.probes.update(recs)
    return recs


def chats(httpx_mock: HTTPXMock) -> list[tuple[str, bool]]:
    return [(json.loads(r.content)["model"], bool(json.loads(r.content).get("stream")))
            for r in httpx_mock.get_requests() if r.method == "POST"]


# ---- every model, with the pool it should reach ----------------------------------------------------


def test_each_model_gets_one_chat_completion_with_its_pool_and_landing(httpx_mock: HTTPXMock) -> None:
    sc = two_models()
    recs = probe(sc, httpx_mock, {QWEN_A: {**EPP, "x-gateway-destination-endpoint": "10.0.139.114:8000"},
                                  QWEN_B: httpx.Response(503, text="no healthy upstream")}, listed=[QWEN_A])
    assert chats(httpx_mock) == [(QWEN_A, False), (QWEN_A, True), (QWEN_B, False)]
    e2e = recs["e2e"]
    assert (e2e["version"], e2e["model"], e2e["pools"], e2e["endpoint"]) == (2, QWEN_A, [POOL_A], "10.0.139.114:8000")
    (b,) = e2e["per_model"]
    assert (b["model"], b["pools"], b["status"], b["error_class"]) == (QWEN_B, [POOL_B], 503, "no_healthy_upstream")
    assert b["model_sources"] == [f"{ROUTE} rule 1 (X-Gateway-Model-Name: {QWEN_B})"]
    assert recs["models"]["expected_models"] == [QWEN_A, QWEN_B]
    r = sc.run("e2e.chat-completion")["e2e.chat-completion"]
    assert (r.status, r.objects, r.lost_capabilities) == (Status.FAIL, [POOL_B], [GPU_INFERENCE])
    assert f"model '{QWEN_A}' answered" in " ".join(r.evidence)


def test_two_working_models_pass_and_say_so(httpx_mock: HTTPXMock) -> None:
    sc = two_models()
    sc.patch("InferencePool.inference.networking.k8s.io", "gaie-qwen3-8b",
             {"spec": {"selector": {"matchLabels": {"llm-d.ai/model": "qwen3-8b"}}}}, "llm-d")
    probe(sc, httpx_mock, {QWEN_A: EPP, QWEN_B: EPP}, listed=[QWEN_A])
    results = sc.run("e2e.*")
    assert {i: r.status for i, r in results.items() if i.startswith("e2e.")} == {
        "e2e.chat-completion": Status.PASS, "e2e.models": Status.PASS, "e2e.routing": Status.PASS}
    assert "; 2 of 2 models answered" in results["e2e.chat-completion"].message
    assert sum(f.status == Status.PASS for f in results["e2e.chat-completion"].findings) == 2


def test_a_model_that_bypasses_the_endpoint_picker_or_lands_in_another_pool_is_a_warning(httpx_mock: HTTPXMock) -> None:
    sc = two_models()  # model B's pool selects nothing; its answer comes from one of pool A's pods, not via an EPP
    probe(sc, httpx_mock, {QWEN_A: EPP, QWEN_B: {"x-inference-pod": POD_A}})
    r = sc.run("e2e.routing")["e2e.routing"]
    assert r.status == Status.WARN
    messages = [f.message for f in r.findings if f.status == Status.WARN]
    assert any(m.startswith(f"model '{QWEN_B}': its answer carried no endpoint-picker header while '{QWEN_A}'")
               for m in messages)
    assert f"model '{QWEN_B}' was answered by endpoint {POD_A} = Pod/llm-d/{POD_A} (selected by {POOL_A}), not by " \
           f"{POOL_B}, the pool its model should reach" in messages


def test_a_model_that_falls_through_to_another_pool_names_body_based_routing(httpx_mock: HTTPXMock) -> None:
    sc = two_models()  # no BBR: the header rule never matches, the default rule sends model B to pool A
    missing = httpx.Response(404, json={"object": "error", "message": f"The model `{QWEN_B}` does not exist.",
                                        "type": "NotFoundError", "code": 404},
                             headers={**EPP, "x-gateway-destination-endpoint": "10.0.148.27:8000"})
    probe(sc, httpx_mock, {QWEN_A: EPP, QWEN_B: missing})
    r = sc.run("e2e.chat-completion")["e2e.chat-completion"]
    assert (r.status, r.objects) == (Status.FAIL, [ROUTE])
    assert "landed on endpoint 10.0.148.27:8000 = Pod/llm-d/" in r.message and f"not in {POOL_B}" in r.message
    assert "X-Gateway-Model-Name" in r.message and "body-based routing (BBR)" in r.message


def test_the_models_listing_of_one_pool_is_not_a_warning_when_another_probed_model_is_listed(
        httpx_mock: HTTPXMock) -> None:
    sc = two_models()  # model A is probed first; the listing comes from model B's pool
    probe(sc, httpx_mock, {QWEN_A: EPP, QWEN_B: EPP}, listed=[QWEN_B])
    r = sc.run("e2e.models")["e2e.models"]
    assert r.status == Status.PASS and "the listing comes from one pool" in r.message


def test_at_most_eight_models_and_the_rest_is_said(httpx_mock: HTTPXMock) -> None:
    sc = example()
    listed = [f"lora-{i}" for i in range(12)]
    recs = probe(sc, httpx_mock, {}, listed=listed)
    assert [m for m, stream in chats(httpx_mock) if not stream] == [LLAMA, *listed[:7]]
    assert [x["model"] for x in recs["e2e"]["skipped_models"]] == listed[7:]
    r = sc.run("e2e.chat-completion")["e2e.chat-completion"]
    assert r.status == Status.PASS
    assert "5 more model(s) not probed (over the cap of 8 models per run): lora-7, lora-8" in r.message


def test_the_time_budget_stops_further_models(httpx_mock: HTTPXMock) -> None:
    recs = probe(two_models(), httpx_mock, {}, budget=0.0)
    assert [m for m, stream in chats(httpx_mock) if not stream] == [QWEN_A]
    assert recs["e2e"]["skipped_models"] == [{"model": QWEN_B, "why": "not probed: the probe's time budget (0s) was spent"}]


def test_model_flag_probes_that_model_only(httpx_mock: HTTPXMock) -> None:
    recs = probe(two_models(), httpx_mock, {}, model=QWEN_B, listed=[QWEN_A])
    assert chats(httpx_mock) == [(QWEN_B, False), (QWEN_B, True)]
    assert (recs["e2e"]["pools"], recs["e2e"]["model_sources"]) == ([POOL_B], ["--model"])


# ---- safety: where it sends, and the API key -------------------------------------------------------


def public(sc: Scenario) -> Scenario:
    sc.patch(GW_KEY, GW_NAME, {"status": {"addresses": [{"type": "IPAddress", "value": PUBLIC}]}})
    return sc


def test_a_public_gateway_address_is_said_before_sending_and_gets_no_key(
        httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LLMD_KEY", "s3cret-key")
    sc = public(example())
    unauthorized = httpx.Response(401, json={"error": {"message": "Missing bearer token"}})
    recs = probe(sc, httpx_mock, {LLAMA: unauthorized}, url=f"http://{PUBLIC}", api_key_env="LLMD_KEY")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"llmd-doctor: probing http://{PUBLIC}: the address Gateway/llm-d/{GW_NAME} reports in its "
                      "status is neither cluster-internal nor private (--no-probe sends nothing; --gateway-url "
                      "chooses the address)")
    assert err[1] == (f"llmd-doctor: the API key in $LLMD_KEY is not sent to http://{PUBLIC}: it goes only to an "
                      "address given with --gateway-url")
    assert all("authorization" not in r.headers for r in httpx_mock.get_requests())
    target = recs["e2e"]["target"]
    assert (target["public"], target["api_key"], target["notices"]) == (True, "withheld", [e[13:] for e in err])
    r = sc.run("e2e.chat-completion")["e2e.chat-completion"]
    assert r.status == Status.ERROR and "the API key from --api-key-env was withheld" in r.message
    assert f"Pass --gateway-url http://{PUBLIC} with --api-key-env" in r.remediation
    assert r.findings[0].unverified


def test_a_cluster_internal_address_needs_no_notice_but_gets_no_key_either(
        httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMD_KEY", "s3cret-key")
    said: list[str] = []
    url = "http://llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local"
    recs = probe(example(), httpx_mock, {}, url=url, api_key_env="LLMD_KEY", notice=said.append)
    assert said == [f"the API key in $LLMD_KEY is not sent to {url}: it goes only to an address given with "
                    "--gateway-url"]
    assert "public" not in recs["e2e"]["target"]
    assert httpx_mock.get_requests() and all("authorization" not in r.headers for r in httpx_mock.get_requests())


def test_the_key_goes_to_the_gateway_url_the_user_gave(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMD_KEY", "s3cret-key")
    said: list[str] = []
    recs = probe(public(example()), httpx_mock, {}, api_key_env="LLMD_KEY", notice=said.append)
    assert said == []
    assert {r.headers["authorization"] for r in httpx_mock.get_requests()} == {"Bearer s3cret-key"}
    assert recs["e2e"]["target"]["api_key"] == "sent"
    assert recs["e2e"]["request"]["headers"]["authorization"] == "Bearer <redacted>"
    assert "s3cret-key" not in json.dumps(recs)


# ---- a gateway this machine cannot reach: said by default, unverified ---------------------------------


def test_an_unreachable_gateway_is_said_on_stderr_and_the_checks_are_unverified_skips(
        capsys: pytest.CaptureFixture[str]) -> None:
    sc = example()
    snap = sc.snapshot()
    snap.source.kind = "live"
    sc.data.probes.update(run_probes(snap, ProbeOptions(client=_CLIENT, resolver=lambda *a: "Name or service not known")))
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("llmd-doctor: end-to-end probe not sent: the gateway's cluster-internal address ")
    assert line.endswith("run `kubectl port-forward -n llm-d svc/llm-d-infra-inference-gateway-istio 8000:80` and "
                         "pass --gateway-url http://localhost:8000")
    results = sc.run("e2e.*")
    for check_id in ("e2e.chat-completion", "e2e.models"):
        r = results[check_id]
        assert r.status == Status.SKIP and [f.unverified for f in r.findings] == [True]
        assert "kubectl port-forward" in r.message


# ---- records replayed from a bundle: the single-model format and the per-model one --------------------


def replay(sc: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    sc.remove("CustomResourceDefinition.apiextensions.k8s.io")  # not read by e2e.*; slow to write as YAML
    path = sc.write(tmp_path / "bundle")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["check", "--bundle", str(path), "--only", "e2e.*", "-o", "json"])
    return int(exc.value.code or 0), {c["id"]: c for c in json.loads(capsys.readouterr().out)["checks"]}


def test_a_single_model_record_of_format_1_still_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = example()
    target = {"base_url": "http://localhost:8000", "source": "flag", "gateway": f"Gateway/llm-d/{GW_NAME}",
              "model": LLAMA, "model_source": "InferenceModel/llm-d/llama-3-2-3b-instruct"}
    sc.data.probes["e2e"] = {"version": 1, "started_at": "2026-11-27T10:00:00Z", "target": target,
                             "url": "http://localhost:8000/v1/chat/completions", "status": 503,
                             "request": {"method": "POST", "body": {"model": LLAMA}},
                             "headers": {"server": "istio-envoy"}, "body_excerpt": "no healthy upstream",
                             "latency_s": 0.01, "error_class": "no_healthy_upstream", "error": None, "hop": "pool"}
    code, checks = replay(sc, tmp_path, capsys)
    chat = checks["e2e.chat-completion"]
    assert code == 1 and chat["status"] == "fail"
    assert chat["message"].startswith("HTTP 503 no healthy upstream") and "model '" not in chat["message"]


def test_a_per_model_record_replays_with_each_model(httpx_mock: HTTPXMock, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sc = two_models()
    probe(sc, httpx_mock, {QWEN_A: EPP, QWEN_B: httpx.Response(503, text="no healthy upstream")})
    code, checks = replay(sc, tmp_path, capsys)
    chat = checks["e2e.chat-completion"]
    assert code == 1 and chat["status"] == "fail"
    assert chat["message"].startswith(f"model '{QWEN_B}': HTTP 503 no healthy upstream")
    assert [f["status"] for f in chat["findings"]] == ["pass", "fail"]
