"""The real case generic-second-model-pool-selects-nothing with a recorded probe: e2e names its cause.

The case (tests/cases) is two models behind one Gateway, the second model's InferencePool selecting no
pod (`llm-d.ai/model: qwen3-8B` while its pods carry `qwen3-8b`). Its format has no probe records, so
the probe is recorded here the way `collect --probe` records one: the real prober, with the case's
snapshot, against a gateway that answers as the thread's layout does — model A through its EPP, model
B `503 no healthy upstream` (Envoy with no endpoint in the pool). A probe of the first model only
would say all is well; the per-model probe names the second pool and its selector.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import httpx
import pytest
from cases.build import CASES, cause_named, load_case
from pytest_httpx import HTTPXMock
from scenario import Scenario

from llmd_doctor.cli import main
from llmd_doctor.model import Status
from llmd_doctor.probes import ProbeOptions, run_probes
from llmd_doctor.sources.bundle import BundleData

CASE = CASES / "generic-second-model-pool-selects-nothing.yaml"
GW = "http://localhost:8000"
MODEL_A, MODEL_B = "Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B"
POOL_B = "InferencePool/llm-d/gaie-qwen3-8b"
ANSWER = {"id": "chatcmpl-1", "object": "chat.completion", "model": MODEL_A,
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}}
SSE = b'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"4"}}]}\n\ndata: [DONE]\n\n'


@cache
def _case() -> tuple[BundleData, tuple]:
    sc, expect = load_case(CASE)
    return sc.data, tuple(expect)


def case() -> Scenario:
    import copy

    return Scenario(copy.deepcopy(_case()[0]))


def gateway(request: httpx.Request) -> httpx.Response:
    """Model A through its endpoint picker (pod ...-lw9xk, 10.0.139.114); model B: Envoy has no endpoint."""
    body = json.loads(request.content)
    if body["model"] == MODEL_B:
        return httpx.Response(503, text="no healthy upstream", headers={"server": "istio-envoy"})
    headers = {"server": "istio-envoy", "x-went-into-resp-headers": "true",
               "x-gateway-destination-endpoint": "10.0.139.114:8000"}
    if body.get("stream"):
        return httpx.Response(200, headers={**headers, "content-type": "text/event-stream"}, content=SSE)
    return httpx.Response(200, json=ANSWER, headers=headers)


def recorded(sc: Scenario, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{GW}/v1/models", json={"object": "list", "data": [{"id": MODEL_A}]})
    httpx_mock.add_callback(gateway, method="POST", url=f"{GW}/v1/chat/completions", is_reusable=True)
    snap = sc.snapshot()
    snap.source.kind = "live"
    with httpx.Client() as client:
        sc.data.probes.update(run_probes(snap, ProbeOptions(gateway_url=GW, client=client, prefix_requests=0)))


def test_the_second_models_broken_pool_is_named_beside_the_first_that_works(httpx_mock: HTTPXMock) -> None:
    sc = case()
    recorded(sc, httpx_mock)
    assert [r["model"] for r in [sc.data.probes["e2e"], *sc.data.probes["e2e"]["per_model"]]] == [MODEL_A, MODEL_B]
    r = sc.run("e2e.chat-completion")["e2e.chat-completion"]
    assert (r.status, r.objects) == (Status.FAIL, [POOL_B])
    assert r.message.startswith(f"model '{MODEL_B}': HTTP 503 no healthy upstream")
    assert "hop: InferencePool/llm-d/gaie-qwen3-8b selects 0 pod(s) with llm-d.ai/inferenceServing=true,llm-d.ai/model=qwen3-8B" in r.message
    assert any(e.startswith(f"model '{MODEL_A}' answered") for e in r.evidence)
    # the pods it should have selected, with the label value the selector misses
    assert any(f"serves {MODEL_B!r} (llm-d.ai/inferenceServing=true, llm-d.ai/model=qwen3-8b); selected by no InferencePool" in e for e in r.evidence)
    for e in _case()[1]:  # the case's own words for its cause
        assert cause_named(r, e.names_cause), e


def test_the_recorded_probe_replays_from_the_bundle(httpx_mock: HTTPXMock, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sc = case()
    recorded(sc, httpx_mock)
    sc.remove("CustomResourceDefinition.apiextensions.k8s.io")  # not read by e2e.*; slow to write as YAML
    path = sc.write(tmp_path / "bundle")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["check", "--bundle", str(path), "--only", "e2e.*", "-o", "json"])
    assert exc.value.code == 1
    checks = {c["id"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    chat = checks["e2e.chat-completion"]
    assert chat["status"] == "fail" and "gaie-qwen3-8b selects 0 pod(s)" in chat["message"]
