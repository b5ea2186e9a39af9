"""The cause of a crash from any container (issue #13, item 1): model-servers.logs, epp.logs, model-servers.pods
and gateway.implementation, through the one logs routine (checks/_lib/logs.py) — a known signature first, else
the root error said as "not a known signature"; a crashed container never described as starting or loading."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from evidence.evidence_samples import GO_SEND_ON_CLOSED, VLLM_WORKER_NIXL_ASSERT
from evidence.knowledge_free import assert_generic
from scenario import Scenario

from llmd_doctor import knowledge
from llmd_doctor.model import Status
from llmd_doctor.registry import load_specs

Obj = dict[str, Any]
NS = "llm-d"


@cache
def _example(name: str) -> Scenario:
    return Scenario.example(name)


def example(name: str = "healthy") -> Scenario:
    return Scenario(copy.deepcopy(_example(name).data))


def pod(sc: Scenario, prefix: str) -> Obj:
    return sc.find_prefix("Pod", prefix)


def crash(p: Obj, container: str, *, code: int = 1, reason: str = "Error", restarts: int = 6,
          running: bool = False) -> None:
    """The kubelet's view of a crash-looping container (or one running again after crashing)."""
    st = p["status"]
    for c in st["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c.update(status="False", reason="ContainersNotReady", message=f"containers with unready status: [{container}]")
    cs = next(c for c in st["containerStatuses"] + st.get("initContainerStatuses", []) if c["name"] == container)
    state = {"running": {"startedAt": "2025-08-22T05:31:20Z"}} if running else {"waiting": {
        "reason": "CrashLoopBackOff", "message": f"back-off 5m0s restarting failed container={container}"}}
    cs.update(state=state, ready=False, restartCount=restarts, lastState={"terminated": {
        "exitCode": code, "reason": reason, "startedAt": "2025-08-22T05:30:00Z", "finishedAt": "2025-08-22T05:31:10Z"}})


def run(sc: Scenario, check_id: str):  # noqa: ANN201
    return sc.run(check_id)[check_id]


def warn_event(p: Obj, message: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Event", "count": 14, "type": "Warning", "reason": "Unhealthy",
            "message": message, "firstTimestamp": "2025-08-22T05:31:30Z", "lastTimestamp": "2025-08-22T05:39:41Z",
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": p["metadata"]["name"], "namespace": NS,
                               "fieldPath": "spec.containers{vllm}"},
            "metadata": {"name": f"{p['metadata']['name']}.185df1c2a0b3c4e7", "namespace": NS},
            "source": {"component": "kubelet"}}


DECODE = "ms-llm-d-modelservice-decode-"

# ---- model servers: a traceback no signature knows ---------------------------------------------------------


def test_vllm_worker_assertion_is_the_cause_generic_path() -> None:
    """vllm-project/vllm#19338: the GPU worker's assertion, not the engine core's "Worker failed" wrapper."""
    assert_generic(VLLM_WORKER_NIXL_ASSERT, "nixl_agent_meta")
    sc = example()
    p = pod(sc, DECODE)
    crash(p, "vllm")
    sc.set_log(NS, p["metadata"]["name"], "vllm", VLLM_WORKER_NIXL_ASSERT, previous=True)
    r = run(sc, "model-servers.logs")
    ref = f"Pod/{NS}/{p['metadata']['name']}"
    assert (r.status, r.objects) == (Status.WARN, [ref])
    assert ("vllm crash-loops (CrashLoopBackOff, 6 restarts, last exit 1): AssertionError "
            "(assert self.num_blocks >= nixl_agent_meta.num_blocks)") in r.message
    assert r.message.endswith("(not a known signature)")
    assert "(VllmWorker rank=3 pid=2233050)" in r.evidence
    assert any(e.endswith("nixl_connector.py:706 in add_remote_agent") for e in r.evidence)
    assert "No ready-made fix (not a known signature)" in r.remediation


def test_known_signature_still_wins_and_adds_its_fix() -> None:
    log = ("ERROR 08-21 15:04:22 [core.py:586] EngineCore failed to start.\n"
           "ERROR 08-21 15:04:22 [core.py:586] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB.\n")
    sc = example()
    p = pod(sc, DECODE)
    crash(p, "vllm")
    sc.set_log(NS, p["metadata"]["name"], "vllm", log, previous=True)
    r = run(sc, "model-servers.logs")
    assert r.status == Status.FAIL and "ran out of GPU memory (CUDA OOM)" in r.message
    assert "not a known signature" not in r.message and "--max-model-len" in r.remediation
    assert any(e.startswith("state: crash-looping (CrashLoopBackOff), 6 restarts") for e in r.evidence)


# ---- never "starting" or "loading" when the state says it crashed ----------------------------------------

