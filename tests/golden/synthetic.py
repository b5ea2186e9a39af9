"""A fixed Report for the renderer golden files: hand-built results, frozen clock and durations.

Independent of the built-in checks (other checks come and go): the specs are declared here.
It has every status, two problems (epp.logs explains epp.deployment; httproute.backends on its own),
a root cause with a blocked consequence, several findings in one result, a docs URL (docsUrl set),
evidence that needs escaping in every format (Markdown, HTML, XML), a capability lost and a
recorded chat completion.
"""

from __future__ import annotations

import dataclasses

from llmd_doctor import docsref
from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    GPU_INFERENCE,
    OPENAI_API,
    CheckResult,
    CheckSpec,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.report import Report
from llmd_doctor.snapshot import SourceInfo

FROZEN_VERSION = "0.0.0-golden"


def _spec(id: str, title: str, area: str, severity: Severity, capabilities: tuple[str, ...] = (),
          remediation: str = "", requires: tuple[str, ...] = (), explains: tuple[str, ...] = (),
          docs_base: str | None = None) -> CheckSpec:
    return CheckSpec(id=id, title=title, area=area, severity=severity, run=lambda ctx: iter(()),
                     capabilities=capabilities, remediation=remediation, requires=requires, explains=explains,
                     docs=docsref.reference(id, docs_base))


def _result(spec: CheckSpec, status: Status, message: str, findings: list[Finding] | None = None,
            blocked_by: list[str] | None = None, duration_s: float = 0.01) -> CheckResult:
    return CheckResult(spec, status, message, findings if findings is not None else [Finding(status, message)],
                       blocked_by=blocked_by or [], duration_s=duration_s)


E2E_PROBE = {
    "version": 1,
    "url": "http://gw.llm-d.svc.cluster.local/v1/chat/completions",
    "request": {
        "method": "POST",
        "headers": {"accept": "application/json", "content-type": "application/json", "authorization": "Bearer <redacted>"},
        "body": {"model": "meta-llama/Llama-3.2-3B-Instruct",
                 "messages": [{"role": "user", "content": "Hello! What is 2+2?"}], "max_tokens": 16},
    },
    "status": 200,
    "response": {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "meta-llama/Llama-3.2-3B-Instruct",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 = 4."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 44, "completion_tokens": 9, "total_tokens": 53},
    },
    "latency_s": 0.84,
}


