"""Discovery documents: /version, /api, /apis and their children (legacy), and the aggregated
form of /api and /apis (apidiscovery.k8s.io v2 and v2beta1, what kubectl >= 1.26 asks for first)."""

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


# ---- aggregated discovery (one document for every group, version and resource) ------------------

AGGREGATED_GROUP = "apidiscovery.k8s.io"


def aggregated_version(accept: str) -> str | None:
    """The apidiscovery version the Accept header asks for first ("v2", "v2beta1"), or None."""
    for rng in (accept or "").split(","):
        mtype, *params = [p.strip() for p in rng.split(";")]
        p = dict(x.split("=", 1) for x in params if "=" in x)
        if mtype == "application/json" and p.get("as") == "APIGroupDiscoveryList" \
                and p.get("g") == AGGREGATED_GROUP and p.get("v") in ("v2", "v2beta1"):
            return p["v"]
        if mtype in ("application/json", "*/*", "application/*") and "as" not in p:
            return None  # plain JSON is preferred: the legacy document
    return None


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resource(t: ResourceType, version: str) -> dict[str, Any]:
    r: dict[str, Any] = {"resource": t.plural, "responseKind": _gvk(t.group, version, t.kind),
                         "scope": "Namespaced" if t.namespaced else "Cluster",
                         "singularResource": t.singular or t.kind.lower(), "verbs": list(t.verbs)}
    if t.short_names:
        r["shortNames"] = list(t.short_names)
    if t.categories:
        r["categories"] = list(t.categories)
    if t.subresources:
        r["subresources"] = [{"subresource": s, "responseKind": _gvk(t.group, version, t.kind),
                              "verbs": list(SUB_VERBS.get(s, ("get",)))} for s in t.subresources]
    return r


def aggregated(cat: Catalog, core: bool, version: str) -> dict[str, Any]:
    """/api (core=True: the "" group only) or /apis (every named group) as an APIGroupDiscoveryList."""
    items = []
    for group, versions in cat.groups().items():
        if bool(group) == core:
            continue
        items.append({"metadata": {"name": group} if group else {},
                      "versions": [{"version": v, "freshness": "Current",
                                    "resources": [_resource(t, v) for t in cat.in_version(group, v)]}
                                   for v in versions]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"{AGGREGATED_GROUP}/{version}", "metadata": {},
            "items": items}


def aggregated_content_type(version: str) -> str:
    return f"application/json;g={AGGREGATED_GROUP};v={version};as=APIGroupDiscoveryList"
