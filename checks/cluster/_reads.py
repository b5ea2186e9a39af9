"""What the source could not read: one line per refused or failed read (cluster.access's evidence).

Read from `failed_reads.entries`, the same list `collect` writes to bundle.yaml and a bundle replays,
so a live run and its bundle name the same reads in the same words. Log reads that failed for the same
reason in the same namespace are one line naming how many logs.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor.failed_reads import entries
from llmd_doctor.snapshot import Snapshot

_SHOWN_LOGS = 3


def _line(e: dict[str, Any]) -> str:
    ns = e.get("namespace")
    if e["reason"] == "forbidden":  # the words of str(Forbidden), as the checks' errors say it
        where = f" in namespace {ns}" if ns else " cluster-wide"
        return f"forbidden: cannot {e['verb']} {e['resource']}{where}" + (f" ({e['message']})" if e.get("message") else "")
    where = f" in namespace {ns}" if ns else ""
    # The live source's errors start "list deployments: …": said once.
    message = str(e.get("message") or "no answer").removeprefix(f"{e['verb']} {e['resource'].split('.')[0]}: ")
    return f"{e['reason']}: {e['verb']} {e['resource']}{where}: {message}"


def unreadable(snap: Snapshot) -> list[str]:
    """Every refused or failed read of the snapshot, in the order `collect` records them."""
    lines: dict[str, list[str]] = {}
    for e in entries(snap):
        pod = f"{e.get('namespace')}/{e['pod']}/{e.get('container')}" if e.get("pod") else None
        logs = lines.setdefault(_line(e), [])
        if pod:
            logs.append(pod + (" (previous)" if e.get("previous") else ""))
    out = []
    for line, logs in lines.items():
        if logs:
            shown = ", ".join(logs[:_SHOWN_LOGS]) + (", …" if len(logs) > _SHOWN_LOGS else "")
            line += f" [{len(logs)} log{'s' if len(logs) != 1 else ''}: {shown}]"
        out.append(line)
    return out


def reasons(snap: Snapshot) -> set[str]:
    """Why reads could not be made: `forbidden` (RBAC), `error` (HTTP errors), `timeout`."""
    return {e["reason"] for e in entries(snap)}
