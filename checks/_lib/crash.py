"""A crashed container in words: its state in a few of them, and the root error its logs name.

Shared by the logs routine (`logs.diagnose`) and `pods.pod_cause`, so a crash is said the same way
everywhere, and a container whose state says it crashed is never called starting or loading.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmd_doctor import k8s
from llmd_doctor.evidence import RootError, describe_state, is_crash, root_error, termination

Obj = dict[str, Any]
# Waiting reasons of a container that is down because it failed (not one that has not started yet).
_DOWN_WAITING = frozenset({"CrashLoopBackOff", "RunContainerError", "Error", "OOMKilled", "ContainerCannotRun",
                           "StartError"})


def status_of(pod: Obj, container: str) -> Obj:
    """The container's `status.containerStatuses[]` (or init) entry; {} when the kubelet reports none."""
    return next((c for c in k8s.container_statuses(pod) if c.get("name") == container), {})


def down(cs: Obj) -> bool:
    """It is not running now because it failed (as opposed to: it failed before and runs again)."""
    state = cs.get("state") or {}
    if "terminated" in state:
        return is_crash({"state": state})
    return str((state.get("waiting") or {}).get("reason") or "") in _DOWN_WAITING


def _exit(t: Obj | None) -> str:
    if not t:
        return ""
    code, reason = t.get("exitCode"), str(t.get("reason") or "")
    return f"exit {code}" + (f" ({reason})" if reason and reason != "Error" else "")


def state_phrase(cs: Obj) -> str:
    """`crash-loops (6 restarts, last exit 1)`, `exited 137 (OOMKilled)`, `runs again after 3 restarts
    (previous run: exit 1)`."""
    state = cs.get("state") or {}
    n = int(cs.get("restartCount") or 0)
    restarts = f"{n} restart{'s' if n != 1 else ''}"
    last = _exit(k8s.last_terminated(cs))
    if "terminated" in state:
        return f"exited ({_exit(state.get('terminated'))})" + (f" after {restarts}" if n else "")
    reason = str((state.get("waiting") or {}).get("reason") or "")
    if reason == "CrashLoopBackOff":
        return f"crash-loops (CrashLoopBackOff, {restarts}" + (f", last {last})" if last else ")")
    if reason in _DOWN_WAITING:
        return f"failed to run ({reason}" + (f", {restarts}" if n else "") + ")"
    if "running" in state:
        return f"runs again after {restarts}" + (f" (previous run: {last})" if last else "")
    return describe_state(cs)


def memory_limit(pod: Obj, container: str) -> str | None:
    c = next((c for c in k8s.containers(k8s.pod_spec(pod)) if c.get("name") == container), {})
    limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
    return str(limit) if limit else None


def root_of(cs: Obj, logs: Iterable[tuple[str, str]]) -> tuple[RootError | None, str | None]:
    """The root error of a crashed container and which log showed it ("previous" / "current", None for the
    container state). `logs`: (which, text), the crashed run's first. A log that names an error beats one
    that shows none; OOMKilled is the cause whatever the log says last."""
    t = termination(cs)
    fallback: tuple[RootError | None, str | None] = (None, None)
    for which, text in logs:
        found = root_error(text, t)
        if found is None:
            continue
        if found.source != "container-state":
            return found, which
        if fallback[0] is None:
            fallback = (found, None)
    if fallback[0] is None and t is not None:
        return root_error(None, t), None
    return fallback


def oom(root: RootError | None) -> bool:
    return root is not None and root.source == "container-state" and "OOMKilled" in root.summary


def root_sentence(container: str, cs: Obj, root: RootError | None, pod: Obj) -> str:
    """`vllm crash-loops (6 restarts, last exit 1): KeyError: 'x' (not a known signature)`."""
    head = f"{container} {state_phrase(cs)}"
    if root is None:
        return f"{head}; its log names no error (not a known signature)"
    if oom(root):
        limit = memory_limit(pod, container)
        return (f"{head}: the kernel killed it (OOMKilled) for exceeding its memory limit"
                + (f" ({limit})" if limit else " (no memory limit set: the node ran out of memory)"))
    if root.source == "container-state":
        return f"{head}; its log names no error: {root.summary} (not a known signature)"
    return f"{head}: {root.summary} (not a known signature)"


def root_evidence(root: RootError | None, where: str | None, cs: Obj) -> list[str]:
    """The excerpt, where it was read, where in the code, and what the exit code means."""
    out: list[str] = []
    if root is not None:
        out += [line for line in root.excerpt if line.strip()]
        if where:
            out.append(f"read from the {where}" + (f" (process {root.process})" if root.process else ""))
        if root.location:
            out.append(f"at {root.location}")
        if root.note:
            out.append(root.note)
    out.append(f"state: {describe_state(cs)}")
    return out


def root_fix(container: str, root: RootError | None, pod: Obj) -> str:
    ns, name = k8s.namespace(pod), k8s.name(pod)
    if oom(root):
        limit = memory_limit(pod, container)
        return (f"Raise {container}'s resources.limits.memory" + (f" (now {limit})" if limit else "")
                + " above what it holds in RAM (vLLM loads the weights through host memory), or make it hold less.")
    return (f"No ready-made fix (not a known signature): fix what the error names. The whole log: "
            f"`kubectl logs -n {ns} {name} -c {container} --previous`.")
