"""What a live read could not collect, as bundle.yaml's `failedReads` — and back.

`collect` writes one entry per refused or failed read; the bundle reader turns each entry into the
snapshot state the live run had (`Snapshot.errors`, `Snapshot.denied`, `Snapshot.log_errors`), so
`check --bundle` reaches the same statuses as `check` did. An entry (docs/bundles.md):

    kind: Pod                # kind key, for a LIST of objects
    pod: p / container: c / previous: true     for a container log read (resource pods/log)
    verb: list               # list | get
    resource: pods           # plural[.group], or pods/log
    namespace: llm-d         # absent: cluster-wide, or (errors only) not known
    reason: forbidden        # forbidden | error | timeout
    message: ...             # the API's message (forbidden), or the whole error text

Bundles from before `failedReads` hold only `notCollected` (kind -> the error's text); those texts
are parsed back as well as they can be.
"""

from __future__ import annotations

import re
from typing import Any

from llmd_doctor.kinds import KINDS
from llmd_doctor.snapshot import ApiError, DataUnavailable, Forbidden, LogRequest, Snapshot

REASONS = ("forbidden", "error", "timeout")
_TIMEOUT = re.compile(r"timed out|timeout|deadline", re.IGNORECASE)
# str(Forbidden): "forbidden: cannot list pods in namespace llm-d (message)" / "... cluster-wide (message)"
_FORBIDDEN_TEXT = re.compile(
    r"^forbidden: cannot (?P<verb>\S+) (?P<resource>\S+)(?: in namespace (?P<ns>\S+)| cluster-wide)"
    r"(?: \((?P<message>.*)\))?$", re.DOTALL)
# What `collect` wrote for a kind it skipped because discovery failed: unknown, as a live run says.
_NOT_READ = "not read (discovery failed)"


def _resource(key: str) -> str:
    k = KINDS.get(key)
    if k is None:
        return key
    return f"{k.plural}.{k.group}" if k.group else k.plural


def _kind_of(resource: str) -> str | None:
    return next((key for key in KINDS if _resource(key) == resource), None)


def _entry(e: DataUnavailable, base: dict[str, Any], verb: str, resource: str, scope: list[str] | None) -> dict[str, Any]:
    out = dict(base)
    if isinstance(e, Forbidden):
        out.update(verb=e.verb, resource=e.resource)
        if e.namespace:
            out["namespace"] = e.namespace
        out.update(reason="forbidden", message=e.message)
        return out
    out.update(verb=verb, resource=resource)
    ns = getattr(e, "namespace", None) or (scope[0] if scope and len(scope) == 1 else None)
    if ns:
        out["namespace"] = ns
    out.update(reason="timeout" if _TIMEOUT.search(str(e)) else "error", message=str(e))
    return out


def entries(snap: Snapshot) -> list[dict[str, Any]]:
    """Every read the snapshot says was refused or failed, in the order a reader must replay them:
    the refusals in `denied` order, then the other kind errors, then the log reads."""
    out: list[dict[str, Any]] = []
    kind_errors = {id(e): key for key, e in snap.errors.items()}
    log_errors = {id(e) for e in snap.log_errors.values()}
    written: set[int] = set()
    for d in snap.denied:
        if id(d) in log_errors:
            continue  # written with the log reads below
        key = kind_errors.get(id(d)) or _kind_of(d.resource)
        out.append(_entry(d, {"kind": key} if key else {}, d.verb, d.resource, None))
        written.add(id(d))
    for key, e in snap.errors.items():
        if id(e) not in written:
            scope = snap.namespaces if KINDS.get(key) is None or KINDS[key].namespaced else None
            out.append(_entry(e, {"kind": key}, "list", _resource(key), scope))
    for req, e in sorted(snap.log_errors.items(), key=lambda item: str(item[0])):
        base: dict[str, Any] = {"pod": req.pod, "container": req.container}
        if req.previous:
            base["previous"] = True
        entry = _entry(e, base, "get", "pods/log", [req.namespace])
        entry.setdefault("namespace", req.namespace)
        out.append(entry)
    return out


def _error(entry: dict[str, Any]) -> DataUnavailable:
    message = str(entry.get("message") or "")
    if entry.get("reason") == "forbidden":
        ns = entry.get("namespace")
        return Forbidden(str(entry.get("verb") or "list"), str(entry.get("resource") or "?"),
                         ns if isinstance(ns, str) and ns else None, message)
    return ApiError(message or "the read failed when the bundle was collected")


def apply(snap: Snapshot, raw: Any, where: str = "bundle.yaml") -> None:
    """Replay `failedReads` into the snapshot; a malformed entry is a warning, never an abort."""
    if not isinstance(raw, list):
        snap.warnings.append(f"{where}: failedReads is not a list, ignored")
        return
    for i, entry in enumerate(raw):  # in order: a kind's last entry is the error the live run kept for it
        if not isinstance(entry, dict) or entry.get("reason") not in REASONS:
            snap.warnings.append(f"{where}: failedReads[{i}] is not a read with a reason "
                                 f"({', '.join(REASONS)}), ignored")
            continue
        e = _error(entry)
        pod, container, ns = entry.get("pod"), entry.get("container"), entry.get("namespace")
        is_log = isinstance(pod, str) and isinstance(container, str) and isinstance(ns, str) and bool(pod and container and ns)
        if is_log:
            snap.log_errors[LogRequest(str(ns), str(pod), str(container), entry.get("previous") is True)] = e
        elif isinstance(entry.get("kind"), str) and entry["kind"]:
            snap.errors[entry["kind"]] = e
            snap.collected.discard(entry["kind"])
        elif not isinstance(e, Forbidden):  # nowhere to keep it for cluster.access: say it here
            snap.warnings.append(f"{where}: failedReads[{i}] names no kind or log read: {entry.get('reason')}: {e}")
        # One pods/log refusal stands for all, as in a live run.
        if isinstance(e, Forbidden) and not (is_log and any(d.resource == "pods/log" for d in snap.denied)):
            snap.denied.append(e)
        # No report warning of its own: cluster.access lists every refused or failed read.


def apply_not_collected(snap: Snapshot, raw: Any, where: str = "bundle.yaml") -> None:
    """An older bundle's `notCollected` (kind -> the error's text): refusals become Forbidden again,
    other errors ApiError; kinds skipped because discovery failed stay unknown."""
    if not isinstance(raw, dict):
        snap.warnings.append(f"{where}: notCollected is not a map, ignored")
        return
    for key, text in raw.items():
        if not isinstance(key, str) or not isinstance(text, str) or text == _NOT_READ:
            continue
        m = _FORBIDDEN_TEXT.match(text)
        e: DataUnavailable = (Forbidden(m["verb"], m["resource"], m["ns"], m["message"] or "") if m
                              else ApiError(text))
        snap.errors[key] = e
        snap.collected.discard(key)
        if isinstance(e, Forbidden):
            snap.denied.append(e)
