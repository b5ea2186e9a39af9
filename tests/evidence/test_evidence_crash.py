"""root_error: the root error of a crashed container from its log and termination, on real log text."""

from __future__ import annotations

from pathlib import Path

import evidence_samples as S
import pytest
from knowledge_free import assert_generic, matching_signatures

from llmd_doctor.evidence import exit_code_meaning, root_error
from llmd_doctor.evidence.lines import split_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_EPP = EXAMPLES / "seed-rosa-epp-segfault/logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q"


# ---- Python ----------------------------------------------------------------------------------------------

def test_engine_core_exception_wins_over_the_api_servers_see_root_cause_above():
    r = root_error(S.VLLM_ENGINE_KV_CACHE)
    assert r.kind == "python"
    assert r.summary.startswith("ValueError: To serve at least one request with the models's max seq len (131072)")
    assert r.process == "EngineCore_DP0 pid=6880"
    assert r.location == "vllm/v1/core/kv_cache_utils.py:716 in check_enough_kv_cache_memory"
    assert "  raise ValueError(" in r.excerpt
    assert not any("See root cause above" in line for line in r.excerpt)
    assert r.note is None


def test_worker_assertion_without_message_names_the_assert_generic_path():
    assert_generic(S.VLLM_WORKER_NIXL_ASSERT, "num_blocks", "nixl_agent_meta", "Worker failed with error")
    r = root_error(S.VLLM_WORKER_NIXL_ASSERT)
    assert r.kind == "python"
    assert r.process == "VllmWorker rank=3 pid=2233050"
    assert r.summary.startswith("AssertionError (assert self.num_blocks >= nixl_agent_meta.num_blocks)")
    assert r.location.endswith("kv_connector/v1/nixl_connector.py:706 in add_remote_agent")
    assert r.excerpt[-1] == "AssertionError"


def test_chained_exceptions_name_the_first_and_what_followed():
    r = root_error(S.PY_CHAINED)
    assert r.summary.startswith("KeyError: 'qwen3' -> then ValueError: The checkpoint you are trying to load")
    assert r.location == "transformers/models/auto/configuration_auto.py:813 in __getitem__"


def test_direct_cause_chain_skips_a_wrapper_that_comes_first():
    log = ("Traceback (most recent call last):\n"
           '  File "/usr/lib/python3.12/site-packages/vllm/v1/engine/core_client.py", line 446, in __init__\n'
           "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}\n"
           "\nThe above exception was the direct cause of the following exception:\n\n"
           "Traceback (most recent call last):\n"
           '  File "/usr/lib/python3.12/site-packages/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status\n'
           "    raise _format(GatedRepoError, message, response) from e\n"
           "huggingface_hub.errors.GatedRepoError: 401 Client Error.\n")
    r = root_error(log)
    assert r.summary == "huggingface_hub.errors.GatedRepoError: 401 Client Error."


def test_multi_line_exception_message_is_kept_until_the_blank_line():
    log = ("Traceback (most recent call last):\n"
           '  File "/usr/local/lib/python3.12/dist-packages/transformers/utils/hub.py", line 470, in cached_files\n'
           "    raise OSError(\n"
           "OSError: You are trying to access a gated repo.\n"
           "Make sure to have access to it at https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct.\n"
           "401 Client Error. (Request ID: Root=1-68a2)\n"
           "\n"
           "Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/resolve/main/config.json.\n")
    r = root_error(log)
    assert r.summary == ("OSError: You are trying to access a gated repo. Make sure to have access to it at "
                         "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct. 401 Client Error. "
                         "(Request ID: Root=1-68a2)")
    assert "Cannot access" not in r.summary


def test_recovered_traceback_followed_by_serving_is_not_a_crash():
    assert root_error(S.VLLM_RECOVERED) is None


def test_recovered_traceback_then_a_later_fatal_names_the_later_one():
    r = root_error(S.VLLM_RECOVERED_THEN_FATAL)
    assert r.summary.startswith("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 26.00 MiB.")
    assert "maximum context length" not in r.summary


def test_warnings_are_not_errors():
    assert root_error(S.VLLM_WARNINGS_ONLY) is None


