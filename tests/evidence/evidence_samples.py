"""Log text for the evidence analysers' tests, taken from public issue threads (URL beside each sample).

Lines are as the issues show them; where an issue's excerpt is cut, the sample says what was added and from
where (upstream code or the issue title). Process ids and timestamps are the issues' own.
"""

# ---- vLLM crashes ---------------------------------------------------------------------------------------

# V1 engine, the engine core's own failure, then the API server's wrapper ("See root cause above").
# Engine lines: https://github.com/vllm-project/vllm/issues/27508 ; API-server lines:
# https://github.com/vllm-project/vllm/issues/23176 .
VLLM_ENGINE_KV_CACHE = """\
(APIServer pid=1179246) INFO 08-19 10:12:40 [api_server.py:1805] vLLM API server version 0.10.1
(EngineCore_DP0 pid=6880) ERROR 08-19 10:13:11 [core.py:700] EngineCore failed to start.
(EngineCore_DP0 pid=6880) Process EngineCore_DP0:
(EngineCore_DP0 pid=6880) Traceback (most recent call last):
(EngineCore_DP0 pid=6880)   File "/opt/conda/envs/vllm_env/lib/python3.13/site-packages/vllm/v1/core/kv_cache_utils.py", line 1243, in get_kv_cache_configs
(EngineCore_DP0 pid=6880)     check_enough_kv_cache_memory(vllm_config, kv_cache_spec_one_worker,
(EngineCore_DP0 pid=6880)     ~~~~~~~~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(EngineCore_DP0 pid=6880)                                  available_memory_one_worker)
(EngineCore_DP0 pid=6880)                                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(EngineCore_DP0 pid=6880)   File "/opt/conda/envs/vllm_env/lib/python3.13/site-packages/vllm/v1/core/kv_cache_utils.py", line 716, in check_enough_kv_cache_memory
(EngineCore_DP0 pid=6880)     raise ValueError(
(EngineCore_DP0 pid=6880)     ...<6 lines>...
(EngineCore_DP0 pid=6880)         f"`max_model_len` when initializing the engine.")
(EngineCore_DP0 pid=6880) ValueError: To serve at least one request with the models's max seq len (131072), (4.54 GiB KV cache is needed, which is larger than the available KV cache memory (1.71 GiB). Based on the available memory, the estimated maximum model length is 49152. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.
(APIServer pid=1179246) Traceback (most recent call last):
(APIServer pid=1179246)   File "/home/ss345/vllm-local-build/vllm/vllm/v1/engine/core_client.py", line 446, in __init__
(APIServer pid=1179246)     with launch_core_engines(vllm_config, executor_class,
(APIServer pid=1179246)          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(APIServer pid=1179246)   File "/home/ss345/anaconda3/envs/gan_vllm2/lib/python3.12/contextlib.py", line 144, in __exit__
(APIServer pid=1179246)     next(self.gen)
(APIServer pid=1179246)   File "/home/ss345/vllm-local-build/vllm/vllm/v1/engine/utils.py", line 706, in launch_core_engines
(APIServer pid=1179246)     wait_for_engine_startup(
(APIServer pid=1179246)   File "/home/ss345/vllm-local-build/vllm/vllm/v1/engine/utils.py", line 759, in wait_for_engine_startup
(APIServer pid=1179246)     raise RuntimeError("Engine core initialization failed. "
(APIServer pid=1179246) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
"""

