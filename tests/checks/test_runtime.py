"""The runtime area (issue #13, item 2): runtime.model-server-load, runtime.epp-traffic and runtime.gateway-access
on the examples' own logs and real log lines — a saturated pool, a pod queueing while another idles, idle
prefill beside busy decode, a bypassed pool, an access log with UF/URX to a pod IP — and the log budget."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from evidence.evidence_samples import VLLM_V1_LOADED
from scenario import ROOT, Scenario

from llmd_doctor.collect import workload_log_requests
from llmd_doctor.engine import needed_logs
from llmd_doctor.model import EPP_CAPABILITIES, PD_DISAGGREGATION, SATURATION_SCHEDULING, Status
from llmd_doctor.registry import load_specs, select
from llmd_doctor.snapshot import LogRequest

Obj = dict[str, Any]
NS = "llm-d"
LOAD, TRAFFIC, ACCESS = "runtime.model-server-load", "runtime.epp-traffic", "runtime.gateway-access"
HEALTHY_EXAMPLES = ["healthy", "healthy-v0.4-istio-1.28", "healthy-kgateway", "healthy-gke", "healthy-agentgateway",
                    "healthy-envoy-ai-gateway"]


@cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def run(sc: Scenario, check_id: str):  # noqa: ANN201
    return sc.run(check_id)[check_id]


def decode(sc: Scenario, i: int) -> Obj:
    return sorted((p for p in sc.all("Pod") if "-decode-" in p["metadata"]["name"]),
                  key=lambda p: p["metadata"]["name"])[i]


# Health probes only: uvicorn's access lines (the format of the examples' vLLM logs), no inference request.
PROBES_ONLY = "".join(f'INFO:     10.129.2.1:{40000 + i} - "GET /health HTTP/1.1" 200 OK\n' for i in range(6))


# ---- model-server load ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HEALTHY_EXAMPLES)
def test_healthy_examples_pass_or_skip(name: str) -> None:
    results = example(name).run("runtime.*")
    for check_id in (LOAD, TRAFFIC, ACCESS):
        assert results[check_id].status in (Status.PASS, Status.SKIP), results[check_id].message


def test_load_pass_gives_the_numbers() -> None:
    r = run(example(), LOAD)
    assert r.status == Status.PASS
    assert r.message == ("InferencePool/llm-d/ms-llm-d: 1 of 2 sampled pods served traffic; no saturation, uneven "
                         "load or idle prefill shown")
    assert any(e.startswith("Pod/llm-d/ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t: running 0 (max 0), waiting 0 "
                            "(max 0), KV cache 0% (max 0%), 1.9 tokens/s generated, 5 stats samples") for e in r.evidence)


def test_load_warn_saturated_pool() -> None:
    """vllm-project/vllm#43295's stats on both sampled decode pods: every pod queues, KV cache ~96%."""
    sc = example()
    for i in (0, 1):
        sc.set_log(NS, decode(sc, i)["metadata"]["name"], "vllm", VLLM_V1_LOADED)
    r = run(sc, LOAD)
    assert r.status == Status.WARN
    assert r.message.startswith("InferencePool/llm-d/ms-llm-d is saturated: requests queue on every sampled decode "
                                "pod (2)")
    assert any("waiting 23 (max 43), KV cache 98.4% (max 98.4%)" in e for e in r.evidence)
    assert r.lost_capabilities == []


def test_load_warn_one_pod_queues_while_another_idles() -> None:
    sc = example()
    busy, idle = decode(sc, 0)["metadata"]["name"], decode(sc, 1)["metadata"]["name"]
    sc.set_log(NS, busy, "vllm", VLLM_V1_LOADED)
    sc.set_log(NS, idle, "vllm", PROBES_ONLY)
    r = run(sc, LOAD)
    assert r.status == Status.WARN
    assert f"Pod/llm-d/{busy} queues requests while Pod/llm-d/{idle} (same role, Ready) idles" in r.message
    assert r.lost_capabilities == [SATURATION_SCHEDULING]


def test_load_does_not_call_a_pod_idle_from_a_log_that_cannot_show_it() -> None:
    """No stats and no access lines (--disable-log-stats, --disable-uvicorn-access-log): not idle, not busy."""
    sc = example()
    sc.set_log(NS, decode(sc, 0)["metadata"]["name"], "vllm", VLLM_V1_LOADED)
    sc.set_log(NS, decode(sc, 1)["metadata"]["name"], "vllm", "INFO:     Application startup complete.\n")
    r = run(sc, LOAD)
    assert r.status == Status.PASS, r.message