LOADING = ("INFO 08-22 05:33:48 [gpu_model_runner.py:1843] Starting to load model meta-llama/Llama-3.2-3B-Instruct...\n"
           "Loading safetensors checkpoint shards:   0% Completed | 0/2 [00:00<?, ?it/s]\n")


def test_a_crashed_container_whose_log_stops_mid_load_is_not_still_loading() -> None:
    sc = example()
    p = pod(sc, DECODE)
    crash(p, "vllm", code=139, reason="Error")
    sc.set_log(NS, p["metadata"]["name"], "vllm", LOADING, previous=True)
    logs_r, pods_r = (sc.run("model-servers.*")[i] for i in ("model-servers.logs", "model-servers.pods"))
    for r in (logs_r, pods_r):
        said = " ".join([r.message, *r.evidence, r.remediation]).lower()
        assert "still loading" not in said and "probes fail" not in said, r.message
    assert "vllm crash-loops (CrashLoopBackOff, 6 restarts, last exit 139)" in logs_r.message
    assert "SIGSEGV" in logs_r.message  # the exit code's meaning: its log names no error
    assert "vllm crash-loops (CrashLoopBackOff, 6 restarts, last exit 139): killed by SIGSEGV" in pods_r.message


def test_running_again_after_a_crash_is_not_a_probe_wait() -> None:
    """Restarted and running, not Ready, readiness probe failing: the crash before is the story."""
    sc = example()
    p = pod(sc, DECODE)
    crash(p, "vllm", code=1, running=True, restarts=3)
    sc.add(warn_event(p, "Readiness probe failed: Get \"http://10.129.2.17:8200/health\": dial tcp "
                         "10.129.2.17:8200: connect: connection refused"))
    sc.set_log(NS, p["metadata"]["name"], "vllm", VLLM_WORKER_NIXL_ASSERT, previous=True)
    sc.set_log(NS, p["metadata"]["name"], "vllm", LOADING)
    r = run(sc, "model-servers.pods")
    assert "vllm runs again after 3 restarts (previous run: exit 1): AssertionError" in r.message
    assert "probes fail" not in r.message
    logs_r = run(sc, "model-servers.logs")
    assert logs_r.status == Status.WARN and "still loading" not in logs_r.message


def test_oomkilled_is_named_from_the_state_even_without_logs() -> None:
    sc = example()
    sc.drop_logs()
    p = pod(sc, DECODE)
    crash(p, "vllm", code=137, reason="OOMKilled", restarts=4)
    r = run(sc, "model-servers.logs")
    assert r.status == Status.FAIL
    assert "last exit 137 (OOMKilled)): the kernel killed it (OOMKilled) for exceeding its memory limit" in r.message
    assert "resources.limits.memory" in r.remediation


# ---- the endpoint picker: a Go panic no signature knows --------------------------------------------------


def test_epp_go_panic_is_the_cause_generic_path() -> None:
    """llm-d/llm-d-router#1140: send on a closed channel, the first frame outside the Go runtime."""
    assert_generic(GO_SEND_ON_CLOSED, "send on closed channel")
    sc = example()
    p = pod(sc, "ms-llm-d-epp-")
    crash(p, "epp", code=2, restarts=9)
    sc.set_log(NS, p["metadata"]["name"], "epp", GO_SEND_ON_CLOSED, previous=True)
    r = run(sc, "epp.logs")
    assert r.status == Status.WARN
    assert ("epp crash-loops (CrashLoopBackOff, 9 restarts, last exit 2): panic: send on closed channel in "
            "github.com/llm-d/llm-d-inference-scheduler/pkg/epp/requestcontrol.(*Director).HandleResponseBody "
            "(not a known signature)") in r.message
    assert "at pkg/epp/requestcontrol/director.go:414" in r.evidence
    assert any("a usage error (bad command-line flag or argument) or an unrecovered Go panic" in e for e in r.evidence)


def test_seed_epp_signature_keeps_its_cause_and_shows_the_crash() -> None:
    r = run(Scenario.example("seed-rosa-epp-segfault"), "epp.logs")
    assert r.status == Status.FAIL and "nil-pointer SIGSEGV in NewSchedulerWithConfig" in r.message
    assert any(e.startswith("the crashed run's error: panic: runtime error: invalid memory address") for e in r.evidence)


# ---- gateway controller and data plane --------------------------------------------------------------------

ISTIOD = "istiod-"
PROXY = "infra-inference-scheduling-inference-gateway-istio-"
# istio/old_issues_repo#40: pilot-agent reports Envoy's segfault at warning level, then retries.
ENVOY_SEGFAULT = """\
[2017-06-21 15:51:19.311][46][critical][backtrace] end backtrace thread 0
W0621 15:51:19.324500       1 agent.go:200] Epoch 0 terminated with an error: signal: segmentation fault (core dumped)
W0621 15:51:19.324533       1 agent.go:289] Aborted all epochs
I0621 15:51:19.324574       1 agent.go:220] Updated retry delay to 51.2s, budget to 1
"""


