"""Model servers: which pods serve a model, grouped by role and owning workload, and what they serve.

A model-server pod is one an InferencePool selects, one labelled `llm-d.ai/role`, or one running a
vLLM (or llm-d inference simulator) image or command; endpoint-picker pods never are. Pods are
grouped by (namespace, owner, role), so a finding reads "3/3 decode pods Ready". Which containers
serve which ports and model names is read here once for every check.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmd_doctor import k8s, knowledge
from llmd_doctor.memo import distinct_containers, per_containers, per_object
from llmd_doctor.topology.epps import argv, is_epp_container

if TYPE_CHECKING:
    from llmd_doctor.topology.pools import Pool

Obj = dict[str, Any]
_PORT_ARG = re.compile(r"^--?port(?:=(\d+))?$")
_VLLM_CMD = re.compile(r"\bvllm\b.*\bserve\b|vllm\.entrypoints\.openai\.api_server")


@per_object
def is_model_server_container(c: Obj) -> bool:
    ms = knowledge.model_servers()
    image = str(c.get("image", ""))
    if any(p.search(image) for p in ms.images):
        return True
    cmd = " ".join(argv(c))
    return any(p.search(cmd) for p in ms.commands)


def is_simulator(c: Obj) -> bool:
    return any(s in str(c.get("image", "")) for s in knowledge.model_servers().simulator_images)


def is_sidecar(c: Obj) -> bool:
    ms = knowledge.model_servers()
    return c.get("name") in ms.sidecar_names or any(s in str(c.get("image", "")) for s in ms.sidecar_images)


@per_containers
def server_container(pod_or_workload: Obj) -> Obj | None:
    """The model-server container: a vLLM/simulator one, else the first that is no known sidecar."""
    main = k8s.containers(k8s.pod_spec(pod_or_workload), init=False)
    for c in main:
        if is_model_server_container(c):
            return c
    return next((c for c in main if not is_sidecar(c) and c.get("name") != "istio-proxy"), None)


def template_labels(workload: Obj) -> dict[str, str]:
    meta = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {str(a): str(b) for a, b in (meta.get("labels") or {}).items()}


def role_of(obj: Obj) -> str:
    """`decode`, `prefill`, `both`, `encode`, or "" (no role label)."""
    labels = k8s.labels(obj) if obj.get("kind") == "Pod" else template_labels(obj)
    return labels.get(knowledge.model_servers().role_label, "")


def serving_containers(pod: Obj) -> list[Obj]:
    """Containers that serve traffic: the regular ones and native sidecars (initContainers with
    restartPolicy Always, like llm-d's routing-proxy)."""
    spec = k8s.pod_spec(pod)
    return list(spec.get("containers") or []) + [
        c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]


def is_vllm(c: Obj) -> bool:
    return bool(_VLLM_CMD.search(" ".join(argv(c))))


@per_object
def served_ports(c: Obj) -> tuple[frozenset[int], bool]:
    """Ports a container listens on: declared containerPorts, a `--port` argument (vLLM, routing
    sidecar), vLLM's default 8000. Second value: whether the container says anything about ports."""
    ports = {int(p["containerPort"]) for p in c.get("ports") or [] if isinstance(p.get("containerPort"), int)}
    args = argv(c)
    said = bool(ports)
    for i, a in enumerate(args):
        m = _PORT_ARG.match(a)
        if not m:
            continue
        value = m.group(1) or (args[i + 1] if i + 1 < len(args) else "")
        if value.isdigit():
            ports.add(int(value))
            said = True
    if not any(_PORT_ARG.match(a) for a in args) and is_vllm(c):
        ports.add(knowledge.model_servers().default_vllm_port)
        said = True
    return frozenset(ports), said


@per_containers
def pod_ports(pod: Obj) -> tuple[dict[int, str], bool]:
    """{port: container} served by the pod, and whether any container says anything about ports."""
    served: dict[int, str] = {}
    said = False
    for c in serving_containers(pod):
        ports, s = served_ports(c)
        said = said or s
        for p in ports:
            served.setdefault(p, str(c.get("name")))
    return served, said


def _split_shell(args: list[str]) -> list[str]:
    """`sh -c "vllm serve m --port 8000"` → its words."""
    if not any(" " in a for a in args):
        return args
    out: list[str] = []
    for a in args:
        try:
            out += shlex.split(a) if " " in a else [a]
        except ValueError:
            out.append(a)
    return out


def _flag_values(args: list[str], flag: str) -> list[str]:
    """Values of `--flag a b` / `--flag=a` (nargs='+' style, as vLLM's --served-model-name)."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == flag:
            for b in args[i + 1:]:
                if b.startswith("-"):
                    break
                out.append(b)
        elif a.startswith(flag + "="):
            out.append(a.split("=", 1)[1])
    return out


def model_names(c: Obj, vllm_only: bool = True) -> list[str] | None:
    """Model names a vLLM container serves: --served-model-name, else `vllm serve <model>` / --model,
    plus LoRA adapter names; None when it is not a vLLM container (any container with `vllm_only=False`)."""
    names = _vllm_model_names(c) if vllm_only else _model_names(tuple(argv(c)), False)
    return list(names) if names is not None else None


@per_object  # asked per pod and per check; replicas share the container
def _vllm_model_names(c: Obj) -> tuple[str, ...] | None:
    return _model_names(tuple(argv(c)), True)


@functools.lru_cache(maxsize=4096)  # the pods of one workload share their arguments
def _model_names(command: tuple[str, ...], vllm_only: bool) -> tuple[str, ...] | None:
    args = _split_shell(list(command))
    if vllm_only and not _VLLM_CMD.search(" ".join(args)):
        return None
    names = _flag_values(args, "--served-model-name")
    if not names:
        serve = next((i for i, a in enumerate(args) if a == "serve" and i > 0 and args[i - 1].endswith("vllm")), None)
        if serve is not None and serve + 1 < len(args) and not args[serve + 1].startswith("-"):
            names = [args[serve + 1]]
        else:
            names = _flag_values(args, "--model")[:1]
    for m in _flag_values(args, "--lora-modules"):
        if m.startswith("{"):
            hit = re.search(r'"name"\s*:\s*"([^"]+)"', m)
            names.append(hit.group(1) if hit else m)
        else:
            names.append(m.split("=", 1)[0])
    return tuple(names) or None


def looks_like_model_server(obj: Obj, labels: dict[str, str], selected: bool) -> bool:
    spec = k8s.pod_spec(obj)
    main = k8s.containers(spec, init=False)
    if any(is_epp_container(c) for c in main):
        return False
    if selected:
        return True
    ms = knowledge.model_servers()
    if labels.get(ms.role_label) in ms.roles:
        return True
    return any(is_model_server_container(c) for c in main)


@dataclass(eq=False)
class ServerGroup:
    """Model-server pods of one role under one owning workload (or a workload with no pods yet)."""

    role: str
    namespace: str
    owner_kind: str
    owner_name: str
    workload: Obj | None = None
    pods: list[Obj] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)  # the pools whose selector matches its pods
    # Views of `pods` many checks ask of every group: name -> (which pods list, the view). See _view.
    _views: dict[str, tuple[tuple[int, int], Any]] = field(default_factory=dict, repr=False)

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
        ready: list[Obj] = self._view("readiness", k8s.by_readiness)[0]
        return ready

    @property
    def unready(self) -> list[Obj]:
        """The pods that are not Ready, in pod order."""
        unready: list[Obj] = self._view("readiness", k8s.by_readiness)[1]
        return unready

    @property
    def variants(self) -> list[Obj]:
        """The first pod of each distinct (containers, initContainers) lists, in pod order: what a reader of
        containers only (memo.per_containers) answers for every pod, asked once per list."""
        variants: list[Obj] = self._view("variants", distinct_containers)
        return variants

    def _view(self, name: str, compute: Callable[[list[Obj]], Any]) -> Any:
        """`compute(self.pods)`, again only when the pods list changed (groups are filled as pods are found)."""
        key = (id(self.pods), len(self.pods))
        got = self._views.get(name)
        if got is None or got[0] != key:
            got = self._views[name] = (key, compute(self.pods))
        return got[1]

    @property
    def noun(self) -> str:
        return f"{self.role} pods" if self.role else "model-server pods"

    @property
    def template(self) -> Obj:
        """The pod template (the workload's, else the first pod)."""
        return self.workload if self.workload is not None else (self.pods[0] if self.pods else {})


def owner_of(pod: Obj, replicasets: dict[tuple[str, str], Obj]) -> tuple[str, str]:
    """(kind, name) of the workload that owns a pod: a ReplicaSet's Deployment, a StatefulSet, …"""
    refs = list(k8s.meta(pod).get("ownerReferences") or [])
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if ref is None:
        return "Pod", k8s.name(pod)
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    if kind == "ReplicaSet":
        rs = replicasets.get((k8s.namespace(pod), name))
        if rs is not None:
            dep = next((r for r in k8s.meta(rs).get("ownerReferences") or [] if r.get("kind") == "Deployment"), None)
            return ("Deployment", str(dep.get("name"))) if dep is not None else ("ReplicaSet", name)
        pth = k8s.labels(pod).get("pod-template-hash")
        if pth and name.endswith("-" + pth):  # ReplicaSets of a Deployment are named <deployment>-<hash>
            return "Deployment", name[: -len(pth) - 1]
    return kind, name


def log_containers(pod: Obj) -> list[tuple[str, str]]:
    """(container, signature component) of the containers whose logs explain a model server: the
    routing sidecar, vLLM (or the server container when no image says vLLM)."""
    server = server_container(pod)
    out = []
    for c in k8s.containers(k8s.pod_spec(pod)):
        comp = "routing-sidecar" if is_sidecar(c) else "vllm" if is_model_server_container(c) or c is server else None
        if comp:
            out.append((str(c.get("name")), comp))
    return out


@per_containers
def sidecar_ports(pod: Obj) -> tuple[int, int] | None:
    """(routing sidecar --vllm-port, vLLM --port) when a routing sidecar fronts vLLM in this pod."""
    ms = knowledge.model_servers()
    side = next((c for c in k8s.containers(k8s.pod_spec(pod)) if is_sidecar(c)), None)
    server = server_container(pod)
    if side is None or server is None or is_simulator(server):
        return None
    sflags, vflags = k8s.parse_args(argv(side)), k8s.parse_args(argv(server))
    try:
        return int(sflags.get("vllm-port", ms.default_sidecar_vllm_port)), int(vflags.get("port", ms.default_vllm_port))
    except ValueError:
        return None
