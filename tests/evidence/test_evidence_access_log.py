"""Gateway access logs: Istio/Envoy text and JSON, agentgateway; response flags and the hop they point at."""

from __future__ import annotations

import evidence_samples as S
import pytest
from knowledge_free import in_knowledge_files

from llmd_doctor.evidence import attribute, flag_meaning, parse_access_log, summarize
from llmd_doctor.evidence.envoy_flags import FLAGS, HOPS, split_flags


def test_istio_text_line_without_start_time_generic_path():
    assert in_knowledge_files("upstream_reset_before_response_started") == []
    [e] = parse_access_log(S.ISTIO_UC)
    assert (e.format, e.method, e.path, e.status, e.flags) == ("istio-text", "GET", "/v1/status", 503, ("UC",))
    assert e.details == "upstream_reset_before_response_started{connection_termination}"
    assert e.upstream_host == "10.80.47.192:8181"
    assert e.upstream_cluster == "outbound|80||health-api.production.svc.cluster.local"
    assert e.duration_ms == 0.0 and e.request_id == "3a7cbcc1-af72-47fb-bbac-a7672951f50f"
    a = attribute(e)
    assert a.hop == "model-server" and a.reason.startswith("UC: the upstream pod closed the connection")


def test_llmd_pd_502_from_the_pod():
    [e] = parse_access_log(S.ISTIO_LLMD_502)
    assert (e.time, e.status, e.flags, e.details) == ("2025-09-19T18:43:27.635Z", 502, (), "via_upstream")
    assert e.upstream_host == "10.0.2.212:8000" and e.route == "llm-d-pd.llm-d-pd-disaggregation."
    assert attribute(e).hop == "model-server"
    assert attribute(e).reason == "the model server 10.0.2.212:8000 answered 502"


def test_ext_proc_failure_points_at_the_epp():
    [e] = parse_access_log(S.ISTIO_EXT_PROC_500)
    assert (e.status, e.details, e.upstream_host) == (500, "ext_proc_error_gRPC_error_14", "")
    a = attribute(e)
    assert a.hop == "epp" and "ext_proc" in a.reason


def test_envoy_gateway_json_no_healthy_upstream():
    [e] = parse_access_log(S.ENVOY_GATEWAY_UH)
    assert (e.format, e.method, e.path, e.status, e.flags) == ("envoy-json", "POST", "/v1/chat/completions", 503,
                                                               ("UH",))
    assert e.upstream_host == "" and e.details == "no_healthy_upstream"
    assert e.route == "httproute/vllm-semantic-router-system/vllm-semantic-router/rule/0/match/0/*"
    assert attribute(e).hop == "model-server"


def test_istio_json_retry_limit():
    [e] = parse_access_log(S.ISTIO_JSON_URX)
    assert (e.status, e.flags, e.upstream_host, e.duration_ms) == (503, ("URX",), "100.127.191.161:8079", 26.0)
    assert e.path == "/"
    assert attribute(e).reason.startswith("URX: retries or connect attempts to the upstream pods were exhausted")


def test_agentgateway_text_log_generic_path():
    assert in_knowledge_files("ext_proc failed") == []
    entries = parse_access_log(S.AGENTGATEWAY)
    assert [e.format for e in entries] == ["agentgateway", "agentgateway"]  # the warn line is not a request
    first, second = entries
    assert (first.status, first.upstream_host, first.error, first.duration_ms) == (
        500, "10.244.0.148:8000", "ext_proc failed: no more responses", 111.0)
    assert (second.method, second.path, second.upstream_host) == ("POST", "/v1/completions", "")
    assert attribute(second).hop == "epp"


def test_agentgateway_json_log():
    line = ('{"level":"info","time":"2025-10-17T13:24:34.421Z","scope":"request","gateway":"default/inference-gateway",'
            '"route":"default/llm-route","endpoint":"10.244.0.148:8000","http.method":"POST","http.path":"/v1/completions",'
            '"http.status":503,"inferencepool.selected_endpoint":"10.244.0.148:8000","duration":"3ms"}')
    [e] = parse_access_log(line)
    assert (e.format, e.status, e.upstream_host, e.route, e.duration_ms) == (
        "agentgateway", 503, "10.244.0.148:8000", "default/llm-route", 3.0)
    assert attribute(e).hop == "model-server"