def test_only_a_wrapper_in_the_log_is_reported_with_a_note():
    tail = S.VLLM_ENGINE_KV_CACHE.split("(APIServer pid=1179246) Traceback", 1)[1]
    r = root_error("(APIServer pid=1179246) Traceback" + tail)
    assert r.summary.startswith("RuntimeError: Engine core initialization failed. See root cause above.")
    assert "wrapper" in r.note


def test_a_tail_cut_inside_a_traceback_still_finds_the_exception():
    cut = S.VLLM_ENGINE_KV_CACHE.split("\n", 6)[6]  # starts among the frames, no "Traceback" line
    r = root_error(cut)
    assert r.summary.startswith("ValueError: To serve at least one request")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("healthy*/logs/*/*/*.log")), ids=lambda p: p.parent.name)
def test_healthy_example_logs_have_no_root_error(path):
    assert root_error(path.read_text()) is None


def test_kubectl_timestamps_and_crlf_are_tolerated():
    stamped = "".join(f"2025-08-22T01:36:52.123456789Z {line}\r\n" for line in S.GO_SEND_ON_CLOSED.splitlines())
    r = root_error(stamped)
    assert r.kind == "go-panic" and r.location == "pkg/epp/requestcontrol/director.go:414"


# ---- Go --------------------------------------------------------------------------------------------------

def test_seed_epp_segfault_first_frame_outside_the_runtime():
    r = root_error((SEED_EPP / "epp.previous.log").read_text(), {"exitCode": 2, "reason": "Error"})
    assert r.kind == "go-panic"
    assert r.summary == ("panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV] "
                         "in sigs.k8s.io/gateway-api-inference-extension/pkg/epp/scheduling.NewSchedulerWithConfig")
    assert r.location == "sigs.k8s.io/gateway-api-inference-extension@v0.5.1/pkg/epp/scheduling/scheduler.go:40"
    assert "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1da9531]" in r.excerpt
    assert r.exit_meaning.startswith("exited 2: a usage error")


def test_go_panic_without_signal_generic_path():
    assert_generic(S.GO_SEND_ON_CLOSED, "send on closed channel")
    r = root_error(S.GO_SEND_ON_CLOSED)
    assert r.kind == "go-panic"
    assert r.summary == ("panic: send on closed channel in "
                         "github.com/llm-d/llm-d-inference-scheduler/pkg/epp/requestcontrol.(*Director).HandleResponseBody")
    assert r.location == "pkg/epp/requestcontrol/director.go:414"


def test_newer_goroutine_header_and_nested_panics():
    log = ("panic: assignment to entry in nil map [recovered]\n"
           "\tpanic: assignment to entry in nil map\n\n"
           "goroutine 214 gp=0xc000583c00 m=5 mp=0xc000100008 [running]:\n"
           "panic({0x1c2e0e0?, 0x2104b70?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\n"
           "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datastore.(*datastore).PodUpdateOrAddIfNotExist(...)\n"
           "\t/workspace/pkg/epp/datastore/datastore.go:255 +0x1a5\n")
    r = root_error(log)
    assert r.location == "pkg/epp/datastore/datastore.go:255"
    assert "\tpanic: assignment to entry in nil map".strip() in r.excerpt


def test_go_fatal_error_skips_runtime_frames():
    r = root_error(S.GO_FATAL_MAP)
    assert r.kind == "go-fatal"
    assert r.location == "pkg/epp/datastore/datastore.go:255"
    assert "internal/runtime" not in r.summary


# ---- structured ------------------------------------------------------------------------------------------

def test_repeated_error_is_named_before_the_exit_message():
    r = root_error(S.ZAP_FORBIDDEN_THEN_EXIT, {"exitCode": 1, "reason": "Error"})
    assert r.kind == "structured"
    assert r.summary.startswith("Failed to watch: failed to list *v1.Deployment: deployments.apps is forbidden")
    assert r.summary.endswith("(repeated 2 times)")
    assert any("Error starting controller manager" in line for line in r.excerpt)
    assert r.exit_meaning.startswith("exited with an error (exit 1)")


