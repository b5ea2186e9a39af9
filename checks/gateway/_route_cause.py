"""Why a route condition is False, reasoned from what the snapshot holds rather than from the
condition's words alone.

A gateway that says an InferencePool is "not found" while the snapshot holds it does not see the pool:
its InferencePool support is off, its release routes another pool API group, a known bug of its
release bites this route's shape, or — when none of those — something between the controller and the
pool (RBAC, the namespaces it watches), which its logs tell. A backendRef of kind InferencePool
without a pool API group names the core group, where no pool lives. Only then are the condition's
words matched against the implementation's signatures.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor import k8s
from llmd_doctor.gateways.base import common_condition_signatures
from llmd_doctor.kinds import POOL_GROUPS
from llmd_doctor.knowledge import fill, match_signatures, signature_from
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Gateway, Route, topology
from llmd_doctor.topology.routes import Backend

from .._lib.conditions import timestamp
from ._switch import switch_of

Obj = dict[str, Any]
Cause = tuple[str, str | None, list[str]]  # (cause, fix, extra evidence)

_NOT_FOUND = ("BackendNotFound",)
_BAD_KIND = ("InvalidKind", "InvalidDestinationKind")


def cause(snap: Snapshot, route: Route, cond: Obj, gw: Gateway | None) -> Cause:
    """(cause, fix, extra evidence) for a False Accepted/ResolvedRefs condition of `route` from `gw`."""
    reason, message = str(cond.get("reason") or ""), str(cond.get("message") or "")
    if reason in _NOT_FOUND or "not found" in message.lower():
        found = _stale(route, cond) or _unseen_pool(snap, route, cond, gw)
        if found is not None:
            return found
    if reason in _BAD_KIND:
        found = _groupless(snap, route)
        if found is not None:
            return found
    return _by_signature(route, reason, message, gw)


def _named(route: Route, message: str) -> Backend | None:
    """The pool backend the message names (by name), else the route's only pool backend."""
    pools = [b for b in route.pool_backends if b.is_pool_group]
    named = [b for b in pools if b.name and b.name in message]
    return named[0] if named else pools[0] if len(pools) == 1 else None


def _stale(route: Route, cond: Obj) -> Cause | None:
    """A BackendNotFound older than the backend it names: the route came first, nobody re-resolved it."""
    when = timestamp(cond.get("lastTransitionTime"))
    for b in route.backends:
        target = b.pool.target.obj if b.is_pool and b.pool.found else b.service.target if b.is_service else None
        created = timestamp(k8s.meta(target).get("creationTimestamp")) if target else None
        if when and created and created > when:
            return (
                f"the status is stale: it reports the backend missing since {cond.get('lastTransitionTime')}, "
                f"but {b.kind} {b.namespace}/{b.name} was created later ({k8s.meta(target).get('creationTimestamp')}): "
                "the route was applied before the backend and the controller did not re-resolve it",
                f"Re-apply the route so the controller resolves it again, e.g. `kubectl annotate httproute -n "
                f"{route.namespace} {route.name} llmd-doctor/touched=$(date +%s) --overwrite`; create routes after "
                "their InferencePools (Helm hook ordering).",
                ["failure case httproute-created-before-inferencepool-stale-backendnotfound"],
            )
    return None


