"""Status conditions: stale ones, and timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmd_doctor import k8s

Obj = dict[str, Any]


def stale(o: Obj, conds: list[Obj]) -> list[str]:
    """Condition types whose observedGeneration is older than the object's generation."""
    gen = k8s.meta(o).get("generation")
    if not isinstance(gen, int):
        return []
    return [str(c.get("type")) for c in conds
            if isinstance(c.get("observedGeneration"), int) and c["observedGeneration"] < gen]


def timestamp(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
