"""List pages, from JSON bytes to the items kept: here, and in helper processes on spare cores.

Parsing JSON holds the GIL: on a 10,000-pod cluster it was most of a run (issue #15), one core busy
and the others idle. So the live source hands big pages to helper processes (`page_worker.py`, one
per spare core, started on the first big page): each parses a page, drops malformed items, prunes
and shares (sources/prune.py), and sends back the kept items pickled, a fraction of the page's cost
to read here. Pages are parsed here too, meanwhile. A helper that cannot start or fails is not used
again and its page is parsed here: the result never depends on the helpers.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from llmd_doctor.snapshot import ApiError, misshapen
from llmd_doctor.sources.prune import Sharer, prune

# Pages smaller than this are parsed here: a helper's round trip would cost more than it saves.
BIG_PAGE = 256 * 1024
# Whether this process parses big pages too while its helpers work (tests turn it off to send every
# page to a helper).
HERE_TOO = True
# The most helper processes: past a few, the parent's own share of the work (reading the network,
# unpickling what the helpers send) is the limit.
MAX_HELPERS = 3

_HEADER = struct.Struct("<II")  # lengths of the JSON header and of the body that follow


@dataclass(frozen=True)
class PageKind:
    """What a page holds and what to keep of its items."""

    key: str  # the kind's key, e.g. "Pod", "Deployment.apps"
    kind: str
    api_version: str
    prune: bool


@dataclass
class Page:
    items: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one per item dropped as malformed
    cont: str | None = None  # the list's continue token


class Shaper:
    """Each item of a page, as soon as it is parsed: dropped when no API server would send it (the
    same words as a bundle's), then, with `prune`, cut to what the checks read, its replica-identical
    parts shared, and validated (a part shared from an item found well-shaped is not validated again)."""

    def __init__(self, sharer: Sharer | None = None) -> None:
        self.sharer = sharer or Sharer()

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
        """Items shaped elsewhere (a helper, with its own Sharer): shared with this one's."""
        if pk.prune:
            for item in page.items:
                self.sharer.share(item, pk.key)
                self.sharer.well_shaped(item, pk.key)  # it was: so is the equal part it now holds
        return page


def read_page(body: bytes, pk: PageKind, shape: Callable[[dict[str, Any], PageKind], dict[str, Any] | str]) -> Page:
    """A list page's items, each shaped; ApiError when the body is not a list."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ApiError(f"malformed JSON in the API response ({e})") from e
    del body
    plural = pk.kind.lower()
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise ApiError(f"list {plural}: the response is not a list")
    page = Page()
    for item in doc.get("items") or []:
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


# ---- helper processes ---------------------------------------------------------------------------


def spare_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, min(cores - 1, MAX_HELPERS))


class _Helper:
    """One helper process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "llmd_doctor.sources.page_worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def parse(self, body: bytes, pk: PageKind) -> Page:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        header = json.dumps(pk.__dict__).encode()
        self.proc.stdin.write(_HEADER.pack(len(header), len(body)) + header)
        self.proc.stdin.write(body)
        self.proc.stdin.flush()
        answer = pickle.loads(_read_frame(self.proc.stdout))
        if answer[0] == "page":
            return Page(*answer[1:])
        if answer[0] == "api-error":  # the page itself is wrong: the same error as parsing it here
            raise ApiError(answer[1])
        raise RuntimeError(answer[1])  # the helper's own failure: the page is parsed here

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def _read_frame(stream: IO[bytes]) -> bytes:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("the helper process ended")
    (size,) = struct.unpack("<I", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the helper process ended")
    return data


class PageParsers:
    """Parse pages here and in helper processes; `parse` is called from the list threads. A big page
    goes to whichever is free first: an idle helper (one is started per spare core as needed), or
    this process."""

    def __init__(self, shaper: Shaper, helpers: int | None = None) -> None:
        self.shaper = shaper
        self.wanted = spare_cores() if helpers is None else helpers
        self._free = threading.Condition()
        self._here_busy = False  # the GIL parses one page at a time anyway
        self._idle: list[_Helper] = []
        self._all: list[_Helper] = []
        self._failed = False

    @property
    def concurrency(self) -> int:
        """Pages worth having on hand at once: one per parser."""
        return 1 + (0 if self._failed else self.wanted)

    def _take(self, size: int) -> _Helper | None:
        """A helper for this page, or None: parse it here (the caller holds `_free`)."""
        while True:
            big = size >= BIG_PAGE and not self._failed
            if big and self._idle:
                return self._idle.pop()
            if big and len(self._all) < self.wanted:
                try:
                    helper = _Helper()
                except OSError:
                    self._failed = True
                    continue
                self._all.append(helper)
                return helper
            if not self._here_busy and (HERE_TOO or not big or self.wanted == 0):
                self._here_busy = True
                return None
            self._free.wait()

    def parse(self, body: bytes, pk: PageKind) -> Page:
        with self._free:
            helper = self._take(len(body))
        if helper is not None:
            try:
                page = helper.parse(body, pk)
            except (OSError, EOFError, RuntimeError, pickle.UnpicklingError, ValueError):
                with self._free:
                    self._failed = True  # not used again; this page is parsed here
                    self._free.notify_all()
                    self._take(0)
            else:
                return self.shaper.adopt(page, pk)
            finally:
                if not self._failed:  # its answer (a page, or the page's own ApiError) came back
                    with self._free:
                        self._idle.append(helper)
                        self._free.notify_all()
        try:
            return read_page(body, pk, self.shaper)
        finally:
            with self._free:
                self._here_busy = False
                self._free.notify_all()

    def close(self) -> None:
        with self._free:
            helpers, self._all, self._idle = self._all, [], []
        for h in helpers:
            h.close()
