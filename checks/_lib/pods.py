"""Why a pod is not serving, read from its status and events as `kubectl describe` shows them.

Generic over every pod (model server, endpoint picker, gateway proxy): the scheduler's message, a
waiting reason (config error, image pull, crash loop), an init container that never completes,
volumes that do not mount, failing probes. A container whose state says it crashed is never
described as starting or loading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.evidence import is_crash, termination
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology.servers import is_sidecar

from . import crash, logs
from .events import warning_events

Obj = dict[str, Any]
_MISSING_REF = re.compile(r'(secret|configmap) "([^"]+)" not found', re.I)


@dataclass
class Cause:
    """Why one pod is not serving: a short cause, evidence lines and a fix."""

    text: str
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None


def _ref_hint(pod: Obj, kind: str, ref_name: str) -> str | None:
    """The env var and key that reference a missing Secret/ConfigMap, for the remediation."""
    key_field = "secretKeyRef" if kind.lower() == "secret" else "configMapKeyRef"
    for c in k8s.containers(k8s.pod_spec(pod)):
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get(key_field) or {}
            if ref.get("name") == ref_name:
                return str(ref.get("key") or env.get("name"))
    return None


def _stuck_init(pod: Obj) -> Cause | None:
    """A plain init container that keeps running blocks the app containers forever (Init:0/1)."""
    spec = k8s.pod_spec(pod)
    inits = {str(c.get("name")): c for c in spec.get("initContainers") or []}
    statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
    for cs in statuses:
        c = inits.get(str(cs.get("name")))
        if c is None or c.get("restartPolicy") == "Always" or "running" not in (cs.get("state") or {}):
            continue
        done = sum(1 for s in statuses if ((s.get("state") or {}).get("terminated") or {}).get("exitCode") == 0)
        name = str(c.get("name"))
        what = "the routing sidecar" if is_sidecar(c) else f"init container {name}"
        return Cause(
            f"stuck in Init:{done}/{len(inits)}: {what} ({name}) runs as a plain init container without "
            "restartPolicy: Always, so it never completes and the model server never starts",
            [f"initContainers[{name}]: image {c.get('image')}, no restartPolicy (state running)"],
            f"Make {name} a native sidecar: set `restartPolicy: Always` on it under initContainers "
            "(Kubernetes >= 1.29), or move it to containers; drop it if you do not run P/D disaggregation.",
        )
    return None


def _scheduling(pod: Obj, summary: str, events: list[str]) -> Cause | None:
    sched = k8s.condition(pod, "PodScheduled")
    if (pod.get("status") or {}).get("phase") != "Pending" or sched is None or sched.get("status") != "False":
        return None
    msg = str(sched.get("message") or "")
    sched_events = [e for e in events if "FailedScheduling" in e]
    gpu = re.search(r"Insufficient ([\w.\-/]+gpu[\w.\-/]*|google\.com/tpu|habana\.ai/gaudi)",
                    msg + " ".join(sched_events))
    text = f"Pending, {sched.get('reason') or 'Unschedulable'}: {msg}" if msg else "Pending, Unschedulable"
    fix = (f"No node can give the pod its {gpu.group(1)}: add GPU nodes (or free GPUs), or lower the request; "
           "a simulator needs no GPU at all (see model-servers.gpu).") if gpu else \
        "Make a node fit the pod: see the scheduler's message (resources, node selector, taints)."
    return Cause(text, [summary, *sched_events[-2:]], fix)


def _config_error(snap: Snapshot, pod: Obj, cname: str, message: str, summary: str, events: list[str]) -> Cause:
    m = _MISSING_REF.search(message) or next((_MISSING_REF.search(e) for e in events if _MISSING_REF.search(e)), None)
    text = f"CreateContainerConfigError ({cname}): {message or 'container config invalid'}"
    fix = "Fix the container's env/volume references (see the event)."
    evidence = [summary, *[e for e in events if "Failed" in e][-2:]]
    if m:
        kind, missing = m.group(1), m.group(2)
        key = _ref_hint(pod, kind, missing)
        ns = k8s.namespace(pod)
        if kind.lower() == "secret":
            held = snap.bundled("Secret", ns)
            if held is not None and not any(k8s.name(s) == missing for s in held):
                evidence.append(f"Secret/{ns}/{missing} does not exist")
            fix = (f"Create the Secret: `kubectl create secret generic {missing} -n {ns} "
                   f"--from-literal={key or 'HF_TOKEN'}=<value>` (for llm-d: a Hugging Face token), "
                   "or mark the secretKeyRef `optional: true` if the model is not gated.")
        else:
            fix = f"Create ConfigMap {missing} in {ns} with the keys the pod references."
    return Cause(text, evidence, fix)


def _crash(snap: Snapshot, pod: Obj, cs: Obj, summary: str, events: list[str], logs_check: str) -> Cause:
    """A crashed container: its state, and the root error of its log when the log was captured."""
    cname = str(cs.get("name"))
    texts, _ = logs.read(snap, pod, [(cname, "")])
    root, which = crash.root_of(cs, ((t.which, t.text) for t in texts))
    evidence = [summary, *(list(root.excerpt[:4]) if root is not None and which else []), *events[-2:]]
    if crash.oom(root) or (root is not None and which):
        text = crash.root_sentence(cname, cs, root, pod).removesuffix(" (not a known signature)")
        fix = crash.root_fix(cname, root, pod) if crash.oom(root) else \
            f"See {logs_check}: it names the cause from the log (`kubectl logs --previous` shows the crash)."
        return Cause(text, evidence, fix)
    t = termination(cs) or {}
    # exit 1 says only "an error"; a signal or a runtime exit code says more
    meaning = f": {root.exit_meaning}" if root is not None and root.exit_meaning and t.get("exitCode") != 1 else ""
    return Cause(f"{cname} {crash.state_phrase(cs)}{meaning}", evidence,
                 f"See {logs_check} (or `kubectl logs --previous`) for why the container exits.")


def pod_cause(snap: Snapshot, pod: Obj, logs_check: str = "model-servers.logs") -> Cause:
    """The most telling reason a pod is not Ready, with kubectl-describe style evidence."""
    events = warning_events(snap, pod)
    summary = f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)}: {k8s.pod_summary(pod)}"
    sched = _scheduling(pod, summary, events)
    if sched is not None:
        return sched
    for cname, reason, message in k8s.waiting_reasons(pod):
        if reason == "CreateContainerConfigError":
            return _config_error(snap, pod, cname, message, summary, events)
        if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
            image = next((c.get("image") for c in k8s.containers(k8s.pod_spec(pod)) if c.get("name") == cname), "?")
            pulls = [e for e in events if "Failed" in e and ("pull" in e.lower() or "image" in e.lower())]
            return Cause(f"{reason} ({cname}): image {image} cannot be pulled" + (f" — {message}" if message else ""),
                         [summary, *pulls[-2:]],
                         f"Check that {image} exists (tag spelled right, `docker pull` works) and that the pod "
                         "has the imagePullSecret the registry needs.")
    crashed = [cs for cs in k8s.container_statuses(pod) if is_crash(cs)]
    if crashed:  # before probes: a container that crashed is never described as starting or loading
        return _crash(snap, pod, next((cs for cs in crashed if crash.down(cs)), crashed[0]), summary, events,
                      logs_check)
    stuck = _stuck_init(pod)
    if stuck is not None:
        stuck.evidence.insert(0, summary)
        return stuck
    mounts = [e for e in events if "FailedMount" in e or "FailedAttachVolume" in e]
    if mounts:
        return Cause("volumes cannot be mounted", [summary, *mounts[-2:]], "Fix the volume the event names.")
    probes = [e for e in events if "Unhealthy" in e]
    if probes:
        return Cause("running but its probes fail", [summary, *probes[-2:]],
                     f"See {logs_check}: vLLM is usually still loading the model or has failed to.")
    phase = (pod.get("status") or {}).get("phase") or "Unknown"
    return Cause(f"{phase}, not Ready", [summary, *events[-2:]])