def test_single_error_before_the_exit_problem_running_manager():
    r = root_error(S.ZAP_PROBLEM_RUNNING_MANAGER)
    assert r.kind == "structured"
    assert r.summary == 'problem running manager: no matches for kind "InferencePool" in version "inference.networking.k8s.io/v1"'
    assert r.location == "cmd/main.go:171"


def test_zap_console_error_generic_path():
    assert_generic(S.ZAP_CONSOLE_EPP, "prompt not found", "Error handling body")
    r = root_error(S.ZAP_CONSOLE_EPP)
    assert r.kind == "structured"
    assert r.summary == "Error handling body: inference gateway: BadRequest - prompt not found in request"
    assert r.location == "handlers/server.go:202"


def test_klog_repeated_error_generic_path():
    assert_generic(S.KLOG_REPEATED, "reflector.go", "unknown (get pods)")
    r = root_error(S.KLOG_REPEATED)
    assert r.kind == "klog"
    assert r.summary.endswith("Failed to watch *v1.Pod: unknown (get pods) (repeated 3 times)")
    assert r.location == "reflector.go:138"


def test_klog_fatal_wins_over_errors():
    r = root_error(S.KLOG_THEN_FATAL)
    assert (r.kind, r.summary, r.location) == ("klog", "FATAL failed to wait for caches to sync", "main.go:84")


def test_vllm_error_lines_without_traceback_prefer_the_telling_one():
    log = ("(EngineCore_DP0 pid=283) ERROR 08-12 10:01:02 [core.py:700] EngineCore failed to start.\n"
           "(APIServer pid=1) ERROR 08-12 10:01:02 [api_server.py:1500] Failed to load the model: no safetensors "
           "or pytorch_model.bin files found in /models/llama\n"
           "(EngineCore_DP0 pid=283) ERROR 08-12 10:01:03 [core.py:700] EngineCore failed to start.\n")
    r = root_error(log)
    assert (r.kind, r.location) == ("structured", "api_server.py:1500")
    assert r.summary.startswith("Failed to load the model: no safetensors")


def test_zap_fatal_and_warn_levels():
    warn = '{"level":"warn","ts":"2025-08-22T01:36:52Z","msg":"Not scraping metric: LoraRequestInfo"}\n'
    assert root_error(warn) is None
    fatal = warn + '{"level":"fatal","ts":"2025-08-22T01:36:53Z","caller":"epp/main.go:40","msg":"failed to run"}\n'
    r = root_error(fatal)
    assert (r.kind, r.summary, r.location) == ("structured", "FATAL failed to run", "epp/main.go:40")


# ---- plain text and the container's state ----------------------------------------------------------------

def test_argparse_usage_error():
    r = root_error(S.ARGPARSE_ERROR, {"exitCode": 2, "reason": "Error"})
    assert (r.kind, r.summary) == ("plain", "vllm serve: error: unrecognized arguments: --max-model-length 8192")


def test_termination_message_when_the_log_is_empty_generic_path():
    assert_generic(S.OCI_NOT_IN_PATH, "executable file not found")
    r = root_error("", {"exitCode": 128, "reason": "StartError", "message": S.OCI_NOT_IN_PATH})
    assert r.source == "termination-message"
    assert r.summary == 'executable "vllm-openai" not found in $PATH: the command/entrypoint does not exist in the image'
    assert r.exit_meaning.startswith("StartError")


def test_unparsed_termination_message_is_reported_as_is():
    r = root_error(None, {"exitCode": 1, "reason": "Error", "message": "model weights missing under /models\n"})
    assert (r.kind, r.summary, r.source) == ("termination-message", "model weights missing under /models",
                                             "termination-message")


@pytest.mark.parametrize("line, summary", [
    ("exec /usr/bin/python3: exec format error",
     "exec format error: the image's binaries are for another CPU architecture than the node's"),
    ("flag provided but not defined: -poolName", "flag provided but not defined: -poolName (the binary does not know this flag)"),
    ("Error: unknown flag: --pool-name", "Error: unknown flag: --pool-name"),
    ("/entrypoint.sh: line 3: vllm: command not found", "vllm: command not found"),
    ("Killed", "Killed: the process was killed by SIGKILL (usually the OOM killer)"),
])
def test_plain_failures(line, summary):
    r = root_error("Starting server\n" + line + "\n")
    assert (r.kind, r.summary) == ("plain", summary)


