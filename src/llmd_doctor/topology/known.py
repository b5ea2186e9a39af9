"""What the topology knows, and what it could not read — never mistaken for "none".

`Items` is a list that carries the reasons it may be incomplete (`gaps`): iterating it gives what
was read; a claim that something does *not* exist must first ask `complete` (or call `require()`,
which raises the first gap so the engine reports `skip`/`error`). `Ref` is the outcome of resolving
one reference: found, missing (the kind was read and it is not there) or unknown (it could not be
read). `recorded` makes a node's relation a property that records which kinds it was derived from,
so a check is held to the `inputs` it declares.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from llmd_doctor import k8s
from llmd_doctor.snapshot import DataUnavailable, record_read

T = TypeVar("T")


class ObjectNode:
    """A node that stands for one object (`subject`, the attribute `obj` unless overridden): its
    name, namespace and `Kind/namespace/name` ref, read once (a node's object does not change, and
    the checks ask them ~30,000 times at 500 stacks)."""

    KIND: ClassVar[str] = ""

    @property
    def subject(self) -> dict[str, Any]:
        return self.obj  # type: ignore[attr-defined,no-any-return]

    @functools.cached_property
    def name(self) -> str:
        return k8s.name(self.subject)

    @functools.cached_property
    def namespace(self) -> str:
        return k8s.namespace(self.subject)

    @functools.cached_property
    def ref(self) -> str:
        return f"{self.KIND}/{self.namespace}/{self.name}"


class Items(list[T]):
    """A list of what could be read, with the reasons it may be incomplete."""

    def __init__(self, items: Iterable[T] = (), gaps: Iterable[DataUnavailable] = ()):
        super().__init__(items)
        self.gaps: tuple[DataUnavailable, ...] = tuple(dict.fromkeys(g for g in gaps if g is not None))

    @property
    def complete(self) -> bool:
        return not self.gaps

    def require(self) -> Items[T]:
        """Itself when complete; raises the first gap otherwise (the engine turns it into skip/error)."""
        if self.gaps:
            raise self.gaps[0]
        return self

    def where(self, keep: Callable[[T], bool]) -> Items[T]:
        """The items that pass `keep`, with the same gaps."""
        return Items([x for x in self if keep(x)], self.gaps)


@dataclass(frozen=True)
class Ref(Generic[T]):
    """A resolved reference: `target` found, or missing (`gap` None), or unknown (`gap` says why)."""

    target: T | None = None
    gap: DataUnavailable | None = None
    what: str = ""  # what was looked for, for messages ("Service llm-d/ms-llm-d-epp")

    @property
    def found(self) -> bool:
        return self.target is not None

    @property
    def missing(self) -> bool:
        return self.target is None and self.gap is None

    @property
    def unknown(self) -> bool:
        return self.target is None and self.gap is not None

    def get(self) -> T | None:
        """The target, None when it does not exist; raises when that cannot be known."""
        if self.unknown:
            raise self.gap  # type: ignore[misc]
        return self.target


def merge_gaps(*groups: Iterable[DataUnavailable] | DataUnavailable | None) -> tuple[DataUnavailable, ...]:
    out: dict[DataUnavailable, None] = {}
    for g in groups:
        if g is None:
            continue
        if isinstance(g, DataUnavailable):
            out.setdefault(g)
        else:
            for x in g:
                out.setdefault(x)
    return tuple(out)


def recorded(*kinds: str) -> Callable[[Callable[[Any], T]], property]:
    """A read-only property that records the kinds its value was derived from each time it is read."""

    def wrap(fn: Callable[[Any], T]) -> property:
        @functools.wraps(fn)
        def getter(self: Any) -> T:
            record_read(*kinds)
            return fn(self)

        return property(getter)

    return wrap
