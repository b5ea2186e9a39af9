"""Label selectors (query syntax and LabelSelector objects) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .status import bad_request

Labels = dict[str, str]
_KEY = r"(?:[A-Za-z0-9][A-Za-z0-9.\-]*/)?[A-Za-z0-9]([A-Za-z0-9_.\-]*[A-Za-z0-9])?"
_VAL = r"(?:[A-Za-z0-9]([A-Za-z0-9_.\-]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<vals>[^()]*)\)$")
_CMP = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|!=|=|>|<)\s*(?P<val>{_VAL})$")
_EXISTS = re.compile(rf"^(?P<neg>!)?\s*(?P<key>{_KEY})$")


def _split_top(s: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


def _requirement(req: str) -> Callable[[Labels], bool]:
    if m := _SET.match(req):
        key, vals = m["key"], {v.strip() for v in m["vals"].split(",")}
        if any(not re.fullmatch(_VAL, v) for v in vals):
            raise bad_request(f"unable to parse requirement: invalid value in {req!r}")
        if m["op"] == "in":
            return lambda lb: key in lb and lb[key] in vals
        return lambda lb: key not in lb or lb[key] not in vals
    if m := _CMP.match(req):
        key, op, val = m["key"], m["op"], m["val"]
        if op == "!=":
            return lambda lb: lb.get(key) != val
        if op in ("=", "=="):
            return lambda lb: key in lb and lb[key] == val
        try:
            num = int(val)
        except ValueError:
            raise bad_request(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                              f"integer: {req!r}") from None
        return lambda lb: key in lb and lb[key].lstrip("-").isdigit() and (
            int(lb[key]) > num if op == ">" else int(lb[key]) < num)
    if m := _EXISTS.match(req):
        key, neg = m["key"], bool(m["neg"])
        return lambda lb: (key in lb) != neg
    raise bad_request(f"unable to parse requirement: {req!r}")


def parse_label_selector(s: str | None) -> Callable[[Labels], bool]:
    if not s or not s.strip():
        return lambda _: True
    reqs = [_requirement(r.strip()) for r in _split_top(s)]
    return lambda lb: all(r(lb) for r in reqs)


def match_selector_object(sel: dict[str, Any] | None, labels: Labels) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions); empty matches everything."""
    sel = sel or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), set(e.get("values") or [])
        ok = {"In": key in labels and labels.get(key) in vals,
              "NotIn": key not in labels or labels.get(key) not in vals,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


# ---- field selectors ------------------------------------------------------------------------------

def _path(*keys: str, default: str = "") -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        cur: Any = obj
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if cur is None:
            return default
        return str(cur).lower() if isinstance(cur, bool) else str(cur)
    return get


_INVOLVED = {f"involvedObject.{f}": _path("involvedObject", f)
             for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
FIELDS: dict[tuple[str, str], dict[str, Callable[[dict], str]]] = {
    ("", "Pod"): {
        "spec.nodeName": _path("spec", "nodeName"), "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork", default="false"),
        "status.phase": _path("status", "phase"), "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    ("", "Event"): {**_INVOLVED, "reason": _path("reason"), "reportingComponent": _path("reportingComponent"),
                    "source": _path("source", "component"), "type": _path("type")},
    ("", "Secret"): {"type": _path("type")},
    ("", "Namespace"): {"status.phase": _path("status", "phase")},
    ("", "Node"): {"spec.unschedulable": _path("spec", "unschedulable", default="false")},
    ("apps", "ReplicaSet"): {"status.replicas": _path("status", "replicas", default="0")},
}
_COMMON = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}


def parse_field_selector(s: str | None, group: str, kind: str) -> Callable[[dict], bool]:
    if not s or not s.strip():
        return lambda _: True
    fields = {**_COMMON, **FIELDS.get((group, kind), {})}
    tests: list[Callable[[dict], bool]] = []
    for term in s.split(","):
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(!=|==|=)\s*(.*?)\s*", term)
        if not m:
            raise bad_request(f"invalid selector: '{s}'; can't understand '{term}'")
        field, op, val = m.groups()
        if field not in fields:
            raise bad_request(f'field label not supported: {field}')
        get = fields[field]
        tests.append((lambda o, g=get, v=val: g(o) != v) if op == "!=" else (lambda o, g=get, v=val: g(o) == v))
    return lambda o: all(t(o) for t in tests)
