"""Pure readers of snapshot objects, remembered by the identity of what they read.

Snapshot objects are read-only while checks run, and the live source hands the replicas of one
workload the very same containers list (sources/prune.Sharer): 9,000 decode pods of 500 Deployments
hold 500 containers lists. A reader of a container, or of a pod's containers, then needs to run once
per list, not once per pod and per check (issue #15: these small readers were most of the checks'
time on a 10,000-pod cluster). Bundles share nothing, so there each call computes as before.

The cache keeps each object it was keyed on, so an id cannot be reused by another object while its
entry lives; it is cleared when full, which bounds what it holds across runs. Results are shared
between callers: callers never mutate them (as with every snapshot object).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

R = TypeVar("R")
T = TypeVar("T")
Obj = dict[str, Any]

SIZE = 4096


def per_object(fn: Callable[[T], R]) -> Callable[[T], R]:
    """`fn(obj)` once per object (a container dict or a conditions list, shared between replicas)."""
    cache: dict[int, tuple[T, R]] = {}

    @functools.wraps(fn)
    def remembered(obj: T) -> R:
        hit = cache.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = fn(obj)
        if len(cache) >= SIZE:
            cache.clear()
        cache[id(obj)] = (obj, value)
        return value

    return remembered


def _containers_of(o: Obj) -> tuple[Any, Any]:
    spec = o.get("spec") or {}
    if o.get("kind") != "Pod":  # a workload: its pod template's spec (k8s.pod_spec; k8s imports this module)
        spec = (spec.get("template") or {}).get("spec") or {}
    return spec.get("containers"), spec.get("initContainers")


def per_containers(fn: Callable[[Obj], R]) -> Callable[[Obj], R]:
    """`fn(pod_or_workload)` once per (containers, initContainers) pair of lists: for readers that
    read nothing else of the object."""
    cache: dict[tuple[int, int], tuple[Any, Any, R]] = {}

    @functools.wraps(fn)
    def remembered(o: Obj) -> R:
        main, init = _containers_of(o)
        key = (id(main), id(init))
        hit = cache.get(key)
        if hit is not None and hit[0] is main and hit[1] is init:
            return hit[2]
        value = fn(o)
        if len(cache) >= SIZE:
            cache.clear()
        cache[key] = (main, init, value)
        return value

    return remembered


def distinct_containers(objs: Iterable[Obj]) -> list[Obj]:
    """The first of `objs` holding each (containers, initContainers) pair of lists, in order. A
    `per_containers` reader answers the same for the others: a caller that wants its distinct answers
    asks these only (once per workload instead of once per replica where the source shares lists)."""
    seen: set[tuple[int, int]] = set()  # the objects are alive during the call: ids are not reused
    out = []
    for o in objs:
        main, init = _containers_of(o)
        key = (id(main), id(init))
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out
