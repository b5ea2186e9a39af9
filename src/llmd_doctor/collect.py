"""`collect`: read a live cluster into a redacted support bundle (format: docs/bundles.md).

What goes in: every kind the registered checks read (their `inputs`), CRDs, Nodes and all Events;
the logs the checks ask for plus the current and previous logs of every endpoint-picker and
model-server pod (tailed, size-capped); the API server's answers to the checks' access questions
(as SubjectAccessReview objects); and `bundle.yaml`. Kinds that were forbidden or failed are left
out of the manifest's `kinds` — the bundle does not know them — and named in `notCollected`.

Layout of the archive (one top folder):
    bundle.yaml
    cluster/<plural>[.<group>].yaml              cluster-scoped kinds, `kind: List`
    namespaces/<ns>/<plural>[.<group>].yaml      namespaced kinds, one List per namespace and kind
    access/subjectaccessreviews.yaml             recorded access reviews
    logs/<ns>/<pod>/<container>[.previous].log

Where the archive goes (a file, a directory, stdout, a device) is llmd_doctor.archive's job.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from llmd_doctor import __version__, failed_reads
from llmd_doctor.archive import default_output, resolve_output, write_output
from llmd_doctor.kinds import KINDS
from llmd_doctor.redact import Redactions, clean_object, redact_object, redact_text
from llmd_doctor.snapshot import LogRequest, Snapshot

CRD_KEY = "CustomResourceDefinition.apiextensions.k8s.io"
#: Kinds collect always reads, beyond what the checks declare: what a maintainer asks for first.
EXTRA_KINDS = (CRD_KEY, "Node", "Event", "Namespace", "ConfigMap")
#: Kinds collect never reads, even when a check (a plugin) declares them: a bundle holds no Secret at
#: all, not even metadata. A check that needs Secrets reports `skip` on a bundle.
NEVER_COLLECTED = frozenset({"Secret"})
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Tick = Callable[[str, int, int], None]


@dataclass
class CollectOptions:
    output: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] = field(default_factory=list)
    request_timeout: float = 10.0
    chunk_size: int = 500
    redact: bool = True
    tail_lines: int = 1000
    log_limit_bytes: int = 1024 * 1024
    checks_dirs: list[str] = field(default_factory=list)
    # Progress: (phase "list" | "logs" | "write", done, total).
    tick: Tick | None = None
    # The end-to-end probe (llmd_doctor.probes.ProbeOptions); None = record no probe.
    probe: Any = None


@dataclass
class CollectSummary:
    path: Path
    size: int
    context: str | None
    server_version: str | None
    namespaces: list[str] | None
    objects: Counter[str]  # per kind key
    kinds: list[str]
    logs: int
    log_bytes: int
    not_collected: dict[str, str]
    redacted: bool
    redactions: Redactions
    seconds: float = 0.0
    log_failures: list[str] = field(default_factory=list)  # "ns/pod/container: why", for logs that failed


# ---- what to read -------------------------------------------------------------------------------


def collect_kinds(specs: Iterable[Any]) -> list[str]:
    """The kinds the checks read, plus EXTRA_KINDS, less NEVER_COLLECTED (only kinds llmd-doctor
    knows how to list)."""
    from llmd_doctor.engine import needed_kinds

    kinds: dict[str, None] = {}
    for k in [*needed_kinds(specs), *EXTRA_KINDS]:
        if k in KINDS and k not in NEVER_COLLECTED:
            kinds.setdefault(k)
    return list(kinds)


def _restarted(pod: dict[str, Any], container: str) -> bool:
    st = pod.get("status") or {}
    for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
        if isinstance(cs, dict) and cs.get("name") == container:
            return bool(int(cs.get("restartCount") or 0) or (cs.get("lastState") or {}).get("terminated"))
    return False


def workload_log_requests(snap: Snapshot) -> list[LogRequest]:
    """Current (and, after a restart, previous) logs of every endpoint-picker, model-server and llm-d
    Gateway data-plane pod's containers (init containers too: llm-d's routing proxy runs as a native
    sidecar). The checks' own requests (`needed_logs`) come on top: crash logs of gateway controllers,
    the runtime checks' samples."""
    from llmd_doctor import k8s
    from llmd_doctor.topology import topology

    topo = topology(snap)
    gateways, _ = topo.llmd_gateways
    data_planes = [p for g in gateways if g.data_plane is not None and not g.data_plane.spec.managed
                   for p in g.data_plane.pods]
    pods = [p for e in topo.epps for p in e.pods] + list(topo.server_pods()) + data_planes
    reqs: dict[LogRequest, None] = {}
    for pod in pods:
        names = [str(c.get("name")) for c in k8s.containers(k8s.pod_spec(pod), init=True) if c.get("name")]
        for name in names:
            reqs.setdefault(LogRequest(k8s.namespace(pod), k8s.name(pod), name))
            if _restarted(pod, name):
                reqs.setdefault(LogRequest(k8s.namespace(pod), k8s.name(pod), name, previous=True))
    return list(reqs)