# The P/D NIXL handshake assertion in a GPU worker, logged through vLLM's logger with the worker's tag.
# Head lines: https://github.com/vllm-project/vllm/issues/19338 ; the last frame, its `assert` and the bare
# `AssertionError` follow the title and the assert removed in
# https://github.com/vllm-project/vllm/pull/19532 (nixl_connector.py, add_remote_agent); the engine core's
# wrapper line is the one of https://github.com/vllm-project/vllm/issues/25928 .
VLLM_WORKER_NIXL_ASSERT = """\
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523] WorkerProc hit an exception.
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523] Traceback (most recent call last):
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]   File "/data/kebe/vllm/vllm/v1/executor/multiproc_executor.py", line 518, in worker_busy_loop
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]     output = func(*args, **kwargs)
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]              ^^^^^^^^^^^^^^^^^^^^^
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]   File "/data/kebe/vllm/vllm/v1/worker/gpu_worker.py", line 277, in execute_model
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]     output = self.model_runner.execute_model(scheduler_output,
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]   File "/data/kebe/vllm/vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py", line 706, in add_remote_agent
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]     assert self.num_blocks >= nixl_agent_meta.num_blocks
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523]            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(VllmWorker rank=3 pid=2233050) ERROR 06-09 06:08:34 [multiproc_executor.py:523] AssertionError
(EngineCore_DP0 pid=2936) ERROR 06-09 06:08:34 [core.py:712] RuntimeError: Worker failed with error '', please check the stack trace above for the root cause
(EngineCore_DP0 pid=2936) ERROR 06-09 06:08:36 [multiproc_executor.py:154] Worker proc VllmWorker-0 died unexpectedly, shutting down executor.
(EngineCore_DP0 pid=2936) Process EngineCore_DP0:
(EngineCore_DP0 pid=2936) Traceback (most recent call last):
(EngineCore_DP0 pid=2936)   File "/usr/lib/python3.12/multiprocessing/process.py", line 314, in _bootstrap
(EngineCore_DP0 pid=2936)     self.run()
(EngineCore_DP0 pid=2936)   File "/home/jasl/.venv/lib/python3.12/site-packages/vllm/v1/engine/core.py", line 716, in run_engine_core
(EngineCore_DP0 pid=2936)     raise e
(EngineCore_DP0 pid=2936) RuntimeError: Worker failed with error '', please check the stack trace above for the root cause
"""

# V0-era logger prefix (no brackets around file:line) and a chained exception: the request-level
# KeyError first, then the wrapper raised while handling it. First lines:
# https://github.com/vllm-project/vllm/issues/2418 (the `Traceback`/`File` layout of vLLM 0.2.7).
# The chain is CPython's (https://docs.python.org/3/library/exceptions.html#exception-context).
PY_CHAINED = """\
INFO 01-11 15:51:18 llm_engine.py:275] # GPU blocks: 229, # CPU blocks: 512
Traceback (most recent call last):
  File "/usr/lib/python3.10/site-packages/transformers/models/auto/configuration_auto.py", line 1117, in from_pretrained
    config_class = CONFIG_MAPPING[config_dict["model_type"]]
  File "/usr/lib/python3.10/site-packages/transformers/models/auto/configuration_auto.py", line 813, in __getitem__
    raise KeyError(key)
KeyError: 'qwen3'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "load_llm.py", line 8, in <module>
    llm = LLM(model='/home/models/qwen3')
  File "/usr/lib/python3.10/site-packages/transformers/models/auto/configuration_auto.py", line 1119, in from_pretrained
    raise ValueError(
ValueError: The checkpoint you are trying to load has model type `qwen3` but Transformers does not recognize this architecture.
"""

