"""Release versions read off image tags and labels, and the range constraints the knowledge uses."""

from __future__ import annotations

import functools
import re

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
# A tag that names a build, not a release: `1.28-alpha.89f3…`, `v0.4.0-rc.1`, `0.2.0-dev`, `sha-1483316`.
_PRERELEASE = re.compile(r"-(alpha|beta|rc|dev|pre|snapshot)|^(latest|main|master|nightly|dev|sha-)", re.I)
_CONSTRAINT = re.compile(r"^(>=|<=|==|>|<)\s*(.+)$")


def parse(text: str | None) -> Version | None:
    """`v0.2.1`, `0.0.4`, `1.28-alpha.89f3`, `v0.4.0-rc.1` -> (major, minor, patch); None for `latest`, `main`."""
    if not text:
        return None
    m = _VERSION.match(text.strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def text(v: Version) -> str:
    return f"v{v[0]}.{v[1]}.{v[2]}"


def is_prerelease(tag: str | None) -> bool:
    """A dev/alpha/rc build or a moving tag: its features cannot be read off the version number."""
    return not tag or bool(_PRERELEASE.search(tag)) or parse(tag) is None


@functools.lru_cache(maxsize=4096)
def in_range(v: Version, spec: str, prerelease: bool = False) -> bool:
    """`>=0.2.0,<0.3.0` style constraints (>=, >, <=, <, ==); an empty spec admits every version.
    `prerelease`: `v` is the nominal version of a pre-release build (v2.0.0-rc.1 is (2, 0, 0)), which
    comes before that release: inside `<2.0.0`, outside `>=2.0.0` and `==2.0.0`. Remembered: the
    checks ask the same few versions against the same few ranges thousands of times a run."""
    at = (v, 0 if prerelease else 1)
    for op, bound in _constraints(spec):
        b = (bound, 1)
        ok = at >= b if op == ">=" else at <= b if op == "<=" else at == b if op == "==" else \
            at > b if op == ">" else at < b
        if not ok:
            return False
    return True


@functools.cache
def _constraints(spec: str) -> tuple[tuple[str, Version], ...]:
    """(operator, bound) of each well-formed part of a range (the others constrain nothing)."""
    out = []
    for part in spec.split(","):
        m = _CONSTRAINT.match(part.strip())
        bound = parse(m.group(2)) if m else None
        if m and bound is not None:
            out.append((m.group(1), bound))
    return tuple(out)


def release_tag(tag: str | None) -> Version | None:
    """The version of a release tag (`1.27.0`, `v2.0.4`); None for pre-releases and moving tags."""
    return None if is_prerelease(tag) else parse(tag)