# ---- what to write ------------------------------------------------------------------------------


def _dump(doc: Any) -> bytes:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=4096).encode()


def _file_stem(key: str) -> str:
    k = KINDS.get(key)
    if k is None:
        kind, _, group = key.partition(".")
        return f"{kind.lower()}s" + (f".{group}" if group else "")
    return f"{k.plural}.{k.group}" if k.group else k.plural


def _sort_key(o: dict[str, Any]) -> tuple[str, str]:
    m = o.get("metadata") or {}
    return str(m.get("namespace") or ""), str(m.get("name") or "")


def _as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What `kubectl get -o yaml` prints for several objects."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def _access_reviews(snap: Snapshot) -> list[dict[str, Any]]:
    out = []
    for q, allowed in snap.access.items():
        if allowed is None:
            continue  # the review failed: unknown, not recorded
        attrs: dict[str, Any] = {"verb": q.verb, "resource": q.resource, "group": q.group}
        if q.namespace:
            attrs["namespace"] = q.namespace
        out.append({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "metadata": {},
            "spec": {"user": q.user, "groups": list(q.groups), "resourceAttributes": attrs},
            "status": {"allowed": allowed},
        })
    return out


def not_collected(snap: Snapshot, kinds: Iterable[str]) -> dict[str, str]:
    """Kinds asked for that the bundle cannot vouch for, with why."""
    out = {k: str(e) for k, e in snap.errors.items()}
    for k in kinds:
        if k not in snap.collected and k not in out:
            out[k] = "not read (discovery failed)"
    return out


def bundle_files(
    snap: Snapshot,
    kinds: list[str],
    log_requests: Iterable[LogRequest],
    *,
    redact: bool = True,
    collected_at: str | None = None,
) -> tuple[list[tuple[str, bytes]], CollectSummary]:
    """The bundle's files (path, bytes) for a snapshot, and what they hold. Pure: no I/O."""
    counts = Redactions()
    fix: Callable[[dict[str, Any]], dict[str, Any]] = (
        (lambda o: redact_object(o, counts)) if redact else clean_object
    )
    files: list[tuple[str, bytes]] = []
    objects: Counter[str] = Counter()
    for key in sorted(snap.objects):
        by_ns: dict[str, list[dict[str, Any]]] = {}
        namespaced = KINDS[key].namespaced if key in KINDS else True
        for o in sorted(snap.objects[key], key=_sort_key):
            ns = str((o.get("metadata") or {}).get("namespace") or "") if namespaced else ""
            by_ns.setdefault(ns, []).append(fix(o))
        for ns, items in sorted(by_ns.items()):
            where = f"namespaces/{ns}" if ns else "cluster"
            files.append((f"{where}/{_file_stem(key)}.yaml", _dump(_as_list(items))))
            objects[key] += len(items)
    if reviews := _access_reviews(snap):
        files.append(("access/subjectaccessreviews.yaml", _dump(_as_list(reviews))))
    if snap.probes:
        from llmd_doctor.probes.record import dump as dump_probe

        for name, rec in sorted(snap.probes.items()):
            text = dump_probe(rec)  # the probe already scrubs its API key; redact the rest like logs
            files.append((f"probes/{name}.json", (redact_text(text, counts, "probes") if redact else text).encode()))
    files.sort()

    log_bytes = 0
    logs = 0
    written: set[LogRequest] = set()
    for req in sorted(set(snap.logs) | {r for r in log_requests if not r.previous}, key=str):
        if req in written or req in snap.log_errors:
            continue
        if req not in snap.logs and f"{req.namespace}/{req.pod}" not in snap.logs_collected_for:
            continue
        # A current log the API had none of (container waiting) is written empty: the pod was captured.
        text = snap.logs.get(req) or ""
        if redact:
            text = redact_text(text, counts, "logs")
        suffix = ".previous.log" if req.previous else ".log"
        data = text.encode("utf-8", errors="replace")
        files.append((f"logs/{req.namespace}/{req.pod}/{req.container}{suffix}", data))
        written.add(req)
        logs += 1
        log_bytes += len(data)

    missing = not_collected(snap, kinds)
    collected = sorted(k for k in snap.collected if k not in missing and k != "SubjectAccessReview.authorization.k8s.io")
    manifest: dict[str, Any] = {
        "apiVersion": "llmd-doctor/v1",
        "kind": "Bundle",
        "collectedAt": collected_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "context": snap.source.context,
        "serverVersion": snap.source.server_version,
    }
    if snap.namespaces:
        manifest["namespaces"] = list(snap.namespaces)
    manifest["kinds"] = collected
    manifest["redacted"] = redact
    manifest["collector"] = f"llmd-doctor {__version__}"
    if missing:
        manifest["notCollected"] = dict(sorted(missing.items()))
    if failed := failed_reads.entries(snap):
        manifest["failedReads"] = failed  # what the reader replays into the snapshot (docs/bundles.md)
    if snap.missing_namespaces:
        manifest["missingNamespaces"] = list(snap.missing_namespaces)
    if snap.warnings:
        manifest["warnings"] = list(snap.warnings)
    if snap.pod_scope is not None:  # pods were listed by what the checks need, not all (docs/bundles.md)
        manifest["podScope"] = snap.pod_scope.to_dict()
    files.insert(0, ("bundle.yaml", _dump({k: v for k, v in manifest.items() if v is not None})))
    summary = CollectSummary(
        path=Path(), size=0, context=snap.source.context, server_version=snap.source.server_version,
        namespaces=list(snap.namespaces) if snap.namespaces else None, objects=objects, kinds=collected,
        logs=logs, log_bytes=log_bytes, not_collected=missing, redacted=redact, redactions=counts,
        log_failures=[f"{req}: {e}" for req, e in sorted(snap.log_errors.items(), key=lambda item: str(item[0]))],
    )
    return files, summary


