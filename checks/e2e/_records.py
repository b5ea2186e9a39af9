"""Probe records as the e2e checks read them, and the fix for each failure class.

The checks read the probe records in `snapshot.probes` (live: the probe stage of run.diagnose;
offline: the bundle's probes/*.json) and never do I/O themselves.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor.kinds import (
    DEPLOYMENT,
    GATEWAY_CLASS,
    GATEWAY_KEY,
    HTTPROUTE,
    INFERENCE_MODEL,
    POD,
    POOL_KEYS,
    REPLICASET,
    SERVICE,
    STATEFULSET,
)
from llmd_doctor.model import Finding, Status
from llmd_doctor.probes import classify as cl
from llmd_doctor.probes.target import Target
from llmd_doctor.snapshot import NotCollected, Snapshot

#: What the e2e checks read to attribute a failure to a hop.
INPUTS = (GATEWAY_KEY, GATEWAY_CLASS, HTTPROUTE, *POOL_KEYS, INFERENCE_MODEL, DEPLOYMENT, POD, SERVICE,
          REPLICASET, STATEFULSET)  # the model-server groups (topology.servers): which pods serve a model

REMEDIATION = {
    "dns": "Reach the gateway from here: run the port-forward named above and pass --gateway-url, or fix the name.",
    "refused": "Check that the port-forward (or the gateway's proxy) is running and listening on that port.",
    "connect_timeout": "Reach the gateway from here (port-forward, VPN or a reachable LoadBalancer address).",
    "unreachable": "Reach the gateway from here (port-forward, VPN or a reachable LoadBalancer address).",
    "tls": "Use http:// for an HTTP listener, or an address whose certificate this machine trusts.",
    "connect_error": "Reach the gateway from here: run the port-forward named above and pass --gateway-url.",
    "unauthorized": "Pass the API key: export it in an environment variable and give its name with --api-key-env.",
    "model_not_found": "Ask for a model the servers serve (--model), or add an InferenceModel for it to the pool.",
    "model_missing_in_body": "The EPP must see the request body: check the gateway's ext_proc body mode "
                             "(Istio sends FULL_DUPLEX_STREAMED) and that the body is JSON with a `model`.",
    "route_not_found": "Attach an HTTPRoute to the Gateway whose rules match the request (path prefix `/`), "
                       "and check it is Accepted (`kubectl get httproute -o yaml`).",
    "fault_filter_abort": "Point the route's backendRef at an existing InferencePool (group, name, namespace); "
                          "cross-namespace refs need a ReferenceGrant.",
    "saturated": "Give the model's InferenceModel criticality Critical (GIE <= v0.5) or its InferenceObjective "
                 "priority >= 0, or add model-server capacity.",
    "ext_proc_failure": "Fix the endpoint picker (see epp.deployment and epp.logs) or the gateway's ext_proc link "
                        "to it: EPP Service port 9002, TLS (Istio: a DestinationRule with tls.mode SIMPLE and "
                        "insecureSkipVerify), and a gateway version that supports InferencePool ext_proc.",
    "no_healthy_upstream": "Make the InferencePool select Ready model-server pods (selector labels, readiness).",
    "upstream_connect_error": "Make the InferencePool's target port the port the model server listens on, and "
                              "select only pods that serve it.",
    "upstream_timeout": "Check the model server's load and logs; raise the HTTPRoute timeouts for long generations.",
    "timeout": "Check the model server's load and logs (`kubectl logs -n <ns> <pod> -c vllm`); raise "
               "--probe-timeout if the model is just slow.",
    "server_error": "Read the model server's logs (`kubectl logs -n <ns> <pod> -c vllm`).",
    "bad_request": "Read the error above; the model server rejected a minimal chat request.",
    "not_openai": "Point the route at an OpenAI-compatible server (the InferencePool of vLLM pods), not another "
                  "Service or proxy.",
    "unavailable": "Check the endpoint picker's logs for `no pods available` and the pool's Ready pods.",
    "disconnected": "Check the gateway proxy's logs (`kubectl logs -n <ns> deploy/<gateway>`).",
}
ERROR_CLASSES = cl.CONNECT_CLASSES | {"unauthorized"}


def record(snap: Snapshot, name: str) -> dict[str, Any]:
    """A probe record; NotCollected (-> skip) when there is none or the probe could not be sent."""
    rec = snap.probes.get(name)
    if rec is None:
        if snap.source.kind == "bundle":
            raise NotCollected(f"probe not run: offline bundle (it holds no probes/{name}.json)")
        raise NotCollected("probe not run (--no-probe)")
    if not isinstance(rec, dict):
        raise NotCollected(f"probe record {name} is not a JSON object")
    if rec.get("not_run"):
        raise NotCollected(f"probe not run: {rec['not_run']}")
    if rec.get("crashed"):  # the engine reports it as an error
        raise RuntimeError(f"the probe crashed: {rec['crashed']}")
    return rec


def not_sent(snap: Snapshot, name: str) -> Finding | None:
    """An unverified skip when the probe was asked for but sent nothing (no Gateway, no address, an
    address this machine cannot reach, no model): the end-to-end request was not verified. None
    otherwise (no record at all — --no-probe, a bundle without probes — is a plain skip by `record`)."""
    rec = snap.probes.get(name)
    if not isinstance(rec, dict) or not rec.get("not_run"):
        return None
    return Finding(Status.SKIP, f"probe not run: {rec['not_run']}", target_of(rec).gateway, unverified=True)


def model_of(rec: dict[str, Any]) -> str | None:
    """The model an exchange asked for (old records: the target's, or the request body's)."""
    body = (rec.get("request") or {}).get("body") if isinstance(rec.get("request"), dict) else None
    return rec.get("model") or target_of(rec).model or (body.get("model") if isinstance(body, dict) else None)


def model_records(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The chat completion of every model probed: the e2e record's own (the first model), then
    `per_model` — each with the shared `target`. A single-model record (format 1) gives one."""
    first = {**rec, "model": model_of(rec)}
    more = [{**r, "target": rec.get("target")} for r in rec.get("per_model") or [] if isinstance(r, dict)]
    return [first, *({**r, "model": model_of(r)} for r in more)]


def not_probed(rec: dict[str, Any]) -> str | None:
    """`2 more models not probed (over the cap of 8 models per run): a, b`, or None."""
    left = [x for x in rec.get("skipped_models") or [] if isinstance(x, dict) and x.get("model")]
    if not left:
        return None
    whys = sorted({str(x.get("why") or "not probed") for x in left})
    return (f"{len(left)} more model(s) not probed ({'; '.join(whys)}): "
            + ", ".join(str(x["model"]) for x in left[:5]) + (", …" if len(left) > 5 else ""))


def target_of(rec: dict[str, Any]) -> Target:
    return Target.from_dict(rec.get("target") if isinstance(rec.get("target"), dict) else None)


def line(rec: dict[str, Any]) -> str:
    """`POST http://gw/v1/chat/completions -> HTTP 200 in 0.84s`."""
    method = (rec.get("request") or {}).get("method", "POST")
    got = f"HTTP {rec['status']}" if isinstance(rec.get("status"), int) else str(rec.get("error_class") or "no answer")
    took = f" in {rec['latency_s']:.2f}s" if isinstance(rec.get("latency_s"), int | float) else ""
    return f"{method} {rec.get('url', '?')} -> {got}{took}"


def headers_line(rec: dict[str, Any]) -> str | None:
    h = {k: v for k, v in (rec.get("headers") or {}).items() if k != "date"}
    return "headers: " + ", ".join(f"{k}: {v}" for k, v in h.items()) if h else None
