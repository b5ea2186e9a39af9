"""List pages, from JSON bytes to the items kept.

Each item is shaped as soon as its page is parsed: dropped when no API server would send it, and
with `prune` cut to what the checks read, its replica-identical parts shared, then validated
(sources/prune.py, shapes.py). The live source parses a page in one thread while the next page is
fetched in another (sources/live.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.snapshot import ApiError, misshapen
from llmd_doctor.sources.prune import Sharer, prune


@dataclass(frozen=True)
class PageKind:
    """What a page holds and what to keep of its items."""

    key: str  # the kind's key, e.g. "Pod", "Deployment.apps"
    kind: str
    api_version: str
    prune: bool
    plural: str = ""  # for messages: "list pods: ..."


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one per item dropped as malformed
    cont: str | None = None  # the list's continue token


class Shaper:
    """Each item of a page, as soon as it is parsed: dropped when no API server would send it (the
    same words as a bundle's), then, with `prune`, cut to what the checks read, its replica-identical
    parts shared, and validated (a part shared from an item found well-shaped is not validated again)."""

    def __init__(self) -> None:
        self.sharer = Sharer()

    def __call__(self, item: dict[str, Any], pk: PageKind) -> dict[str, Any] | str:
        trusted: frozenset[tuple[str, ...]] = frozenset()
        if pk.prune:  # what is validated is what is kept (the fields checks read are kept)
            item = prune(item, pk.key)
            trusted = self.sharer.share(item, pk.key)
        bad = misshapen(item, trusted)
        if bad:
            meta = item.get("metadata")
            name = (meta.get("name") if isinstance(meta, dict) else None) or "(unnamed)"
            return f"{item.get('kind')} {name} has {bad}, ignored"
        if pk.prune:
            self.sharer.well_shaped(item, pk.key)
        return item


def read_page(body: bytes, pk: PageKind, shape: Callable[[dict[str, Any], PageKind], dict[str, Any] | str]) -> Page:
    """A list page's items, each shaped; ApiError when the body is not a list."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ApiError(f"malformed JSON in the API response ({e})") from e
    del body
    plural = pk.plural or pk.kind.lower()
    # A list always carries "items" (kube-apiserver writes [] for none; null is read as none too).
    if not isinstance(doc, dict) or "items" not in doc or not isinstance(doc["items"] or [], list):
        raise ApiError(f"list {plural}: the response is not a list")
    page = Page()
    items = doc.get("items") or []
    for i, item in enumerate(items):
        items[i] = None  # each parsed item is freed once shaped, not with the whole page
        if not isinstance(item, dict):
            continue
        # List items of built-in kinds carry no apiVersion/kind; metadata-only items carry the wrong ones.
        item["apiVersion"], item["kind"] = pk.api_version, pk.kind
        item.setdefault("metadata", {})
        kept = shape(item, pk)
        if isinstance(kept, str):
            page.warnings.append(kept)
        else:
            page.items.append(kept)
    cont = (doc.get("metadata") or {}).get("continue") if isinstance(doc.get("metadata"), dict) else None
    page.cont = cont if isinstance(cont, str) and cont else None
    return page
