"""Knowledge that changes with upstream releases, loaded from checks/knowledge/*.yaml.

Each entry cites its source; a new llm-d release is an edit to the YAML, not to code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load(name: str) -> Any:
    text = resources.files("llmd_doctor.checks").joinpath("knowledge", f"{name}.yaml").read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@dataclass(frozen=True)
class Signature:
    """A log signature: when every `all` pattern matches (and no `none` pattern), the cause is known."""

    id: str
    component: str
    status: str
    all: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...]
    cause: str
    fix: str
    versions: str
    sources: tuple[str, ...]
    capabilities: tuple[str, ...] | None
    also: bool = False
    # Lines worth showing when present (stack frames, flag dumps), beside the matched ones.
    evidence: tuple[re.Pattern[str], ...] = ()  # reported beside the first match instead of competing with it

    def match(self, text: str) -> tuple[dict[str, str], list[str]] | None:
        """Named groups of the matches and the matching lines, or None."""
        groups: dict[str, str] = {}
        lines: list[str] = []
        for pat in self.all:
            m = pat.search(text)
            if not m:
                return None
            groups.update({k: v for k, v in m.groupdict().items() if v is not None})
            _add_excerpt(lines, text, m)
        if any(p.search(text) for p in self.none):
            return None
        for pat in self.evidence:
            m = pat.search(text)
            if m:
                _add_excerpt(lines, text, m)
        return groups, lines


def _add_excerpt(lines: list[str], text: str, m: re.Match[str], width: int = 160) -> None:
    """The line of a match; a long line (a JSON log record) is cut around the match."""
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    end = len(text) if end == -1 else end
    line = text[start:end].strip()
    if len(line) > width:
        lo = max(start, m.start() - 40)
        hi = min(end, max(m.end(), lo + width - 40) + 20)
        line = ("…" if lo > start else "") + text[lo:hi].strip() + ("…" if hi < end else "")
    if line and line not in lines:
        lines.append(line)


def _signature_entries() -> list[dict[str, Any]]:
    """Entries of every knowledge/signatures_*.yaml (one file per component family)."""
    folder = resources.files("llmd_doctor.checks").joinpath("knowledge")
    names = sorted(f.name[: -len(".yaml")] for f in folder.iterdir() if f.name.startswith("signatures_"))
    return [e for n in names for e in load(n)["signatures"]]


@cache
def signatures(component: str) -> tuple[Signature, ...]:
    out = []
    for e in _signature_entries():
        if e["component"] != component:
            continue
        caps = e.get("capabilities")
        out.append(
            Signature(
                id=e["id"],
                component=e["component"],
                status=e.get("status", "fail"),
                all=tuple(re.compile(p, re.MULTILINE) for p in e["all"]),
                none=tuple(re.compile(p, re.MULTILINE) for p in e.get("none") or []),
                cause=e["cause"].strip(),
                fix=e["fix"].strip(),
                versions=e.get("versions", ""),
                sources=tuple(e.get("sources") or []),
                capabilities=tuple(caps) if caps is not None else None,
                also=bool(e.get("also")),
                evidence=tuple(re.compile(p, re.MULTILINE) for p in e.get("evidence") or []),
            )
        )
    return tuple(out)


def fill(template: str, groups: dict[str, str]) -> str:
    """`{name}` placeholders from regex groups; unknown ones stay as they are."""
    return re.sub(r"\{(\w+)\}", lambda m: groups.get(m.group(1), m.group(0)), template)


def match_log(component: str, text: str) -> list[tuple[Signature, dict[str, str], list[str]]]:
    """The first matching signature, plus every matching `also` signature."""
    out = []
    primary = False
    for sig in signatures(component):
        if primary and not sig.also:
            continue
        m = sig.match(text)
        if m:
            out.append((sig, *m))
            primary = primary or not sig.also
    return out