def test_summary_counts_and_failing_upstreams():
    ok = ('[2025-09-19T18:44:00.001Z] "POST /v1/chat/completions HTTP/1.1" 200 - via_upstream - "-" 253 812 900 898 '
          '"10.0.1.247" "curl/8.7.1" "11111111-2222-3333-4444-555555555555" "localhost:8000" "10.0.2.213:8000" '
          'outbound|54321||gaie-pd-ip-bb618139.llm-d-pd.svc.cluster.local 10.0.1.247:39030 127.0.0.1:80 '
          '127.0.0.1:37410 - llm-d-pd.llm-d-pd-disaggregation.')
    text = "\n".join([S.ISTIO_LLMD_502, S.ISTIO_LLMD_502, ok, S.ISTIO_EXT_PROC_500, S.ENVOY_GATEWAY_UH,
                      "2025-10-17T13:24:34.421354Z\twarn\tenvoy misc\tnot an access line"])
    s = summarize(parse_access_log(text))
    assert (s.entries, s.inference_requests) == (5, 5)
    assert s.by_status == {200: 1, 500: 1, 502: 2, 503: 1}
    assert s.by_flag == {"UH": 1}
    assert s.by_hop == {"model-server": 3, "epp": 1}
    assert s.failing_upstreams == {"10.0.2.212:8000": 2}
    assert s.ok_upstreams == {"10.0.2.213:8000": 1}
    assert s.by_details == {"via_upstream": 2, "ext_proc_error_gRPC_error_14": 1, "no_healthy_upstream": 1}
    assert set(s.examples) == {"502 -", "500 -", "503 UH"}


def test_successes_and_client_disconnects_are_not_failures():
    line = S.ISTIO_LLMD_502.replace('" 502 - via_upstream', '" 200 DC downstream_remote_disconnect')
    [e] = parse_access_log(line)
    assert e.flags == ("DC",)
    assert attribute(e).hop == "client"
    [ok] = parse_access_log(S.ISTIO_LLMD_502.replace('" 502 -', '" 200 -'))
    assert attribute(ok).hop == ""


def test_several_flags_name_the_failing_hop_first():
    line = S.ISTIO_LLMD_502.replace('" 502 - via_upstream', '" 503 UF,URX upstream_reset_before_response_started'
                                    '{connection_failure}')
    [e] = parse_access_log(line)
    assert e.flags == ("UF", "URX")
    assert attribute(e).reason.startswith("UF: the connection to the upstream pod failed")


@pytest.mark.parametrize("flag, hop, words", [
    ("UF", "model-server", "refused"),
    ("UH", "model-server", "no ready endpoint"),
    ("NR", "route", "HTTPRoute"),
    ("NC", "route", "backendRef"),
    ("URX", "model-server", "retries"),
    ("UT", "model-server", "timeout"),
    ("UC", "model-server", "closed the connection"),
    ("UO", "gateway", "circuit breaker"),
    ("DC", "client", "client went away"),
    ("LR", "gateway", "reset"),
    ("UAEX", "gateway", "ext_authz"),
    ("RL", "gateway", "rate-limited"),
    ("DPE", "client", "malformed"),
    ("UPE", "model-server", "protocol"),
    ("UMSDR", "model-server", "maximum duration"),
    ("NFCF", "gateway", "ext_proc filter"),
    ("NoHealthyUpstream", "model-server", "no healthy upstream"),
])
def test_flag_meanings(flag, hop, words):
    m = flag_meaning(flag)
    assert m.hop == hop and words in m.meaning


def test_every_flag_has_a_known_hop_and_unknown_flags_are_said_plainly():
    assert all(m.hop in HOPS for m in FLAGS.values())
    assert len(FLAGS) == 28  # source/common/stream_info/utility.h, ALL_RESPONSE_STRINGS_FLAGS
    assert flag_meaning("XYZ").meaning == "response flag XYZ (not in Envoy's documented list)"
    assert split_flags("-") == () and split_flags("UF,URX") == ("UF", "URX")


def test_garbage_is_skipped():
    assert parse_access_log(None) == []
    assert parse_access_log('[x] "GET\n{"response_code": \n{not json}\nhttp.status=') == []