def test_cxx_terminate_takes_the_what_line():
    log = ("terminate called after throwing an instance of 'nixlBackendError'\n"
           "  what():  UCX backend failed to connect\n")
    assert root_error(log).summary == ("terminate called after throwing nixlBackendError what():  UCX backend "
                                       "failed to connect")


def test_oom_killed_is_the_cause_whatever_the_log_says():
    r = root_error(S.VLLM_V1_LOADED, {"exitCode": 137, "reason": "OOMKilled"})
    assert (r.kind, r.source) == ("exit-code", "container-state")
    assert r.summary.startswith("OOMKilled: the container used more memory than its limit")
    assert len(r.excerpt) == 3  # the log's last lines, for context


def test_exit_code_alone():
    r = root_error("", {"exitCode": 139, "reason": "Error"})
    assert (r.kind, r.summary) == ("exit-code", "killed by SIGSEGV (exit 139): a segmentation fault in native code")
    assert root_error("", {"exitCode": 0, "reason": "Completed"}) is None
    assert root_error(None, None) is None


@pytest.mark.parametrize("code, reason, signal, expected", [
    (137, "Error", None, "killed by SIGKILL (exit 137): by the kubelet after a failed liveness probe"),
    (137, "OOMKilled", None, "OOMKilled: the container used more memory than its limit"),
    (143, "Error", None, "stopped by SIGTERM (exit 143)"),
    (134, "Error", None, "killed by SIGABRT (exit 134)"),
    (135, "Error", None, "killed by SIGBUS (exit 135)"),
    (139, "Error", None, "killed by SIGSEGV (exit 139)"),
    (1, "Error", None, "exited with an error (exit 1)"),
    (2, "Error", None, "exited 2: a usage error (bad command-line flag or argument) or an unrecovered Go panic"),
    (126, "Error", None, "exit 126: the command was found but could not be executed"),
    (127, "Error", None, "exit 127: command not found"),
    (128, "ContainerCannotRun", None, "ContainerCannotRun: the runtime could not start"),
    (130, "Error", None, "killed by SIGINT (exit 130 = 128 + 2)"),
    (42, "Error", None, "exited with code 42"),
    (None, None, 9, "killed by SIGKILL (signal 9)"),
])
def test_exit_code_meaning(code, reason, signal, expected):
    assert exit_code_meaning(code, reason, signal).startswith(expected)


def test_known_sample_is_recognised_by_a_signature_too():
    """The engine-core sample is a known failure: the generic reading and the catalogue agree."""
    assert "vllm-kv-cache-too-small-for-max-model-len" in matching_signatures(S.VLLM_ENGINE_KV_CACHE)


# ---- more Python shapes ------------------------------------------------------------------------------------

def test_assertion_with_message_keeps_message_and_assert():
    log = ("Traceback (most recent call last):\n"
           '  File "/usr/local/lib/python3.12/dist-packages/vllm/config/parallel.py", line 455, in __post_init__\n'
           '    assert self.world_size <= cuda_device_count, "too many ranks"\n'
           "AssertionError: too many ranks\n")
    assert root_error(log).summary == ('AssertionError: too many ranks (assert self.world_size <= cuda_device_count, '
                                       '"too many ranks")')


def test_ray_worker_exception_beats_the_driver():
    log = ("(RayWorkerWrapper pid=4141, ip=10.0.0.2) ERROR 06-10 03:43:33 [worker_base.py:620] Traceback (most recent call last):\n"
           '(RayWorkerWrapper pid=4141, ip=10.0.0.2) ERROR 06-10 03:43:33 [worker_base.py:620]   File "/usr/local/lib/python3.12/dist-packages/vllm/worker/worker_base.py", line 612, in execute_method\n'
           "(RayWorkerWrapper pid=4141, ip=10.0.0.2) ERROR 06-10 03:43:33 [worker_base.py:620] ImportError: libcudart.so.12: cannot open shared object file: No such file or directory\n"
           "Traceback (most recent call last):\n"
           '  File "/usr/local/lib/python3.12/dist-packages/vllm/executor/ray_distributed_executor.py", line 120, in _init_workers_ray\n'
           "ray.exceptions.RayTaskError(ImportError): ray::RayWorkerWrapper.execute_method() (pid=4141, ip=10.0.0.2)\n")
    r = root_error(log)
    assert r.process == "RayWorkerWrapper pid=4141, ip=10.0.0.2"
    assert r.summary == "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory"


