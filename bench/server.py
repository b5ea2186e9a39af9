"""The fake API server for the benchmark: the shared tests/fakeapi server, with GET answers cached.

The fake server builds every list page in Python (filter, copy, json.dumps); at 10,000 pods that
costs it more CPU than the client it serves, on the same two cores. A real API server answers
lists from its watch cache. So the benchmark caches each successful GET answer by (path, query,
Accept, user) and warms the cache before measuring: what is timed is the client, plus the injected
per-request latency. Requests are still logged one by one (`srv.requests`), latency and faults
still apply per request.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakeapi import FakeApiServer  # noqa: E402
from fakeapi.handlers import Response, User  # noqa: E402


class CachedFakeApiServer(FakeApiServer):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._cache: dict[tuple, Response] = {}
        self._cache_lock = threading.Lock()
        self.cache_hits = 0

    def _answer(self, method: str, path: str, query: dict[str, str], accept: str, body: bytes,
                user: User | None) -> Response:
        if method != "GET":
            return super()._answer(method, path, query, accept, body, user)
        key = (path, tuple(sorted(query.items())), accept, user.name if user else None)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return hit
        resp = super()._answer(method, path, query, accept, body, user)
        if resp.status == 200:
            with self._cache_lock:
                self._cache[key] = resp
        return resp
