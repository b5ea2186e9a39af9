"""A pool member must not turn Ready before the server the InferencePool sends to listens.

The endpoint picker only routes to Ready pods, so readiness is the gate: a pod without a readiness (or
startup) probe is Ready as soon as its containers start, and a probe on another port says nothing about
the one the pool targets. The ports a request reaches are the pool's target ports and, when the routing
sidecar serves one, the vLLM port it forwards to.
"""

from __future__ import annotations

import re
from typing import Any

from llmd_doctor.model import Finding, Status
from llmd_doctor.topology import Pool, ServerGroup
from llmd_doctor.topology.servers import (
    is_sidecar,
    is_simulator,
    pod_ports,
    server_container,
    serving_containers,
    sidecar_ports,
)

Obj = dict[str, Any]
GATES = ("readinessProbe", "startupProbe")
_EXEC_PORT = re.compile(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d+)")


def probe_port(c: Obj, probe: Obj) -> int | None:
    """The port a probe checks: httpGet/tcpSocket/grpc (a named port resolved in the container), the
    address an exec probe curls; None when the spec does not say."""
    for kind in ("httpGet", "tcpSocket", "grpc"):
        if kind in probe:
            port = (probe.get(kind) or {}).get("port")
            if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
                return int(port)
            named = next((p for p in c.get("ports") or [] if p.get("name") == port), None)
            return int(named["containerPort"]) if named and isinstance(named.get("containerPort"), int) else None
    m = _EXEC_PORT.search(" ".join(str(a) for a in ((probe.get("exec") or {}).get("command") or [])))
    return int(m.group(1)) if m else None


def reached_ports(pool: Pool, template: Obj) -> tuple[set[int], dict[int, str]]:
    """The ports a request through the pool reaches in this pod, and which container serves each."""
    served, _ = pod_ports(template)
    reached = set(pool.target_ports)
    sidecars = {str(c.get("name")) for c in serving_containers(template) if is_sidecar(c)}
    ports = sidecar_ports(template)
    if ports and any(served.get(t) in sidecars for t in pool.target_ports):
        reached.add(ports[0])  # the sidecar forwards to vLLM on its --vllm-port
    return reached, served


def judge(pool: Pool, g: ServerGroup) -> Finding | str | None:
    """A warn, or a line for the pass summary; None when the pool has no target port to compare."""
    if not pool.target_ports:
        return None
    template = g.template
    reached, served = reached_ports(pool, template)
    want = ", ".join(str(t) for t in pool.target_ports)
    gates = [(c, kind, probe_port(c, c[kind])) for c in serving_containers(template) for kind in GATES
             if isinstance(c.get(kind), dict)]
    if not gates:
        server = server_container(template)
        if server is not None and is_simulator(server):  # no model to load: Ready at start is right
            return f"{g.ref}: the inference simulator, ready when it starts"
        return Finding(
            Status.WARN, f"{g.ref} ({g.noun} of {pool.ref}) has no readiness or startup probe: each pod turns Ready "
            "as soon as its containers start, before vLLM has loaded the model, so the requests the endpoint picker "
            f"sends to a starting pod on port {want} fail", g.ref,
            tuple(f"container {c.get('name')}: no readinessProbe, no startupProbe" for c in serving_containers(template)),
            remediation="Add a readinessProbe (and a startupProbe with a failureThreshold long enough for model "
            "loading) with httpGet /health or /v1/models on vLLM's --port, as the llm-d guides do.", capabilities=())
    if any(port in reached for _, _, port in gates) or any(port is None for _, _, port in gates):
        c, kind, port = next(((c, k, p) for c, k, p in gates if p in reached), gates[0])
        where = f"port {port}" if port is not None else "a port the spec does not show"
        return f"{g.ref}: {kind} of {c.get('name')} checks {where} (the pool sends to {want})"
    c, kind, port = gates[0]
    probed = ", ".join(sorted({f"{k} of {x.get('name')} on {p}" for x, k, p in gates}))
    who = served.get(port or 0)
    target = next((served[t] for t in pool.target_ports if t in served), None)
    if who and any(is_sidecar(x) for x in serving_containers(template) if x.get("name") == who):
        why = (f"the routing sidecar ({who}) listens on {port} at once, while the pool sends to "
               f"{target or 'nothing'} on {want}, which is still loading")
    elif target is None:
        why = f"no container listens on {want}, so the pod is Ready while every request to it is refused"
    else:
        why = f"the pod turns Ready without {target} answering on {want}"
    return Finding(
        Status.WARN, f"{g.ref}: the {kind.replace('Probe', '')} probe checks port {port} while {pool.ref} targets "
        f"{want}: {why}", g.ref,
        (f"probes: {probed}", f"ports served: {', '.join(f'{p} by {n}' for p, n in sorted(served.items())) or 'none'}",
         f"{pool.ref} targetPorts: {want}"),
        remediation=f"Probe the port the InferencePool targets ({want}) — vLLM's /health or /v1/models, through the "
        "routing sidecar when it fronts vLLM — or set the pool's targetPorts to the port the server listens on.",
        capabilities=())
