"""Facts read off CustomResourceDefinitions."""

from __future__ import annotations

from llmd_doctor import k8s
from llmd_doctor.snapshot import Snapshot


def bundle_version(snap: Snapshot, kind: str, group: str, annotation: str) -> str | None:
    """A CRD's release annotation (`gateway.networking.k8s.io/bundle-version`), when the CRD is read."""
    crd = snap.crd(kind, group)
    return (k8s.meta(crd).get("annotations") or {}).get(annotation) if crd else None