def test_gateway_data_plane_crash_is_named_from_its_log() -> None:
    sc = example("healthy-v0.4-istio-1.28")
    p = pod(sc, PROXY)
    crash(p, "istio-proxy", code=255, restarts=949)
    sc.set_log(NS, p["metadata"]["name"], "istio-proxy", ENVOY_SEGFAULT, previous=True)
    r = run(sc, "gateway.implementation")
    assert r.status == Status.FAIL  # no Ready data-plane pod
    crashes = [f for f in r.findings if "istio-proxy crash-loops" in f.message]
    assert len(crashes) == 1 and crashes[0].status == Status.WARN
    assert ("(Istio data plane of Gateway/llm-d/infra-inference-scheduling-inference-gateway): istio-proxy "
            "crash-loops (CrashLoopBackOff, 949 restarts, last exit 255): segmentation fault") in crashes[0].message
    assert any("Epoch 0 terminated with an error: signal: segmentation fault" in e for e in crashes[0].evidence)


def test_gateway_controller_log_signature_is_tried_first() -> None:
    """istiod's own log signature (istio.yaml `log_signatures`) names the cause; its crash stays in evidence."""
    log = ("2025-12-16T10:04:18.101Z\twarn\tInvalid environment variable value `yes`, expecting true/false, "
           "defaulting to false\n"
           "Error: failed to create discovery service: ENABLE_GATEWAY_API_INFERENCE_EXTENSION off\n")
    sc = example("healthy-v0.4-istio-1.28")
    p = pod(sc, ISTIOD)
    crash(p, "discovery", restarts=5)
    sc.set_log("istio-system", p["metadata"]["name"], "discovery", log, previous=True)
    r = run(sc, "gateway.implementation")
    found = [f for f in r.findings if f.object == f"Pod/istio-system/{p['metadata']['name']}"]
    assert found and found[0].status == Status.FAIL
    assert 'an istiod boolean environment variable has the value "yes"' in found[0].message
    assert "(Istio controller)" in found[0].message
    assert any(e.startswith("the crashed run's error: Error: failed to create discovery service") for e in found[0].evidence)


def test_gateway_logs_hook_asks_only_for_unhealthy_pods() -> None:
    spec = next(s for s in load_specs(plugins=False) if s.id == "gateway.implementation")
    assert spec.logs is not None
    sc = example("healthy-v0.4-istio-1.28")
    assert list(spec.logs(sc.snapshot())) == []
    p = pod(sc, PROXY)
    crash(p, "istio-proxy", restarts=2)
    assert {(r.pod, r.container, r.previous) for r in spec.logs(sc.snapshot())} == {
        (p["metadata"]["name"], "istio-proxy", True), (p["metadata"]["name"], "istio-proxy", False)}


# ---- fill(): an optional group that did not match ----------------------------------------------------------


def test_fill_blanks_a_named_group_that_did_not_match() -> None:
    sig = next(s for s in knowledge.signatures("vllm") if s.id == "vllm-kv-cache-too-small-for-max-model-len")
    groups, _ = sig.match("To serve at least one request with the models's max seq len (131072), ...")
    assert knowledge.fill(sig.cause, groups, sig).endswith("sequence length (131072 tokens)")
    assert knowledge.fill("{unknown} stays", {}, sig) == "{unknown} stays"  # not a group of the signature


AGW_PANIC = """\
2026-01-20T09:14:02.118923Z\tinfo\tagentgateway\tversion: 1.0.0
2026-01-20T09:14:02.121554Z\tinfo\tstate_manager\tloading config from xds
thread 'agentgateway-worker' panicked at crates/agentgateway/src/http/ext_proc.rs:231:42:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""


def test_agentgateway_data_plane_rust_panic_is_named_from_its_log() -> None:
    """agentgateway's proxy is Rust: its panic (message and source line) is the crash's cause, by no signature."""
    assert_generic(AGW_PANIC, "panicked at", "ext_proc.rs")
    sc = example("healthy-agentgateway")
    p = pod(sc, "inference-gateway-")
    crash(p, "agentgateway", code=101, restarts=12)
    sc.set_log("default", p["metadata"]["name"], "agentgateway", AGW_PANIC, previous=True)
    r = run(sc, "gateway.implementation")
    crashes = [f for f in r.findings if "agentgateway crash-loops" in f.message]
    assert len(crashes) == 1, [f.message for f in r.findings]
    assert ("crash-loops (CrashLoopBackOff, 12 restarts, last exit 101): panic in thread 'agentgateway-worker': "
            "called `Option::unwrap()` on a `None` value") in crashes[0].message
    assert any("crates/agentgateway/src/http/ext_proc.rs:231:42" in e for e in crashes[0].evidence), crashes[0].evidence