# A request that failed (the server answered 400) and serving that went on: not a crash.
# https://github.com/vllm-project/vllm/issues/20409 (the traceback), stats lines of
# https://github.com/vllm-project/vllm/issues/13067 .
VLLM_RECOVERED = """\
ERROR 07-03 03:19:15 [serving_chat.py:200] Error in preprocessing prompt inputs
ERROR 07-03 03:19:15 [serving_chat.py:200] Traceback (most recent call last):
ERROR 07-03 03:19:15 [serving_chat.py:200]   File "/root/storage/miniconda3/envs/kkms_test/lib/python3.10/site-packages/vllm/entrypoints/openai/serving_chat.py", line 183, in create_chat_completion
ERROR 07-03 03:19:15 [serving_chat.py:200]     ) = await self._preprocess_chat(
ERROR 07-03 03:19:15 [serving_chat.py:200]   File "/root/storage/miniconda3/envs/kkms_test/lib/python3.10/site-packages/vllm/entrypoints/openai/serving_engine.py", line 835, in _preprocess_chat
ERROR 07-03 03:19:15 [serving_chat.py:200]     prompt_inputs = await self._tokenize_prompt_input_async(
ERROR 07-03 03:19:15 [serving_chat.py:200] ValueError: This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.
INFO:     192.168.66.179:11149 - "POST /v1/chat/completions HTTP/1.1" 400 Bad Request
INFO:     192.168.66.179:11150 - "POST /v1/chat/completions HTTP/1.1" 200 OK
INFO 02-10 15:10:15 metrics.py:455] Avg prompt throughput: 492.7 tokens/s, Avg generation throughput: 0.0 tokens/s, Running: 1 reqs, Swapped: 0 reqs, Pending: 0 reqs, GPU KV cache usage: 34.6%, CPU KV cache usage: 0.0%.
"""

# The same, then the engine dies of a CUDA out-of-memory error later: that later one is the cause.
# The OOM message is PyTorch's (https://github.com/FireRedTeam/FireRedTTS2/issues/17); the engine-core
# frame is vLLM's (https://github.com/vllm-project/vllm/issues/16749).
VLLM_RECOVERED_THEN_FATAL = VLLM_RECOVERED + """\
ERROR 04-17 08:12:47 [core.py:387] EngineCore hit an exception: Traceback (most recent call last):
ERROR 04-17 08:12:47 [core.py:387]   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 378, in run_engine_core
ERROR 04-17 08:12:47 [core.py:387]     engine_core = EngineCoreProc(*args, **kwargs)
ERROR 04-17 08:12:47 [core.py:387] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 26.00 MiB. GPU 0 has a total capacity of 11.66 GiB of which 9.81 MiB is free.
"""

# Warnings only: https://github.com/SergiioB/intel-arc-pro-b70-inference-cookbook/issues/4 .
VLLM_WARNINGS_ONLY = """\
(EngineCore pid=316) INFO 08-21 18:37:40 [monitor.py:53] torch.compile took 0.06 s in total
(EngineCore pid=316) WARNING 08-21 18:37:41 [topk_topp_sampler.py:300] xpu kernel topk_topp_sampler does not support per-request generators. Falling back to PyTorch-native implementation.
(EngineCore pid=316) WARNING 08-21 18:37:44 [kv_cache_utils.py:1227] Add 3 padding layers, may waste at most 6.25% KV cache memory
"""

# ---- Go -------------------------------------------------------------------------------------------------

# https://github.com/llm-d/llm-d-router/issues/1140 (first frames of the trace).
GO_SEND_ON_CLOSED = """\
panic: send on closed channel

goroutine 1027519 [running]:
github.com/llm-d/llm-d-inference-scheduler/pkg/epp/requestcontrol.(*Director).HandleResponseBody(0xc0005fb950, {0x2f29f20, 0xc00484c780}, 0xc0d3eea160, 0x0)
\t/workspace/pkg/epp/requestcontrol/director.go:414 +0x46c
github.com/llm-d/llm-d-inference-scheduler/pkg/epp/handlers.(*StreamingServer).HandleResponseBody(0xc004585400, {0x2f29f20, 0xc00484c780}, 0xc0d3eea160, {0xc00b3a4a00, 0x12d, 0x140}, 0x0)
\t/workspace/pkg/epp/handlers/response.go:67 +0x444
github.com/llm-d/llm-d-inference-scheduler/pkg/epp/handlers.(*StreamingServer).Process(0xc004585400, {0x2f3a418, 0xc05ee2a8a0})
\t/workspace/pkg/epp/handlers/server.go:387 +0x1757
"""

