"""Read a cluster bundle (format: docs/bundles.md) into a Snapshot — or the dumps people already have.

A bundle is a directory or a .tar.gz/.tgz of one. Every `.yaml/.yml/.json` outside `logs/` and
`probes/` holds objects (one, a multi-document stream, or a `*List`); `logs/<ns>/<pod>/<container>.log`
and `<container>.previous.log` hold logs; `bundle.yaml` is the optional manifest. A file that does
not parse is a warning naming the file, never an abort.

Two foreign layouts are recognised from their file names (before any file is read):
- `kubectl cluster-info dump --output-directory DIR`: `DIR/nodes.json`, `DIR/<ns>/{pods,services,
  deployments,replicasets,daemonsets,events,replication-controllers}.json` (typed lists), and
  `DIR/<ns>/<pod>/logs.txt` holding every container's current log between `==== START logs for
  container C of pod NS/POD ====` / `==== END ... ====` lines;
- OpenShift must-gather / `oc adm inspect`: `namespaces/<ns>/<group>/<plural>.yaml`,
  `namespaces/<ns>/pods/<pod>/<pod>.yaml`, `cluster-scoped-resources/<group>/<plural>/<name>.yaml`,
  and `namespaces/<ns>/pods/<pod>/<container>/<container>/logs/{current,previous}.log` (lines
  prefixed with timestamps), under any top folders (`must-gather.local.N/quay-io-...-sha256-.../`).
Their namespaces become the snapshot's scope: a dump says nothing about the namespaces it skipped.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from llmd_doctor import failed_reads
from llmd_doctor.kinds import KINDS, key_of, kind_key, split_api_version
from llmd_doctor.snapshot import (
    AccessQuestion,
    LogRequest,
    NotCollected,
    Snapshot,
    SourceInfo,
    misshapen,
    served_from_crds,
)

OBJECT_SUFFIXES = (".yaml", ".yml", ".json")
MAX_OBJECT_FILE = 64 * 1024 * 1024
# Caps on a tarball, checked while its headers are read: a collect bundle of a 10,000-pod cluster has
# a few thousand members and tens of MB; these stop archive bombs (millions of empty entries, huge
# sparse members) long before they cost minutes or gigabytes.
MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED = 2 * 1024**3
# Logs are tailed to this many bytes: signatures sit at the end of a crashed container's log.
MAX_LOG_BYTES = 2 * 1024 * 1024
MANIFEST_NAMES = ("bundle.yaml", "bundle.yml", "bundle.json")
NATIVE, CLUSTER_INFO_DUMP, MUST_GATHER = "bundle", "kubectl-cluster-info-dump", "must-gather"
SAR_KEY = "SubjectAccessReview.authorization.k8s.io"


class BundleError(Exception):
    """The bundle as a whole cannot be read (missing path, not a directory or tarball)."""


@dataclass
class BundleData:
    """What a bundle holds, before it becomes a Snapshot (the fake API server serves this too)."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[LogRequest, str] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    path: str = ""
    layout: str = NATIVE
    # The namespaces a foreign dump covers (its scope); None = as the manifest says / all.
    namespaces: list[str] | None = None
    # Kinds of typed lists (`PodList`), even empty ones: listed, so "none" is an answer.
    listed: set[str] = field(default_factory=set)
    # Pods ("ns/pod") whose logs a dump captured, even when a container's log could not be read.
    log_pods: set[str] = field(default_factory=set)


# ---- file access: the same listing over a directory or a tarball -----------------------------


# A file as the walk yields it: (path relative to the bundle root, bytes, or None and why not).
FileEntry = tuple[str, bytes | None, str | None]
# The listing: every file's relative path and how to read it (names first: they decide the layout).
Listing = list[tuple[str, Callable[[], FileEntry]]]


def _is_log(rel: str) -> bool:
    return rel.startswith("logs/") or rel.endswith((".log", "logs.txt"))