@pytest.mark.parametrize("raw, proc, level, text", [
    ("(EngineCore_DP0 pid=283) ERROR 08-12 10:01:02 [core.py:700] ValueError: x", "EngineCore_DP0 pid=283", "ERROR",
     "ValueError: x"),
    ("(VllmWorker rank=0 pid=1065) INFO 07-07 18:08:26 [gpu_worker.py:1] hi", "VllmWorker rank=0 pid=1065", "INFO", "hi"),
    ("INFO 02-28 21:48:18 metrics.py:161] Avg prompt", "", "INFO", "Avg prompt"),
    ("[rank0]:   File \"a.py\", line 1, in f", "", "", '  File "a.py", line 1, in f'),
    ("(some text) without a tag", "", "", "(some text) without a tag"),
])
def test_prefixes_are_peeled(raw, proc, level, text):
    [line] = list(split_lines([raw]))
    assert (line.proc, line.level, line.text, line.raw) == (proc, level, text, raw)


# ---- native gateways and proxies: Rust panics, Envoy's crash handler and critical records ---------------

RUST_PANIC = """\
2025-06-01T10:00:00.000000Z  INFO agentgateway: starting version=0.7.2
thread 'main' panicked at crates/agentgateway/src/types/local.rs:412:58:
called `Result::unwrap()` on an `Err` value: Error("unknown field `inferencePool`", line: 12, column: 7)
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""

RUST_PANIC_OLD = """\
2024-03-01T10:00:00Z INFO starting
thread 'tokio-runtime-worker' panicked at 'called `Option::unwrap()` on a `None` value', src/proxy/inbound.rs:88:31
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""

RUST_PANIC_BACKTRACE = """\
thread 'main' panicked at crates/agentgateway/src/app.rs:77:10:
failed to bind admin address: Address already in use (os error 98)
stack backtrace:
   0: rust_begin_unwind
             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs:665:5
   1: core::panicking::panic_fmt
             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/panicking.rs:74:14
   2: core::result::unwrap_failed
             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/result.rs:1700:5
   3: agentgateway::app::run::{{closure}}
             at ./crates/agentgateway/src/app.rs:77:10
   4: tokio::runtime::park::CachedParkThread::block_on
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
"""

ENVOY_CAUGHT = """\
[2025-01-15 10:00:00.000][1][info][main] [source/server/server.cc:900] starting main dispatch loop
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:104] Caught Segmentation fault, suspect faulting address 0x0
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:91] Backtrace (use tools/stack_decode.py to get line numbers):
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:92] Envoy version: 0d2e5a9c/1.31.2/Clean/RELEASE/BoringSSL
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:96] #0: __restore_rt [0x7f3c0a8f5520]
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:96] #1: Envoy::Extensions::HttpFilters::ExtProc::Filter::onReceiveMessage() [0x55d1c2a3b4c5]
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:96] #2: Envoy::Grpc::AsyncStreamImpl::onData() [0x55d1c2a3b000]
[2025-01-15 10:00:05.000][14][critical][backtrace] [./source/server/backtrace.h:98] end backtrace thread 14
"""

ENVOY_CONFIG_CRITICAL = """\
[2025-01-15 10:00:00.100][1][info][main] [source/server/server.cc:430] initializing epoch 0 (base id=0, hot restart version=11.104)
[2025-01-15 10:00:00.110][1][warning][config] [source/common/config/grpc_stream.h:191] StreamAggregatedResources gRPC config stream to xds-grpc closed: 14, connection error
[2025-01-15 10:00:00.123][1][critical][main] [source/server/server.cc:131] error initializing configuration '/etc/envoy/envoy.yaml': Proto constraint validation failed (ClusterValidationError.Name: value length must be at least 1 characters): name: ""
[2025-01-15 10:00:00.124][1][info][main] [source/server/server.cc:1060] exiting
"""

