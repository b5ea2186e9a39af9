"""Build test bundles from the realistic examples: start from one, change what the case needs.

    sc = Scenario.example("healthy")
    sc.patch("Deployment.apps", "ms-llm-d-epp", {"spec": {"replicas": 0}})
    results = sc.run("epp.deployment")          # {id: CheckResult}
    path = sc.write(tmp_path)                   # a bundle directory on disk (for the CLI / fake API)

Objects stay `kubectl get -o yaml`-shaped because they come from the examples and from verbatim
upstream manifests (tests/upstream is a copy of shared/upstream).
"""

from __future__ import annotations

import copy
import functools
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from llmd_doctor.engine import run_checks
from llmd_doctor.kinds import key_of
from llmd_doctor.model import CheckResult
from llmd_doctor.registry import load_specs, select
from llmd_doctor.snapshot import LogRequest, Snapshot
from llmd_doctor.sources.bundle import BundleData, read_bundle, snapshot_from_bundle_data

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
UPSTREAM = ROOT / "tests" / "upstream"

Obj = dict[str, Any]


def merge(target: Obj, patch: Obj) -> Obj:
    """RFC 7386 JSON merge patch, in place (None deletes a key; lists are replaced)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def upstream(relpath: str) -> list[Obj]:
    """Objects of a verbatim upstream file, e.g. upstream('gie-v1.0.0/config__crd__bases__...yaml')."""
    return [d for d in yaml.safe_load_all((UPSTREAM / relpath).read_text()) if isinstance(d, dict)]

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.cache
def _example_bytes(name: str) -> bytes:
    """An example bundle, read once per process (YAML parsing dominates the suite's time)."""
    return pickle.dumps(read_bundle(EXAMPLES / name))


class Scenario:
    def __init__(self, data: BundleData):
        self.data = data

    @classmethod
    def example(cls, name: str) -> Scenario:
        return cls(pickle.loads(_example_bytes(name)))  # a fresh copy of the bundle read once per process

    @classmethod
    def bundle(cls, path: str | Path) -> Scenario:
        return cls(read_bundle(path))

    # ---- objects ------------------------------------------------------------------------------

    def all(self, key: str) -> list[Obj]:
        return [o for o in self.data.objects if key_of(o) == key]

    def find(self, key: str, name: str, namespace: str | None = None) -> Obj:
        for o in self.all(key):
            m = o.get("metadata") or {}
            if m.get("name") == name and (namespace is None or m.get("namespace") == namespace):
                return o
        raise KeyError(f"{key} {namespace or '*'}/{name} is not in the scenario")

    def find_prefix(self, key: str, prefix: str) -> Obj:
        """The first object whose name starts with `prefix` (pods have generated names)."""
        for o in self.all(key):
            if str((o.get("metadata") or {}).get("name", "")).startswith(prefix):
                return o
        raise KeyError(f"no {key} named {prefix}*")

    def patch(self, key: str, name: str, patch: Obj, namespace: str | None = None) -> Obj:
        return merge(self.find(key, name, namespace), patch)

    def remove(self, key: str, name: str | None = None, namespace: str | None = None) -> None:
        """Remove one object by name, or every object of the kind when no name is given."""
        keep = []
        for o in self.data.objects:
            m = o.get("metadata") or {}
            hit = key_of(o) == key and (name is None or m.get("name") == name) and (
                namespace is None or m.get("namespace") == namespace)
            if not hit:
                keep.append(o)
        if len(keep) == len(self.data.objects):
            raise KeyError(f"nothing to remove: {key} {name or '*'}")
        self.data.objects = keep

    def add(self, *objs: Obj) -> None:
        self.data.objects.extend(copy.deepcopy(list(objs)))

    def add_upstream(self, relpath: str, namespace: str | None = None) -> list[Obj]:
        objs = upstream(relpath)
        for o in objs:
            if namespace and o.get("kind") != "CustomResourceDefinition":
                o.setdefault("metadata", {})["namespace"] = namespace
        self.add(*objs)
        return objs

    # ---- logs and manifest --------------------------------------------------------------------

    def set_log(self, namespace: str, pod: str, container: str, text: str, previous: bool = False) -> None:
        self.data.logs[LogRequest(namespace, pod, container, previous)] = text

    def drop_logs(self, pod: str | None = None) -> None:
        self.data.logs = {r: t for r, t in self.data.logs.items() if pod is not None and r.pod != pod}

    def set_kinds(self, kinds: Iterable[str] | None) -> None:
        if kinds is None:
            self.data.manifest.pop("kinds", None)
        else:
            self.data.manifest["kinds"] = list(kinds)

    # ---- running ------------------------------------------------------------------------------

    def snapshot(self, namespaces: list[str] | None = None) -> Snapshot:
        return snapshot_from_bundle_data(pickle.loads(pickle.dumps(self.data)), namespaces)  # deepcopy, 3x faster

    def run(self, *only: str, options: dict[str, Any] | None = None) -> dict[str, CheckResult]:
        """Run the named checks (ids or globs) and their prerequisites; all checks when none named."""
        specs = load_specs(plugins=False)
        chosen = select(specs, only) if only else specs
        by_id = {s.id: s for s in specs}
        needed: dict[str, None] = {}

        def add(spec_id: str) -> None:
            for r in by_id[spec_id].requires:
                if r in by_id:
                    add(r)
            needed.setdefault(spec_id)

        for s in chosen:
            add(s.id)
        results = run_checks([by_id[i] for i in needed], self.snapshot(), options)
        return {r.id: r for r in results}

    def write(self, directory: Path) -> Path:
        """Write a bundle directory: objects.json (a List, as `kubectl get -o json` writes it: ten times
        faster to write and read than YAML, and the suite writes hundreds), bundle.yaml, logs/, probes/."""
        import json

        directory.mkdir(parents=True, exist_ok=True)
        (directory / "objects.json").write_text(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": self.data.objects})
        )
        if self.data.manifest:
            (directory / "bundle.yaml").write_text(yaml.dump(self.data.manifest, Dumper=_DUMPER, sort_keys=False))
        for req, text in self.data.logs.items():
            f = directory / "logs" / req.namespace / req.pod / f"{req.container}{'.previous' if req.previous else ''}.log"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)
        for name, rec in self.data.probes.items():
            f = directory / "probes" / f"{name}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(rec, indent=2))
        return directory
