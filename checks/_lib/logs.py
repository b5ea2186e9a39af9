"""The one routine that reads a pod's logs and names what they say: logs -> signatures -> causes.

Used by every check that explains a component from its logs (model servers, endpoint pickers,
gateway controllers). The previous run of a container (the one that crashed) is read before the
current one; a container whose previous log explains it is not explained again by the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.knowledge import Signature, match_signatures
from llmd_doctor.snapshot import DataUnavailable, LogRequest, NotCollected, Snapshot

Obj = dict[str, Any]


@dataclass(frozen=True)
class LogText:
    which: str  # "previous" | "current"
    container: str
    component: str  # which signatures apply (`vllm`, `routing-sidecar`, `epp`, a gateway implementation)
    text: str
    pod: str  # Pod/ns/name

    @property
    def where(self) -> str:
        return f"{self.which} log of {self.pod} container {self.container}"

    def tail(self, n: int = 3) -> tuple[str, ...]:
        return tuple(self.text.strip().splitlines()[-n:])


@dataclass(frozen=True)
class KnownCause:
    signature: Signature
    groups: dict[str, str]
    lines: list[str]
    log: LogText


def started(pod: Obj, container: str) -> tuple[bool, bool]:
    """(has a current log, has a previous log) for one container."""
    cs = next((c for c in k8s.container_statuses(pod) if c.get("name") == container), {})
    state = cs.get("state") or {}
    current = "running" in state or "terminated" in state
    previous = bool(int(cs.get("restartCount") or 0) or k8s.last_terminated(cs))
    return current, previous


def healthy(pod: Obj) -> bool:
    return k8s.pod_ready(pod) and not k8s.restarts(pod)


def requests_for(pod: Obj, containers: Iterable[str]) -> list[LogRequest]:
    """The log requests that explain a pod: each container's current log (for a crash-looping one, the
    last run's), and its previous one after a restart."""
    out = []
    for cname in containers:
        current, previous = started(pod, cname)
        if current or previous:
            out.append(LogRequest(k8s.namespace(pod), k8s.name(pod), cname, previous=False))
        if previous:
            out.append(LogRequest(k8s.namespace(pod), k8s.name(pod), cname, previous=True))
    return out


def read(snap: Snapshot, pod: Obj, containers: Iterable[tuple[str, str]]) -> tuple[list[LogText], str | None]:
    """Non-empty logs of (container, component) pairs, previous run first; and why some could not be read."""
    ref = f"Pod/{k8s.namespace(pod)}/{k8s.name(pod)}"
    texts: list[LogText] = []
    unavailable: str | None = None
    for cname, component in containers:
        for previous in (True, False):
            try:
                text = snap.log(LogRequest(k8s.namespace(pod), k8s.name(pod), cname, previous))
            except DataUnavailable as e:  # not captured / forbidden: say so (the refusal first), do not guess
                if unavailable is None or not isinstance(e, NotCollected):
                    unavailable = str(e)
                continue
            if text:
                texts.append(LogText("previous" if previous else "current", cname, component, text, ref))
    return texts, unavailable


def known_causes(texts: list[LogText], signatures: Callable[[str], tuple[Signature, ...]]) -> list[KnownCause]:
    """Signature matches, per container the first of its logs that explains it."""
    out: list[KnownCause] = []
    explained: set[str] = set()
    for log in texts:
        if log.container in explained:
            continue
        for sig, groups, lines in match_signatures(signatures(log.component), log.text):
            explained.add(log.container)
            out.append(KnownCause(sig, groups, lines, log))
    return out