def add_prefill(sc: Scenario, log: str) -> str:
    """A prefill pod in the pool (the decode pod's twin with llm-d's prefill role), its log set."""
    p = copy.deepcopy(decode(sc, 2))
    name = "ms-llm-d-modelservice-prefill-6b9d8c7f5-q2w4e"
    p["metadata"].update(name=name, labels={**p["metadata"]["labels"], "llm-d.ai/role": "prefill",
                                            "pod-template-hash": "6b9d8c7f5"})
    for ref in p["metadata"].get("ownerReferences") or []:
        ref["name"] = "ms-llm-d-modelservice-prefill-6b9d8c7f5"
    p["status"]["podIP"] = "10.131.2.44"
    sc.add(p)
    sc.set_log(NS, name, "vllm", log)
    return name


def test_load_warn_prefill_idle_while_decode_works() -> None:
    sc = example()
    name = add_prefill(sc, PROBES_ONLY)
    r = run(sc, LOAD)
    assert r.status == Status.WARN
    assert "the decode pods work while every sampled prefill pod idles" in r.message
    assert r.lost_capabilities == [PD_DISAGGREGATION]
    assert any(e.startswith(f"Pod/llm-d/{name}: 0 inference requests (0 ok) in 6 access lines") for e in r.evidence)


def test_load_skip_when_no_log_shows_load() -> None:
    sc = example()
    sc.drop_logs()
    r = run(sc, LOAD)
    assert r.status == Status.SKIP and "their logs hold no stats or access lines" in r.message


# ---- EPP traffic: the bypass -----------------------------------------------------------------------------


def test_traffic_pass_when_the_epp_scheduled_requests() -> None:
    r = run(example(), TRAFFIC)
    assert r.status == Status.PASS
    assert r.message.startswith("InferencePool/llm-d/ms-llm-d: its endpoint picker scheduled 10 requests")


def test_traffic_skip_when_the_epp_does_not_log_requests() -> None:
    """GKE's guide runs the EPP at --v=1: no request would show, so nothing is claimed."""
    r = run(example("healthy-gke"), TRAFFIC)
    assert r.status == Status.SKIP and "endpoint picker runs at --v=1, which does not log each request" in r.message


def bypass_case() -> Scenario:
    from cases.build import CASES, load_case

    sc, _ = load_case(CASES / "generic-pool-bypassed-by-direct-route.yaml")
    return sc


def test_traffic_warn_bypassed_pool() -> None:
    r = run(bypass_case(), TRAFFIC)
    assert r.status == Status.WARN
    assert r.message.startswith("InferencePool/llm-d/ms-llm-d is bypassed: its model servers served traffic after "
                                "its endpoint picker started (2025-08-22T02:18:33Z)")
    assert set(r.lost_capabilities) == set(EPP_CAPABILITIES)
    assert "Pod/llm-d/ms-llm-d-epp-5f7b9d4c8-t7vjm: 0 requests scheduled (--v=4, requests logged)" in r.evidence


def test_traffic_no_bypass_from_traffic_older_than_the_epp() -> None:
    """The EPP restarted after the traffic in vLLM's log: its empty log says nothing about that traffic."""
    sc = bypass_case()
    epp = sc.find_prefix("Pod", "ms-llm-d-epp-")
    epp["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": "2025-08-22T06:02:11Z"}}
    r = run(sc, TRAFFIC)
    assert r.status == Status.SKIP and "may predate the endpoint picker's start (2025-08-22T06:02:11Z)" in r.message


def test_traffic_no_bypass_when_the_epp_log_level_hides_requests() -> None:
    sc = bypass_case()
    epp = sc.find_prefix("Pod", "ms-llm-d-epp-")["metadata"]["name"]
    text = sc.data.logs[LogRequest(NS, epp, "epp")].replace('"v":4', '"v":1')
    sc.set_log(NS, epp, "epp", text)
    assert run(sc, TRAFFIC).status == Status.SKIP


# ---- gateway access log -----------------------------------------------------------------------------------

V04 = "healthy-v0.4-istio-1.28"
PROXY = "infra-inference-scheduling-inference-gateway-istio-6787675b9-swc6q"


def istio_line(status: int, flags: str, details: str, upstream: str, rid: str) -> str:
    """A request in Istio's text access-log format, fields as in llm-d-incubation/llm-d-infra#231."""
    return (f'[2026-01-19T15:02:{rid[-2:]}.635Z] "POST /v1/chat/completions HTTP/1.1" {status} {flags} {details} - '
            f'"-" 253 91 2 - "10.0.1.247" "curl/8.7.1" "a0bc31fc-8818-4715-aadf-2c0a7b7d47{rid}" "localhost:8000" '
            f'"{upstream}" outbound|54321||gaie-inference-scheduling-ip-bb618139.llm-d.svc.cluster.local '
            "10.0.117.36:39024 10.0.117.36:80 10.0.1.247:37408 - llm-d.ms-inference-scheduling-llm-d-modelservice.0")


