"""Release versions of images and the compat facts that hang on them (knowledge/compat.yaml)."""

from __future__ import annotations

import re
from typing import Any

from . import _knowledge

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


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


def in_range(v: Version, spec: str) -> bool:
    """`>=0.2.0,<0.3.0` style constraints (>=, >, <=, <, ==)."""
    for part in spec.split(","):
        part = part.strip()
        m = re.match(r"^(>=|<=|==|>|<)\s*(.+)$", part)
        if not m:
            continue
        bound = parse(m.group(2))
        if bound is None:
            continue
        op = m.group(1)
        ok = {">=": v >= bound, "<=": v <= bound, "==": v == bound, ">": v > bound, "<": v < bound}[op]
        if not ok:
            return False
    return True


def epp_facts(image: str) -> dict[str, Any] | None:
    """The compat entry for an EPP image (None when the image or its tag is unknown)."""
    from . import _k8s

    version = parse(_k8s.image_tag(image))
    if version is None:
        return None
    for entry in _knowledge.load("compat")["epp"]:
        if entry["image"] in image and in_range(version, entry["versions"]):
            return entry
    return None


def gateway_facts(implementation: str, version: Version) -> dict[str, Any] | None:
    for entry in _knowledge.load("compat")["gateways"]:
        if entry["implementation"] == implementation and in_range(version, entry["versions"]):
            return entry
    return None


def implementation_of(controller_name: str | None) -> str | None:
    if not controller_name:
        return None
    table: dict[str, str] = _knowledge.load("compat")["gateway_controllers"]
    if controller_name in table:
        return table[controller_name]
    for prefix, impl in table.items():
        if controller_name.startswith(prefix.split("/")[0]):
            return impl
    return None
