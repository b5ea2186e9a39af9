"""vllm_stats: vLLM's periodic stats and uvicorn access lines, V0 and V1 engines."""

from __future__ import annotations

from pathlib import Path

import evidence_samples as S
from knowledge_free import in_knowledge_files

from llmd_doctor.evidence import vllm_stats
from llmd_doctor.evidence.vllm_stats import parse_sample

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_v1_engine_under_load_generic_path():
    assert in_knowledge_files("Waiting: 43 reqs") == []  # the catalogue documents the format, not this load
    s = vllm_stats(S.VLLM_V1_LOADED)
    assert (s.samples, s.engine_version, s.engines) == (5, "v1", ("000",))
    assert (s.last_running, s.max_running, s.last_waiting, s.max_waiting) == (20, 21, 23, 43)
    assert (s.last_gpu_kv_cache_usage, s.max_gpu_kv_cache_usage) == (98.4, 98.4)
    assert s.max_prompt_throughput == 18032.5
    assert s.mean_generation_throughput == round((1055.3 + 1226.3 + 734.9 + 589.8 + 1242.7) / 5, 2)
    assert s.prefix_cache_hit_rate == 0.0
    assert s.served_traffic
    assert s.access_lines == 0  # this server logs no access lines: absence of requests is not evidence


def test_v0_engine_both_prefix_formats():
    s = vllm_stats(S.VLLM_V0)
    assert (s.samples, s.engine_version) == (3, "v0")
    assert (s.max_running, s.max_waiting, s.max_swapped) == (2, 3, 0)
    assert s.max_gpu_kv_cache_usage == 82.1
    assert s.prefix_cache_hit_rate == 0.0  # the separate "Prefix cache hit rate: GPU: 0.00%, CPU: 90.00%" line
    assert s.last_sample.cpu_kv_cache_usage == 0.1


def test_healthy_example_gke_access_lines_and_stats():
    s = vllm_stats((EXAMPLES / "healthy-gke/logs/default/vllm-llama3-8b-instruct-6f8c7d94b5-7bq2s/vllm.log").read_text())
    assert (s.samples, s.engine_version) == (4, "v1")
    assert s.requests_by_status == {200: 18}
    assert s.requests_by_path["/v1/completions"] == 4
    assert s.requests_by_path["/health"] == 5
    assert (s.inference_requests, s.inference_ok, s.inference_errors) == (4, 4, 0)
    assert s.prefix_cache_hit_rate == 49.2
    assert s.served_traffic


def test_process_tagged_stats_from_the_istio_example():
    s = vllm_stats(next((EXAMPLES / "healthy-v0.4-istio-1.28/logs").glob("*/*/vllm.log")).read_text())
    assert (s.samples, s.last_running, s.max_running) == (5, 2, 3)
    assert s.access_lines == 0 and s.served_traffic  # --disable-uvicorn-access-log: the stats still show work


def test_idle_server_with_probes_only_served_nothing():
    log = ('INFO:     10.128.0.52:48356 - "GET /health HTTP/1.1" 200 OK\n'
           'INFO:     10.92.1.23:35955 - "GET /metrics HTTP/1.1" 200 OK\n'
           "DEBUG 09-24 15:35:00 [loggers.py:111] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation "
           "throughput: 0.0 tokens/s, Running: 0 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache hit "
           "rate: 0.0%\n")
    s = vllm_stats(log)
    assert s.samples == 1 and s.access_lines == 2 and s.inference_requests == 0
    assert not s.served_traffic


def test_failed_inference_requests_are_counted():
    log = ('INFO:     10.0.0.7:5555 - "POST /v1/chat/completions HTTP/1.1" 500 Internal Server Error\n'
           '(APIServer pid=1) INFO:     10.0.0.7:5556 - "POST /v1/chat/completions?x=1 HTTP/1.1" 404 Not Found\n')
    s = vllm_stats(log)
    assert (s.inference_requests, s.inference_ok, s.inference_errors) == (2, 0, 1)
    assert s.requests_by_status == {404: 1, 500: 1}
    assert not s.served_traffic


def test_fields_are_read_by_name_whatever_their_order_or_extras():
    line = ("(APIServer pid=7) INFO 11-02 09:00:00 [loggers.py:250] Engine 000: Avg prompt throughput: 10.0 tokens/s, "
            "Avg generation throughput: 20.0 tokens/s, Running: 2 reqs, Waiting: 0 reqs, GPU KV cache usage: 12.5%, "
            "Prefix cache hit rate: 40.0%, External prefix cache hit rate: 75.0%, MM cache hit rate: 0.0%\n")
    s = vllm_stats(line)
    assert (s.last_running, s.last_gpu_kv_cache_usage, s.prefix_cache_hit_rate) == (2, 12.5, 40.0)


def test_data_parallel_engines_sum_their_last_samples():
    line = ("INFO 05-19 10:13:11 [loggers.py:271] Engine {e}: Avg prompt throughput: 1.0 tokens/s, Avg generation "
            "throughput: 2.0 tokens/s, Running: {r} reqs, Waiting: 1 reqs, GPU KV cache usage: {k}%, Prefix cache hit "
            "rate: 5.0%\n")
    s = vllm_stats(line.format(e="000", r=3, k=10.0) + line.format(e="001", r=4, k=20.0))
    assert s.engines == ("000", "001")
    assert (s.last_running, s.last_waiting, s.last_gpu_kv_cache_usage) == (7, 2, 20.0)


def test_foreign_and_empty_logs():
    assert vllm_stats(None).samples == 0
    assert vllm_stats('{"level":"info","msg":"Request handled"}').engine_version is None
    assert parse_sample("Running: 1 reqs") is None