def _read_stream(fobj: Any, size: int, rel: str) -> FileEntry:
    if _is_log(rel) and size > MAX_LOG_BYTES:
        fobj.seek(size - MAX_LOG_BYTES)
        return rel, fobj.read(), None
    if not _is_log(rel) and size > MAX_OBJECT_FILE:
        return rel, None, f"file is {size} bytes, over the {MAX_OBJECT_FILE} byte limit"
    return rel, fobj.read(), None


def _dir_listing(root: Path) -> Listing:
    out: Listing = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            rel = full.relative_to(root).as_posix()

            def read(full: Path = full, rel: str = rel) -> FileEntry:
                try:
                    with open(full, "rb") as f:
                        return _read_stream(f, full.stat().st_size, rel)
                except OSError as e:
                    return rel, None, str(e)

            out.append((rel, read))
    return out


def _member_parts(name: str) -> tuple[str, ...] | None:
    """A member's path parts, leading `./` dropped; None when it could land outside the bundle
    (absolute, a Windows drive, or `..`)."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    return None if ".." in parts else parts


def _scan_members(tf: tarfile.TarFile, path: Path, warnings: list[str]) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """The archive's safe regular files, read one header at a time (never getmembers(): an archive of
    millions of empty entries must fail at the cap, fast and in bounded memory). Unsafe members are
    skipped with a warning naming them."""
    files: list[tuple[tarfile.TarInfo, tuple[str, ...]]] = []
    count = total = 0
    while (m := tf.next()) is not None:
        tf.members.clear()  # tarfile keeps every header it read; we keep only the files, below
        count += 1
        total += max(m.size, 0)
        if count > MAX_MEMBERS:
            raise BundleError(f"bundle archive {path} has more than {MAX_MEMBERS:,} members; "
                              "a bundle has far fewer (unpack it and pass the directory if it is genuine)")
        if total > MAX_UNCOMPRESSED:
            raise BundleError(f"bundle archive {path} holds more than {MAX_UNCOMPRESSED // 2**30} GiB uncompressed; "
                              "a bundle is far smaller (unpack it and pass the directory if it is genuine)")
        if m.isdir():
            continue
        parts = _member_parts(m.name)
        if parts is None:
            warnings.append(f"{m.name}: archive member outside the bundle (absolute path or ..), skipped")
        elif m.issym() or m.islnk():
            warnings.append(f"{m.name}: archive member is a link (to {m.linkname}), skipped")
        elif not m.isfile():
            warnings.append(f"{m.name}: archive member is not a regular file, skipped")
        elif parts:
            files.append((m, parts))
    return files


def _tar_listing(path: Path, stack: ExitStack, warnings: list[str]) -> Listing:
    try:
        tf = stack.enter_context(tarfile.open(path, "r:*"))  # noqa: SIM115 - closed by the caller's ExitStack
        members = _scan_members(tf, path, warnings)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BundleError(f"cannot read bundle archive {path}: {e}") from e
    # "one top folder or none": strip the folder when every (safe) file sits inside the same one.
    strip = len({p[0] for _, p in members}) == 1 and all(len(p) > 1 for _, p in members)
    out: Listing = []
    for m, parts in members:
        rel = "/".join(parts[1:] if strip else parts)

        def read(m: tarfile.TarInfo = m, rel: str = rel) -> FileEntry:
            try:
                fobj = tf.extractfile(m)
                if fobj is None:
                    return rel, None, "not a regular file"
                return _read_stream(fobj, m.size, rel)
            except (tarfile.TarError, OSError, EOFError) as e:
                return rel, None, str(e)

        out.append((rel, read))
    return out


def _listing(path: Path, stack: ExitStack, warnings: list[str]) -> Listing:
    if path.is_dir():
        return _dir_listing(path)
    if path.is_file():
        return _tar_listing(path, stack, warnings)
    raise BundleError(f"bundle not found: {path}")


# ---- foreign layouts ----------------------------------------------------------------------------

# must-gather: a pod log, and the paths that only a must-gather / `oc adm inspect` tree has.
_MG_LOG = re.compile(
    r"(?:^|/)namespaces/(?P<ns>[^/]+)/pods/(?P<pod>[^/]+)/(?P<c>[^/]+)/(?P=c)/logs/"
    r"(?P<which>current|previous)(?P<insecure>\.insecure)?\.log$"
)
_MG_MARK = re.compile(r"(?:^|/)(?:cluster-scoped-resources/|namespaces/[^/]+/(?:core|apps|pods)/)")
_MG_NS = re.compile(r"(?:^|/)namespaces/(?P<ns>[^/]+)/")
_MG_OBJECTS = re.compile(r"(?:^|/)(?:cluster-scoped-resources|namespaces)/")
# kubectl prefixes each line with an RFC 3339 time when asked (`--timestamps`; must-gather always does).
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ", re.MULTILINE)

# kubectl cluster-info dump: every namespace gets a replication-controllers list; nodes sit at the root.
_DUMP_NS_FILE = re.compile(r"^(?P<root>(?:.*/)?)(?P<ns>[^/]+)/replication-controllers\.(?:json|ya?ml)$")
_DUMP_MARK = re.compile(r"==== (?P<edge>START|END) logs for container (?P<c>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ====\n?")
_DUMP_LOG_ERROR = ("Create log request error:", "Request log error:")


def detect_layout(names: list[str]) -> tuple[str, str, list[str] | None]:
    """(layout, root prefix, namespaces covered) from the file names alone."""
    if any(n in MANIFEST_NAMES for n in names) or any(n.startswith("logs/") for n in names):
        return NATIVE, "", None
    if any(_MG_MARK.search(n) for n in names):
        nss = {m.group("ns") for n in names if (m := _MG_NS.search(n))}
        return MUST_GATHER, "", sorted(nss) or None
    roots: dict[str, set[str]] = {}
    for n in names:
        if m := _DUMP_NS_FILE.match(n):
            roots.setdefault(m.group("root"), set()).add(m.group("ns"))
    for root, nss in sorted(roots.items()):
        if any(f"{root}nodes.{ext}" in names for ext in ("json", "yaml", "yml")):
            return CLUSTER_INFO_DUMP, root, sorted(nss)
    return NATIVE, "", None


def _must_gather_log(rel: str, text: str, data: BundleData) -> bool:
    m = _MG_LOG.search(rel)
    if not m:
        return False
    req = LogRequest(m.group("ns"), m.group("pod"), m.group("c"), m.group("which") == "previous")
    if m.group("insecure") and req in data.logs:
        return True  # the `.insecure` retry only stands in when the plain file is missing
    data.logs[req] = _TIMESTAMP.sub("", text)
    data.log_pods.add(f"{req.namespace}/{req.pod}")
    return True


def split_dump_log(text: str) -> list[tuple[str | None, str | None]]:
    """A cluster-info dump `logs.txt` -> [(container, log)]: container None = unmarked (old kubectl),
    log None = kubectl wrote an error instead of the log. A head cut by tailing still counts."""
    marks = list(_DUMP_MARK.finditer(text))
    if not marks:
        return [(None, text)]
    out: list[tuple[str | None, str | None]] = []
    current: str | None = None
    start = 0
    for m in marks:
        if m.group("edge") == "START":
            current, start = m.group("c"), m.end()
        else:
            if current in (None, m.group("c")):
                out.append((m.group("c"), text[start:m.start()]))
            current, start = None, m.end()
    if current is not None:
        out.append((current, text[start:]))
    return [(c, None if body.strip().startswith(_DUMP_LOG_ERROR) and body.strip().count("\n") == 0 else body)
            for c, body in out]


def _first_container(objects: list[dict[str, Any]], ns: str, pod: str) -> str | None:
    for o in objects:
        meta = o["metadata"]
        if o.get("kind") == "Pod" and meta.get("namespace") == ns and meta.get("name") == pod:
            containers = (o.get("spec") or {}).get("containers") or []
            if containers and isinstance(containers[0], dict) and containers[0].get("name"):
                return str(containers[0]["name"])
    return None


# ---- parsing ----------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it: ten times faster on large CRDs.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _docs(rel: str, data: bytes) -> list[Any]:
    text = data.decode("utf-8", errors="replace")
    if rel.endswith(".json"):
        return [json.loads(text)]
    return [d for d in yaml.load_all(text, Loader=_YamlLoader) if d is not None]


def _flatten(doc: Any, rel: str, warnings: list[str], listed: set[str] | None = None) -> list[dict[str, Any]]:
    """One object, or the items of a List / `*List` (typed list items inherit kind and apiVersion).
    A typed list's kind goes into `listed`, even when it has no items (`PodList` with none = no pods)."""
    if not isinstance(doc, dict):
        warnings.append(f"{rel}: not a Kubernetes object (a {type(doc).__name__}), ignored")
        return []
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[: -len("List")] if kind != "List" else None
        if item_kind and listed is not None and isinstance(doc.get("apiVersion"), str) and doc["apiVersion"]:
            listed.add(kind_key(item_kind, split_api_version(doc["apiVersion"])[0]))
        out: list[dict[str, Any]] = []
        for item in doc["items"]:
            if isinstance(item, dict) and item_kind and "kind" not in item:
                item = {"kind": item_kind, "apiVersion": doc.get("apiVersion"), **item}
            out.extend(_flatten(item, rel, warnings))
        return out
    if not doc.get("apiVersion") or not isinstance(kind, str) or not kind:
        name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
        warnings.append(f"{rel}: object {name or '(unnamed)'} has no apiVersion/kind, ignored")
        return []
    if not isinstance(doc.get("metadata"), dict):
        doc = {**doc, "metadata": {}}
    return [doc]




