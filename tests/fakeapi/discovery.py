"""Legacy (non-aggregated) discovery documents: /version, /api, /apis and their children."""

from __future__ import annotations

import re
from typing import Any

from .catalog import SUB_VERBS, Catalog, ResourceType
from .status import no_route

DEFAULT_VERSION = "v1.31.4"


def version_info(git_version: str | None) -> dict[str, str]:
    gv = git_version or DEFAULT_VERSION
    m = re.match(r"v?(\d+)\.(\d+)", gv)
    major, minor = (m.group(1), m.group(2)) if m else ("1", "31")
    return {
        "major": major, "minor": minor, "gitVersion": gv,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
        "platform": "linux/amd64",
    }


def _gv(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(name: str, versions: list[str]) -> dict[str, Any]:
    return {"name": name, "versions": [_gv(name, v) for v in versions], "preferredVersion": _gv(name, versions[0])}


def api_group_list(cat: Catalog) -> dict[str, Any]:
    groups = [api_group(g, vs) for g, vs in cat.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def one_group(cat: Catalog, name: str) -> dict[str, Any]:
    versions = cat.groups().get(name)
    if not name or not versions:
        raise no_route()
    return {"kind": "APIGroup", "apiVersion": "v1", **api_group(name, versions)}


def _entries(t: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {"name": t.plural, "singularName": t.singular or t.kind.lower(),
                            "namespaced": t.namespaced, "kind": t.kind, "verbs": list(t.verbs)}
    if t.short_names:
        main["shortNames"] = list(t.short_names)
    if t.categories:
        main["categories"] = list(t.categories)
    subs = [{"name": f"{t.plural}/{s}", "singularName": "", "namespaced": t.namespaced, "kind": t.kind,
             "verbs": list(SUB_VERBS.get(s, ("get",)))} for s in t.subresources]
    return [main, *subs]


def resource_list(cat: Catalog, group: str, version: str) -> dict[str, Any]:
    types = cat.in_version(group, version)
    if not types:
        raise no_route()
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _gv(group, version)["groupVersion"],
            "resources": [e for t in types for e in _entries(t)]}