# A Go fatal error: the runtime's own frames come first. Text and layout of the Go runtime
# (runtime/map.go `fatal("concurrent map writes")`, https://go.dev/src/runtime/map.go); the frames below the
# runtime are the GIE datastore's (pkg/epp/datastore/datastore.go).
GO_FATAL_MAP = """\
fatal error: concurrent map writes

goroutine 77 [running]:
internal/runtime/maps.fatal({0x1f0e2a5?, 0x0?})
\t/usr/local/go/src/runtime/panic.go:1058 +0x18
sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datastore.(*datastore).PodUpdateOrAddIfNotExist(0xc0003a2000, 0xc0007d8000)
\t/workspace/pkg/epp/datastore/datastore.go:255 +0x1a5
"""

# ---- structured logs --------------------------------------------------------------------------------------

# controller-runtime's watch error, zap JSON, repeated while the cache never syncs:
# https://github.com/home-operations/miroir/issues/175 (stacktrace shortened); then the EPP's own exit
# message from cmd/epp/runner/runner.go ("Error starting controller manager").
ZAP_FORBIDDEN_THEN_EXIT = """\
{"level":"info","ts":"2026-07-13T10:02:12Z","logger":"setup","caller":"runner/runner.go:290","msg":"Controller manager starting"}
{"level":"error","ts":"2026-07-13T10:02:13Z","logger":"controller-runtime.cache.UnhandledError","msg":"Failed to watch","reflector":"k8s.io/client-go@v0.36.2/tools/cache/reflector.go:343","type":"*v1.Deployment","error":"failed to list *v1.Deployment: deployments.apps is forbidden: User \\"system:serviceaccount:miroir-system:miroir-controller\\" cannot list resource \\"deployments\\" in API group \\"apps\\" at the cluster scope","stacktrace":"k8s.io/apimachinery/pkg/util/runtime.logError"}
{"level":"error","ts":"2026-07-13T10:02:14Z","logger":"controller-runtime.cache.UnhandledError","msg":"Failed to watch","reflector":"k8s.io/client-go@v0.36.2/tools/cache/reflector.go:343","type":"*v1.Deployment","error":"failed to list *v1.Deployment: deployments.apps is forbidden: User \\"system:serviceaccount:miroir-system:miroir-controller\\" cannot list resource \\"deployments\\" in API group \\"apps\\" at the cluster scope","stacktrace":"k8s.io/apimachinery/pkg/util/runtime.logError"}
{"level":"error","ts":"2026-07-13T10:04:13Z","logger":"setup","caller":"runner/runner.go:292","msg":"Error starting controller manager","error":"failed to wait for caches to sync: timed out waiting for cache to be synced for Kind *v1.Deployment"}
"""

# kubebuilder-style manager exit (controller-runtime): one error, then the process exits.
# Message text of the kubebuilder scaffold (cmd/main.go, `setupLog.Error(err, "problem running manager")`).
ZAP_PROBLEM_RUNNING_MANAGER = """\
{"level":"info","ts":"2025-10-17T13:20:01Z","logger":"setup","msg":"starting manager"}
{"level":"error","ts":"2025-10-17T13:20:31Z","logger":"setup","caller":"cmd/main.go:171","msg":"problem running manager","error":"no matches for kind \\"InferencePool\\" in version \\"inference.networking.k8s.io/v1\\""}
"""

# zap console encoding, as the EPP printed it in https://github.com/kubernetes-sigs/gateway-api-inference-extension/issues/790
# and (V(2) line with a logger name) https://github.com/kubernetes-sigs/gateway-api-inference-extension/issues/786 .
ZAP_CONSOLE_EPP = (
    '2025-05-06T20:41:17Z\tLEVEL(-2)\thealth\tepp/health.go:38\tgRPC health check requested unknown service'
    '\t{"available-services": ["envoy.service.ext_proc.v3.ExternalProcessor"], "requested-service": ""}\n'
    '2025-05-07T04:01:09Z\tERROR\thandlers/server.go:202\tError handling body\t{"x-request-id": '
    '"24162a7f-7c72-4608-806e-06c5f4a60688", "error": "inference gateway: BadRequest - prompt not found in request"}\n'
    'sigs.k8s.io/gateway-api-inference-extension/pkg/epp/handlers.(*StreamingServer).Process\n'
)