def access_log(failures: int, upstream: str = "10.0.148.27:8000") -> str:
    ok = [istio_line(200, "-", "via_upstream", "10.0.139.114:8000", f"{i:02d}") for i in range(10)]
    bad = [istio_line(503, "UF,URX", "upstream_reset_before_response_started{connection_failure}", upstream,
                      f"{50 + i:02d}") for i in range(failures)]
    return "\n".join(ok + bad) + "\n"


def test_access_warn_uf_urx_to_a_model_server_pod_ip() -> None:
    sc = example(V04)
    sc.set_log(NS, PROXY, "istio-proxy", access_log(4))
    r = run(sc, ACCESS)
    assert r.status == Status.WARN
    assert r.message.startswith(f"Gateway/llm-d/infra-inference-scheduling-inference-gateway: 4 of 14 requests in "
                                f"Pod/llm-d/{PROXY}'s access log failed; most (4) 503 UF,URX: UF: the connection to "
                                "the upstream pod failed")
    assert ("10.0.148.27:8000: 4 failed (Pod/llm-d/ms-inference-scheduling-llm-d-modelservice-decode-8ff7fd5b8-t5f9s, "
            "Running, Ready, decode pod of InferencePool/llm-d/gaie-inference-scheduling)") in r.evidence
    assert "failures by hop: model-server 4" in r.evidence
    assert any(e.startswith("URX ×4: retries or connect attempts") for e in r.evidence)
    assert r.lost_capabilities == []  # most requests still succeed


def test_access_names_an_upstream_ip_no_pod_has() -> None:
    sc = example(V04)
    sc.set_log(NS, PROXY, "istio-proxy", access_log(5, upstream="10.0.200.9:8000"))
    r = run(sc, ACCESS)
    assert r.status == Status.WARN
    assert any(e.startswith("10.0.200.9:8000: 5 failed (no pod read has this IP") for e in r.evidence)


def test_access_pass_below_the_threshold_and_on_success() -> None:
    sc = example(V04)
    sc.set_log(NS, PROXY, "istio-proxy", access_log(1))
    r = run(sc, ACCESS)
    assert r.status == Status.PASS and "11 requests" in r.message and "1 failed (below the warning threshold)" in r.message
    assert any(e.startswith("10.0.139.114:8000: 10 answered (Pod/llm-d/ms-inference-scheduling-llm-d-modelservice-"
                            "decode-8ff7fd5b8-lw9xk") for e in r.evidence)


def test_access_skip_without_access_lines() -> None:
    sc = example(V04)
    sc.set_log(NS, PROXY, "istio-proxy", "2026-01-19T14:50:00.000000Z\tinfo\tEnvoy proxy is ready\n")
    r = run(sc, ACCESS)
    assert r.status == Status.SKIP and "no access-log lines" in r.message


# ---- which logs are read: the sample and its budget -------------------------------------------------------


def test_hooks_ask_for_a_sample_of_healthy_pods() -> None:
    specs = {s.id: s for s in select(load_specs(plugins=False), ["runtime.*"])}
    snap = example().snapshot()
    assert {r.pod for r in specs[LOAD].logs(snap)} == {"ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t",
                                                       "ms-llm-d-modelservice-decode-7d4f9c8b6-9wqnr"}
    assert {(r.pod, r.container) for r in specs[TRAFFIC].logs(snap)} >= {("ms-llm-d-epp-5f7b9d4c8-t7vjm", "epp")}
    assert [(r.pod, r.container, r.previous) for r in specs[ACCESS].logs(snap)] == [
        ("llm-d-infra-inference-gateway-istio-5b9c7d6f48-qk2wz", "istio-proxy", False)]
    # what a live run fetches: the union of every check's requests
    live = needed_logs(list(specs.values()), snap)
    assert len(live) == 4 and not any(r.previous for r in live)


def test_the_budget_caps_the_sample_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmd_doctor.checks.runtime import _sample

    monkeypatch.setattr(_sample, "MAX_POOL_LOGS", 2)  # the EPP and one model server
    sc = example()
    assert len(_sample.server_requests(sc.snapshot())) == 1
    r = run(sc, LOAD)
    assert "the log budget left some pods of it out" in r.evidence


def test_collect_captures_the_data_plane_logs_too() -> None:
    reqs = workload_log_requests(example().snapshot())
    assert LogRequest(NS, "llm-d-infra-inference-gateway-istio-5b9c7d6f48-qk2wz", "istio-proxy") in reqs


def test_budget_constants_are_documented() -> None:
    from llmd_doctor.checks.runtime import _sample

    doc = (ROOT / "docs" / "evidence.md").read_text()
    for name in ("SERVER_PODS_PER_ROLE", "EPP_PODS_PER_POOL", "DATA_PLANE_PODS_PER_GATEWAY", "MAX_POOL_LOGS",
                 "MAX_DATA_PLANE_LOGS"):
        assert f"`{name}` = {getattr(_sample, name)}" in doc, name