# ---- the command --------------------------------------------------------------------------------


def collect(opts: CollectOptions) -> CollectSummary:
    """Read the cluster and write the bundle. Raises run.UsageError for what the user must fix."""
    from llmd_doctor.engine import needed_access, needed_logs
    from llmd_doctor.errors import UsageError
    from llmd_doctor.registry import RegistryError, load_specs
    from llmd_doctor.sources.live import LiveOptions, LiveSourceError, load_live

    started = time.perf_counter()
    now = datetime.now(UTC)
    out = resolve_output(opts.output)  # before reading anything: a bad target fails fast
    try:
        specs = load_specs(opts.checks_dirs)
    except RegistryError as e:
        raise UsageError(str(e)) from e
    kinds = collect_kinds(specs)
    requested: list[LogRequest] = []

    def logs_for(snap: Snapshot) -> list[LogRequest]:
        reqs = dict.fromkeys([*needed_logs(specs, snap), *workload_log_requests(snap)])
        requested.extend(reqs)
        return list(reqs)

    live = LiveOptions(
        kubeconfig=opts.kubeconfig, context=opts.context, namespaces=opts.namespaces or None,
        request_timeout=opts.request_timeout, page_size=opts.chunk_size, log_tail_lines=opts.tail_lines,
        log_limit_bytes=opts.log_limit_bytes, all_events=True, tick=opts.tick,
    )
    try:
        snap = load_live(kinds, logs_for, live, access_for=lambda s: needed_access(specs, s, live.max_access_reviews))
    except LiveSourceError as e:
        raise UsageError(str(e)) from e
    if opts.probe is not None:
        from llmd_doctor.run import RunOptions, run_probe_stage

        run_probe_stage(RunOptions(probe=opts.probe), specs, snap)
    files, summary = bundle_files(snap, kinds, requested, redact=opts.redact,
                                  collected_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    where, summary.size = write_output(files, out, default_output(now, snap.source.context),
                                       mtime=now.timestamp(), tick=opts.tick)
    summary.path = Path(where)
    summary.seconds = time.perf_counter() - started
    return summary


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def format_summary(s: CollectSummary) -> str:
    """The stderr summary: what was written, what is missing, what was masked."""
    where = f"namespaces {', '.join(s.namespaces)}" if s.namespaces else "all namespaces"
    lines = [
        f"wrote {s.path} ({_human(s.size)}) in {s.seconds:.1f}s from context {s.context or '?'}, "
        f"Kubernetes {s.server_version or 'version unknown'}, {where}",
        f"  objects: {sum(s.objects.values())} in {len(s.kinds)} kinds"
        + (" (" + ", ".join(f"{k} {n}" for k, n in sorted(s.objects.items())) + ")" if s.objects else ""),
        f"  logs: {s.logs} ({_human(s.log_bytes)})",
    ]
    empty = [k for k in s.kinds if not s.objects.get(k)]
    if empty:
        lines.append(f"  none in the cluster: {', '.join(empty)}")
    if s.redacted:
        masked = s.redactions
        detail = ", ".join(f"{w} {n}" for w, n in sorted(masked.items()))
        lines.append(f"  redacted: {sum(masked.values())} value(s) masked" + (f" ({detail})" if detail else "")
                     + "; no Secret was read")
    else:
        lines.append("  NOT redacted (--no-redact): review the bundle before sharing it; no Secret was read")
    for k, why in sorted(s.not_collected.items()):
        lines.append(f"  not collected (unknown in the bundle): {k}: {why}")
    for failure in s.log_failures[:5]:
        lines.append(f"  log not collected: {failure}")
    if len(s.log_failures) > 5:
        lines.append(f"  ... and {len(s.log_failures) - 5} more log(s) not collected (listed in bundle.yaml failedReads)")
    return "\n".join(lines) + "\n"

