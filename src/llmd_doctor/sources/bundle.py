"""Read a cluster bundle (shared/spec/bundle.md) into a Snapshot.

A bundle is a directory or a .tar.gz/.tgz of one. Every `.yaml/.yml/.json` outside `logs/` and
`probes/` holds objects (one, a multi-document stream, or a `*List`); `logs/<ns>/<pod>/<container>.log`
and `<container>.previous.log` hold logs; `bundle.yaml` is the optional manifest. A file that does
not parse is a warning naming the file, never an abort.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from llmd_doctor.kinds import key_of
from llmd_doctor.snapshot import LogRequest, NotCollected, Snapshot, SourceInfo, served_from_crds

OBJECT_SUFFIXES = (".yaml", ".yml", ".json")
MAX_OBJECT_FILE = 64 * 1024 * 1024
# Logs are tailed to this many bytes: signatures sit at the end of a crashed container's log.
MAX_LOG_BYTES = 2 * 1024 * 1024


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


# ---- file access: the same walk over a directory or a tarball -------------------------------


# A file as the walk yields it: (path relative to the bundle root, bytes, or None and why not).
FileEntry = tuple[str, bytes | None, str | None]


def _is_log(rel: str) -> bool:
    return rel.startswith("logs/") or rel.endswith((".log", "logs.txt"))


def _read_stream(fobj: Any, size: int, rel: str) -> FileEntry:
    if _is_log(rel) and size > MAX_LOG_BYTES:
        fobj.seek(size - MAX_LOG_BYTES)
        return rel, fobj.read(), None
    if not _is_log(rel) and size > MAX_OBJECT_FILE:
        return rel, None, f"file is {size} bytes, over the {MAX_OBJECT_FILE} byte limit"
    return rel, fobj.read(), None


def _iter_dir(root: Path) -> Iterator[FileEntry]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            rel = full.relative_to(root).as_posix()
            try:
                with open(full, "rb") as f:
                    yield _read_stream(f, full.stat().st_size, rel)
            except OSError as e:
                yield rel, None, str(e)


def _iter_tar(path: Path) -> Iterator[FileEntry]:
    try:
        tf = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the `with tf` below
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BundleError(f"cannot read bundle archive {path}: {e}") from e
    with tf:
        try:
            members = [m for m in tf.getmembers() if m.isfile()]
        except (tarfile.TarError, OSError, EOFError) as e:
            raise BundleError(f"cannot read bundle archive {path}: {e}") from e
        paths = [PurePosixPath(m.name.lstrip("./")).parts for m in members]
        # "one top folder or none": strip the folder when every file sits inside the same one.
        strip = len({p[0] for p in paths if p}) == 1 and all(len(p) > 1 for p in paths)
        for m, parts in zip(members, paths, strict=True):
            parts = parts[1:] if strip else parts
            if not parts or ".." in parts:
                continue
            rel = "/".join(parts)
            try:
                fobj = tf.extractfile(m)
                if fobj is not None:
                    yield _read_stream(fobj, m.size, rel)
            except (tarfile.TarError, OSError, EOFError) as e:
                yield rel, None, str(e)


def _iter_files(path: Path) -> Iterator[FileEntry]:
    if path.is_dir():
        return _iter_dir(path)
    if path.is_file():
        return _iter_tar(path)
    raise BundleError(f"bundle not found: {path}")


# ---- parsing ----------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it: ten times faster on large CRDs.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _docs(rel: str, data: bytes) -> list[Any]:
    text = data.decode("utf-8", errors="replace")
    if rel.endswith(".json"):
        return [json.loads(text)]
    return [d for d in yaml.load_all(text, Loader=_YamlLoader) if d is not None]


def _flatten(doc: Any, rel: str, warnings: list[str]) -> list[dict[str, Any]]:
    """One object, or the items of a List / `*List` (typed list items inherit kind and apiVersion)."""
    if not isinstance(doc, dict):
        warnings.append(f"{rel}: not a Kubernetes object (a {type(doc).__name__}), ignored")
        return []
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[: -len("List")] if kind != "List" else None
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
    """Read every object, log, probe and the manifest of a bundle."""
    root = Path(path)
    data = BundleData(path=str(root))
    seen: dict[tuple[str, str, str], int] = {}
    for rel, raw, why in _iter_files(root):
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
        if rel.startswith("probes/"):
            if rel.endswith(".json"):
                try:
                    data.probes[PurePosixPath(rel).stem] = json.loads(raw.decode("utf-8", errors="replace"))
                except ValueError as e:
                    data.warnings.append(f"{rel}: probe record is not JSON ({e}), ignored")
            continue
        if not rel.endswith(OBJECT_SUFFIXES):
            continue
        try:
            docs = _docs(rel, raw)
        except (yaml.YAMLError, ValueError, RecursionError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            data.warnings.append(f"{rel}: does not parse ({first}), ignored")
            continue
        if rel in ("bundle.yaml", "bundle.yml", "bundle.json") and docs and isinstance(docs[0], dict) \
                and docs[0].get("kind") == "Bundle":
            data.manifest = docs[0]
            continue
        for doc in docs:
            for obj in _flatten(doc, rel, data.warnings):
                meta = obj["metadata"]
                ident = (key_of(obj), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                if ident in seen and ident[2]:
                    data.objects[seen[ident]] = obj  # the same object twice: the later file wins
                    continue
                seen[ident] = len(data.objects)
                data.objects.append(obj)
    return data


def snapshot_from_bundle_data(data: BundleData, namespaces: list[str] | None = None) -> Snapshot:
    m = data.manifest
    manifest_ns = m.get("namespaces") if isinstance(m.get("namespaces"), list) else None
    if manifest_ns is not None and namespaces:
        missing = [n for n in namespaces if n not in manifest_ns]
        if missing:
            raise NotCollected(f"namespace {', '.join(missing)} is not in the bundle")
    scope = namespaces or manifest_ns
    snap = Snapshot(
        source=SourceInfo(
            kind="bundle",
            context=m.get("context"),
            server_version=m.get("serverVersion"),
            path=data.path,
            collected_at=str(m["collectedAt"]) if m.get("collectedAt") else None,
            redacted=m.get("redacted"),
        ),
        namespaces=list(scope) if scope else None,
        warnings=list(data.warnings),
        probes=dict(data.probes),
    )
    for obj in data.objects:
        key = key_of(obj)
        ns = obj["metadata"].get("namespace")
        snap.collected.add(key)
        if namespaces and ns and ns not in namespaces:
            continue
        snap.objects.setdefault(key, []).append(obj)
    for k in m.get("kinds") or []:
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
    return snap


def load_bundle(path: str | os.PathLike[str], namespaces: list[str] | None = None) -> Snapshot:
    return snapshot_from_bundle_data(read_bundle(path), namespaces)