def synthetic_report(probe: bool = True) -> Report:
    access = _spec("cluster.access", "Cluster access", "cluster", Severity.CRITICAL)
    gw = _spec("gateway.programmed", "Gateway accepted and programmed", "gateway", Severity.CRITICAL,
               (GATEWAY_ROUTING,))
    backends = _spec("httproute.backends", "HTTPRoute backends", "gateway", Severity.MAJOR, EPP_CAPABILITIES,
                     "Point the route's backendRef at the InferencePool `llm-d/pool` instead of the Service.")
    pods = _spec("model-servers.pods", "Model-server pods", "model-servers", Severity.CRITICAL, (GPU_INFERENCE,))
    dep = _spec("epp.deployment", "Endpoint picker deployment", "epp", Severity.CRITICAL, EPP_CAPABILITIES,
                "Read the EPP's logs (`kubectl logs -n llm-d deploy/epp --previous`); epp.logs names the cause.")
    logs = _spec("epp.logs", "Endpoint picker logs", "epp", Severity.CRITICAL, EPP_CAPABILITIES,
                 "Add `-configFile /etc/epp/config.yaml` to the EPP args and mount the ConfigMap; then "
                 "`kubectl rollout restart -n llm-d deploy/epp`.", explains=("epp.deployment",),
                 docs_base="https://docs.example.org/llmd-doctor/checks.html")
    config = _spec("epp.config", "Endpoint picker flags and config", "epp", Severity.MAJOR, EPP_CAPABILITIES,
                   requires=("epp.logs",))
    rbac = _spec("rbac.epp", "Endpoint picker RBAC", "rbac", Severity.MAJOR, EPP_CAPABILITIES,
                 "Grant llmd-doctor `list` on roles, or run it with a kubeconfig that may.")
    chat = _spec("e2e.chat-completion", "Chat completion through the gateway", "e2e", Severity.CRITICAL,
                 (OPENAI_API, GATEWAY_ROUTING))
    routing = _spec("e2e.routing", "Requests go through the endpoint picker", "e2e", Severity.MINOR,
                    (CACHE_AWARE_ROUTING,))

    results = [
        _result(access, Status.PASS, "bundle readable from context test-ctx: 42 objects"),
        _result(gw, Status.PASS, "Gateway/llm-d/gw is Accepted and Programmed (Istio 1.27.0)"),
        _result(backends, Status.WARN,
                "HTTPRoute/llm-d/route sends traffic to Service llm-d/decode, bypassing InferencePool llm-d/pool",
                [Finding(Status.WARN,
                         "HTTPRoute/llm-d/route sends traffic to Service llm-d/decode, bypassing InferencePool llm-d/pool",
                         "HTTPRoute/llm-d/route",
                         ("backendRef: Service llm-d/decode | port 8000", "matches: path *prefix* /v1"))]),
        _result(pods, Status.PASS, "3/3 decode pods Ready on nvidia.com/gpu nodes (NVIDIA-A10G)"),
        _result(dep, Status.FAIL, "Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)",
                [Finding(Status.FAIL, "Deployment/llm-d/epp has 0/1 Ready pods (CrashLoopBackOff)",
                         "Deployment/llm-d/epp",
                         ("Available=False (MinimumReplicasUnavailable)",
                          "Pod/llm-d/epp-7c9f-abcde: Running, not Ready, CrashLoopBackOff (epp), 47 restarts, last exit 2 (Error)"))]),
        _result(logs, Status.FAIL,
                'EPP crashed with a nil-pointer SIGSEGV in NewSchedulerWithConfig: configFile="" configText="" (and 1 more)',
                [Finding(Status.FAIL,
                         'EPP crashed with a nil-pointer SIGSEGV in NewSchedulerWithConfig: configFile="" configText=""',
                         "Pod/llm-d/epp-7c9f-abcde",
                         ('configFile="" configText=""',
                          "panic: runtime error: invalid memory address or nil pointer dereference",
                          "scheduling.NewSchedulerWithConfig(...) scheduler.go:40",
                          "odd log line: <script>alert('x')</script> & ``` fence \x1b[31m")),
                 Finding(Status.FAIL, "EPP pod epp-7c9f-fghij crashed the same way", "Pod/llm-d/epp-7c9f-fghij",
                         ('configFile="" configText=""',)),
                 Finding(Status.PASS, "EPP pod epp-old has a clean log", "Pod/llm-d/epp-old")]),
        _result(config, Status.BLOCKED, "blocked by epp.logs", [], blocked_by=["epp.logs"]),
        _result(rbac, Status.ERROR, "forbidden: cannot list roles.rbac.authorization.k8s.io in namespace llm-d",
                [Finding(Status.ERROR, "forbidden: cannot list roles.rbac.authorization.k8s.io in namespace llm-d")]),
        _result(chat, Status.PASS, "POST /v1/chat/completions through Gateway/llm-d/gw: 200 in 0.84 s"),
        _result(routing, Status.SKIP, "no routing probe recorded", []),
    ]
    return Report(
        source=SourceInfo(kind="bundle", context="test-ctx", server_version="v1.31.0", path="bundles/synthetic",
                          collected_at="2026-01-02T03:00:00Z"),
        started_at="2026-01-02T03:04:05Z",
        duration_s=1.5,
        results=results,
        warnings=["objects/bad.yaml: not a Kubernetes object (no kind)"],
        probes={"e2e": E2E_PROBE} if probe else {},
        related=_related,
    )


def _related(obj: str) -> tuple[str, ...]:
    """The topology's answer, by hand: the EPP's pods belong to its Deployment."""
    return ("Deployment/llm-d/epp",) if obj.startswith("Pod/llm-d/epp-") else ()


def healthy(report: Report) -> Report:
    """The report with every problem (and blocked check) turned into a pass."""
    # A new Report (not a copy): the problems are computed once per Report and cached on it.
    return dataclasses.replace(report, results=[
        CheckResult(r.spec, Status.PASS, f"{r.spec.title}: fine", [Finding(Status.PASS, f"{r.spec.title}: fine")])
        if r.status in (Status.FAIL, Status.WARN, Status.ERROR, Status.BLOCKED) else r
        for r in report.results
    ])
