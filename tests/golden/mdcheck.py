"""Structure checks for Markdown reports: sections by heading, none empty, fences closed."""

from __future__ import annotations

import re


def sections(md: str) -> list[tuple[int, str, list[str]]]:
    """(level, heading, body lines up to the next heading of any level), fences skipped."""
    out: list[tuple[int, str, list[str]]] = []
    fence = None
    for line in md.splitlines():
        m = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None and (h := re.match(r"^(#{1,6}) (.*)", line)):
            out.append((len(h.group(1)), h.group(2), []))
            continue
        if out:
            out[-1][2].append(line)
    assert fence is None, "a code fence is not closed"
    return out


def assert_no_empty_sections(md: str) -> None:
    secs = sections(md)
    for i, (level, heading, body) in enumerate(secs):
        has_sub = i + 1 < len(secs) and secs[i + 1][0] > level
        assert any(line.strip() for line in body) or has_sub, f"empty section: {heading!r}"
