"""The bundle's objects: lookup by resource type, selection, stable order and paginated lists."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from llmd_doctor.kinds import split_api_version

from .catalog import ResourceType
from .selectors import parse_field_selector, parse_label_selector
from .status import bad_request, expired, not_found

Obj = dict[str, Any]


def _key(o: Obj) -> tuple[str, str]:
    m = o["metadata"]
    return (str(m.get("namespace") or ""), str(m.get("name") or ""))


@dataclass
class Page:
    items: list[Obj]
    resource_version: str
    continue_token: str | None = None
    remaining: int | None = None


class Store:
    def __init__(self, objects: list[Obj]):
        self._by_kind: dict[tuple[str, str], list[Obj]] = {}
        rvs = [1]
        for o in objects:
            group, _ = split_api_version(str(o.get("apiVersion")))
            self._by_kind.setdefault((group, str(o.get("kind"))), []).append(o)
            rv = str(o["metadata"].get("resourceVersion") or "")
            if rv.isdigit():
                rvs.append(int(rv))
        for items in self._by_kind.values():
            items.sort(key=_key)
        self.resource_version = str(max(rvs))

    def all_of(self, group: str, kind: str) -> list[Obj]:
        return list(self._by_kind.get((group, kind), []))

    def _scoped(self, t: ResourceType, namespace: str) -> list[Obj]:
        items = self._by_kind.get((t.group, t.kind), [])
        if t.namespaced and namespace:
            return [o for o in items if o["metadata"].get("namespace") == namespace]
        return list(items)

    def get(self, t: ResourceType, version: str, namespace: str, name: str) -> Obj:
        for o in self._scoped(t, namespace if t.namespaced else ""):
            if o["metadata"].get("name") == name:
                return {**o, "apiVersion": t.api_version(version)}
        raise not_found(t.plural, t.group, name)

    def list(self, t: ResourceType, version: str, namespace: str, query: dict[str, str]) -> Page:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), t.group, t.kind)
        items = [o for o in self._scoped(t, namespace)
                 if labels(o["metadata"].get("labels") or {}) and fields(o)]
        if token := query.get("continue"):
            start = self._decode(token)
            items = [o for o in items if _key(o) > start]
        page = Page(items, self.resource_version)
        limit = _int(query.get("limit"))
        if limit and len(items) > limit:
            page.items = items[:limit]
            page.continue_token = self._encode(_key(items[limit - 1]))
            if not query.get("labelSelector") and not query.get("fieldSelector"):
                page.remaining = len(items) - limit
        if t.custom:
            page.items = [{**o, "apiVersion": t.api_version(version)} for o in page.items]
        else:  # the real server drops apiVersion/kind from built-in list items
            page.items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page.items]
        return page

    # Continue tokens look like etcd3's: base64url(JSON{v, rv, start}); start is the last key returned.
    def _encode(self, key: tuple[str, str]) -> str:
        start = f"{key[0]}/{key[1]}\x00" if key[0] else f"{key[1]}\x00"
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": int(self.resource_version), "start": start})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode(self, token: str) -> tuple[str, str]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("start"), str):
                raise ValueError("unsupported version or missing start key")
            rv = int(data["rv"])
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError) as e:
            raise bad_request(f"invalid continue token: {e}") from None
        if rv != int(self.resource_version):
            raise expired()
        ns, _, name = data["start"].rstrip("\x00").rpartition("/")
        return (ns, name)


def _int(s: str | None) -> int:
    try:
        return max(int(s or 0), 0)
    except ValueError:
        raise bad_request(f"invalid limit: {s!r}") from None
