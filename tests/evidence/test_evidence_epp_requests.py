"""epp_activity: the endpoint picker's requests, endpoints, errors, pods and configuration from its log."""

from __future__ import annotations

from pathlib import Path

import evidence_samples as S
from knowledge_free import assert_generic

from llmd_doctor.evidence import epp_activity, error_category

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _log(bundle: str) -> str:
    return next((EXAMPLES / bundle / "logs").glob("*/*/epp.log")).read_text()


def test_kgateway_example_requests_per_endpoint():
    a = epp_activity(_log("healthy-kgateway"))
    assert a.pool == "llm-d/gaie-inference-scheduling"
    assert a.verbosity == 3 and a.requests_visible
    assert a.requests_handled == 11
    assert a.endpoints == {"llm-d/ms-inference-scheduling-llm-d-modelservice-decode-5d8b9c7f46-7vqzk": 7,
                           "llm-d/ms-inference-scheduling-llm-d-modelservice-decode-5d8b9c7f46-m2d8r": 4}
    assert a.models == {"Qwen/Qwen3-0.6B": 11}
    assert set(a.pods_seen) == set(a.endpoints)
    assert a.config_loaded == ("Configuration file loaded", "loaded configuration from file/text successfully")
    assert a.errors == {}
    assert a.last_activity_time == "2025-09-09T10:06:45Z"
    assert '"msg":"Request handled"' in a.last_activity


def test_healthy_example_pods_seen_include_an_idle_one():
    a = epp_activity(_log("healthy"))
    assert a.requests_handled == 10
    assert len(a.pods_seen) == 3 and len(a.endpoints) == 2  # one pod in the pool got no request in this tail


def test_verbosity_1_logs_no_requests_so_none_seen_is_not_evidence():
    a = epp_activity(_log("healthy-gke"))
    assert (a.pool, a.verbosity, a.build) == ("default/vllm-llama3-8b-instruct", 1, "v1.0.0")
    assert a.requests_handled == 0 and a.requests_visible is False
    assert "parsed config" in a.config_loaded


def test_crashed_epp_at_v4_handled_nothing():
    a = epp_activity((EXAMPLES / "seed-rosa-epp-segfault/logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.log").read_text())
    assert a.requests_visible is True and not a.handled_any
    assert a.config_loaded == ()


def test_console_encoding_error_generic_path():
    assert_generic(S.ZAP_CONSOLE_EPP, "prompt not found")
    a = epp_activity(S.ZAP_CONSOLE_EPP)
    assert a.errors == {"Error handling body: inference gateway: BadRequest - prompt not found in request": 1}
    assert a.error_categories == {"bad-request": 1}
    assert a.notices == {}


