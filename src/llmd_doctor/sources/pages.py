"""List pages, from JSON bytes to the items kept.

Each item is shaped as soon as its page is parsed: dropped when no API server would send it, and
with `prune` cut to what the checks read, its replica-identical parts shared, then validated
(sources/prune.py, shapes.py). The live source parses a page in one thread while the next page is
fetched in another (sources/live.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.snapshot import ApiError, misshapen
from llmd_doctor.sources.prune import Sharer, prune

_CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"\\]*)"')
_REMAINING = re.compile(rb'"remainingItemCount"\s*:\s*(\d+)')


def _in_head(pattern: re.Pattern[bytes], body: bytes) -> re.Match[bytes] | None:
    """`pattern` in a list page's metadata, read before the page is parsed: API servers write the
    list's metadata before its items."""
    head = body[:4096]
    end = head.find(b'"items"')
    return pattern.search(head, 0, end) if end > 0 else None


def early_continue(body: bytes) -> str | None:
    """The page's continue token, so that the next page can be asked for while this one is parsed;
    None when it is not found there (then the parsed page says) or empty (the last page)."""
    m = _in_head(_CONTINUE, body)
    return (m.group(1).decode("ascii", "replace") or None) if m else None


def remaining_items(body: bytes) -> int | None:
    """How many items the list has after this page (API servers say it for lists without a selector);
    None when the page does not say."""
    m = _in_head(_REMAINING, body)
    return int(m.group(1)) if m else None


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

    def adopt(self, page: Page, pk: PageKind) -> Page:
        """A page shaped by another Shaper (the page reader's): its items, already cut and found
        well-shaped there, share their replica-identical parts with the items this one kept."""
        if pk.prune:
            share, well_shaped = self.sharer.share, self.sharer.well_shaped
            mapped: dict[int, tuple[Any, list[Any]]] = {}
            for item in page.items:
                share(item, pk.key, mapped)
                well_shaped(item, pk.key)
        return page


def read_page(body: bytes, pk: PageKind, shape: Callable[[dict[str, Any], PageKind], dict[str, Any] | str]) -> Page:
    """A list page's items, each shaped as soon as it is parsed; ApiError when the body is not a list.

    The items are parsed a few dozen at a time (`_items_in_chunks`): a parse of the whole page held
    the GIL for tens of milliseconds at a time, starving the thread that fetches the next page,
    and held every parsed item at once. (One at a time would lose the sharing of equal keys that a
    parse gives the objects it makes: 60 MB more on issue #15's cluster.) A body laid out
    otherwise than an API server writes a list is parsed whole, with the same result."""
    plural = pk.plural or pk.kind.lower()
    page = Page()

    def add(items: list[Any]) -> None:
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

    doc = _items_in_chunks(body, add)
    if doc is None:  # not laid out as expected: parse it whole
        page = Page()
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise ApiError(f"malformed JSON in the API response ({e})") from e
        del body
        # A list always carries "items" (kube-apiserver writes [] for none; null is read as none too).
        if not isinstance(doc, dict) or "items" not in doc or not isinstance(doc["items"] or [], list):
            raise ApiError(f"list {plural}: the response is not a list")
        add(doc.get("items") or [])
    cont = (doc.get("metadata") or {}).get("continue") if isinstance(doc.get("metadata"), dict) else None
    page.cont = cont if isinstance(cont, str) and cont else None
    return page


# Bytes of items parsed at once (~35 pods): a few milliseconds of the GIL.
CHUNK_BYTES = 256 * 1024
_ITEMS = re.compile(rb'"items"[ \t\n\r]*:[ \t\n\r]*\[')
_END = re.compile(rb"\][ \t\n\r]*\}[ \t\n\r]*$")
# Where one item ends and the next begins, as API servers write list items (metadata first). The
# same text inside an item (a StatefulSet's second volumeClaimTemplate) makes a chunk that does not
# parse: then it is parsed with the next.
_NEXT_ITEM = re.compile(rb'\}[ \t\n\r]*,[ \t\n\r]*(?=\{[ \t\n\r]*"metadata"[ \t\n\r]*:)')


def _items_in_chunks(body: bytes, add: Callable[[list[Any]], None]) -> dict[str, Any] | None:
    """Parse a list body's items a chunk at a time, passing each chunk's items to `add`; the list
    without its items, or None when the body is not laid out as `{"kind": ..., "metadata": {...},
    "items": [...]}`, as API servers write lists, or does not parse (then items may have been passed
    on already: the caller starts over with a whole parse)."""
    m, end = _ITEMS.search(body), _END.search(body)
    if m is None or end is None or end.start() < m.end():
        return None
    try:  # what precedes "items" (kind, apiVersion, metadata), closed into an object of its own
        doc = json.loads(body[: m.start()] + b'"items": null}')
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    start, stop = m.end(), end.start()
    cuts = [start]
    while stop - cuts[-1] > CHUNK_BYTES:
        nxt = _NEXT_ITEM.search(body, cuts[-1] + CHUNK_BYTES, stop)
        if nxt is None:
            break
        cuts.append(nxt.end())
    cuts.append(stop)
    a = cuts[0]
    for j, b in enumerate(cuts[1:], 1):
        piece = body[a:b]
        last = j == len(cuts) - 1
        if not last:  # without the comma between this chunk and the next
            piece = piece.rstrip(b" \t\n\r")[:-1]
        try:
            items = json.loads(b"[" + piece + b"]")
        except ValueError:
            if not last:
                continue  # cut inside an item: parse this chunk with the next
            return None  # the whole parse says what is wrong (the caller drops what was passed on)
        del piece
        add(items)
        a = b
    return doc