def _log_request(rel: str) -> LogRequest | None:
    """`logs/<ns>/<pod>/<container>[.previous].log` -> LogRequest."""
    parts = rel.split("/")
    if len(parts) != 4 or parts[0] != "logs" or not parts[3].endswith(".log"):
        return None
    name = parts[3][: -len(".log")]
    previous = name.endswith(".previous")
    if previous:
        name = name[: -len(".previous")]
    return LogRequest(parts[1], parts[2], name, previous) if name else None


def read_bundle(path: str | os.PathLike[str]) -> BundleData:
    """Read every object, log, probe and the manifest of a bundle (or of a foreign dump)."""
    root = Path(path)
    data = BundleData(path=str(root))
    with ExitStack() as stack:
        listing = _listing(root, stack, data.warnings)
        data.layout, dump_root, data.namespaces = detect_layout([rel for rel, _ in listing])
        unmarked: list[tuple[str, str, str]] = []  # cluster-info dump logs without container markers
        seen: dict[tuple[str, str, str], int] = {}
        for _, read in listing:
            rel, raw, why = read()
            if raw is None:
                data.warnings.append(f"{rel}: unreadable ({why}), ignored")
                continue
            if rel.startswith("logs/"):
                req = _log_request(rel)
                if req is None:
                    data.warnings.append(f"{rel}: not a logs/<namespace>/<pod>/<container>.log path, ignored")
                else:
                    data.logs[req] = raw.decode("utf-8", errors="replace")
                continue
            if data.layout == MUST_GATHER and rel.endswith(".log"):
                _must_gather_log(rel, raw.decode("utf-8", errors="replace"), data)
                continue
            if data.layout == CLUSTER_INFO_DUMP and rel.startswith(dump_root) and rel.endswith("/logs.txt"):
                parts = rel[len(dump_root):].split("/")
                if len(parts) == 3:
                    _dump_log(parts[0], parts[1], raw.decode("utf-8", errors="replace"), data, unmarked)
                continue
            if rel.startswith("probes/"):
                if rel.endswith(".json"):
                    try:
                        data.probes[PurePosixPath(rel).stem] = json.loads(raw.decode("utf-8", errors="replace"))
                    except ValueError as e:
                        data.warnings.append(f"{rel}: probe record is not JSON ({e}), ignored")
                continue
            if not rel.endswith(OBJECT_SUFFIXES):
                continue
            if data.layout == MUST_GATHER and not _MG_OBJECTS.search(rel):
                continue  # must-gathers hold other JSON/YAML (metrics, host data): not objects
            try:
                docs = _docs(rel, raw)
            except (yaml.YAMLError, ValueError, RecursionError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                data.warnings.append(f"{rel}: does not parse ({first}), ignored")
                continue
            if rel in MANIFEST_NAMES and docs and isinstance(docs[0], dict) and docs[0].get("kind") == "Bundle":
                data.manifest = docs[0]
                continue
            for doc in docs:
                for obj in _flatten(doc, rel, data.warnings, data.listed):
                    meta = obj["metadata"]
                    ident = (key_of(obj), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                    if ident in seen and ident[2]:
                        data.objects[seen[ident]] = obj  # the same object twice: the later file wins
                        continue
                    seen[ident] = len(data.objects)
                    data.objects.append(obj)
    for ns, pod, text in unmarked:  # old kubectl wrote one unmarked log: the pod's first container's
        container = _first_container(data.objects, ns, pod)
        if container is None:
            data.warnings.append(f"{dump_root}{ns}/{pod}/logs.txt: pod {ns}/{pod} is not in the dump, log ignored")
            continue
        data.logs.setdefault(LogRequest(ns, pod, container), text)
    if not _says_anything(data):
        raise BundleError(_nothing_in(data, len(listing)))
    return data


def _says_anything(data: BundleData) -> bool:
    """Objects, a typed list (even empty), or a manifest that names kinds read or reads that failed."""
    m = data.manifest
    return bool(data.objects or data.listed or any(isinstance(m.get(f), list) and m[f] for f in ("kinds", "failedReads"))
                or (isinstance(m.get("notCollected"), dict) and m["notCollected"]))


def _nothing_in(data: BundleData, files: int) -> str:
    head = f"bundle {data.path} holds no Kubernetes objects"
    if not files:
        return f"{head} (it holds no files)"
    problems = [w.replace("\n", " ") for w in data.warnings]
    if not problems:
        return f"{head} (none of its {files} file(s) is a .yaml/.yml/.json Kubernetes object)"
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return f"{head}: {'; '.join(problems[:3])}{more}"


def _dump_log(ns: str, pod: str, text: str, data: BundleData, unmarked: list[tuple[str, str, str]]) -> None:
    data.log_pods.add(f"{ns}/{pod}")
    for container, body in split_dump_log(text):
        if container is None:
            unmarked.append((ns, pod, text))
        elif body is not None:
            data.logs[LogRequest(ns, pod, container)] = body


def _access_answer(obj: dict[str, Any]) -> tuple[AccessQuestion, bool] | None:
    """A recorded SubjectAccessReview (spec + status), as `collect` writes them, -> its answer."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    attrs = spec.get("resourceAttributes") or {}
    if not isinstance(status, dict) or "allowed" not in status or not spec.get("user") or not attrs.get("verb"):
        return None
    q = AccessQuestion(
        user=str(spec["user"]), verb=str(attrs["verb"]), resource=str(attrs.get("resource") or ""),
        group=str(attrs.get("group") or ""), namespace=attrs.get("namespace") or None,
        groups=tuple(str(g) for g in spec.get("groups") or ()),
    )
    return q, bool(status["allowed"])


def snapshot_from_bundle_data(data: BundleData, namespaces: list[str] | None = None) -> Snapshot:
    m = data.manifest
    raw_ns = m.get("namespaces")
    manifest_ns = [n for n in raw_ns if isinstance(n, str)] if isinstance(raw_ns, list) else data.namespaces
    if manifest_ns is not None and namespaces:
        missing = [n for n in namespaces if n not in manifest_ns]
        if missing:
            raise NotCollected(f"namespace {', '.join(missing)} is not in the bundle")
    scope = namespaces or manifest_ns
    snap = Snapshot(
        source=SourceInfo(
            kind="bundle",
            context=m.get("context") if isinstance(m.get("context"), str) else None,
            server_version=m.get("serverVersion") if isinstance(m.get("serverVersion"), str) else None,
            path=data.path,
            collected_at=str(m["collectedAt"]) if m.get("collectedAt") else None,
            redacted=m.get("redacted"),
        ),
        namespaces=list(scope) if scope else None,
        warnings=list(data.warnings),
        probes=dict(data.probes),
    )
    for obj in data.objects:
        bad = misshapen(obj)
        if bad:
            snap.warnings.append(f"{obj.get('kind')} {obj['metadata'].get('name') or '(unnamed)'} has {bad}, ignored")
            continue
        key = key_of(obj)
        if key == SAR_KEY and (answer := _access_answer(obj)):
            snap.access[answer[0]] = answer[1]  # the API server's answer when the bundle was collected
            continue
        ns = obj["metadata"].get("namespace")
        snap.collected.add(key)
        if namespaces and ns and ns not in namespaces:
            continue
        snap.objects.setdefault(key, []).append(obj)
    kinds = m.get("kinds") if isinstance(m.get("kinds"), list) else []
    for k in [*kinds, *sorted(data.listed)]:
        if isinstance(k, str):
            snap.collected.add(k)
    crd_key = "CustomResourceDefinition.apiextensions.k8s.io"
    if crd_key in snap.collected:
        snap.served = served_from_crds(snap.objects.get(crd_key, []))
    for req, text in data.logs.items():
        if namespaces and req.namespace not in namespaces:
            continue
        snap.logs[req] = text
        snap.logs_collected_for.add(f"{req.namespace}/{req.pod}")
    for pod in data.log_pods:
        if not namespaces or pod.split("/", 1)[0] in namespaces:
            snap.logs_collected_for.add(pod)
    _replay_gaps(snap, m, namespaces)
    snap.missing_namespaces = _missing_namespaces(data, snap, namespaces or manifest_ns or [], manifest_ns)
    return snap


def _replay_gaps(snap: Snapshot, m: dict[str, Any], namespaces: list[str] | None) -> None:
    """What `collect` recorded it could not read, as the live run had it (see llmd_doctor.failed_reads)."""
    if "failedReads" in m:
        raw = m["failedReads"]
        if namespaces and isinstance(raw, list):  # a read in a namespace outside -n: not this run's business
            raw = [e for e in raw if not (isinstance(e, dict) and isinstance(e.get("namespace"), str)
                                          and e["namespace"] not in namespaces)]
        failed_reads.apply(snap, raw)
    elif "notCollected" in m:  # bundles from before failedReads
        failed_reads.apply_not_collected(snap, m["notCollected"])
    if isinstance(m.get("warnings"), list):
        snap.warnings += [f"when the bundle was collected: {w}" for w in m["warnings"] if isinstance(w, str)]


def _missing_namespaces(data: BundleData, snap: Snapshot, asked: list[str], scope: list[str] | None) -> list[str]:
    """The asked namespaces the cluster did not have. Missing when the bundle holds nothing in it and
    (collect recorded it missing, or the bundle's Namespace objects do not name it, or a native bundle
    scoped to it read every kind cleanly and found nothing). Otherwise it is present or unknown."""
    if not asked:
        return []
    holding: set[str] = set()
    namespace_objects: set[str] = set()
    for o in data.objects:
        meta = o["metadata"]
        if isinstance(meta.get("namespace"), str):
            holding.add(meta["namespace"])
        if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1" and isinstance(meta.get("name"), str):
            namespace_objects.add(meta["name"])
    raw = data.manifest.get("missingNamespaces")
    recorded = {n for n in raw if isinstance(n, str)} if isinstance(raw, list) else set()
    all_namespaces_known = bool(namespace_objects) and "Namespace" not in snap.errors
    read_cleanly = (data.layout == NATIVE and not snap.errors and not snap.denied
                    and any(KINDS[k].namespaced for k in snap.collected if k in KINDS))
    return [ns for ns in asked if ns not in holding and ns not in namespace_objects and (
        ns in recorded or all_namespaces_known or (read_cleanly and scope is not None and ns in scope))]


def load_bundle(path: str | os.PathLike[str], namespaces: list[str] | None = None) -> Snapshot:
    return snapshot_from_bundle_data(read_bundle(path), namespaces)