# GIE v1.0+ logs the chosen endpoints as ip:port (pkg/epp/requestcontrol/director.go, prepareRequest), the
# errors as `inference gateway: <Code> - <Msg>` (pkg/epp/util/error/error.go) with the texts of
# handlers/request.go, director.go and scheduling/framework/scheduler_profile.go; lines below are built from them.
V1_LOG = "\n".join([
    '{"level":"info","ts":"2025-10-01T08:00:00Z","logger":"setup","caller":"runner/runner.go:157","msg":"Flags processed",'
    '"flags":{"pool-name":"qwen-pool","pool-namespace":"llm-d","v":3}}',
    '{"level":"Level(-2)","ts":"2025-10-01T08:00:01Z","caller":"controller/pod_reconciler.go:99","msg":"Pod added",'
    '"Pod":{"name":"qwen-decode-0","namespace":"llm-d"},"namespace":"llm-d","name":"qwen-decode-0"}',
    '{"level":"Level(-2)","ts":"2025-10-01T08:00:01Z","caller":"controller/pod_reconciler.go:99","msg":"Pod added",'
    '"Pod":{"name":"qwen-decode-1","namespace":"llm-d"},"namespace":"llm-d","name":"qwen-decode-1"}',
    '{"level":"Level(-3)","ts":"2025-10-01T08:01:00Z","caller":"requestcontrol/director.go:257","msg":"Request handled",'
    '"x-request-id":"5e0e","objectiveKey":"","incomingModelName":"Qwen/Qwen3-0.6B","targetModel":"Qwen/Qwen3-0.6B",'
    '"endpoint":"10.244.1.12:8000"}',
    '{"level":"error","ts":"2025-10-01T08:02:00Z","caller":"handlers/server.go:331","msg":"Failed to process request",'
    '"x-request-id":"6a1f0e2c-0c55-4a5e-9d4e-0f3b2a6c1d11","error":"inference gateway: ServiceUnavailable - failed to '
    'find candidate pods for serving the request"}',
    '{"level":"error","ts":"2025-10-01T08:02:05Z","caller":"handlers/server.go:331","msg":"Failed to process request",'
    '"x-request-id":"7b2f1f3d-1d66-4b6f-8e5f-1a4c3b7d2e22","error":"inference gateway: ServiceUnavailable - failed to '
    'find candidate pods for serving the request"}',
    '{"level":"Level(-3)","ts":"2025-10-01T08:02:05Z","caller":"scheduling/scheduler_profile.go:142",'
    '"msg":"Filter eliminated all endpoints","plugin":"decode-filter/decode-filter","endpointsBefore":2}',
    '{"level":"Level(-3)","ts":"2025-10-01T08:03:00Z","caller":"datastore/datastore.go:411","msg":"Removing endpoint",'
    '"endpoint":"llm-d/qwen-decode-1"}',
    '{"level":"error","ts":"2025-10-01T08:04:00Z","caller":"metrics/pod_metrics.go:104","msg":"Failed to refresh metrics",'
    '"pod":"{NamespacedName:llm-d/qwen-decode-0 Address:10.244.1.12}","error":"failed to fetch metrics from '
    'llm-d/qwen-decode-0: Get \\"http://10.244.1.12:8000/metrics\\": dial tcp 10.244.1.12:8000: connect: connection refused"}',
])


def test_v1_requests_errors_and_pods():
    a = epp_activity(V1_LOG)
    assert (a.pool, a.verbosity) == ("llm-d/qwen-pool", 3)
    assert a.requests_handled == 1 and a.endpoints == {"10.244.1.12:8000": 1}
    assert a.errors == {
        "Failed to process request: inference gateway: ServiceUnavailable - failed to find candidate pods for "
        "serving the request": 2,
        'Failed to refresh metrics: failed to fetch metrics from llm-d/qwen-decode-0: Get "http://10.244.1.12:8000'
        '/metrics": dial tcp 10.244.1.12:8000: connect: connection refused': 1,
    }
    assert a.error_categories == {"no-endpoint": 2, "metrics": 1}
    assert a.notices == {"Filter eliminated all endpoints": 1}
    assert a.pods_seen == ("llm-d/qwen-decode-0", "llm-d/qwen-decode-1")
    assert a.pods_removed == ("llm-d/qwen-decode-1",)
    assert all(k in a.error_examples for k in a.errors)


def test_received_requests_of_newer_epps_count_as_activity():
    line = ('{"level":"Level(-2)","ts":"2026-01-10T10:00:00Z","caller":"handlers/server.go:309",'
            '"msg":"EPP received request","x-request-id":"9f1c"}')
    a = epp_activity(line)
    assert a.requests_received == 1 and a.handled_any and a.requests_visible


def test_error_categories():
    assert error_category("inference gateway: Internal - no pods available in datastore")[0] == "no-endpoint"
    assert error_category("inference gateway: InferencePoolResourceExhausted - system saturated, sheddable "
                          "request dropped")[0] == "shed"
    assert error_category("Cannot receive stream request: rpc error: code = Canceled")[0] == "ext-proc"
    assert error_category("Failed to watch: inferencepools.inference.networking.k8s.io is forbidden")[0] == \
        "kubernetes-api"
    assert error_category("Failed to validate flags: required \"poolName\" flag not set")[0] == "startup"
    assert error_category("something else")[0] == "other"


def test_empty_and_foreign_logs():
    assert epp_activity(None).requests_visible is None
    assert epp_activity(S.VLLM_V1_LOADED).handled_any is False