# klog: client-go's reflector, repeated: https://github.com/ckotzbauer/sbom-operator/pull/162 .
KLOG_REPEATED = """\
time="2022-08-28T13:14:23Z" level=info msg="Wait for cache to be synced"
time="2022-08-28T13:14:24Z" level=info msg="Start pod-informer"
E0828 13:14:24.581869       1 reflector.go:138] k8s.io/client-go@v0.24.4/tools/cache/reflector.go:167: Failed to watch *v1.Pod: unknown (get pods)
time="2022-08-28T13:14:24Z" level=info msg="Finished cache sync"
E0828 13:14:26.069827       1 reflector.go:138] k8s.io/client-go@v0.24.4/tools/cache/reflector.go:167: Failed to watch *v1.Pod: unknown (get pods)
E0828 13:14:28.048791       1 reflector.go:138] k8s.io/client-go@v0.24.4/tools/cache/reflector.go:167: Failed to watch *v1.Pod: unknown (get pods)
"""

# The same stream ending in a klog fatal (klog's `F` header, https://github.com/kubernetes/klog), which wins.
KLOG_THEN_FATAL = KLOG_REPEATED + """\
F0828 13:16:24.581869       1 main.go:84] failed to wait for caches to sync
"""

# ---- plain text ---------------------------------------------------------------------------------------------

# The runtime's message when the command is not in the image: https://github.com/vllm-project/vllm/issues/15007
# (as the container's termination message: reason StartError, exit 128; the pod of
# https://github.com/vllm-project/production-stack/issues/454 crash-loops on it).
OCI_NOT_IN_PATH = (
    'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: '
    'unable to start container process: exec: "vllm-openai": executable file not found in $PATH: unknown'
)

# argparse's usage error as `vllm serve` prints it (vllm/utils FlexibleArgumentParser is an argparse parser:
# "usage: ..." then "<prog>: error: <message>", https://docs.python.org/3/library/argparse.html#exiting-methods).
ARGPARSE_ERROR = """\
INFO 08-21 15:02:59 [__init__.py:235] Automatically detected platform cuda.
usage: vllm serve [model_tag] [options]
vllm serve: error: unrecognized arguments: --max-model-length 8192
"""

# ---- vLLM stats -------------------------------------------------------------------------------------------

# V1 engine under load, API-server tag: https://github.com/vllm-project/vllm/issues/43295 .
VLLM_V1_LOADED = """\
(APIServer pid=3646) INFO 05-19 10:13:11 [loggers.py:271] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 1055.3 tokens/s, Running: 18 reqs, Waiting: 43 reqs, GPU KV cache usage: 95.9%, Prefix cache hit rate: 0.0%
(APIServer pid=3646) INFO 05-19 10:13:21 [loggers.py:271] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 1226.3 tokens/s, Running: 18 reqs, Waiting: 42 reqs, GPU KV cache usage: 95.5%, Prefix cache hit rate: 0.0%
(APIServer pid=3646) INFO 05-19 10:13:31 [loggers.py:271] Engine 000: Avg prompt throughput: 12068.8 tokens/s, Avg generation throughput: 734.9 tokens/s, Running: 18 reqs, Waiting: 33 reqs, GPU KV cache usage: 87.7%, Prefix cache hit rate: 0.0%
(APIServer pid=3646) INFO 05-19 10:13:41 [loggers.py:271] Engine 000: Avg prompt throughput: 18032.5 tokens/s, Avg generation throughput: 589.8 tokens/s, Running: 21 reqs, Waiting: 23 reqs, GPU KV cache usage: 95.9%, Prefix cache hit rate: 0.0%
(APIServer pid=3646) INFO 05-19 10:13:51 [loggers.py:271] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 1242.7 tokens/s, Running: 20 reqs, Waiting: 23 reqs, GPU KV cache usage: 98.4%, Prefix cache hit rate: 0.0%
"""

