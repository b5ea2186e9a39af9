"""Cut each listed object down to the fields the checks read, right after its page is parsed (issue #15).

A parsed pod holds about five times its JSON in memory; most of it (managedFields, network
annotations, scheduling defaults, container IDs) no check reads. `prune(obj)` keeps, per kind, what
the keep-lists below name, and drops the rest. Err on keeping: a field dropped that a check reads is
a wrong result, so the lists keep whole subtrees wherever a check looks inside, and
tests/test_prune.py runs every check on every example and case bundle pruned and unpruned and
requires the same results. `collect` never prunes: bundles are read by people too.

Spec language (data): `True` keeps a value whole; a dict keeps only the keys it names, each by its
own spec (a list's elements each follow the spec); the key "..." gives the spec for every key not
named (so `{"...": True, "x": False}` drops just `x`); a callable returns the value to keep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Spec = bool | dict[str, Any] | Callable[[Any], Any]
KEEP = True

# Annotations that are large and that no check reads: the last applied manifest, CNI network state.
_NOISY_ANNOTATION = re.compile(r"last-applied-configuration$|network-status$|networks-status$|pod-networks$|"
                               r"^cni\.projectcalico\.org/|^k8s\.ovn\.org/")


def _annotations(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if not _is_noisy(k)}


# Annotation keys seen, and whether each is noisy: every pod of a workload has the same keys, and a
# search per key of every object cost more than the rest of its pruning (issue #15). Bounded.
_noisy: dict[Any, bool] = {}


def _is_noisy(key: Any) -> bool:
    found = _noisy.get(key)
    if found is None:
        if len(_noisy) >= 4096:
            _noisy.clear()
        found = _noisy[key] = isinstance(key, str) and _NOISY_ANNOTATION.search(key) is not None
    return found


# The service-account token volume the API server adds to every pod (`kube-api-access-<random>`): its
# name differs between replicas that are otherwise identical, so keeping it would keep every replica's
# containers apart (see Sharer), and no check reads it.
TOKEN_VOLUME_PREFIX = "kube-api-access-"


def _not_token(entry: Any) -> bool:
    return not (isinstance(entry, dict) and str(entry.get("name", "")).startswith(TOKEN_VOLUME_PREFIX))


def _volumes(value: Any) -> Any:
    return [v for v in value if _not_token(v)] if isinstance(value, list) else value


def _containers(value: Any) -> Any:
    """Containers whole (see POD_SPEC), but for their mount of the token volume."""
    if not isinstance(value, list):
        return value
    out = []
    for c in value:
        mounts = c.get("volumeMounts") if isinstance(c, dict) else None
        if isinstance(mounts, list):
            for m in mounts:
                if not _not_token(m):
                    c = {**c, "volumeMounts": [m for m in mounts if _not_token(m)]}
                    break
        out.append(c)
    return out


# Every kind: metadata without managedFields (often the largest part of an object) and noisy annotations.
METADATA: dict[str, Spec] = {"...": True, "managedFields": False, "annotations": _annotations}
ANY_KIND: dict[str, Spec] = {"...": True, "metadata": METADATA}

# Containers (but for the token mount) and their statuses whole: a check may read any field of them (image, command, args, env
# with values, ports, resources, probes, mounts, security context, a sidecar's restartPolicy, state and
# restarts), and walking them to drop a few small fields costs more time than it saves memory
# (replicas share their containers, see SHARED).
POD_SPEC: dict[str, Spec] = {
    "containers": _containers, "initContainers": _containers, "ephemeralContainers": KEEP,
    "volumes": _volumes, "nodeName": KEEP, "nodeSelector": KEEP, "tolerations": KEEP, "affinity": KEEP,
    "topologySpreadConstraints": KEEP, "serviceAccountName": KEEP, "serviceAccount": KEEP,
    "automountServiceAccountToken": KEEP, "restartPolicy": KEEP, "resourceClaims": KEEP, "resources": KEEP,
    "schedulerName": KEEP, "priorityClassName": KEEP, "runtimeClassName": KEEP, "hostNetwork": KEEP,
    "hostIPC": KEEP, "hostPID": KEEP, "shareProcessNamespace": KEEP, "readinessGates": KEEP, "overhead": KEEP,
    "hostname": KEEP, "subdomain": KEEP, "securityContext": KEEP, "imagePullSecrets": KEEP,
    "schedulingGates": KEEP, "dnsPolicy": KEEP, "dnsConfig": KEEP,
}
# A pod's conditions without their times (no check reads when a pod condition last changed): the
# conditions of replicas in the same state are then equal, and shared (see SHARED). Container
# statuses without the runtime's container and image IDs.
POD_STATUS: dict[str, Spec] = {
    "...": True, "hostIPs": False, "podIPs": False,
    "conditions": {"...": True, "lastProbeTime": False, "lastTransitionTime": False},
    "containerStatuses": {"...": True, "containerID": False, "imageID": False},
    "initContainerStatuses": {"...": True, "containerID": False, "imageID": False},
}
POD: dict[str, Spec] = {
    "apiVersion": KEEP, "kind": KEEP, "metadata": METADATA, "spec": POD_SPEC, "status": POD_STATUS,
}
# Workloads: their pod template as a pod's spec, the rest whole.
TEMPLATE: dict[str, Spec] = {"metadata": METADATA, "spec": POD_SPEC}
WORKLOAD: dict[str, Spec] = {"...": True, "metadata": METADATA, "spec": {"...": True, "template": TEMPLATE}}

# Nodes: not the list of every image the node has pulled (tens of KB on a real node).
NODE: dict[str, Spec] = {"...": True, "metadata": METADATA, "status": {"...": True, "images": False}}

SPECS: dict[str, dict[str, Spec]] = {
    "Pod": POD,
    "Deployment.apps": WORKLOAD,
    "ReplicaSet.apps": WORKLOAD,
    "StatefulSet.apps": WORKLOAD,
    "Node": NODE,
}


def prune_value(value: Any, spec: Spec) -> Any:
    """`value` cut by `spec` (the spec language above), the plain way; `prune` runs the same compiled."""
    if spec is True:
        return value
    if callable(spec):
        return spec(value)
    if isinstance(value, list):
        return [prune_value(v, spec) for v in value]
    if not isinstance(value, dict) or not isinstance(spec, dict):
        return value
    rest = spec.get("...", False)
    out = {}
    for k, v in value.items():
        s = spec.get(k, rest)
        if s is False:
            continue
        out[k] = v if s is True else prune_value(v, s)
    return out


Pruner = Callable[[Any], Any]


def _compile(spec: dict[str, Any]) -> Pruner:
    """`prune_value(_, spec)` as a function with the spec's dispatch done once (every item of every
    list goes through it: 10,000 pods). A field maps to True (keep), None (drop) or a function."""
    def part(s: Spec) -> Pruner | bool | None:
        if isinstance(s, bool):
            return True if s else None
        return _compile(s) if isinstance(s, dict) else s

    fields = {k: part(v) for k, v in spec.items() if k != "..."}
    rest = part(spec.get("...", False))
    get = fields.get

    def cut(value: Any) -> Any:
        if isinstance(value, list):
            return [cut(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for k, v in value.items():
            f = get(k, rest)
            if f is None:
                continue
            out[k] = v if f is True else f(v)  # type: ignore[operator]  # f: True or a Pruner here
        return out

    return cut


def prune(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """`obj` (of kind `key`, e.g. "Pod", "Deployment.apps") cut to what the checks read."""
    result: dict[str, Any] = _PRUNERS.get(key, _ANY_KIND)(obj)
    return result


# ---- sharing identical parts -------------------------------------------------------------------------

# Parts that the replicas of one workload hold identically: after pruning, one copy serves them all (a
# pod's containers, volumes, scheduling constraints, labels; a Deployment's pod spec and its
# ReplicaSets'). Read-only from then on, as every snapshot object is. Issue #15's all-llm-d cluster:
# 10,000 pruned pods 276 MB -> 84 MB.
SHARED: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pod": (("metadata", "labels"), ("metadata", "annotations"), ("metadata", "ownerReferences"),
            ("spec", "containers"), ("spec", "initContainers"), ("spec", "volumes"), ("spec", "tolerations"),
            ("spec", "affinity"), ("spec", "nodeSelector"), ("spec", "securityContext"),
            ("spec", "imagePullSecrets"), ("status", "conditions")),
    "ReplicaSet.apps": (("spec", "template", "spec"),),
    "Deployment.apps": (("spec", "template", "spec"),),
}
# Whose parts an object shares: its owner's (pods, ReplicaSets), or its own uid (a Deployment, whose
# ReplicaSets name it as their owner).
SHARED_BY_SELF = frozenset({"Deployment.apps"})


class Sharer:
    """Replace a part of an object by the equal part of the previous object with the same owner.

    A list returns a workload's pods one after another (by name), so comparing with the last one
    kept per (part, owner) finds nearly every repeat; `==` runs in C and stops at the first
    difference, where hashing the JSON text of every part cost more than parsing it. A part shared
    from an object that was found well-shaped need not be validated again (`share`'s answer)."""

    def __init__(self) -> None:
        # (path, owner) -> [the part last kept, whether an object holding it was found well-shaped]
        self._last: dict[tuple[tuple[str, ...], Any], list[Any]] = {}
        # (path, a cheap fingerprint of the part) -> the same entry, for the first object of another
        # owner: the workloads of many namespaces often run the same containers.
        self._alike: dict[tuple[tuple[str, ...], Any], list[Any]] = {}
        # The object `share` saw last, with the entries of its parts: `well_shaped` follows it.
        self._seen: tuple[dict[str, Any] | None, list[list[Any]]] = (None, [])

    def _slots(self, obj: dict[str, Any], key: str) -> Iterator[tuple[tuple[str, ...], Any, dict[str, Any], str]]:
        """(path, slot, the dict holding the part, the part's key) for each shareable part `obj` has."""
        meta = obj.get("metadata") or {}
        if key in SHARED_BY_SELF:
            owner = meta.get("uid")
        else:
            refs = meta.get("ownerReferences")
            owner = refs[0].get("uid") if isinstance(refs, list) and refs and isinstance(refs[0], dict) else None
        for path, head, last in _SPLIT.get(key, ()):
            parent: Any = obj
            for step in head:
                parent = parent.get(step) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and isinstance(parent.get(last), dict | list):
                yield path, (path, owner), parent, last

    def share(self, obj: dict[str, Any], key: str,
              mapped: dict[int, tuple[Any, list[Any]]] | None = None) -> frozenset[tuple[str, ...]]:
        """Share `obj`'s repeated parts (in place); the paths of those already found well-shaped.
        `mapped`: for the objects of one page shaped elsewhere (`adopt`), which share their parts
        among themselves already: each of those parts, by identity, with the entry it was found to
        be, so that it is compared once per page rather than once per object holding it."""
        if key not in SHARED:
            return frozenset()
        trusted = []
        entries: list[list[Any]] = []
        for path, slot, parent, last in self._slots(obj, key):
            value = parent[last]
            known = mapped.get(id(value)) if mapped is not None else None
            if known is not None:
                prev = self._last[slot] = known[1]
            else:
                prev = self._last.get(slot)
                if prev is None or not (prev[0] is value or prev[0] == value):
                    alike = (path, _fingerprint(value))
                    prev = self._alike.get(alike)
                    if prev is None or prev[0] != value:
                        prev = self._alike[alike] = [value, False]
                    self._last[slot] = prev
                if mapped is not None:
                    mapped[id(value)] = (value, prev)  # the part is kept: its id stays its own
            if prev[0] is not value:
                parent[last] = prev[0]
                if prev[1]:
                    trusted.append(path)
            entries.append(prev)
        self._seen = (obj, entries)
        return frozenset(trusted)

    def well_shaped(self, obj: dict[str, Any], key: str) -> None:
        """`obj` was found well-shaped: so are the parts it now holds."""
        seen, entries = self._seen
        if seen is obj:  # the usual order: share, validate, then this
            for entry in entries:
                entry[1] = True
            return
        for _path, slot, parent, last in self._slots(obj, key):
            prev = self._last.get(slot)
            if prev is not None and prev[0] is parent[last]:
                prev[1] = True


def _fingerprint(part: dict[str, Any] | list[Any]) -> tuple[Any, ...]:
    """A few scalars of a part that equal parts share (its size, its first key, its first entry's name
    and image), to find an equal part of another owner with one comparison."""
    if isinstance(part, dict):
        key, first = next(iter(part.items()), (None, None))
    else:
        key, first = None, part[0] if part else None
    if isinstance(first, dict):
        first = tuple(v if isinstance(v, str) else None for v in (first.get("name"), first.get("image")))
    elif not isinstance(first, str | int | float | bool):
        first = None
    return len(part), key, first


# Each shared path, split once into the steps to its parent and its last key.
_SPLIT: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...]] = {
    key: tuple((path, path[:-1], path[-1]) for path in paths) for key, paths in SHARED.items()}


_PRUNERS: dict[str, Pruner] = {key: _compile(spec) for key, spec in SPECS.items()}
_ANY_KIND = _compile(ANY_KIND)
