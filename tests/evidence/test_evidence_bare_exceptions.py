"""root_error on Python exceptions printed without their traceback, dead_threads, and the times and counters
of vllm_stats — on the real lines of tests/cases and tests/evidence."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import evidence_samples as S
import yaml
from knowledge_free import assert_generic

from llmd_doctor.evidence import dead_threads, root_error, vllm_stats

CASES = Path(__file__).resolve().parents[1] / "cases"
ERROR_1 = {"exitCode": 1, "reason": "Error"}


@cache
def case_log(case: str, container: str = "vllm") -> str:
    """The log a real case gives its container (verbatim from the thread the case cites)."""
    logs = yaml.safe_load((CASES / f"{case}.yaml").read_text())["logs"]
    return next(e["text"] for e in logs if e["container"] == container)


# ---- Python exceptions without a traceback ------------------------------------------------------------------

def test_nccl_error_names_its_last_error_generic_path():
    log = case_log("vllm-nccl-shm-too-small")  # https://github.com/vllm-project/production-stack/issues/276
    assert_generic(log, "Error while creating shared memory segment")
    r = root_error(log, ERROR_1)
    assert r.kind == "python" and r.source == "log"
    assert r.summary.startswith("torch.distributed.DistBackendError: NCCL error in:")
    assert r.summary.endswith("; last error: Error while creating shared memory segment /dev/shm/nccl-F9ffgB "
                              "(size 9637888)")
    assert r.excerpt[-2:] == ("Last error:", "Error while creating shared memory segment /dev/shm/nccl-F9ffgB "
                                             "(size 9637888)")


def test_pydantic_validation_error_takes_its_indented_detail():
    r = root_error(case_log("vllm-tp-size-exceeds-gpus"), ERROR_1)  # vllm-project/vllm#30061
    assert r.kind == "python"
    assert r.summary.startswith("pydantic_core._pydantic_core.ValidationError: 1 validation error for "
                                "ParallelConfig: Value error, Tensor parallel size (2) cannot be larger than the "
                                "number of available GPUs (1).")


def test_cuda_error_keeps_its_own_line_and_not_the_hints():
    r = root_error(case_log("vllm-no-kernel-image-blackwell"), ERROR_1)
    assert r.summary == "RuntimeError: CUDA error: no kernel image is available for execution on the device"
    assert "For debugging consider passing CUDA_LAUNCH_BLOCKING=1" in r.excerpt  # shown, not the summary


def test_a_bare_exception_before_serving_started_is_not_the_cause():
    """The thread that died before "Application startup complete": the process went on serving."""
    assert root_error(case_log("pd-nixl-side-channel-port-conflicts-kv-events")) is None


def test_logged_errors_still_read_as_structured_records():
    """An exception line vLLM's logger printed (with its ERROR prefix) is a record, not a bare exception."""
    log = ("INFO 08-22 05:20:03 [api_server.py:1755] starting\n"
           "ERROR 08-22 05:20:09 [core.py:586] KeyError: 'rope_scaling'\n")
    r = root_error(log, ERROR_1)
    assert r.kind == "structured" and r.summary == "KeyError: 'rope_scaling'"


# ---- threads that died --------------------------------------------------------------------------------------

def test_dead_thread_without_traceback_generic_path():
    log = case_log("pd-nixl-side-channel-port-conflicts-kv-events")  # vllm-project/vllm#25059, #20965
    assert_generic(log, "nixl_handshake_listener", "Address already in use")
    [d] = dead_threads(log)
    assert d.thread == "nixl_handshake_listener"
    assert d.exception == "zmq.error.ZMQError: Address already in use (addr='tcp://10.129.2.17:5557')"
    assert d.line == 4


# CPython's threading.excepthook layout (https://docs.python.org/3/library/threading.html#threading.excepthook):
# "Exception in thread <name>:" then the traceback; the frames are vLLM's KV-events publisher
# (vllm/distributed/kv_events.py, ZmqEventPublisher._publisher_thread binding its endpoint) and pyzmq's bind.
KV_EVENTS_THREAD = """\
INFO 08-21 15:03:15 [factory.py:74] Creating v1 connector with name: NixlConnector
Exception in thread zmq-publisher:
Traceback (most recent call last):
  File "/usr/lib/python3.12/threading.py", line 1075, in _bootstrap_inner
    self.run()
  File "/usr/local/lib/python3.12/dist-packages/vllm/distributed/kv_events.py", line 281, in _publisher_thread
    self._pub.bind(self._endpoint)
  File "/usr/local/lib/python3.12/dist-packages/zmq/sugar/socket.py", line 320, in bind
    super().bind(addr)
zmq.error.ZMQError: Address already in use (addr='tcp://*:5557')
INFO 08-21 15:04:28 [api_server.py:1818] Starting vLLM API server on http://0.0.0.0:8200
"""


def test_dead_thread_with_traceback_names_its_last_frame():
    [d] = dead_threads(KV_EVENTS_THREAD)
    assert (d.thread, d.exception) == ("zmq-publisher", "zmq.error.ZMQError: Address already in use "
                                                        "(addr='tcp://*:5557')")
    assert "at zmq/sugar/socket.py:320 in bind" in d.excerpt


def test_no_dead_thread_in_healthy_or_crash_logs():
    assert dead_threads(S.VLLM_ENGINE_KV_CACHE) == []
    assert dead_threads(S.VLLM_V1_LOADED) == []
    assert dead_threads('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space') == []


# ---- vLLM stats: times and counters -----------------------------------------------------------------------

def test_stats_carry_their_times_and_busy_and_waiting_counts():
    s = vllm_stats(S.VLLM_V1_LOADED)  # vllm-project/vllm#43295
    assert (s.samples, s.samples_busy, s.samples_waiting) == (5, 5, 5)
    assert (s.first_time, s.last_time, s.last_busy_time) == ("05-19 10:13:11", "05-19 10:13:51", "05-19 10:13:51")


def test_idle_samples_are_counted_apart():
    log = ("INFO 02-11 08:04:25 [loggers.py:123] Engine 000: Avg prompt throughput: 12.0 tokens/s, Avg generation "
           "throughput: 8.0 tokens/s, Running: 1 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.1%, Prefix cache hit "
           "rate: 0.0%\n"
           "INFO 02-11 08:04:35 [loggers.py:123] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation "
           "throughput: 0.0 tokens/s, Running: 0 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache hit "
           "rate: 0.0%\n")
    s = vllm_stats(log)
    assert (s.samples, s.samples_busy, s.samples_waiting, s.last_busy_time) == (2, 1, 0, "02-11 08:04:25")
