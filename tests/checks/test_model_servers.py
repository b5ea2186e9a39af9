"""model-servers.pods, model-servers.gpu and model-servers.logs on mutations of the bundled examples.

The failure cases are real user reports (shared/knowledge/failure-cases.yaml); the objects are shaped
like `kubectl get -o yaml` output, events like the kubelet's and the scheduler's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from scenario import Scenario

from llmd_doctor.model import GPU_INFERENCE, OPENAI_API, Status
from llmd_doctor.registry import load_specs

NS = "llm-d"
DECODE = "Deployment/llm-d/ms-llm-d-modelservice-decode"
SEED = "seed-rosa-epp-segfault"
Obj = dict[str, Any]


# ---- helpers ---------------------------------------------------------------------------------


def decode_pods(sc: Scenario) -> list[Obj]:
    return [p for p in sc.all("Pod") if p["metadata"]["name"].startswith("ms-llm-d-modelservice-decode-")]


def event(pod: str, reason: str, message: str, *, type_: str = "Warning", count: int = 1,
          component: str = "kubelet", field: str | None = None, kind: str = "Pod") -> Obj:
    """A core/v1 Event as `kubectl get events -o yaml` prints it."""
    inv: Obj = {"apiVersion": "v1", "kind": kind, "name": pod, "namespace": NS, "uid": "0f6a3c1e-1b7e-4c55-9a53-2d1c0b3f9e11"}
    if field:
        inv["fieldPath"] = field
    return {
        "apiVersion": "v1", "kind": "Event", "count": count, "eventTime": None,
        "firstTimestamp": "2025-08-22T05:10:02Z", "lastTimestamp": "2025-08-22T05:39:41Z",
        "involvedObject": inv, "message": message, "reason": reason, "type": type_,
        "metadata": {"name": f"{pod}.185df1c2a0b3c4d5", "namespace": NS, "creationTimestamp": "2025-08-22T05:10:02Z"},
        "reportingComponent": component, "reportingInstance": "" if component == "default-scheduler"
        else "ip-10-0-21-87.us-east-2.compute.internal",
        "source": {"component": component} if component == "default-scheduler"
        else {"component": component, "host": "ip-10-0-21-87.us-east-2.compute.internal"},
    }


def not_ready(pod: Obj, phase: str = "Running") -> None:
    st = pod["status"]
    st["phase"] = phase
    for c in st["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c.update(status="False", reason="ContainersNotReady",
                     message="containers with unready status: [vllm]")


def set_vllm_state(pod: Obj, state: Obj, restarts: int = 0, last: Obj | None = None) -> None:
    cs = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "vllm")
    cs.update(state=state, ready=False, started=False, restartCount=restarts, lastState=last or {})


def results(sc: Scenario, check_id: str):  # noqa: ANN201
    return sc.run(check_id)[check_id]


# ---- model-servers.pods ----------------------------------------------------------------------


@pytest.mark.parametrize("example", ["healthy", SEED])
def test_pods_pass_three_of_three_decode_ready(example: str) -> None:
    r = results(Scenario.example(example), "model-servers.pods")
    assert (r.id, r.status, r.objects) == ("model-servers.pods", Status.PASS, [DECODE])
    assert r.message.startswith("3/3 decode pods Ready")


def test_pods_fail_hf_token_secret_missing_createcontainerconfigerror() -> None:
    """failure case hf-token-secret-missing-createcontainerconfigerror"""
    sc = Scenario.example("healthy")
    sc.remove("Secret", "llm-d-hf-token", NS)
    for p in decode_pods(sc):
        not_ready(p, phase="Pending")
        set_vllm_state(p, {"waiting": {"reason": "CreateContainerConfigError",
                                       "message": 'secret "llm-d-hf-token" not found'}})
        sc.add(event(p["metadata"]["name"], "Failed", 'Error: secret "llm-d-hf-token" not found', count=14,
                     field="spec.containers{vllm}"))
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.FAIL, [DECODE])
    assert "0/3 decode pods Ready" in r.message and "CreateContainerConfigError" in r.message
    assert 'secret "llm-d-hf-token" not found' in r.message
    assert "Secret/llm-d/llm-d-hf-token does not exist" in r.evidence
    assert any('Warning Failed: Error: secret "llm-d-hf-token" not found (×14)' in e for e in r.evidence)
    assert "kubectl create secret generic llm-d-hf-token -n llm-d --from-literal=HF_TOKEN=" in r.remediation
    assert set(r.lost_capabilities) == {GPU_INFERENCE, OPENAI_API}


def _sim_on_cpu_cluster(sc: Scenario) -> None:
    """failure case sim-pods-pending-insufficient-nvidia-gpu: the simulator preset still asks for a GPU
    on a cluster whose nodes advertise none."""
    for p in decode_pods(sc) + [sc.find("Deployment.apps", "ms-llm-d-modelservice-decode", NS)]:
        spec = p["spec"] if p["kind"] == "Pod" else p["spec"]["template"]["spec"]
        vllm = spec["containers"][0]
        vllm.update(image="ghcr.io/llm-d/llm-d-inference-sim:v0.1.2", command=None,
                    args=["--model", "meta-llama/Llama-3.2-3B-Instruct", "--port", "8200"])
        vllm.pop("command")
    for n in sc.all("Node"):
        for key in ("allocatable", "capacity"):
            n["status"][key].pop("nvidia.com/gpu", None)
    msg = ("0/5 nodes are available: 5 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: "
           "5 No preemption victims found for incoming pod.")
    for p in decode_pods(sc):
        not_ready(p, phase="Pending")
        p["spec"].pop("nodeName")
        p["status"] = {"phase": "Pending", "qosClass": "Burstable", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg,
            "lastProbeTime": None, "lastTransitionTime": "2025-08-22T05:10:02Z"}]}
        sc.add(event(p["metadata"]["name"], "FailedScheduling", msg, component="default-scheduler", count=31))


def test_pods_fail_sim_pods_pending_insufficient_gpu() -> None:
    sc = Scenario.example("healthy")
    _sim_on_cpu_cluster(sc)
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.FAIL, [DECODE])
    assert "Pending, Unschedulable" in r.message and "Insufficient nvidia.com/gpu" in r.message
    assert any("Warning FailedScheduling: 0/5 nodes are available" in e for e in r.evidence)
    assert "simulator needs no GPU" in r.remediation


def test_pods_fail_routing_proxy_plain_init_container_blocks_vllm() -> None:
    """failure case decode-pod-stuck-routing-proxy-init-container"""
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        p["spec"]["initContainers"][0].pop("restartPolicy")
        not_ready(p, phase="Pending")
        for c in p["status"]["conditions"]:
            if c["type"] == "Initialized":
                c.update(status="False", reason="ContainersNotInitialized",
                         message="containers with incomplete status: [routing-proxy]")
        p["status"]["initContainerStatuses"][0].update(ready=False)
        set_vllm_state(p, {"waiting": {"reason": "PodInitializing"}})
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.FAIL, [DECODE])
    assert "Init:0/1" in r.message and "routing-proxy" in r.message and "restartPolicy: Always" in r.message
    assert "restartPolicy: Always" in r.remediation


def test_pods_warn_one_pod_image_pull_backoff() -> None:
    sc = Scenario.example("healthy")
    p = decode_pods(sc)[0]
    name = p["metadata"]["name"]
    not_ready(p, phase="Pending")
    set_vllm_state(p, {"waiting": {"reason": "ImagePullBackOff",
                                   "message": 'Back-off pulling image "ghcr.io/llm-d/llm-d:v0.2.0"'}})
    sc.add(event(name, "Failed", 'Failed to pull image "ghcr.io/llm-d/llm-d:v0.2.0": rpc error: code = Unknown '
                 "desc = unable to retrieve auth token: invalid username/password: unauthorized", field="spec.containers{vllm}"),
           event(name, "Failed", "Error: ImagePullBackOff", count=9, field="spec.containers{vllm}"))
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.WARN, [DECODE])
    assert "2/3 decode pods Ready" in r.message and "ImagePullBackOff" in r.message
    assert any("unauthorized" in e for e in r.evidence)
    assert r.lost_capabilities == []


def test_pods_fail_all_crashlooping_with_last_exit() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        not_ready(p)
        set_vllm_state(p, {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed "
                                       f"container=vllm pod={p['metadata']['name']}_llm-d(729d5877)"}}, restarts=12,
                       last={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2025-08-22T05:30:00Z",
                                            "finishedAt": "2025-08-22T05:31:10Z"}})
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.FAIL, [DECODE])
    assert "vllm crash-loops (CrashLoopBackOff, 12 restarts, last exit 1)" in r.message
    assert "model-servers.logs" in r.remediation


def test_pods_warn_sidecar_forwards_to_wrong_vllm_port() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        p["spec"]["initContainers"][0]["args"][1] = "--vllm-port=8001"
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.WARN, [DECODE])
    assert "forwards to port 8001 while vLLM listens on 8200" in r.message


def test_pods_fail_when_the_pool_has_no_model_servers() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        sc.remove("Pod", p["metadata"]["name"], NS)
    sc.remove("Deployment.apps", "ms-llm-d-modelservice-decode", NS)
    r = results(sc, "model-servers.pods")
    assert r.status == Status.FAIL
    assert "no model-server pods" in r.message and "InferencePool/llm-d/ms-llm-d" in r.message


def test_pods_fail_deployment_with_no_pods_names_replicaset_events() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        sc.remove("Pod", p["metadata"]["name"], NS)
    dep = sc.find("Deployment.apps", "ms-llm-d-modelservice-decode", NS)
    dep["status"] = {"observedGeneration": 1, "replicas": 0, "unavailableReplicas": 3}
    sc.add(event("ms-llm-d-modelservice-decode-7d4f9c8b6", "FailedCreate",
                 'Error creating: pods "ms-llm-d-modelservice-decode-7d4f9c8b6-x" is forbidden: exceeded quota: '
                 "gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=0, limited: "
                 "requests.nvidia.com/gpu=0", kind="ReplicaSet", component="replicaset-controller", count=17))
    r = results(sc, "model-servers.pods")
    assert (r.status, r.objects) == (Status.FAIL, [DECODE])
    assert "0/3 decode pods Ready" in r.message and "no pods were created" in r.message
    assert any("exceeded quota" in e for e in r.evidence)


def test_pods_skip_when_nothing_indicates_llm_d() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc) + [sc.find_prefix("Pod", "ms-llm-d-epp-")]:
        sc.remove("Pod", p["metadata"]["name"], NS)
    for d in ("ms-llm-d-modelservice-decode", "ms-llm-d-epp"):
        sc.remove("Deployment.apps", d, NS)
    sc.remove("InferencePool.inference.networking.x-k8s.io")
    r = results(sc, "model-servers.pods")
    assert r.status == Status.SKIP and "nothing indicates llm-d is deployed" in r.message


# ---- model-servers.gpu -----------------------------------------------------------------------


@pytest.mark.parametrize("example", ["healthy", SEED])
def test_gpu_pass_lists_pods_nodes_and_product(example: str) -> None:
    r = results(Scenario.example(example), "model-servers.gpu")
    assert (r.id, r.status) == ("model-servers.gpu", Status.PASS)
    assert r.message.startswith("3 pods × 1 nvidia.com/gpu on 3 nodes (NVIDIA-A10G)")
    assert "3 nvidia.com/gpu allocatable on 3 schedulable nodes" in r.message


def test_gpu_fail_sim_requests_gpu_on_cluster_without_gpus() -> None:
    sc = Scenario.example("healthy")
    _sim_on_cpu_cluster(sc)
    r = results(sc, "model-servers.gpu")
    assert r.status == Status.FAIL
    assert r.objects[0].startswith("Pod/llm-d/ms-llm-d-modelservice-decode-")
    assert "3 pods × 1 nvidia.com/gpu requested (the simulator needs none)" in r.message
    assert "no node has allocatable nvidia.com/gpu" in r.message
    assert "Remove the GPU requests from the simulator pods" in r.remediation
    assert r.lost_capabilities == [GPU_INFERENCE]
    sims = [f for f in r.findings if f.status == Status.WARN]
    assert len(sims) == 3 and all("simulator needs no GPU" in f.message for f in sims)


def test_gpu_warn_simulator_requesting_a_gpu_on_a_gpu_cluster() -> None:
    sc = Scenario.example("healthy")
    p = decode_pods(sc)[0]
    p["spec"]["containers"][0]["image"] = "ghcr.io/llm-d/llm-d-inference-sim:v0.3.0"
    r = results(sc, "model-servers.gpu")
    assert (r.status, r.objects) == (Status.WARN, [f"Pod/llm-d/{p['metadata']['name']}"])
    assert "llm-d inference simulator" in r.message and "requests 1 nvidia.com/gpu" in r.message


def test_gpu_fail_nodes_cordoned_or_tainted() -> None:
    sc = Scenario.example("healthy")
    gpu_nodes = [n for n in sc.all("Node") if n["status"]["allocatable"].get("nvidia.com/gpu")]
    gpu_nodes[0]["spec"]["unschedulable"] = True
    for n in gpu_nodes[1:]:
        n["spec"]["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    r = results(sc, "model-servers.gpu")
    assert r.status == Status.FAIL
    assert "3 of 3 GPU pods fit no node" in r.message
    assert any("cordoned" in e for e in r.evidence)
    assert any("taint nvidia.com/gpu=present:NoSchedule not tolerated" in e for e in r.evidence)


def test_gpu_pass_when_pods_tolerate_the_gpu_taint() -> None:
    sc = Scenario.example("healthy")
    for n in sc.all("Node"):
        if n["status"]["allocatable"].get("nvidia.com/gpu"):
            n["spec"]["taints"] = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    for p in decode_pods(sc):
        p["spec"]["tolerations"].append({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    assert results(sc, "model-servers.gpu").status == Status.PASS


def test_gpu_warn_more_gpus_requested_than_offered() -> None:
    sc = Scenario.example("healthy")
    extra = copy.deepcopy(decode_pods(sc)[0])
    extra["metadata"]["name"] = "ms-llm-d-modelservice-decode-7d4f9c8b6-zz9qx"
    extra["spec"].pop("nodeName")
    sc.add(extra)
    r = results(sc, "model-servers.gpu")
    assert r.status == Status.WARN
    assert "4 pods × 1 nvidia.com/gpu = 4 nvidia.com/gpu requested" in r.message and "offer 3" in r.message


def test_gpu_fail_node_selector_matches_no_gpu_node() -> None:
    sc = Scenario.example("healthy")
    for p in decode_pods(sc):
        p["spec"]["nodeSelector"] = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    r = results(sc, "model-servers.gpu")
    assert r.status == Status.FAIL
    assert any("nodeSelector nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3 does not match" in e for e in r.evidence)


def test_gpu_skip_when_nodes_were_not_collected() -> None:
    sc = Scenario.example("healthy")
    sc.remove("Node")
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != "Node"])
    r = results(sc, "model-servers.gpu")
    assert r.status == Status.SKIP and "bundle holds no Node objects" in r.message


# ---- model-servers.logs ----------------------------------------------------------------------


def crashloop(sc: Scenario, log: str, container: str = "vllm", pod_index: int = 0) -> tuple[Scenario, str]:
    """One decode pod crash-looping, its previous log set; returns the pod ref."""
    p = decode_pods(sc)[pod_index]
    not_ready(p)
    set_vllm_state(p, {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=6,
                   last={"terminated": {"exitCode": 1, "reason": "Error"}})
    sc.set_log(NS, p["metadata"]["name"], container, log, previous=True)
    return sc, f"Pod/llm-d/{p['metadata']['name']}"


FREE_MEMORY = (
    "INFO 08-11 13:55:51 [__init__.py:244] Automatically detected platform cuda.\n"
    "(EngineCore pid=3310) ERROR 08-11 13:56:14 [v1/engine/core.py:1195] EngineCore failed to start.\n"
    "(EngineCore pid=3310) ERROR 08-11 13:56:14 [v1/engine/core.py:1195] ValueError: Free memory on device cuda:0 "
    "(0.41/79.18 GiB) on startup is less than desired GPU memory utilization (0.85, 67.3 GiB). Decrease GPU memory "
    "utilization or reduce GPU memory used by other processes.\n"
)
CUDA_OOM = (
    "INFO 08-21 15:04:21 [gpu_model_runner.py:1892] Model loading took 6.0160 GiB and 64.113628 seconds\n"
    "ERROR 08-21 15:04:22 [core.py:586] EngineCore failed to start.\n"
    "ERROR 08-21 15:04:22 [core.py:586] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. "
    "GPU 0 has a total capacity of 22.05 GiB of which 1.09 GiB is free. Including non-PyTorch memory, this "
    "process has 20.95 GiB memory in use.\n"
)
GATED = (
    "INFO 08-21 15:03:03 [api_server.py:1755] vLLM API server version 0.10.0\n"
    "huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-68a73c1f-4f1d2e8b6a0c9d1e2f3a4b5c)\n"
    "\n"
    "Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/resolve/main/config.json.\n"
    "Access to model meta-llama/Llama-3.2-3B-Instruct is restricted. You must have access to it and be "
    "authenticated to access it. Please log in.\n"
)
NO_GPU = (
    "INFO 08-21 15:02:59 [__init__.py:235] Automatically detected platform cuda.\n"
    "ERROR 08-21 15:03:10 [core.py:586]     torch.cuda.set_device(self.device)\n"
    "ERROR 08-21 15:03:10 [core.py:586] RuntimeError: No CUDA GPUs are available\n"
)
SIM_FLAGS = ('I0822 05:11:02.101521       1 main.go:48] "failed to read configuration" err="unknown flag: '
             '--enforce-eager"\n')
SIDECAR_REFUSED = (
    'I0822 05:20:01.101010       1 main.go:77] "p/d connector validated" connector="nixlv2"\n'
    'I0822 05:20:01.101515       1 proxy.go:165] "starting" logger="proxy server" addr="[::]:8000"\n'
    'E0822 05:21:14.512310       1 proxy.go:233] "waiting for vLLM to be ready" err="dial tcp [::1]:8200: connect: '
    'connection refused" logger="proxy server"\n'
)


@pytest.mark.parametrize(("log", "words"), [
    (FREE_MEMORY, "only 0.41 of 79.18 GiB are free on cuda:0, less than --gpu-memory-utilization 0.85"),
    (CUDA_OOM, "ran out of GPU memory (CUDA OOM)"),
    (GATED, "could not download a gated model from Hugging Face (401)"),
    (NO_GPU, "vLLM sees no GPU"),
    (SIM_FLAGS, "refused flag --enforce-eager"),
])
def test_logs_fail_names_the_vllm_signature(log: str, words: str) -> None:
    """failure case vllm-startup-free-gpu-memory-below-utilization and the other vLLM start-up killers"""
    sc, ref = crashloop(Scenario.example("healthy"), log)
    r = results(sc, "model-servers.logs")
    assert (r.status, r.objects) == (Status.FAIL, [ref])
    assert words in r.message
    assert any(f"previous log of {ref} container vllm" in e for e in r.evidence)
    assert r.lost_capabilities == []  # the two other decode pods still serve


def test_logs_fail_takes_inference_away_when_no_pod_serves() -> None:
    sc = Scenario.example("healthy")
    for i in range(3):
        crashloop(sc, FREE_MEMORY, pod_index=i)
    r = results(sc, "model-servers.logs")
    assert r.status == Status.FAIL and len(r.objects) == 3
    assert "--gpu-memory-utilization" in r.remediation
    assert set(r.lost_capabilities) == {GPU_INFERENCE, OPENAI_API}


def test_logs_warn_sidecar_connection_refused_names_the_ports() -> None:
    sc = Scenario.example("healthy")
    p = decode_pods(sc)[0]
    not_ready(p)
    set_vllm_state(p, {"running": {"startedAt": "2025-08-22T05:20:00Z"}})
    sc.set_log(NS, p["metadata"]["name"], "routing-proxy", SIDECAR_REFUSED)
    sc.set_log(NS, p["metadata"]["name"], "vllm", "INFO 08-22 05:20:03 [api_server.py:1755] vLLM API server "
               "version 0.10.0\nINFO 08-22 05:20:16 [gpu_model_runner.py:1843] Starting to load model "
               "meta-llama/Llama-3.2-3B-Instruct...\n")
    r = results(sc, "model-servers.logs")
    ref = f"Pod/llm-d/{p['metadata']['name']}"
    assert (r.status, r.objects) == (Status.WARN, [ref])
    warns = [f for f in r.findings if f.status == Status.WARN]
    assert any("cannot reach vLLM on port 8200" in f.message for f in warns)
    assert any("still loading the model" in f.message for f in warns)
    assert "routing-proxy --vllm-port=8200; vLLM --port 8200" in r.evidence


def test_logs_healthy_pods_read_the_same_live_and_from_a_bundle() -> None:
    with_log = results(Scenario.example("healthy"), "model-servers.logs")
    sc = Scenario.example("healthy")
    sc.drop_logs()
    without = results(sc, "model-servers.logs")
    assert with_log.status == without.status == Status.PASS
    assert with_log.message == without.message == "3 model-server pods are Ready with no restarts; no crash to explain"


def test_logs_skip_unhealthy_pod_whose_log_was_not_captured() -> None:
    sc = Scenario.example("healthy")
    sc.drop_logs()
    p = decode_pods(sc)[1]
    not_ready(p)
    set_vllm_state(p, {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3,
                   last={"terminated": {"exitCode": 1, "reason": "Error"}})  # (an OOMKill is named from the state)
    r = results(sc, "model-servers.logs")
    skip = [f for f in r.findings if f.status == Status.SKIP]
    # The two healthy pods pass; this one cannot be explained without its log: not a pass.
    assert r.status == Status.SKIP and len(skip) == 1 and "(1 other finding passed)" in r.message
    assert "were not captured" in skip[0].message


def test_logs_warn_unhealthy_pod_with_an_unknown_log() -> None:
    sc, ref = crashloop(Scenario.example("healthy"), "INFO 08-22 05:20:03 [api_server.py:1755] starting\n"
                        "ERROR 08-22 05:20:09 [core.py:586] KeyError: 'rope_scaling'\n")
    r = results(sc, "model-servers.logs")
    assert (r.status, r.objects) == (Status.WARN, [ref])
    assert "KeyError: 'rope_scaling' (not a known signature)" in r.message
    assert "ERROR 08-22 05:20:09 [core.py:586] KeyError: 'rope_scaling'" in r.evidence


def test_logs_skip_pod_whose_containers_never_started() -> None:
    sc = Scenario.example("healthy")
    p = decode_pods(sc)[2]
    not_ready(p, phase="Pending")
    set_vllm_state(p, {"waiting": {"reason": "CreateContainerConfigError",
                                   "message": 'secret "llm-d-hf-token" not found'}})
    p["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "PodInitializing"}}
    r = results(sc, "model-servers.logs")
    skip = [f for f in r.findings if f.status == Status.SKIP]
    assert len(skip) == 1 and "has not started its containers" in skip[0].message


def test_log_requests_only_for_unhealthy_pods_previous_when_restarted() -> None:
    spec = next(s for s in load_specs(plugins=False) if s.id == "model-servers.logs")
    assert spec.logs is not None
    assert list(spec.logs(Scenario.example(SEED).snapshot())) == []  # 3 healthy decode pods: nothing to read
    sc, ref = crashloop(Scenario.example("healthy"), CUDA_OOM)
    reqs = {(r.pod, r.container, r.previous) for r in spec.logs(sc.snapshot())}
    pod = ref.rsplit("/", 1)[1]
    # A crash-looping container's current log is its last run; the previous one the run before.
    assert reqs == {(pod, "vllm", True), (pod, "vllm", False), (pod, "routing-proxy", False)}


def test_vllm_signatures_carry_sources_and_compile() -> None:
    from llmd_doctor import knowledge

    for comp in ("vllm", "routing-sidecar"):
        sigs = knowledge.signatures(comp)
        assert sigs, comp
        assert all(s.sources and s.fix and s.cause for s in sigs)
    healthy_log = (Scenario.example("healthy").data.logs)
    for req, text in healthy_log.items():
        if req.container == "vllm":
            assert knowledge.match_log("vllm", text) == []  # a normal start matches nothing