def _unseen_pool(snap: Snapshot, route: Route, cond: Obj, gw: Gateway | None) -> Cause | None:
    """The gateway reports a pool not found that exists: why its controller does not see it."""
    b = _named(route, str(cond.get("message") or ""))
    if b is None or not b.pool.found or gw is None or gw.implementation is None:
        return None
    pool, impl, ctl = b.pool.target, gw.implementation, gw.controller.target
    assert pool is not None
    created = k8s.meta(pool.obj).get("creationTimestamp", "?")
    exists = f"{pool.ref} exists ({pool.group}, created {created})"
    although = f"although {pool.ref} exists ({pool.group}, created {created})"
    evidence = [exists]
    if ctl is not None:
        evidence.append(f"{gw.label}: {ctl.ref} image {ctl.image}")
    switch = switch_of(snap, gw)
    if switch is not None and switch.state == "off":
        return (f"{gw.label} has InferencePool support off ({switch.text}): its controller watches no "
                f"InferencePools, so it finds none, {although}",
                f"Turn it on: {switch.enable}.",
                [*evidence, f"{impl.title} reads {' / '.join(switch.names)} ({switch.source})"])
    supported, source = impl.pool_groups(ctl)
    if supported is not None and pool.group not in supported:
        return (f"{gw.label} routes only {', '.join(supported) or 'no'} InferencePools, so it finds none of "
                f"{pool.group}, {although}",
                f"Use an InferencePool of {' or '.join(supported)} (with the route's backendRef group and the EPP's "
                f"--pool-group to match), or a {impl.title} release that routes {pool.group} pools.",
                [*evidence, f"compat: {source}"])
    issues = [i for i in impl.known_issues(ctl, route.shape)
              if str(i.get("condition") or cond.get("reason")) == str(cond.get("reason"))]
    if issues:
        i = issues[0]
        return (f"{gw.label}: {str(i['message']).strip()} ({exists})", str(i["fix"]).strip(),
                [*evidence, f"known issue {i['id']}: {i['source']}"])
    hint = ""
    if b.port is None:
        hint = ("; the backendRef has no port — optional for an InferencePool (its target port is used), but a "
                "controller that looks backends up by port finds none")
    return (f"{gw.label} does not find the pool {although}: its controller does not see the pool — check that its "
            f"InferencePool support is on, that its service account may list inferencepools.{pool.group}, that "
            f"it watches namespace {pool.namespace}, and its logs{hint}",
            (f"Add `port: {pool.target_ports[0]}` to the backendRef; if that does not resolve it, read " if hint
             and pool.target_ports else "Read ") + "the gateway controller's logs for the pool's name, and "
            "compare its RBAC and watched namespaces with the pool's.",
            evidence)


def _groupless(snap: Snapshot, route: Route) -> Cause | None:
    """A backendRef of kind InferencePool whose group is no pool API group (left out: the core group)."""
    b = next((b for b in route.pool_backends if not b.is_pool_group), None)
    if b is None:
        return None
    group = f"group {b.group!r}" if b.group else 'no group (so group "", the core API group)'
    same = [p for p in topology(snap).pools if (p.namespace, p.name) == (b.namespace, b.name)]
    there = f"; {same[0].ref} is in {same[0].group}" if same else ""
    return (f"backendRef {b.namespace}/{b.name} has kind InferencePool but {group}: no InferencePool lives "
            f"there, so the gateway rejects the kind (an InferencePool is in {' or '.join(POOL_GROUPS)}){there}",
            "Set `group:` on the backendRef to the pool's API group: "
            f"`group: {same[0].group if same else POOL_GROUPS[-1]}`.",
            [f"backendRef: {b.text}"])


def _by_signature(route: Route, reason: str, message: str, gw: Gateway | None) -> Cause:
    """The condition's words matched against the implementation's (else every implementation's) signatures."""
    text = f"{reason}: {message}"
    sigs = gw.implementation.condition_signatures if gw is not None and gw.implementation is not None \
        else tuple(signature_from({**e, "component": "httproute-status"}) for e in common_condition_signatures())
    hits = match_signatures(tuple(x for x in sigs if x.component in ("httproute-status", "")), text)
    if not hits:
        return f"{reason or 'no reason'}: {message or 'no message'}", None, []
    sig, groups, _ = hits[0]
    found = fill(sig.cause, groups, sig)
    extra = [f"known as {sig.id} ({'; '.join(sig.sources)})"] if sig.sources else []
    if reason in _BAD_KIND and gw is not None and gw.implementation is not None:
        c = gw.controller.target
        supported, source = gw.implementation.pool_groups(c)
        if supported is not None:
            found += f"; {gw.label} routes InferencePools of {', '.join(supported) or 'no group'} ({source})"
        if c is not None:
            extra.append(f"{gw.label}: {c.ref} image {c.image}")
    return found, fill(sig.fix, groups, sig), extra
