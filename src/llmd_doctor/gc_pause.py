"""Python's cyclic garbage collector kept out of a run's busy parts (issue #15).

Reading a cluster, running the checks and rendering the report make millions of objects and almost
no reference cycles: what they drop is freed by reference counting. Each automatic collection still
walks the young objects, and now and then all of them: on a 10,000-pod cluster the collections
during the checks and the report cost ~0.2 s of ~2.4 s, and freed nothing the peak memory could
see. So those parts run with the collector off, and it is on again after them.

What was read is then frozen (`gc.freeze`): later collections, and the one at the interpreter's exit
(~1 s on such a snapshot), skip it. A snapshot holds cycles (its topology refers back to it), so a
frozen one is never freed: a process that diagnoses again (`check --wait`) calls `release_frozen`
between its runs.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused(freeze_after: bool = False) -> Iterator[None]:
    """No automatic collection inside; `freeze_after`: what exists at the end is moved out of the
    collector's sight for good (a snapshot that lives to the end of the run), so later collections
    skip it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze_after:
            gc.freeze()
        if was:
            gc.enable()


def release_frozen() -> None:
    """Let the collector see what earlier runs froze, and collect it: their snapshots are garbage
    once their reports are made, but held by cycles."""
    gc.unfreeze()
    gc.collect()
