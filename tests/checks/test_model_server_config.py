"""model-servers.config on mutations of the bundled examples and of real cases (tests/cases): readiness
against the pool's port, parallelism against GPUs, P/D agreement, Pending pods against nodes, and GPUs
against the images' builds — a pass and a fail per rule."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from cases.build import CASES, load_case
from llmd_doctor.checks._lib.scheduling import placement
from llmd_doctor.checks.model_servers import _pd, _spec
from scenario import Scenario

from llmd_doctor import gpu_facts, vllm_facts
from llmd_doctor.model import GPU_INFERENCE, OPENAI_API, PD_DISAGGREGATION, CheckResult, Status

ID = "model-servers.config"
NS = "llm-d"
V02_DECODE = "ms-llm-d-modelservice-decode"  # healthy: vLLM 8200 behind the routing sidecar on 8000
V04_DECODE = "ms-inference-scheduling-llm-d-modelservice-decode"  # healthy-v0.4: vLLM on 8000, no sidecar
V04_PREFILL = "ms-inference-scheduling-llm-d-modelservice-prefill"
Obj = dict[str, Any]


@cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


@cache
def _case(name: str) -> Scenario:
    return load_case(CASES / f"{name}.yaml")[0]


def example(name: str) -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def case(name: str) -> Scenario:
    return Scenario(copy.deepcopy(_case(name).data))


def run(sc: Scenario) -> CheckResult:
    return sc.run(ID)[ID]


def holders(sc: Scenario, deployment: str) -> Iterator[Obj]:
    """The Deployment's pod template, its ReplicaSets' templates and its pods: changed alike."""
    dep = sc.find("Deployment.apps", deployment, NS)
    yield dep["spec"]["template"]
    for rs in sc.all("ReplicaSet.apps"):
        if any(r.get("name") == deployment for r in rs["metadata"].get("ownerReferences") or []):
            yield rs["spec"]["template"]
    yield from (p for p in sc.all("Pod") if p["metadata"]["name"].startswith(deployment + "-"))


def change(sc: Scenario, deployment: str, fn: Callable[[Obj], None]) -> Scenario:
    for h in holders(sc, deployment):
        fn(h["spec"])
    return sc


def container(spec: Obj, name: str) -> Obj:
    return next(c for c in spec.get("containers", []) + spec.get("initContainers", []) if c["name"] == name)


def args(name: str, *new: str, gpus: int | None = None, image: str | None = None) -> Callable[[Obj], None]:
    def fn(spec: Obj) -> None:
        c = container(spec, name)
        c["args"] = list(new)
        if gpus is not None:
            c["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}, "requests": {"nvidia.com/gpu": str(gpus)}}
        if image:
            c["image"] = image
    return fn


def messages(r: CheckResult, status: Status) -> str:
    return " | ".join(f.message for f in r.findings if f.status == status)


# ---- the healthy examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["healthy", "healthy-v0.4-istio-1.28", "healthy-gke", "healthy-agentgateway",
                                  "healthy-envoy-ai-gateway", "healthy-kgateway"])
def test_healthy_examples_pass(name: str) -> None:
    r = run(example(name))
    assert r.status == Status.PASS, r.message
    assert "no contradiction" in r.message


def test_decode_pods_without_probes_say_what_it_costs() -> None:
    """The llm-d v0.2 quickstart's values set no probe on the decode pods (the example adds them): a real
    risk, reported (not hidden)."""
    sc = example("healthy-kgateway")
    for o in sc.data.objects:
        if o.get("kind") in ("Deployment", "ReplicaSet", "Pod"):
            spec = o["spec"] if o["kind"] == "Pod" else o["spec"]["template"]["spec"]
            for c in spec.get("containers") or []:
                if c.get("name") == "vllm":
                    c.pop("readinessProbe", None)
                    c.pop("startupProbe", None)
    r = run(sc)
    assert r.status == Status.WARN
    assert "no readiness or startup probe" in r.message and "fail" in r.message
    assert r.lost_capabilities == []


def without(sc: Scenario, key: str) -> Scenario:
    """The bundle as collected without that kind (not read: never mistaken for none)."""
    sc.remove(key)
    sc.set_kinds([k for k in sc.data.manifest["kinds"] if k != key])
    return sc


def test_unread_nodes_and_configmaps_are_said_not_passed() -> None:
    r = run(without(example("healthy"), "Node"))
    assert r.status == Status.SKIP
    assert "Pending pods against node labels and taints, and GPUs against the images, could not be checked" in r.message
    r = run(without(example("healthy"), "ConfigMap"))  # the decode runs NixlConnector: is P/D configured?
    assert r.status == Status.SKIP and "whether its endpoint picker runs P/D could not be checked" in r.message


# ---- 1. readiness against the pool's port -----------------------------------------------------------------


def test_probe_behind_the_routing_sidecar_passes() -> None:
    r = run(example("healthy"))
    assert any("readinessProbe of vllm checks port 8200 (the pool sends to 8000)" in e for e in r.evidence)


def test_no_probe_on_a_pool_member_warns() -> None:
    def drop(spec: Obj) -> None:
        for key in ("readinessProbe", "startupProbe", "livenessProbe"):
            container(spec, "vllm").pop(key, None)

    r = run(change(example("healthy-v0.4-istio-1.28"), V04_DECODE, drop))
    assert r.status == Status.WARN
    assert "no readiness or startup probe" in r.message and "port 8000" in r.message


def test_the_inference_simulator_needs_no_probe() -> None:
    def simulator(spec: Obj) -> None:
        c = container(spec, "vllm")
        for key in ("readinessProbe", "startupProbe", "livenessProbe"):
            c.pop(key, None)
        c.update(image="ghcr.io/llm-d/llm-d-inference-sim:v0.4.0", command=None,
                 args=["--model", "Qwen/Qwen3-0.6B", "--port", "8000"])

    r = run(change(example("healthy-v0.4-istio-1.28"), V04_DECODE, simulator))
    assert r.status == Status.PASS, r.message
    assert any("the inference simulator, ready when it starts" in e for e in r.evidence)


def test_probe_on_the_sidecar_while_the_pool_targets_vllm_warns() -> None:
    sc = example("healthy")
    sc.patch("InferencePool.inference.networking.x-k8s.io", "ms-llm-d", {"spec": {"targetPortNumber": 8200}}, NS)

    def probe_sidecar(spec: Obj) -> None:
        for key in ("readinessProbe", "startupProbe"):
            container(spec, "vllm").pop(key, None)
        container(spec, "routing-proxy")["readinessProbe"] = {"tcpSocket": {"port": 8000}, "periodSeconds": 5}

    r = run(change(sc, V02_DECODE, probe_sidecar))
    assert r.status == Status.WARN, r.message
    assert "checks port 8000 while InferencePool/llm-d/ms-llm-d targets 8200" in r.message
    assert "routing sidecar (routing-proxy) listens on 8000 at once" in r.message


def test_probe_on_another_port_warns() -> None:
    r = run(case("generic-readiness-probe-not-on-pool-port"))
    assert r.status == Status.WARN
    assert "readiness probe checks port 8200 while InferencePool/llm-d/gaie-inference-scheduling targets 8000" in r.message


def test_exec_probe_on_the_pool_port_passes() -> None:
    def exec_probe(spec: Obj) -> None:
        c = container(spec, "vllm")
        c.pop("startupProbe", None)
        c["readinessProbe"] = {"exec": {"command": ["curl", "-sf", "http://localhost:8000/health"]}}

    r = run(change(example("healthy-v0.4-istio-1.28"), V04_DECODE, exec_probe))
    assert r.status == Status.PASS, r.message
    assert any("checks port 8000" in e for e in r.evidence)


# ---- 2. parallelism against the container's GPUs ----------------------------------------------------------


def test_tensor_parallel_larger_than_gpus_fails_with_the_serving_capabilities() -> None:
    sc = change(example("healthy-v0.4-istio-1.28"), V04_DECODE,
                args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "--tensor-parallel-size", "4", gpus=2))
    r = run(sc)
    assert r.status == Status.FAIL
    assert "--tensor-parallel-size 4 × --pipeline-parallel-size 1 = 4 GPUs per pod" in r.message
    assert "2 nvidia.com/gpu" in r.message and "vLLM exits" in r.message
    assert set(r.lost_capabilities) == {GPU_INFERENCE, OPENAI_API}


def test_parallelism_that_fits_passes() -> None:
    sc = change(example("healthy-v0.4-istio-1.28"), V04_DECODE,
                args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "-tp", "2", "--pipeline_parallel_size=2", gpus=4))
    r = run(sc)
    assert r.status == Status.PASS, r.message
    assert any("--tensor-parallel-size 2 × --pipeline-parallel-size 2 = 4 GPU(s) on 4 nvidia.com/gpu" in e
               for e in r.evidence)


def test_local_data_parallel_engines_multiply_the_gpus() -> None:
    sc = change(example("healthy-v0.4-istio-1.28"), V04_DECODE,
                args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "--data-parallel-size", "2", gpus=1))
    r = run(sc)
    assert r.status == Status.FAIL
    assert "2 local data-parallel engines = 2 GPUs per pod" in r.message


def test_an_engine_spanning_pods_or_a_value_from_a_secret_is_not_compared() -> None:
    multi = change(example("healthy-v0.4-istio-1.28"), V04_DECODE,
                   args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "-tp", "8", "-pp", "2", "--nnodes", "2", gpus=8))
    r = run(multi)
    assert r.status == Status.PASS and any("spans several pods (--nnodes given)" in e for e in r.evidence)

    def from_secret(spec: Obj) -> None:
        args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "--tensor-parallel-size", "$(TP)")(spec)
        container(spec, "vllm")["env"] = [{"name": "TP", "valueFrom": {"secretKeyRef": {"name": "s", "key": "tp"}}}]

    r = run(change(example("healthy-v0.4-istio-1.28"), V04_DECODE, from_secret))
    assert r.status == Status.PASS and any("$(TP) is not resolved from the spec" in e for e in r.evidence)


def test_a_value_from_a_literal_env_var_in_a_shell_script_is_read() -> None:
    def script(spec: Obj) -> None:
        c = container(spec, "vllm")
        c["command"] = ["/bin/sh", "-c"]
        c["args"] = ["exec vllm serve Qwen/Qwen3-0.6B --port 8000 --tensor-parallel-size ${TP}"]
        c["env"] = [{"name": "TP", "value": "2"}]

    r = run(change(example("healthy-v0.4-istio-1.28"), V04_DECODE, script))
    assert r.status == Status.FAIL and "--tensor-parallel-size 2" in r.message


# ---- 3. P/D: prefill and decode of one pool agree ---------------------------------------------------------


def pd(prefill_args: list[str] | None = None, decode_args: list[str] | None = None, *, prefill_gpus: int = 4,
       decode_gpus: int = 1, decode_image: str | None = None) -> Scenario:
    """The P/D case (prefill TP 4 on 4 GPUs, decode TP 1 behind the sidecar, pd-profile-handler), changed."""
    sc = case("pd-prefill-tp-larger-than-decode-tp")
    if prefill_args is not None:
        change(sc, V04_PREFILL, args("vllm", *prefill_args, gpus=prefill_gpus))
    if decode_args is not None:
        change(sc, V04_DECODE, args("vllm", *decode_args, gpus=decode_gpus, image=decode_image))
    return sc


NIXL = '{"kv_connector":"NixlConnector", "kv_role":"kv_both"}'
P = ["Qwen/Qwen3-0.6B", "--port", "8000", "--served-model-name", "Qwen/Qwen3-0.6B"]
D = ["Qwen/Qwen3-0.6B", "--port", "8200", "--served-model-name", "Qwen/Qwen3-0.6B"]


def test_prefill_tp_larger_than_decode_tp_on_vllm_0_11_fails() -> None:
    r = run(pd())
    assert r.status == Status.FAIL
    assert "prefill tensor parallel size (--tensor-parallel-size 4) is larger than decode's (1)" in r.message
    assert "vLLM 0.11.2 does not support" in r.message and "ZeroDivisionError" in r.message
    assert set(r.lost_capabilities) == {GPU_INFERENCE, OPENAI_API}


def test_prefill_tp_larger_on_a_release_not_known_to_support_it_warns() -> None:
    r = run(pd(decode_args=[*D, "-tp", "1", "--kv-transfer-config", NIXL],
               decode_image="ghcr.io/llm-d/llm-d-cuda:v0.8.0"))
    assert r.status == Status.WARN
    assert "vLLM PR 27274" in messages(r, Status.WARN)


def test_decode_tp_a_multiple_of_prefill_tp_passes() -> None:
    r = run(pd(prefill_args=[*P, "-tp", "1", "--kv-transfer-config", NIXL], prefill_gpus=1,
               decode_args=[*D, "-tp", "4", "--kv-transfer-config", NIXL], decode_gpus=4))
    assert r.status == Status.PASS, r.message
    assert any("P/D with 1 prefill and 1 decode group(s)" in e and "pd-profile-handler" in e for e in r.evidence)


def test_decode_tp_not_a_multiple_of_prefill_tp_warns() -> None:
    r = run(pd(prefill_args=[*P, "-tp", "2", "--kv-transfer-config", NIXL], prefill_gpus=2,
               decode_args=[*D, "-tp", "3", "--kv-transfer-config", NIXL], decode_gpus=3))
    assert r.status == Status.WARN and "not a multiple of prefill's 2" in r.message
    assert r.lost_capabilities == [PD_DISAGGREGATION]


def test_prefill_without_a_kv_connector_warns() -> None:
    r = run(pd(prefill_args=[*P, "-tp", "1"], prefill_gpus=1, decode_args=[*D, "--kv-transfer-config", NIXL]))
    assert r.status == Status.WARN
    assert "share no KV connector" in r.message and "no --kv-transfer-config" in r.message


def test_multiconnector_wrapping_nixl_still_shares_the_connector() -> None:
    multi = ('{"kv_connector":"MultiConnector","kv_role":"kv_both","kv_connector_extra_config":{"connectors":'
             '[{"kv_connector":"NixlConnector","kv_role":"kv_both"},{"kv_connector":"OffloadingConnector","kv_role":"kv_both"}]}}')
    r = run(pd(prefill_args=[*P, "--kv-transfer-config", NIXL], prefill_gpus=1,
               decode_args=[*D, "--kv-transfer-config", multi]))
    assert r.status == Status.PASS, r.message


def test_different_models_block_sizes_and_kv_dtypes_warn() -> None:
    r = run(pd(prefill_args=["Qwen/Qwen3-8B", "--port", "8000", "--kv-transfer-config", NIXL, "--block-size", "64",
                             "--kv-cache-dtype", "fp8"], prefill_gpus=1,
               decode_args=[*D, "--kv-transfer-config", NIXL, "--block-size", "128"]))
    text = messages(r, Status.WARN)
    assert r.status == Status.WARN
    assert "prefill (Deployment/llm-d/ms-inference-scheduling-llm-d-modelservice-prefill) serves Qwen/Qwen3-8B" in text
    assert "prefill --block-size 64 differs from decode's 128" in text
    assert "prefill --kv-cache-dtype fp8 differs from decode's auto" in text


def test_an_invalid_kv_role_fails() -> None:
    r = run(pd(prefill_args=[*P, "--kv-transfer-config", '{"kv_connector":"NixlConnector","kv_role":"producer"}'],
               prefill_gpus=1, decode_args=[*D, "--kv-transfer-config", NIXL]))
    assert r.status == Status.FAIL
    assert "kv_role producer is none of kv_producer, kv_consumer, kv_both" in r.message


def test_sidecar_protocol_vllm_does_not_speak_warns() -> None:
    sc = pd(prefill_args=[*P, "--kv-transfer-config", NIXL], prefill_gpus=1,
            decode_args=[*D, "--kv-transfer-config", NIXL])
    change(sc, V04_DECODE, lambda spec: container(spec, "routing-proxy").update(
        args=["--port=8000", "--vllm-port=8200", "--connector=sglang"]))
    r = run(sc)
    assert r.status == Status.WARN and "the routing sidecar runs the sglang P/D protocol" in r.message


def test_prefill_pods_without_a_pd_handler_warn() -> None:
    sc = pd(prefill_args=[*P, "--kv-transfer-config", NIXL], prefill_gpus=1,
            decode_args=[*D, "--kv-transfer-config", NIXL])
    cm = sc.find("ConfigMap", "gaie-inference-scheduling-epp", NS)
    cm["data"]["default-plugins.yaml"] = cm["data"]["default-plugins.yaml"].replace(
        "pd-profile-handler", "single-profile-handler")
    r = run(sc)
    assert r.status == Status.WARN and "they never get prefill work" in r.message


def test_a_pd_handler_without_prefill_pods_warns() -> None:
    sc = pd(decode_args=[*D, "--kv-transfer-config", NIXL])
    for key in ("Deployment.apps", "ReplicaSet.apps", "Pod"):
        for o in list(sc.all(key)):
            if o["metadata"]["name"].startswith(V04_PREFILL):
                sc.remove(key, o["metadata"]["name"], NS)
    r = run(sc)
    assert r.status == Status.WARN
    assert "has no prefill pods: decode serves every request alone" in r.message
    assert r.lost_capabilities == [PD_DISAGGREGATION]


# ---- 4. a Pending pod against the nodes -------------------------------------------------------------------


def test_untolerated_gpu_taint_fails_and_names_the_taint() -> None:
    r = run(case("decode-pending-untolerated-gpu-taint"))
    assert r.status == Status.FAIL
    assert "0/4 nodes fit: 2 node(s) have untolerated taint nvidia.com/gpu=true:NoSchedule" in r.message
    assert "2 node(s) offer 0 allocatable nvidia.com/gpu" in r.message
    assert "spec.tolerations" in r.remediation


def test_toleration_makes_the_gpu_nodes_fit() -> None:
    sc = case("decode-pending-untolerated-gpu-taint")
    change(sc, V04_DECODE, lambda spec: spec.setdefault("tolerations", []).append(
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}))
    assert run(sc).status == Status.PASS


def test_node_selector_no_node_carries_names_the_values_nodes_have() -> None:
    sc = case("decode-pending-untolerated-gpu-taint")
    change(sc, V04_DECODE, lambda spec: spec.update(
        nodeSelector={"nvidia.com/gpu.product": "NVIDIA-H100"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]))
    for pod in sc.all("Pod"):  # no scheduler message recorded: the cause is still named
        pod["status"]["conditions"] = [c for c in pod["status"].get("conditions") or [] if c["type"] != "PodScheduled"]
    r = run(sc)
    assert r.status == Status.FAIL
    assert "4 node(s) lack label nvidia.com/gpu.product=NVIDIA-H100 (nodeSelector)" in r.message
    assert "node labels nvidia.com/gpu.product: no label on 2 nodes, NVIDIA-H100-80GB-HBM3 on 2 nodes" in r.evidence
    assert "no scheduler message recorded" in r.evidence
    assert ("nodeSelector nvidia.com/gpu.product=NVIDIA-H100 must match exactly; nodes carry "
            "NVIDIA-H100-80GB-HBM3") in r.evidence


def test_more_gpus_than_any_node_offers_fails_and_says_to_request_fewer() -> None:
    sc = case("decode-pending-untolerated-gpu-taint")

    def big(spec: Obj) -> None:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        container(spec, "vllm")["resources"] = {"limits": {"nvidia.com/gpu": "16"}, "requests": {"nvidia.com/gpu": "16"}}

    r = run(change(sc, V04_DECODE, big))
    assert r.status == Status.FAIL
    assert "2 node(s) offer 8 allocatable nvidia.com/gpu (the pod needs 16)" in r.message
    assert r.remediation.startswith("Request no more GPUs than one node offers")


def test_required_affinity_lists_the_failing_expression() -> None:
    node = example("healthy-v0.4-istio-1.28").find("Node", "ip-10-0-134-27.us-west-2.compute.internal")
    pod: Obj = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p4d.24xlarge"]}]}]}}}}}
    pl = placement(pod, [node])
    assert pl.fits == []
    assert pl.summary == ("0/1 nodes fit: 1 node(s) fail required node affinity "
                          "(node.kubernetes.io/instance-type In p4d.24xlarge)")
    assert pl.hints == ["node labels node.kubernetes.io/instance-type: p5.48xlarge on 1 node"]


# ---- 5. the node's GPU against the image's build ----------------------------------------------------------


def relabel(sc: Scenario, labels: Obj) -> Scenario:
    for n in sc.all("Node"):
        if "nvidia.com/gpu.count" in n["metadata"].get("labels", {}):
            n["metadata"]["labels"].update(labels)
    return sc


V100 = {"nvidia.com/gpu.product": "Tesla-V100-SXM2-32GB", "nvidia.com/gpu.compute.major": "7",
        "nvidia.com/gpu.compute.minor": "0", "nvidia.com/gpu.family": "volta"}
T4 = {"nvidia.com/gpu.product": "Tesla-T4", "nvidia.com/gpu.compute.major": "7", "nvidia.com/gpu.compute.minor": "5"}


def test_gpu_below_the_images_floor_fails() -> None:
    sc = relabel(example("healthy-v0.4-istio-1.28"), V100)
    change(sc, V04_DECODE, lambda spec: container(spec, "vllm").update(image="ghcr.io/llm-d/llm-d-cuda:v0.7.0"))
    r = run(sc)
    assert r.status == Status.FAIL
    assert "run on Tesla-V100-SXM2-32GB (compute capability 7.0), below what the image supports" in r.message
    assert "CUDA 13.0.2 needs compute capability 7.5" in r.message
    assert set(r.lost_capabilities) == {GPU_INFERENCE, OPENAI_API}


def test_explicit_bfloat16_on_a_turing_gpu_fails() -> None:
    sc = relabel(example("healthy-v0.4-istio-1.28"), T4)
    change(sc, V04_DECODE, args("vllm", "Qwen/Qwen3-0.6B", "--port", "8000", "--dtype", "bfloat16"))
    r = run(sc)
    assert r.status == Status.FAIL and "--dtype bfloat16 needs compute capability 8.0" in r.message


def test_no_kernels_for_the_gpu_warns_only_while_the_pods_crash() -> None:
    crashing = run(case("vllm-no-kernel-image-blackwell"))
    assert crashing.status == Status.WARN
    assert "NVIDIA-GeForce-RTX-5090 (compute capability 12.0) and crash" in messages(crashing, Status.WARN)
    running = relabel(example("healthy-gke"), {"nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-5090",
                                               "nvidia.com/gpu.compute.major": "12", "nvidia.com/gpu.compute.minor": "0",
                                               "nvidia.com/gpu.count": "1"})
    for n in running.all("Node"):
        if n["metadata"]["labels"].get("cloud.google.com/gke-accelerator"):
            n["metadata"]["labels"].update({"nvidia.com/gpu.compute.major": "12", "nvidia.com/gpu.compute.minor": "0"})
    r = run(running)  # vllm/vllm-openai:v0.8.5 on Ready pods: the pods' state settles it
    assert r.status == Status.PASS, r.message


@pytest.mark.parametrize("argv", [
    [], ["-"], ["--"], ["=x"], ["vllm", "serve"], ["vllm", "serve", "--port"], [8000, True, None, 1.5],
    ["--kv-transfer-config", "[1]"], ["--kv-transfer-config", "{not json"], ["--kv-transfer-config", "$(KV)"],
    ["--kv-transfer-config", '{"kv_connector":"MultiConnector","kv_connector_extra_config":"x"}'],
    ["--kv-transfer-config.kv_connector", "NixlConnector", "--kv-transfer-config.kv_role", "kv_both"],
    ["-tp", "-1"], ["--tensor-parallel-size", "0"], ["--config", "/etc/vllm.yaml"],
])
def test_odd_arguments_are_read_without_a_crash(argv: list[Any]) -> None:
    spec = _spec.read({"name": "vllm", "command": ["vllm", "serve", "m"], "args": argv})
    kv, why = spec.kv
    assert kv is None or isinstance(kv, dict)
    assert _pd.connectors(kv) <= {"NixlConnector", "MultiConnector"}
    n, how = spec.int_value("--tensor-parallel-size")
    assert how and (n is None or n >= 0)  # a value, or the reason there is none; never a guess
    assert ("--config" in argv) == (spec.config_file is not None)


def test_facts_read_images_and_gpus() -> None:
    assert vllm_facts.image_vllm("ghcr.io/llm-d/llm-d-cuda:v0.3.2").release == (0, 11, 0)
    assert vllm_facts.image_vllm("docker.io/vllm/vllm-openai:v0.9.0@sha256:00").release == (0, 9, 0)
    assert vllm_facts.image_vllm("vllm/vllm-openai:latest").release is None
    assert vllm_facts.facts().canonical("--tensor_parallel_size") == "--tensor-parallel-size"
    k = gpu_facts.kernels("ghcr.io/llm-d/llm-d-cuda:v0.4.0")
    assert k is not None and k.covers((9, 0)) and not k.covers((8, 0)) and k.covers((12, 0))  # 10.0+PTX JITs up
    gpu = gpu_facts.node_gpu({"metadata": {"labels": {"cloud.google.com/gke-accelerator": "nvidia-l4"}}})
    assert gpu is not None and gpu.cc == (8, 9) and gpu.model == "NVIDIA L4"
    assert [f.what for f in gpu_facts.floors("ghcr.io/llm-d/llm-d-cuda:v0.3.2")] == ["vLLM 0.11.0",
                                                                                  "PyTorch 2.8.0 (CUDA 12.9.1)"]
