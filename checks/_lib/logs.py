"""The one routine that reads a pod's logs and names what they say: logs -> signatures -> causes.

Used by every check that explains a component from its logs (model servers, endpoint pickers,
gateway controllers and proxies). Per container, `diagnose` reads the previous run (the one that
crashed) and the current one and names:

- a known signature's cause and fix (`checks/knowledge/signatures_*.yaml`, a gateway's
  `log_signatures`): it wins. A `warn` signature describes a running process (still loading, waiting
  for a peer) and is never the cause of a container whose state says it crashed;
- else, for a crashed container (terminated with an error, crash-looping, OOMKilled), the root error
  `llmd_doctor.evidence.root_error` reads from its logs and termination, said plainly as "not a known
  signature", with the excerpt and what the exit code means;
- else, for a running container, a thread its log says died (the process runs on without it), and
  for an unhealthy one the last error its log shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.evidence import RootError, dead_threads, describe_state, is_crash, root_error
from llmd_doctor.knowledge import Signature, fill, match_signatures
from llmd_doctor.snapshot import DataUnavailable, LogRequest, NotCollected, Snapshot

from . import crash

Obj = dict[str, Any]
Signatures = Callable[[str], tuple[Signature, ...]]


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

    @property
    def cause(self) -> str:
        return fill(self.signature.cause, self.groups, self.signature)

    @property
    def fix(self) -> str:
        return fill(self.signature.fix, self.groups, self.signature)


@dataclass
class LogCause:
    """What one container's logs say is wrong, ready for a Finding (the check adds the pod and its impact)."""

    container: str
    status: str  # "fail" | "warn"
    text: str  # one sentence, without the pod
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None
    known: KnownCause | None = None  # the signature that named it
    root: RootError | None = None  # the generic reading that named it


@dataclass
class Diagnosis:
    """A pod's logs as read: the texts, why some could not be read, and the causes named."""

    pod: Obj
    texts: list[LogText]
    unavailable: str | None
    causes: list[LogCause]

    @property
    def ref(self) -> str:
        return f"Pod/{k8s.namespace(self.pod)}/{k8s.name(self.pod)}"


def started(pod: Obj, container: str) -> tuple[bool, bool]:
    """(has a current log, has a previous log) for one container."""
    cs = crash.status_of(pod, container)
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
    ns, name = k8s.namespace(pod), k8s.name(pod)
    ref = f"Pod/{ns}/{name}"
    texts: list[LogText] = []
    unavailable: str | None = None
    if not snap.log_captured(ns, name):  # none of its logs was read: say so once (no per-container lookups)
        return texts, f"logs of pod {ns}/{name} were not captured"
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


def known_causes(texts: list[LogText], signatures: Signatures) -> list[KnownCause]:
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


def diagnose(snap: Snapshot, pod: Obj, containers: Iterable[tuple[str, str]], signatures: Signatures) -> Diagnosis:
    """Read the pod's logs and name, per container, what they say is wrong (see the module's docstring)."""
    pairs = list(containers)
    texts, unavailable = read(snap, pod, pairs)
    causes: list[LogCause] = []
    for cname, _ in pairs:
        mine = [t for t in texts if t.container == cname]
        causes += _container_causes(pod, cname, mine, signatures, unread=not mine and unavailable is not None)
    return Diagnosis(pod, texts, unavailable, causes)


def _container_causes(pod: Obj, cname: str, texts: list[LogText], signatures: Signatures,
                      unread: bool) -> list[LogCause]:
    cs = crash.status_of(pod, cname)
    crashed = is_crash(cs)
    if "terminated" in (cs.get("state") or {}):  # it ended: the current log is the crashed run's
        texts = sorted(texts, key=lambda t: t.which != "current")
    known = [k for k in known_causes(texts, signatures) if not (crashed and k.signature.status == "warn")]
    state = [f"state: {describe_state(cs)}"] if crashed else []
    if known and crashed:  # the signature names the cause; what the crashed run printed last goes beside it
        root, which = crash.root_of(cs, ((t.which, t.text) for t in texts))
        if root is not None and which is not None and not any(root.summary in line for k in known for line in k.lines):
            state.insert(0, f"the crashed run's error: {root.summary}")
    if known:
        return [LogCause(cname, k.signature.status, k.cause,
                         [*k.lines, f"{k.log.where}; known in {k.signature.versions}", *state], k.fix, known=k)
                for k in known]
    if crashed:
        root, which = crash.root_of(cs, ((t.which, t.text) for t in texts))
        if unread and not crash.oom(root):  # its logs could not be read: the check says so, nothing is guessed
            return []
        where = next((t.where for t in texts if t.which == which), None)
        # The container is down for certain; the cause is a reading of its log, so `warn` — except an OOM kill,
        # which the kernel itself reports.
        status = "fail" if crash.down(cs) and crash.oom(root) else "warn"
        return [LogCause(cname, status, crash.root_sentence(cname, cs, root, pod), crash.root_evidence(root, where, cs),
                         crash.root_fix(cname, root, pod), root=root)]
    current = next((t for t in texts if t.which == "current"), None)
    if current is None:
        return []
    out = [LogCause(cname, "warn", f"{cname}: thread {d.thread} died of {d.exception}; the process runs on "
                    "without it (not a known signature)", [*d.excerpt, f"{current.where}, line {d.line + 1}"],
                    "Fix what the exception names (a port taken twice, a peer it cannot reach), then restart the "
                    "pod: the thread does not come back on its own.")
           for d in dead_threads(current.text)]
    if not out and not k8s.pod_ready(pod):
        root = root_error(current.text)
        if root is not None and root.source == "log":
            out.append(LogCause(cname, "warn", f"{cname} runs but is not Ready; the last error in its log: "
                                f"{root.summary} (not a known signature)",
                                [*root.excerpt, f"read from the {current.where}"], None, root=root))
    return out
