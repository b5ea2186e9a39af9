"""Small readers of Kubernetes object shapes, shared by the topology and the checks (no llm-d knowledge).

Objects reach here after the sources dropped those of impossible shape (`llmd_doctor.shapes`), so the
fields these readers touch have the types the API gives them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from llmd_doctor.memo import per_object

Obj = dict[str, Any]


_NONE: Obj = {}  # the metadata of an object without any (read only)


def meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


# name, namespace and labels read metadata themselves: the topology and the checks ask them ~200,000
# times on a 10,000-pod cluster (issue #15).
def name(o: Obj) -> str:
    n = (o.get("metadata") or _NONE).get("name", "")
    return n if type(n) is str else str(n)


def namespace(o: Obj) -> str:
    n = (o.get("metadata") or _NONE).get("namespace", "")
    return n if type(n) is str else str(n)


def labels(o: Obj) -> dict[str, str]:
    raw = (o.get("metadata") or _NONE).get("labels") or {}
    for v in raw.values():  # a loop, not all(genexpr): this runs for every pod, many times
        if type(v) is not str:
            return {str(k): str(v) for k, v in raw.items()}  # hand-written YAML (`true` unquoted)
    return raw  # the API's shape: no copy (callers never mutate it)


def condition(o: Obj, ctype: str, conditions: list[Obj] | None = None) -> Obj | None:
    conds = conditions if conditions is not None else (o.get("status") or {}).get("conditions") or []
    for c in conds:  # a loop, not next(genexpr): pod_ready runs this ~10 times per pod
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def cond_text(c: Obj | None, ctype: str) -> str:
    """`Programmed=False (AddressNotAssigned: no address)`; `Programmed missing` when absent."""
    if c is None:
        return f"{ctype} missing"
    text = f"{ctype}={c.get('status', '?')}"
    detail = ": ".join(str(x) for x in (c.get("reason"), c.get("message")) if x)
    return f"{text} ({detail})" if detail else text


# ---- label selectors -----------------------------------------------------------------------


def match_labels(selector: dict[str, str] | None, lbls: dict[str, str]) -> bool:
    """A flat selector map (Service, v1alpha2 InferencePool). An empty selector matches nothing."""
    if not selector:
        return False
    return all(lbls.get(k) == str(v) for k, v in selector.items())


def match_selector(selector: Obj | None, lbls: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions). An empty selector matches nothing."""
    if not selector:
        return False
    ml = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if not ml and not exprs:
        return False
    if any(lbls.get(k) != str(v) for k, v in ml.items()):
        return False
    for e in exprs:
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in e.get("values") or []]
        has = key in lbls
        if (op == "In" and (not has or lbls[key] not in values)) or (op == "NotIn" and has and lbls[key] in values) \
                or (op == "Exists" and not has) or (op == "DoesNotExist" and has):
            return False
    return True


def selector_text(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


# ---- workloads -----------------------------------------------------------------------------


def containers(pod_or_template_spec: Obj, init: bool = True) -> list[Obj]:
    spec = pod_or_template_spec
    out = list(spec.get("containers") or [])
    if init:
        out += list(spec.get("initContainers") or [])
    return [c for c in out if isinstance(c, dict)]


def pod_spec(o: Obj) -> Obj:
    """The pod spec of a Pod, or the template's of a Deployment/ReplicaSet/StatefulSet."""
    if o.get("kind") == "Pod":
        return o.get("spec") or {}
    return ((o.get("spec") or {}).get("template") or {}).get("spec") or {}


def pods_of(workload: Obj, pods: list[Obj]) -> list[Obj]:
    sel = (workload.get("spec") or {}).get("selector")
    ns = namespace(workload)
    return labelled((p for p in pods if namespace(p) == ns), lambda lbls: match_selector(sel, lbls))


def labelled(objs: Iterable[Obj], wanted: Callable[[dict[str, str]], bool]) -> list[Obj]:
    """The objects whose labels are `wanted`, in order."""
    judged: dict[int, bool] = {}  # replicas share their labels (sources/prune.Sharer): judge each set once
    out = []
    for o in objs:
        raw = meta(o).get("labels")
        ok = judged.get(id(raw))
        if ok is None:
            ok = judged[id(raw)] = wanted(labels(o))
        if ok:
            out.append(o)
    return out


def image_tag(image: str) -> str | None:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def parse_args(argv: list[str]) -> dict[str, str]:
    """Go flag / pflag arguments -> {flag name: value} (`-poolName x`, `--pool-name=x`, `--v 4`)."""
    return dict(_parse_args(tuple(str(a) for a in argv)))


@functools.lru_cache(maxsize=4096)
def _parse_args(argv: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and len(a) > 1:
            key = a.lstrip("-")
            if "=" in key:
                k, v = key.split("=", 1)
                flags[k] = v
            elif i + 1 < len(argv) and not re.match(r"^--?[A-Za-z]", argv[i + 1]):
                flags[key] = argv[i + 1]
                i += 1
            else:
                flags[key] = "true"
        i += 1
    return tuple(flags.items())


# ---- pod health ----------------------------------------------------------------------------


def container_statuses(pod: Obj, init: bool = True) -> list[Obj]:
    st = pod.get("status") or {}
    main = st.get("containerStatuses") or []
    extra = (st.get("initContainerStatuses") or []) if init else []
    return [c for part in (main, extra) for c in part if isinstance(c, dict)]


def pod_ready(pod: Obj) -> bool:
    conds = (pod.get("status") or {}).get("conditions")
    return _ready_in(conds) if isinstance(conds, list) else False


@per_object  # replicas in the same state share their conditions (sources/prune.py drops their times)
def _ready_in(conds: list[Obj]) -> bool:
    c = condition({}, "Ready", conds)
    return bool(c and c.get("status") == "True")


def by_readiness(pods: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(the Ready pods, the others), each in order."""
    ready: list[Obj] = []
    unready: list[Obj] = []
    for p in pods:
        (ready if pod_ready(p) else unready).append(p)
    return ready, unready


def restarts(pod: Obj) -> int:
    # Loops rather than sum(genexpr) over container_statuses(): checks ask this of every pod, twice.
    st = pod.get("status") or {}
    n = 0
    for part in (st.get("containerStatuses"), st.get("initContainerStatuses")):
        for c in part or ():
            if isinstance(c, dict):
                count = c.get("restartCount")
                if count:
                    n += int(count)
    return n


def waiting_reasons(pod: Obj) -> list[tuple[str, str, str]]:
    """(container, reason, message) of containers in a waiting state."""
    out = []
    for c in container_statuses(pod):
        w = (c.get("state") or {}).get("waiting")
        if w:
            out.append((str(c.get("name")), str(w.get("reason") or "Waiting"), str(w.get("message") or "")))
    return out


def last_terminated(cs: Obj) -> Obj | None:
    return (cs.get("lastState") or {}).get("terminated")


def pod_summary(pod: Obj) -> str:
    """`Running, not Ready, CrashLoopBackOff (epp), 47 restarts, last exit 2 (Error)`."""
    st = pod.get("status") or {}
    parts = [str(st.get("phase") or "Unknown"), "Ready" if pod_ready(pod) else "not Ready"]
    parts += [f"{reason} ({c})" for c, reason, _ in waiting_reasons(pod)]
    n = restarts(pod)
    if n:
        parts.append(f"{n} restarts")
    for cs in container_statuses(pod):
        t = last_terminated(cs)
        if t:
            parts.append(f"last exit {t.get('exitCode')} ({t.get('reason') or 'terminated'})")
            break
    return ", ".join(parts)