# V0 engine: https://github.com/vllm-project/vllm/issues/12314 (bracketed file:line) and
# https://github.com/vllm-project/vllm/issues/3094 (older, unbracketed), and the separate prefix-cache line of
# https://github.com/vllm-project/vllm/pull/18674 .
VLLM_V0 = """\
INFO 02-28 21:48:18 metrics.py:161] Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 44.9 tokens/s, Running: 2 reqs, Swapped: 0 reqs, Pending: 3 reqs, GPU KV cache usage: 82.1%, CPU KV cache usage: 0.0%
INFO 01-22 18:27:20 metrics.py:449] Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 41.7 tokens/s, Running: 1 reqs, Swapped: 0 reqs, Pending: 0 reqs, GPU KV cache usage: 2.0%, CPU KV cache usage: 0.0%.
INFO 05-25 06:50:29 [metrics.py:486] Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 15.5 tokens/s, Running: 1 reqs, Swapped: 0 reqs, Pending: 0 reqs, GPU KV cache usage: 0.0%, CPU KV cache usage: 0.1%.
INFO 05-25 06:50:29 [metrics.py:502] Prefix cache hit rate: GPU: 0.00%, CPU: 90.00%
"""

# ---- gateway access logs ---------------------------------------------------------------------------------

# Istio text format: https://github.com/istio/istio/issues/45802 (503 UC) and
# https://github.com/llm-d-incubation/llm-d-infra/pull/231 (llm-d P/D, 502 from the pod).
ISTIO_UC = ('"GET /v1/status HTTP/1.1" 503 UC upstream_reset_before_response_started{connection_termination} - "-" '
            '0 95 0 - "10.90.16.220" "Apache-HttpClient/4.5.1 (Java/1.8.0_372)" "3a7cbcc1-af72-47fb-bbac-a7672951f50f" '
            '"health.abc.com" "10.80.47.192:8181" outbound|80||health-api.production.svc.cluster.local '
            '10.80.45.233:37132 10.80.45.233:80 10.80.46.220:59375 - -')
ISTIO_LLMD_502 = ('[2025-09-19T18:43:27.635Z] "POST /v1/chat/completions HTTP/1.1" 502 - via_upstream - "-" 253 0 734 '
                  '732 "10.0.1.247" "curl/8.7.1" "a0bc31fc-8818-4715-aadf-2c0a7b7d4732" "localhost:8000" '
                  '"10.0.2.212:8000" outbound|54321||gaie-pd-ip-bb618139.llm-d-pd.svc.cluster.local 10.0.1.247:39024 '
                  '127.0.0.1:80 127.0.0.1:37408 - llm-d-pd.llm-d-pd-disaggregation.')

# Envoy Gateway JSON, no ready endpoint: https://github.com/vllm-project/semantic-router/issues/275 (request id
# completed from the cut-off value).
ENVOY_GATEWAY_UH = (
    '{":authority":"envoy-vllm-semantic-router-system-vllm-semantic-router-16c03415.envoy-gateway-system.svc.cluster.local",'
    '"bytes_received":110,"bytes_sent":19,"connection_termination_details":null,"downstream_local_address":"10.28.2.59:10080",'
    '"downstream_remote_address":"10.28.2.46:46658","duration":102,"method":"POST","protocol":"HTTP/1.1",'
    '"requested_server_name":null,"response_code":503,"response_code_details":"no_healthy_upstream","response_flags":"UH",'
    '"route_name":"httproute/vllm-semantic-router-system/vllm-semantic-router/rule/0/match/0/*",'
    '"start_time":"2025-09-29T03:31:48.401Z","upstream_cluster":"httproute/vllm-semantic-router-system/vllm-semantic-router/rule/0",'
    '"upstream_host":null,"upstream_local_address":null,"upstream_transport_failure_reason":null,'
    '"user-agent":"python-requests/2.32.4","x-envoy-origin-path":"/v1/chat/completions","x-envoy-upstream-service-time":null,'
    '"x-forwarded-for":"10.28.2.46","x-request-id":"b6926517-fbeb-4943-8564-000000000000"}')

