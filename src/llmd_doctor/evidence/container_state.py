"""A container's state, from its `status.containerStatuses[]` entry, said plainly.

Fields: `state` and `lastState` hold one of `waiting {reason, message}`, `running {startedAt}` or
`terminated {exitCode, signal, reason, message, finishedAt}`; `ready`, `started`, `restartCount`
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus).
"""

from __future__ import annotations

from typing import Any

from .exit_codes import exit_code_meaning
from .lines import clip

Status = dict[str, Any]

# Waiting reasons that mean the container ran (or was started) and failed.
CRASH_WAITING_REASONS = frozenset({"CrashLoopBackOff", "RunContainerError", "Error", "OOMKilled",
                                   "ContainerCannotRun", "StartError"})
CRASH_TERMINATED_REASONS = frozenset({"Error", "OOMKilled", "ContainerCannotRun", "StartError",
                                      "DeadlineExceeded"})


def _obj(v: Any) -> Status:
    return v if isinstance(v, dict) else {}


def _state(cs: Status, key: str = "state") -> tuple[str, Status]:
    state = _obj(cs.get(key))
    for name in ("terminated", "waiting", "running"):
        if name in state:
            return name, _obj(state[name])
    return "", {}


def _reason(d: Status) -> str:
    r = d.get("reason")
    return r if isinstance(r, str) else ""


def _exit_code(t: Status) -> int | None:
    code = t.get("exitCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _failed(t: Status) -> bool:
    code = _exit_code(t)
    return (code is not None and code != 0) or _reason(t) in CRASH_TERMINATED_REASONS


def is_crash(container_status: Status) -> bool:
    """The container terminated with an error, crash-loops, or its previous run ended in failure."""
    cs = _obj(container_status)
    name, detail = _state(cs)
    if name == "terminated" and _failed(detail):
        return True
    if name == "waiting" and _reason(detail) in CRASH_WAITING_REASONS:
        return True
    last_name, last = _state(cs, "lastState")
    return last_name == "terminated" and _failed(last)


def termination(container_status: Status) -> Status | None:
    """The termination that explains a crash: the current one, else the previous run's."""
    cs = _obj(container_status)
    name, detail = _state(cs)
    if name == "terminated":
        return detail
    last_name, last = _state(cs, "lastState")
    return last if last_name == "terminated" else None


def _describe_exit(t: Status) -> str:
    code = _exit_code(t)
    reason = _reason(t)
    head = f"exit {code}" if code is not None else "no exit code"
    head += f" ({reason})" if reason else ""
    return f"{head}: {exit_code_meaning(code, reason, t.get('signal'))}"


def describe_state(container_status: Status) -> str:
    """One line on the container's state; a crashed container is never called starting or loading."""
    cs = _obj(container_status)
    name, detail = _state(cs)
    restarts = cs.get("restartCount") if isinstance(cs.get("restartCount"), int) else 0
    after = f", {restarts} restart{'s' if restarts != 1 else ''}" if restarts else ""
    last_name, last = _state(cs, "lastState")
    previous = f"; previous run: {_describe_exit(last)}" if last_name == "terminated" and _failed(last) else ""
    if name == "terminated":
        word = "crashed" if _failed(detail) else "terminated"
        return f"{word}: {_describe_exit(detail)}{after}"
    if name == "waiting":
        reason = _reason(detail) or "waiting"
        if reason == "CrashLoopBackOff":
            last_run = f": last run {_describe_exit(last)}" if last_name == "terminated" else ""
            return f"crash-looping (CrashLoopBackOff){after}{last_run}"
        message = f" — {clip(str(detail['message']), 200)}" if detail.get("message") else ""
        crashed = "crashed, " if reason in CRASH_WAITING_REASONS else ""
        return f"{crashed}waiting: {reason}{message}{after}{previous}"
    if name == "running":
        ready = "ready" if cs.get("ready") else "not ready"
        return f"running, {ready}{after}{previous}"
    return "state not reported"
