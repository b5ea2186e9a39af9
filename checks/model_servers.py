"""Model servers: the vLLM decode/prefill pods, the GPUs they need, and what their logs say.

A model-server pod is one an InferencePool selects, one labelled `llm-d.ai/role`, or one running a
vLLM (or llm-d inference simulator) image or command; endpoint-picker pods never are. Pods are
grouped by role and owning workload, so a finding reads `3/3 decode pods Ready`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import (
    GPU_INFERENCE,
    OPENAI_API,
    PD_DISAGGREGATION,
    CheckContext,
    Finding,
    Severity,
    Status,
    obj_ref,
)
from llmd_doctor.registry import check
from llmd_doctor.snapshot import DataUnavailable, LogRequest, Snapshot

from . import _k8s as k
from . import _knowledge, _llmd, _versions

Obj = dict[str, Any]
DEPLOYMENT = "Deployment.apps"
REPLICASET = "ReplicaSet.apps"
STATEFULSET = "StatefulSet.apps"
# Secrets are not an input: listing them would need RBAC that can read their values. A bundle that
# holds Secret metadata still adds "does not exist" evidence (maybe_list below).
MS_INPUTS = ("Pod", DEPLOYMENT, REPLICASET, STATEFULSET, *_llmd.POOL_KEYS, "Event")
CORE = (GPU_INFERENCE, OPENAI_API)


def knowledge() -> dict[str, Any]:
    ms: dict[str, Any] = _versions.compat()["model_servers"]
    return ms


# ---- recognising model-server pods -----------------------------------------------------------


def _argv(c: Obj) -> list[str]:
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def is_epp_container(c: Obj) -> bool:
    flags = k.parse_args(_argv(c))
    return bool(_llmd.EPP_IMAGE.search(str(c.get("image", "")))) or any(f in flags for f in _llmd.EPP_POOL_FLAGS)


def is_model_server_container(c: Obj) -> bool:
    ms = knowledge()
    image = str(c.get("image", ""))
    if any(re.search(p, image) for p in ms["images"]):
        return True
    cmd = " ".join(_argv(c))
    return any(re.search(p, cmd) for p in ms["commands"])


def is_simulator(c: Obj) -> bool:
    return any(s in str(c.get("image", "")) for s in knowledge()["simulator_images"])


def is_sidecar(c: Obj) -> bool:
    ms = knowledge()
    return c.get("name") in ms["sidecar_names"] or any(s in str(c.get("image", "")) for s in ms["sidecar_images"])


def server_container(pod_or_workload: Obj) -> Obj | None:
    """The model-server container: a vLLM/simulator one, else the first that is no known sidecar."""
    spec = k.pod_spec(pod_or_workload)
    main = k.containers(spec, init=False)
    for c in main:
        if is_model_server_container(c):
            return c
    return next((c for c in main if not is_sidecar(c) and c.get("name") != "istio-proxy"), None)


def role_of(obj: Obj) -> str:
    """`decode`, `prefill`, `both`, `encode`, or "" (no role label)."""
    labels = k.labels(obj) if obj.get("kind") == "Pod" else _template_labels(obj)
    return labels.get(knowledge()["role_label"], "")


def _template_labels(workload: Obj) -> dict[str, str]:
    meta = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {str(a): str(b) for a, b in (meta.get("labels") or {}).items()}


def _looks_like_model_server(obj: Obj, labels: dict[str, str], namespace: str, pools: list[_llmd.Pool]) -> bool:
    spec = k.pod_spec(obj)
    if any(is_epp_container(c) for c in k.containers(spec, init=False)):
        return False
    if any(p.namespace == namespace and k.match_labels(p.selector, labels) for p in pools):
        return True
    if labels.get(knowledge()["role_label"]) in knowledge()["roles"]:
        return True
    return any(is_model_server_container(c) for c in k.containers(spec, init=False))


@k.per_snapshot
def model_server_pods(snap: Snapshot) -> list[Obj]:
    """Pods that serve a model (raises when pods were not collected)."""
    pods = snap.list("Pod")
    pools = _llmd.pools(snap)
    return [p for p in pods if _looks_like_model_server(p, k.labels(p), k.namespace(p), pools)]


# ---- grouping by role and owner --------------------------------------------------------------


@dataclass
class Group:
    role: str
    namespace: str
    owner_kind: str
    owner_name: str
    workload: Obj | None = None
    pods: list[Obj] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.owner_kind}/{self.namespace}/{self.owner_name}"

    @property
    def desired(self) -> int:
        if self.workload is not None:
            replicas = (self.workload.get("spec") or {}).get("replicas", 1)
            return int(replicas if replicas is not None else 1)
        return len(self.pods)

    @property
    def ready(self) -> list[Obj]:
        return [p for p in self.pods if k.pod_ready(p)]

    @property
    def noun(self) -> str:
        return f"{self.role} pods" if self.role else "model-server pods"


def _owner(pod: Obj, replicasets: dict[tuple[str, str], Obj]) -> tuple[str, str]:
    refs = [r for r in k.meta(pod).get("ownerReferences") or [] if isinstance(r, dict)]
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if ref is None:
        return "Pod", k.name(pod)
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    if kind == "ReplicaSet":
        rs = replicasets.get((k.namespace(pod), name))
        if rs is not None:
            rs_refs = [r for r in k.meta(rs).get("ownerReferences") or [] if isinstance(r, dict)]
            dep = next((r for r in rs_refs if r.get("kind") == "Deployment"), None)
            if dep is not None:
                return "Deployment", str(dep.get("name"))
            return "ReplicaSet", name
        pth = k.labels(pod).get("pod-template-hash")
        if pth and name.endswith("-" + pth):  # ReplicaSets of a Deployment are named <deployment>-<hash>
            return "Deployment", name[: -len(pth) - 1]
    return kind, name


@k.per_snapshot
def groups(snap: Snapshot) -> list[Group]:
    """Model-server pods grouped by (namespace, owner, role), plus model-server Deployments with no pods."""
    pods = model_server_pods(snap)
    replicasets = {(k.namespace(r), k.name(r)): r for r in snap.maybe_list(REPLICASET) or []}
    workloads = {("Deployment", k.namespace(d), k.name(d)): d for d in snap.maybe_list(DEPLOYMENT) or []}
    workloads.update({("StatefulSet", k.namespace(s), k.name(s)): s for s in snap.maybe_list(STATEFULSET) or []})
    out: dict[tuple[str, str, str, str], Group] = {}
    for p in pods:
        kind, name = _owner(p, replicasets)
        key = (k.namespace(p), kind, name, role_of(p))
        g = out.get(key)
        if g is None:
            g = out[key] = Group(role_of(p), k.namespace(p), kind, name, workloads.get((kind, k.namespace(p), name)))
        g.pods.append(p)
    pools = _llmd.pools(snap)
    for (kind, ns, name), w in workloads.items():
        if any(g.owner_kind == kind and g.namespace == ns and g.owner_name == name for g in out.values()):
            continue
        if _looks_like_model_server(w, _template_labels(w), ns, pools):
            out[(ns, kind, name, role_of(w))] = Group(role_of(w), ns, kind, name, w, [])
    return sorted(out.values(), key=lambda g: (g.namespace, g.role != "decode", g.owner_name))


# ---- events and causes -----------------------------------------------------------------------


def events_for(snap: Snapshot, kind: str, namespace: str, name: str) -> list[Obj]:
    """core/v1 (involvedObject) or events.k8s.io (regarding) events of one object, newest last."""
    out = []
    for e in snap.maybe_list("Event", namespace) or []:
        inv = e.get("involvedObject") or e.get("regarding") or {}
        if inv.get("kind") == kind and inv.get("name") == name and (inv.get("namespace") or namespace) == namespace:
            out.append(e)
    return sorted(out, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or
                                         (e.get("metadata") or {}).get("creationTimestamp") or ""))


def event_text(e: Obj) -> str:
    """`Warning FailedScheduling: 0/5 nodes are available: ... (×12)` — what `kubectl describe` shows."""
    count = e.get("count") or (e.get("series") or {}).get("count")
    msg = str(e.get("message") or e.get("note") or "").strip()
    tail = f" (×{count})" if count and int(count) > 1 else ""
    return f"{e.get('type', 'Normal')} {e.get('reason', '')}: {msg}{tail}"


def warning_events(snap: Snapshot, pod: Obj) -> list[str]:
    evs = events_for(snap, "Pod", k.namespace(pod), k.name(pod))
    return [f"event on Pod/{k.namespace(pod)}/{k.name(pod)}: {event_text(e)}" for e in evs if e.get("type") == "Warning"]


_MISSING_REF = re.compile(r'(secret|configmap) "([^"]+)" not found', re.I)


def _secret_ref_hint(pod: Obj, kind: str, ref_name: str) -> str | None:
    """The env var and key that reference a missing Secret/ConfigMap, for the remediation."""
    key_field = "secretKeyRef" if kind.lower() == "secret" else "configMapKeyRef"
    for c in k.containers(k.pod_spec(pod)):
        for env in c.get("env") or []:
            ref = ((env or {}).get("valueFrom") or {}).get(key_field) or {}
            if ref.get("name") == ref_name:
                return str(ref.get("key") or env.get("name"))
    return None


@dataclass
class Cause:
    """Why one pod is not serving: a short cause, evidence lines and a fix."""

    text: str
    evidence: list[str]
    fix: str | None = None


def _stuck_init(pod: Obj) -> Cause | None:
    """A plain init container that keeps running blocks the app containers forever (Init:0/1)."""
    spec = k.pod_spec(pod)
    inits = {str(c.get("name")): c for c in spec.get("initContainers") or [] if isinstance(c, dict)}
    for cs in (pod.get("status") or {}).get("initContainerStatuses") or []:
        c = inits.get(str(cs.get("name")))
        if c is None or c.get("restartPolicy") == "Always" or "running" not in (cs.get("state") or {}):
            continue
        total = len(inits)
        done = sum(1 for s in (pod.get("status") or {}).get("initContainerStatuses") or []
                   if "terminated" in (s.get("state") or {}) and (s["state"]["terminated"] or {}).get("exitCode") == 0)
        name = str(c.get("name"))
        what = "the routing sidecar" if is_sidecar(c) else f"init container {name}"
        return Cause(
            f"stuck in Init:{done}/{total}: {what} ({name}) runs as a plain init container without "
            "restartPolicy: Always, so it never completes and the model server never starts",
            [f"initContainers[{name}]: image {c.get('image')}, no restartPolicy (state running)"],
            f"Make {name} a native sidecar: set `restartPolicy: Always` on it under initContainers "
            "(Kubernetes >= 1.29), or move it to containers; drop it if you do not run P/D disaggregation.",
        )
    return None


def pod_cause(snap: Snapshot, pod: Obj) -> Cause:
    """The most telling reason a model-server pod is not Ready, with kubectl-describe style evidence."""
    st = pod.get("status") or {}
    events = warning_events(snap, pod)
    ref = f"Pod/{k.namespace(pod)}/{k.name(pod)}"
    summary = f"{ref}: {k.pod_summary(pod)}"
    sched = k.condition(pod, "PodScheduled")
    if st.get("phase") == "Pending" and sched is not None and sched.get("status") == "False":
        msg = str(sched.get("message") or "")
        sched_events = [e for e in events if "FailedScheduling" in e]
        gpu = re.search(r"Insufficient ([\w.\-/]+gpu[\w.\-/]*|google\.com/tpu|habana\.ai/gaudi)", msg + " ".join(sched_events))
        text = f"Pending, {sched.get('reason') or 'Unschedulable'}: {msg}" if msg else "Pending, Unschedulable"
        fix = (f"No node can give the pod its {gpu.group(1)}: add GPU nodes (or free GPUs), or lower the request; "
               "a simulator needs no GPU at all (see model-servers.gpu).") if gpu else \
            "Make a node fit the pod: see the scheduler's message (resources, node selector, taints)."
        return Cause(text, [summary, *sched_events[-2:]], fix)
    for cname, reason, message in k.waiting_reasons(pod):
        if reason == "CreateContainerConfigError":
            m = _MISSING_REF.search(message) or next((_MISSING_REF.search(e) for e in events if _MISSING_REF.search(e)), None)
            text = f"CreateContainerConfigError ({cname}): {message or 'container config invalid'}"
            fix = "Fix the container's env/volume references (see the event)."
            evidence = [summary, *[e for e in events if "Failed" in e][-2:]]
            if m:
                kind, missing = m.group(1), m.group(2)
                key = _secret_ref_hint(pod, kind, missing)
                ns = k.namespace(pod)
                if kind.lower() == "secret":
                    exists = snap.maybe_list("Secret", ns)
                    if exists is not None and not any(k.name(s) == missing for s in exists):
                        evidence.append(f"Secret/{ns}/{missing} does not exist")
                    fix = (f"Create the Secret: `kubectl create secret generic {missing} -n {ns} "
                           f"--from-literal={key or 'HF_TOKEN'}=<value>` (for llm-d: a Hugging Face token), "
                           "or mark the secretKeyRef `optional: true` if the model is not gated.")
                else:
                    fix = f"Create ConfigMap {missing} in {ns} with the keys the pod references."
            return Cause(text, evidence, fix)
        if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
            image = next((c.get("image") for c in k.containers(k.pod_spec(pod)) if c.get("name") == cname), "?")
            pulls = [e for e in events if "Failed" in e and ("pull" in e.lower() or "image" in e.lower())]
            return Cause(f"{reason} ({cname}): image {image} cannot be pulled" + (f" — {message}" if message else ""),
                         [summary, *pulls[-2:]],
                         f"Check that {image} exists (tag spelled right, `docker pull` works) and that the pod "
                         "has the imagePullSecret the registry needs.")
        if reason == "CrashLoopBackOff":
            cs = next((c for c in k.container_statuses(pod) if c.get("name") == cname), {})
            t = k.last_terminated(cs) or {}
            last = f"last exit {t.get('exitCode')} ({t.get('reason') or 'terminated'})" if t else "crashing"
            oom = t.get("reason") == "OOMKilled"
            return Cause(
                f"CrashLoopBackOff ({cname}), {int(cs.get('restartCount') or 0)} restarts, {last}"
                + (": killed for exceeding its memory limit" if oom else ""),
                [summary, *events[-2:]],
                "Raise the container's memory limit (vLLM loads the weights through host memory)." if oom else
                "See model-servers.logs (or `kubectl logs --previous`) for why the container exits.",
            )
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
                     "See model-servers.logs: vLLM is usually still loading the model or has failed to.")
    return Cause(f"{st.get('phase') or 'Unknown'}, not Ready", [summary, *events[-2:]])


def _restart_note(pods: list[Obj]) -> str:
    n = sum(k.restarts(p) for p in pods)
    return f", {n} restart{'s' if n != 1 else ''} in total" if n else ""


def _group_caps(g: Group, all_groups: list[Group]) -> tuple[str, ...]:
    """What a group with no Ready pod takes away: inference itself, unless others still serve."""
    others_serve = any(o is not g and o.ready and o.role != "prefill" for o in all_groups)
    if g.role == "prefill":
        return (PD_DISAGGREGATION,)
    return () if others_serve else CORE


def _llm_d_present(snap: Snapshot) -> bool:
    return bool(_llmd.pools(snap)) or bool(any(
        any(is_epp_container(c) for c in k.containers(k.pod_spec(d), init=False))
        for d in snap.maybe_list(DEPLOYMENT) or []))


def _port_flags(pod: Obj) -> tuple[int, int] | None:
    """(sidecar --vllm-port, vLLM --port) when a routing sidecar fronts vLLM in this pod."""
    ms = knowledge()
    spec = k.pod_spec(pod)
    side = next((c for c in k.containers(spec) if is_sidecar(c)), None)
    server = server_container(pod)
    if side is None or server is None or is_simulator(server):
        return None
    sflags = k.parse_args(_argv(side))
    vflags = k.parse_args(_argv(server))
    try:
        return int(sflags.get("vllm-port", ms["default_sidecar_vllm_port"])), \
            int(vflags.get("port", ms["default_vllm_port"]))
    except ValueError:
        return None


@check(
    "model-servers.pods",
    title="Model-server pods",
    area="model-servers",
    severity=Severity.CRITICAL,
    inputs=MS_INPUTS,
    requires=("cluster.access",),
    capabilities=CORE,
    remediation="See the cause named above; `kubectl describe pod -n <ns> <pod>` shows the same events.",
)
def model_server_pods_check(ctx: CheckContext) -> Iterator[Finding]:
    """Decode/prefill pods: phase, readiness, restarts, waiting reasons and scheduling events, per role and owner."""
    snap = ctx.snapshot
    gs = groups(snap)
    if not gs:
        if _llm_d_present(snap):
            pools = ", ".join(p.ref for p in _llmd.pools(snap)) or "an endpoint picker"
            yield Finding(Status.FAIL, f"no model-server pods: {pools} exists, but no pod runs vLLM, carries "
                          "llm-d.ai/role or is selected by an InferencePool",
                          remediation="Deploy the model servers (llm-d-modelservice / the guide's decode "
                          "Deployment) with the labels the InferencePool selects.")
        else:
            yield Finding(Status.SKIP, "no model-server pods found (no vLLM pods, no llm-d.ai/role labels, "
                          "no InferencePool) and nothing indicates llm-d is deployed")
        return
    for g in gs:
        ready, want = g.ready, g.desired
        head = f"{len(ready)}/{want} {g.noun} Ready ({g.ref})"
        if want == 0 and not g.pods:
            yield Finding(Status.WARN, f"{g.ref} is scaled to 0 replicas: no {g.noun} run", g.ref,
                          remediation=f"kubectl scale -n {g.namespace} {g.owner_kind.lower()}/{g.owner_name} --replicas=1",
                          capabilities=_group_caps(g, gs))
            continue
        bad = [p for p in g.pods if not k.pod_ready(p)]
        if not ready:
            if not g.pods:
                evs = [f"event on {e}" for e in _workload_events(snap, g)]
                yield Finding(Status.FAIL, f"{head}: no pods were created", g.ref, tuple(evs),
                              remediation="See the ReplicaSet's FailedCreate events (quota, admission webhooks, "
                              "PodSecurity).", capabilities=_group_caps(g, gs))
                continue
            causes = [pod_cause(snap, p) for p in bad]
            first = causes[0]
            evidence = [line for c in causes for line in c.evidence]
            yield Finding(Status.FAIL, f"{head}: {first.text}", g.ref, tuple(dict.fromkeys(evidence)),
                          remediation=first.fix, capabilities=_group_caps(g, gs))
            continue
        if bad or len(ready) < want:
            causes = [pod_cause(snap, p) for p in bad]
            why = f": {causes[0].text}" if causes else f": only {len(g.pods)} pods exist"
            evidence = [line for c in causes for line in c.evidence]
            yield Finding(Status.WARN, f"{head}{why}", g.ref, tuple(dict.fromkeys(evidence)),
                          remediation=causes[0].fix if causes else None, capabilities=())
            continue
        mismatched = [(p, ports) for p in g.pods if (ports := _port_flags(p)) and ports[0] != ports[1]]
        if mismatched:
            p, (side, vllm) = mismatched[0]
            yield Finding(Status.WARN, f"{head}, but the routing sidecar forwards to port {side} while vLLM "
                          f"listens on {vllm}: requests through the sidecar get 502", g.ref,
                          (f"Pod/{k.namespace(p)}/{k.name(p)}: routing-proxy --vllm-port={side}, vLLM --port {vllm}",),
                          remediation="Make the sidecar's --vllm-port equal vLLM's --port (8200 in llm-d decode pods).",
                          capabilities=(OPENAI_API,))
            continue
        image = (server_container(g.pods[0]) or {}).get("image")
        yield Finding(Status.PASS, head + _restart_note(g.pods) + (f"; image {image}" if image else ""), g.ref)


def _workload_events(snap: Snapshot, g: Group) -> list[str]:
    out = [f"{g.ref}: {event_text(e)}" for e in events_for(snap, g.owner_kind, g.namespace, g.owner_name)
           if e.get("type") == "Warning"]
    for rs in snap.maybe_list(REPLICASET, g.namespace) or []:
        if any(r.get("name") == g.owner_name for r in k.meta(rs).get("ownerReferences") or []):
            out += [f"ReplicaSet/{g.namespace}/{k.name(rs)}: {event_text(e)}"
                    for e in events_for(snap, "ReplicaSet", g.namespace, k.name(rs)) if e.get("type") == "Warning"]
    return out


# ---- GPUs ------------------------------------------------------------------------------------


def _is_gpu_resource(name: str) -> bool:
    return any(name == r or (r.endswith(("/", "-")) and name.startswith(r)) for r in knowledge()["gpu_resources"])


def _qty(v: Any) -> int:
    try:
        return int(float(str(v)))
    except ValueError:
        return 0


def gpu_requests(pod: Obj) -> dict[str, int]:
    """GPU-like extended resources a pod asks for (requests, or limits which imply them)."""
    spec = k.pod_spec(pod)
    total: dict[str, int] = {}
    running = list(spec.get("containers") or []) + [c for c in spec.get("initContainers") or []
                                                     if (c or {}).get("restartPolicy") == "Always"]
    for c in running:
        res = (c or {}).get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        for name, v in merged.items():
            if _is_gpu_resource(str(name)):
                total[str(name)] = total.get(str(name), 0) + _qty(v)
    for c in spec.get("initContainers") or []:  # plain init containers: the pod needs their max
        if (c or {}).get("restartPolicy") == "Always":
            continue
        res = (c or {}).get("resources") or {}
        for name, v in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            if _is_gpu_resource(str(name)):
                total[str(name)] = max(total.get(str(name), 0), _qty(v))
    return {n: v for n, v in total.items() if v > 0}


def _tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and str(t.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def _match_node_term(term: Obj, labels: dict[str, str]) -> bool:
    for e in term.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in e.get("values") or []]
        have = labels.get(key)
        ok = {
            "In": have is not None and have in values,
            "NotIn": have is None or have not in values,
            "Exists": have is not None,
            "DoesNotExist": have is None,
            "Gt": have is not None and have.isdigit() and values and int(have) > int(values[0]),
            "Lt": have is not None and have.isdigit() and values and int(have) < int(values[0]),
        }.get(str(op), True)
        if not ok:
            return False
    return True


def node_blocker(node: Obj, pod: Obj) -> str | None:
    """Why the scheduler would not place this pod on this node (None = it may)."""
    ready = k.condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned (unschedulable)"
    spec = k.pod_spec(pod)
    tols = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tols, taint):
            return f"taint {taint.get('key')}{'=' + str(taint['value']) if taint.get('value') else ''}:{taint.get('effect')} not tolerated"
    labels = k.labels(node)
    sel = spec.get("nodeSelector") or {}
    if any(labels.get(a) != str(b) for a, b in sel.items()):
        return f"nodeSelector {k.selector_text({str(a): str(b) for a, b in sel.items()})} does not match"
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    if terms and not any(_match_node_term(t, labels) for t in terms if isinstance(t, dict)):
        return "required node affinity does not match"
    return None


def _allocatable(node: Obj, resource: str) -> int:
    return _qty(((node.get("status") or {}).get("allocatable") or {}).get(resource, 0))


def _products(nodes: list[Obj]) -> list[str]:
    out: list[str] = []
    for n in nodes:
        labels = k.labels(n)
        for lbl in knowledge()["gpu_product_labels"]:
            if labels.get(lbl) and labels[lbl] not in out:
                out.append(labels[lbl])
                break
    return out


def _count_text(reqs: list[int], resource: str) -> str:
    by: dict[int, int] = {}
    for r in reqs:
        by[r] = by.get(r, 0) + 1
    return ", ".join(f"{n} pod{'s' if n != 1 else ''} × {r} {resource}" for r, n in sorted(by.items()))


@check(
    "model-servers.gpu",
    title="GPU requests and capacity",
    area="model-servers",
    severity=Severity.CRITICAL,
    inputs=(*MS_INPUTS, "Node"),
    requires=("cluster.access",),
    capabilities=(GPU_INFERENCE,),
    remediation=(
        "Give the cluster schedulable GPU nodes (GPU operator / device plugin advertising nvidia.com/gpu), "
        "or lower the model servers' GPU requests."
    ),
)
def model_servers_gpu(ctx: CheckContext) -> Iterator[Finding]:
    """GPU requests/limits of model-server pods against allocatable GPUs on schedulable nodes; GPU products."""
    snap = ctx.snapshot
    pods = model_server_pods(snap)
    if not pods:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    gpu_pods = [p for p in pods if gpu_requests(p)]
    sims = [p for p in gpu_pods if (c := server_container(p)) is not None and is_simulator(c)]
    for p in sims:
        r = gpu_requests(p)
        ref = obj_ref(p)
        yield Finding(Status.WARN, f"{ref} runs the llm-d inference simulator but requests "
                      f"{', '.join(f'{v} {n}' for n, v in r.items())}: the simulator needs no GPU", ref,
                      (f"image {(server_container(p) or {}).get('image')}",),
                      remediation="Drop the GPU requests/limits from the simulator's resources.", capabilities=())
    if not gpu_pods:
        real = [p for p in pods if (c := server_container(p)) is not None and not is_simulator(c)
                and not (k.pod_spec(p).get("resourceClaims")) and "cpu" not in str(c.get("image", ""))]
        if real:
            ref = obj_ref(real[0])
            yield Finding(Status.WARN, f"{len(real)} vLLM pod(s) request no GPU resource (e.g. {ref}): without "
                          "nvidia.com/gpu (or another accelerator) the device plugin gives them no GPU", ref,
                          capabilities=())
        else:
            yield Finding(Status.PASS, f"{len(pods)} model-server pod(s) need no GPU resource "
                          "(simulator, CPU image or DRA claims)")
        return
    try:
        nodes = snap.list("Node")
    except DataUnavailable as e:
        yield Finding(Status.SKIP, f"{len(gpu_pods)} model-server pods request GPUs, but node capacity is unknown: {e}")
        return
    resources = sorted({r for p in gpu_pods for r in gpu_requests(p)})
    for res in resources:
        wanting = [p for p in gpu_pods if res in gpu_requests(p)]
        amounts = [gpu_requests(p)[res] for p in wanting]
        having = [n for n in nodes if _allocatable(n, res) > 0]
        hint = " (the simulator needs none)" if sims else ""
        if not having:
            gpu_nodes = [n for n in nodes if any(_is_gpu_resource(str(r)) for r in
                                                  ((n.get("status") or {}).get("allocatable") or {}))]
            evidence = [f"{len(nodes)} nodes, none advertises allocatable {res}"]
            evidence += [f"Node/{k.name(n)} allocatable: " + ", ".join(
                f"{r}={v}" for r, v in ((n.get("status") or {}).get("allocatable") or {}).items() if _is_gpu_resource(str(r)))
                for n in gpu_nodes[:3]]
            evidence += [e for p in wanting for e in warning_events(snap, p) if "FailedScheduling" in e][:2]
            yield Finding(Status.FAIL, f"{_count_text(amounts, res)} requested{hint}, but no node has allocatable "
                          f"{res}: the pods cannot be scheduled", obj_ref(wanting[0]), tuple(evidence),
                          remediation=("Remove the GPU requests from the simulator pods. " if sims else "")
                          + f"Add nodes that advertise {res} (install the GPU operator / device plugin), "
                          "or request the accelerator the nodes have.")
            continue
        # Which nodes each pod could land on, and why the others are out.
        unplaceable: list[tuple[Obj, list[str]]] = []
        usable: dict[str, Obj] = {}
        # Pods of one Deployment share their scheduling constraints: judge each distinct set once.
        judged: dict[tuple[str, int], tuple[bool, list[str]]] = {}
        for p, want in zip(wanting, amounts, strict=True):
            spec = k.pod_spec(p)
            sig = (json.dumps([spec.get("nodeSelector"), spec.get("tolerations"), spec.get("affinity")],
                              sort_keys=True, default=str), want)
            if sig not in judged:
                why: list[str] = []
                ok = False
                for n in having:
                    block = node_blocker(n, p)
                    if block is None and _allocatable(n, res) < want:
                        block = f"only {_allocatable(n, res)} {res} allocatable"
                    if block is None:
                        ok = True
                        usable[k.name(n)] = n
                    else:
                        why.append(f"Node/{k.name(n)}: {block}")
                judged[sig] = (ok, why)
            ok, why = judged[sig]
            if not ok:
                unplaceable.append((p, why))
        if unplaceable:
            p, why = unplaceable[0]
            yield Finding(Status.FAIL, f"{len(unplaceable)} of {len(wanting)} GPU pods fit no node: "
                          f"{obj_ref(p)} needs {gpu_requests(p)[res]} {res}, and no schedulable node offers it{hint}",
                          obj_ref(p), tuple(why[:5]),
                          remediation="Uncordon/repair the GPU nodes, tolerate their taints or fix the node "
                          "selector, or lower the per-pod GPU request.")
            continue
        offered = sum(_allocatable(n, res) for n in usable.values())
        products = _products(list(usable.values()))
        prod = f" ({', '.join(products)})" if products else ""
        if sum(amounts) > offered:
            yield Finding(Status.WARN, f"{_count_text(amounts, res)} = {sum(amounts)} {res} requested, but the "
                          f"schedulable nodes offer {offered}{prod}: some pods will stay Pending", obj_ref(wanting[0]),
                          tuple(f"Node/{k.name(n)} allocatable {res}={_allocatable(n, res)}" for n in usable.values()),
                          remediation=f"Add {res} capacity or lower the replicas/GPU requests.",
                          capabilities=())
            continue
        pending = [p for p in wanting if not (k.pod_spec(p).get("nodeName"))]
        insufficient = [e for p in pending for e in warning_events(snap, p) if f"Insufficient {res}" in e]
        if insufficient:
            yield Finding(Status.WARN, f"{len(pending)} GPU pod(s) Pending with 'Insufficient {res}' although "
                          f"schedulable nodes offer {offered} {res}{prod}: the GPUs are held by other pods",
                          obj_ref(pending[0]), tuple(insufficient[:3]),
                          remediation=f"Free {res} on the GPU nodes (`kubectl describe node` lists what runs there) "
                          "or add capacity.", capabilities=())
            continue
        on = {str(k.pod_spec(p).get("nodeName")) for p in wanting if k.pod_spec(p).get("nodeName")}
        where = f" on {len(on)} node{'s' if len(on) != 1 else ''}" if on else ""
        run_products = _products([n for n in nodes if k.name(n) in on]) or products
        yield Finding(Status.PASS, f"{_count_text(amounts, res)}{where}"
                      f"{' (' + ', '.join(run_products) + ')' if run_products else ''}; "
                      f"{offered} {res} allocatable on {len(usable)} schedulable nodes")


# ---- logs ------------------------------------------------------------------------------------


def _component(c: Obj) -> str | None:
    if is_sidecar(c):
        return "routing-sidecar"
    if is_model_server_container(c):
        return "vllm"
    return None


def _log_containers(pod: Obj) -> list[tuple[Obj, str]]:
    """(container, signature component) for the containers whose logs explain a model server."""
    out = []
    for c in k.containers(k.pod_spec(pod)):
        comp = _component(c)
        if comp is None and c is server_container(pod):
            comp = "vllm"
        if comp:
            out.append((c, comp))
    return out


def _started(pod: Obj, cname: str) -> tuple[bool, bool]:
    """(has a current log, has a previous log) for one container."""
    cs = next((c for c in k.container_statuses(pod) if c.get("name") == cname), {})
    state = cs.get("state") or {}
    current = "running" in state or "terminated" in state
    previous = bool(int(cs.get("restartCount") or 0) or k.last_terminated(cs))
    return current, previous


def _healthy(pod: Obj) -> bool:
    return k.pod_ready(pod) and not k.restarts(pod)


def _ms_log_requests(snap: Snapshot) -> Iterator[LogRequest]:
    """Logs of model-server pods that are not Ready or restarted (the previous run too when restarted)."""
    for pod in model_server_pods(snap):
        if _healthy(pod):
            continue
        for c, _ in _log_containers(pod):
            cname = str(c.get("name"))
            current, previous = _started(pod, cname)
            if current:
                yield LogRequest(k.namespace(pod), k.name(pod), cname, previous=False)
            if previous:
                yield LogRequest(k.namespace(pod), k.name(pod), cname, previous=True)


def _pod_caps(pod: Obj, gs: list[Group]) -> tuple[str, ...]:
    g = next((g for g in gs if any(p is pod for p in g.pods)), None)
    if g is None or g.ready:
        return ()
    return _group_caps(g, gs)


@check(
    "model-servers.logs",
    title="Model-server logs",
    area="model-servers",
    severity=Severity.MAJOR,
    inputs=MS_INPUTS,
    requires=("cluster.access",),
    capabilities=CORE,
    logs=_ms_log_requests,
    remediation="See the cause named above; `kubectl logs -n <ns> <pod> -c <container> --previous` shows the crash.",
)
def model_servers_logs(ctx: CheckContext) -> Iterator[Finding]:
    """vLLM and routing-sidecar log signatures (CUDA OOM, gated model, no GPU, readiness waits, sidecar refused)."""
    snap = ctx.snapshot
    pods = model_server_pods(snap)
    if not pods:
        yield Finding(Status.SKIP, "no model-server pods found")
        return
    gs = groups(snap)
    quiet: list[str] = []  # healthy pods with nothing to report (one summary line, live and bundle alike)
    for pod in pods:
        ref = obj_ref(pod)
        healthy = _healthy(pod)
        containers = _log_containers(pod)
        if not healthy and not any(any(_started(pod, str(c.get("name")))) for c, _ in containers):
            yield Finding(Status.SKIP, f"{ref} has not started its containers ({k.pod_summary(pod)}); "
                          "model-servers.pods names why", ref)
            continue
        texts: list[tuple[str, str, str, str]] = []  # (which, container, component, text)
        unavailable: str | None = None
        for c, comp in containers:
            for previous in (True, False):
                req = LogRequest(k.namespace(pod), k.name(pod), str(c.get("name")), previous)
                try:
                    text = snap.log(req)
                except DataUnavailable as e:  # not captured / forbidden: say so, do not guess
                    unavailable = str(e)
                    continue
                if text:
                    texts.append(("previous" if previous else "current", str(c.get("name")), comp, text))
        if not texts:
            if healthy:
                quiet.append(ref)
            elif unavailable:
                yield Finding(Status.SKIP, f"{ref} is unhealthy ({k.pod_summary(pod)}) but {unavailable}", ref)
            else:
                yield Finding(Status.WARN, f"{ref} is unhealthy ({k.pod_summary(pod)}) and its logs are empty",
                              ref, capabilities=())
            continue
        matched_containers: set[str] = set()
        for which, cname, comp, text in texts:
            if cname in matched_containers:
                continue  # the previous run explains the crash; the current one repeats it
            for sig, grp, lines in _knowledge.match_log(comp, text):
                matched_containers.add(cname)
                evidence = list(lines) + [f"{which} log of {ref} container {cname}; known in {sig.versions}"]
                if sig.id == "sidecar-vllm-connection-refused" and (ports := _port_flags(pod)):
                    evidence.insert(0, f"routing-proxy --vllm-port={ports[0]}; vLLM --port {ports[1]}")
                caps = sig.capabilities if sig.capabilities is not None else _pod_caps(pod, gs)
                yield Finding(Status(sig.status), f"{ref}: " + _knowledge.fill(sig.cause, grp), ref,
                              tuple(evidence), remediation=_knowledge.fill(sig.fix, grp), capabilities=caps)
        if matched_containers:
            continue
        if healthy:  # the same words whether or not the source captured a healthy pod's log
            quiet.append(ref)
            continue
        last = tuple(texts[0][3].strip().splitlines()[-3:])
        yield Finding(Status.WARN, f"{ref} is unhealthy ({k.pod_summary(pod)}) and its logs match no known "
                      "signature", ref, last, capabilities=())
    if quiet:
        n = len(quiet)
        yield Finding(Status.PASS, f"{n} model-server pod{'s are' if n != 1 else ' is'} Ready with no restarts; "
                      "no crash to explain", evidence=tuple(quiet))