# Istio JSON with URX: https://github.com/istio/istio/issues/36500 .
ISTIO_JSON_URX = (
    '{"upstream_cluster":"outbound|8079||mesh-e2e-server-a-ea1t-us.mesh-e2e-a-ea1t-us.svc.ea1t.us.a","protocol":"HTTP/1.1",'
    '"downstream_remote_address":"100.127.129.48:57771","byte_sent":"0","response_code":"503","byte_received":"0",'
    '"upstream_local_address":"100.127.191.163:39532","response_code_details":"via_upstream","requested_server_name":"-",'
    '"x_envoy_upstream_service_time":"25","x_envoy_original_path":"/","route_name":"-","upstream_transport_failure_reason":"-",'
    '"downstream_local_address":"100.127.191.163:8443","authority":"httpbin.example.com","upstream_host":"100.127.191.161:8079",'
    '"method":"HEAD","start_time":"2021-12-14T00:05:37.858Z","duration":"26","user_agent":"curl/7.64.1",'
    '"x_request_id":"15121588-a1da-405d-962a-685975d19de7","response_flags":"URX","x_forwarded_for":"100.127.129.48"}')

# agentgateway: https://github.com/kgateway-dev/kgateway/issues/12656 (the second line completed with the
# first line's error text; the issue cuts it off).
AGENTGATEWAY = (
    '2025-10-17T13:24:24.6980Z\tinfo\trequest gateway=default/inference-gateway listener=http route=default/llm-route '
    'endpoint=10.244.0.148:8000 src.addr=127.0.0.1:56254 http.method=GET http.host=localhost http.path=/ '
    'http.version=HTTP/1.1 http.status=500 inferencepool.selected_endpoint=10.244.0.148:8000 '
    'error="ext_proc failed: no more responses" duration=111ms\n'
    '2025-10-17T13:24:34.421354Z\twarn\thttp::ext_proc\terror InvalidHeaderName(InvalidHeaderName)\n'
    '2025-10-17T13:24:34.421472Z\tinfo\trequest gateway=default/inference-gateway listener=http route=default/llm-route '
    'src.addr=127.0.0.1:36192 http.method=POST http.host=localhost http.path=/v1/completions http.version=HTTP/1.1 '
    'http.status=500 error="ext_proc failed: no more responses" duration=9ms\n')

# Istio text line for a request the EPP could not serve: the details string Envoy sets when the ext_proc
# stream fails (`ext_proc_error_gRPC_error_14`, reported in https://github.com/higress-group/higress/issues/3701
# and https://github.com/istio/istio/issues/59577), in Istio's format (the rest of the fields from
# https://github.com/llm-d-incubation/llm-d-infra/pull/231).
ISTIO_EXT_PROC_500 = ('[2025-09-19T18:45:02.114Z] "POST /v1/chat/completions HTTP/1.1" 500 - ext_proc_error_gRPC_error_14 - '
                      '"-" 253 0 3 - "10.0.1.247" "curl/8.7.1" "5d1e0a44-2f0e-4b47-9d1c-0c2f2e1f6a11" "localhost:8000" '
                      '"-" - - 127.0.0.1:80 127.0.0.1:37408 - llm-d-pd.llm-d-pd-disaggregation.')
