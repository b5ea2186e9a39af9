"""Release versions of images and the compat facts that hang on them (knowledge/compat.yaml)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from . import _knowledge

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
# A tag that names a build, not a release: `1.28-alpha.89f3…`, `v0.4.0-rc.1`, `0.2.0-dev`, `sha-1483316`.
_PRERELEASE = re.compile(r"-(alpha|beta|rc|dev|pre|snapshot)|^(latest|main|master|nightly|dev|sha-)", re.I)


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


def compat() -> dict[str, Any]:
    data: dict[str, Any] = _knowledge.load("compat")
    return data


@functools.lru_cache(maxsize=1024)
@functools.lru_cache(maxsize=1024)  # hundreds of EPPs run a handful of images
def epp_facts(image: str) -> dict[str, Any] | None:
    """The compat entry for an EPP image (None when the image or its tag is unknown)."""
    from . import _k8s

    version = parse(_k8s.image_tag(image))
    if version is None:
        return None
    for entry in compat()["epp"]:
        if entry["image"] in image and in_range(version, entry["versions"]):
            return entry
    return None


def epp_product(image: str) -> str | None:
    """The EPP product an image is, whatever its tag (`llm-d-inference-scheduler`, `GIE epp`)."""
    for entry in compat()["epp"]:
        if entry["image"] in image:
            return str(entry.get("name") or entry["image"])
    return None


def plugin_registry(facts: dict[str, Any] | None) -> set[str] | None:
    """Every plugin type an EPP release registers; None when the registry is not known."""
    if not facts or not facts.get("plugins"):
        return None
    registries: dict[str, list[str]] = compat().get("plugin_registries") or {}
    out: set[str] = set()
    for name in facts["plugins"]:
        out.update(registries.get(name) or [])
    return out


def gateway_facts(implementation: str, version: Version) -> dict[str, Any] | None:
    for entry in compat()["gateways"]:
        if entry["implementation"] == implementation and in_range(version, entry["versions"]):
            return entry
    return None


def implementation_of(controller_name: str | None) -> str | None:
    if not controller_name:
        return None
    table: dict[str, str] = compat()["gateway_controllers"]
    if controller_name in table:
        return table[controller_name]
    for prefix, impl in table.items():
        if controller_name.startswith(prefix.split("/")[0]):
            return impl
    return None


@dataclass(frozen=True)
class ImageVersion:
    """A gateway implementation's controller image and the version its tag names."""

    implementation: str
    image: str
    tag: str | None
    obj: str  # the workload that runs it, "Deployment/ns/name" or "Pod/ns/name"

    @property
    def version(self) -> Version | None:
        return parse(self.tag)

    @property
    def prerelease(self) -> bool:
        return is_prerelease(self.tag)

    @property
    def label(self) -> str:
        return self.tag or "untagged"


def gateway_implementation_of_image(image: str) -> str | None:
    """`docker.io/istio/pilot:1.27.0` -> "istio"; None for images that are no gateway controller."""
    table: dict[str, list[str]] = compat().get("gateway_images") or {}
    for impl, patterns in table.items():
        if any(re.search(p, image) for p in patterns):
            return impl
    return None


def gateway_controller_images(workloads: list[dict[str, Any]]) -> dict[str, list[ImageVersion]]:
    """Gateway controllers found in Deployments/Pods, by implementation (one entry per distinct image)."""
    from . import _k8s

    out: dict[str, list[ImageVersion]] = {}
    seen: set[str] = set()
    for w in workloads:
        for c in _k8s.containers(_k8s.pod_spec(w), init=False):
            image = str(c.get("image") or "")
            impl = gateway_implementation_of_image(image)
            if impl is None or image in seen:
                continue
            seen.add(image)
            ref = f"{w.get('kind', '?')}/{_k8s.namespace(w)}/{_k8s.name(w)}"
            out.setdefault(impl, []).append(ImageVersion(impl, image, _k8s.image_tag(image), ref))
    return out


def known_issues(implementation: str, version: Version) -> list[dict[str, Any]]:
    return [
        e for e in compat().get("known_issues") or []
        if e.get("implementation") == implementation and in_range(version, str(e.get("versions", "")))
    ]


def vllm_metric_available(metric: str, version: Version) -> bool | None:
    """Does this vLLM version emit this metric by default? None when the metric is not in the table."""
    entry = (compat().get("vllm_metrics") or {}).get(metric)
    if not entry:
        return None
    return in_range(version, str(entry.get("versions", "")))