ISTIO_PROXY_CRITICAL = (
    "2025-01-15T10:00:00.123456Z\tcritical\tenvoy main external/envoy/source/server/server.cc:131\terror initializing "
    "configuration '': Invalid path: /etc/istio/proxy/grpc-bootstrap.json\tthread=1\n"
    "2025-01-15T10:00:00.123500Z\tinfo\tenvoy main external/envoy/source/server/server.cc:1060\texiting\tthread=1\n")


@pytest.mark.parametrize(("log", "phrases", "code", "kind", "summary", "location", "excerpt_has"), [
    (RUST_PANIC, ("panicked at", "unknown field `inferencePool`"), 101, "rust-panic",
     "panic in thread 'main': called `Result::unwrap()` on an `Err` value: "
     'Error("unknown field `inferencePool`", line: 12, column: 7)',
     "crates/agentgateway/src/types/local.rs:412:58", "thread 'main' panicked at"),
    (ENVOY_CAUGHT, ("suspect faulting address", "ExtProc::Filter::onReceiveMessage"), 139, "envoy-crash",
     "Envoy caught Segmentation fault (faulting address 0x0) in "
     "Envoy::Extensions::HttpFilters::ExtProc::Filter::onReceiveMessage()",
     "Envoy::Extensions::HttpFilters::ExtProc::Filter::onReceiveMessage()", "#1: Envoy::Extensions"),
], ids=["rust-panic", "envoy-crash-handler"])
def test_native_crash_names_message_and_where_generic_path(log, phrases, code, kind, summary, location, excerpt_has):
    """A Rust panic (message, source line) and Envoy's crash handler (signal, first frame outside it)."""
    assert_generic(log, *phrases)
    r = root_error(log, {"exitCode": code, "reason": "Error"})
    assert (r.kind, r.summary, r.location) == (kind, summary, location)
    assert any(excerpt_has in line for line in r.excerpt), r.excerpt


def test_a_rust_panic_exit_code_is_explained():
    r = root_error(RUST_PANIC, {"exitCode": 101, "reason": "Error"})
    assert r.exit_meaning == "exited 101: the code a Rust program (agentgateway, ztunnel) exits with when it panics"


def test_rust_panic_before_rust_1_73_and_with_a_backtrace():
    r = root_error(RUST_PANIC_OLD)
    assert (r.kind, r.summary, r.location) == (
        "rust-panic", "panic in thread 'tokio-runtime-worker': called `Option::unwrap()` on a `None` value",
        "src/proxy/inbound.rs:88:31")
    r = root_error(RUST_PANIC_BACKTRACE)
    assert r.summary == "panic in thread 'main': failed to bind admin address: Address already in use (os error 98)"
    # the first frame outside std, core and tokio
    assert r.location == "agentgateway::app::run::{{closure}} (./crates/agentgateway/src/app.rs:77:10)"


def test_rust_runtime_abort():
    r = root_error("thread 'main' has overflowed its stack\nfatal runtime error: stack overflow\n")
    assert r.summary == "fatal runtime error: stack overflow (the Rust runtime aborted the process)"


def test_envoy_critical_record_is_the_cause_and_its_dump_lines_are_not():
    r = root_error(ENVOY_CONFIG_CRITICAL, {"exitCode": 1, "reason": "Error"})
    assert r.kind == "structured" and r.location == "source/server/server.cc:131"
    assert r.summary.startswith("CRITICAL error initializing configuration '/etc/envoy/envoy.yaml': Proto constraint")
    r = root_error(ISTIO_PROXY_CRITICAL, {"exitCode": 1, "reason": "Error"})
    assert r.summary == ("CRITICAL error initializing configuration '': Invalid path: "
                         "/etc/istio/proxy/grpc-bootstrap.json")
    assert r.location == "external/envoy/source/server/server.cc:131"
    # Only the tail of a crash dump: its lines are not errors; the supervisor's line says what happened.
    tail = ("[2017-06-21 15:51:19.311][46][critical][backtrace] end backtrace thread 0\n"
            "W0621 15:51:19.324500       1 agent.go:200] Epoch 0 terminated with an error: signal: segmentation "
            "fault (core dumped)\n")
    assert root_error(tail).summary == "segmentation fault (native code crashed)"


def test_a_panic_the_process_lived_through_is_not_the_cause():
    """A panic outside the main thread (a tokio task, a tokenizer inside vLLM) can be survived: what
    the process logged after it, serving or a fatal error, says what it died of."""
    vllm = ("INFO 01-15 10:00:00 [api_server.py:1000] Starting vLLM API server\n"
            "thread '<unnamed>' panicked at /root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/"
            "tokenizers-0.21.0/src/models/bpe/word.rs:42:9:\n"
            "called `Option::unwrap()` on a `None` value\n"
            "ERROR 01-15 10:00:01 [serving_chat.py:200] Error in preprocessing prompt inputs\n"
            "INFO 01-15 10:05:00 [loggers.py:100] Avg prompt throughput: 10.0 tokens/s\n"
            "ERROR 01-15 10:10:00 [core.py:400] EngineCore encountered a fatal error.\n"
            "Traceback (most recent call last):\n"
            '  File "/usr/lib/python3/vllm/v1/worker/gpu_model_runner.py", line 100, in execute_model\n'
            "    x = torch.empty(10)\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n")
    assert root_error(vllm).summary.startswith("torch.OutOfMemoryError: CUDA out of memory")
    proxy = ("thread 'tokio-runtime-worker' panicked at crates/agentgateway/src/proxy/httpproxy.rs:100:5:\n"
             "index out of bounds\n"
             '{"level":"fatal","ts":"2025","msg":"failed to load config: missing listener"}\n')
    assert root_error(proxy).summary == "FATAL failed to load config: missing listener"
    # the main thread's panic ends the process whatever follows
    assert root_error("thread 'main' panicked at src/main.rs:3:5:\nboom\n"
                      '{"level":"fatal","msg":"later"}\n').kind == "rust-panic"


def test_lines_starting_with_a_bracket_that_are_not_envoys_keep_their_format():
    r = root_error('INFO starting\n[controller] time="2025-01-15T10:00:00Z" level=fatal msg="cannot load certs: '
                   'open /tls/tls.crt: no such file"\n', {"exitCode": 1, "reason": "Error"})
    assert (r.kind, r.summary) == ("structured", "FATAL cannot load certs: open /tls/tls.crt: no such file")


ISTIO_DUMP = "2025-01-15T10:00:05.000000Z\tcritical\tenvoy backtrace external/envoy/source/server/backtrace.h:{n}\t{msg}\tthread=14"


def test_istio_format_crash_dumps_name_the_frame_and_their_tail_is_not_an_error():
    dump = [ISTIO_DUMP.format(n=104, msg="Caught Segmentation fault, suspect faulting address 0x0"),
            ISTIO_DUMP.format(n=96, msg="#0: __restore_rt [0x7f3c0a8f5520]"),
            ISTIO_DUMP.format(n=96, msg="#1: Envoy::Extensions::HttpFilters::ExtProc::Filter::onReceiveMessage() "
                                        "[0x55d1c2a3b4c5]"),
            ISTIO_DUMP.format(n=98, msg="end backtrace thread 14")]
    r = root_error("\n".join(dump) + "\n", {"exitCode": 139, "reason": "Error"})
    assert (r.kind, r.location) == ("envoy-crash", "Envoy::Extensions::HttpFilters::ExtProc::Filter::onReceiveMessage()")
    tail = [ISTIO_DUMP.format(n=98, msg="end backtrace thread 14"),
            "2025-01-15T10:00:05.100000Z\twarn\tEpoch 0 terminated with an error: signal: segmentation fault (core dumped)"]
    assert root_error("\n".join(tail) + "\n").summary == "segmentation fault (native code crashed)"
