"""Turn an HTTP request into authorization attributes, as apiserver's RequestInfoFactory does."""

from __future__ import annotations

from dataclasses import dataclass, field

NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class RequestInfo:
    path: str
    verb: str
    resource_request: bool = False
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    in_namespace_path: bool = False  # /namespaces/<ns>/<resource>...
    extra: list[str] = field(default_factory=list)  # path parts past the subresource
    selector_name: str = ""  # list/watch with fieldSelector metadata.name=X: authorized as name X

    @property
    def authz_name(self) -> str:
        return self.name or self.selector_name


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("true", "1")


def parse(method: str, path: str, query: dict[str, str]) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    info = RequestInfo(path=path, verb=method.lower())
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return info  # non-resource: discovery, /version, /healthz, ...
    rest = parts[1:]
    if parts[0] == "apis":
        info.group, rest = rest[0], rest[1:]
    info.version, rest = rest[0], rest[1:]
    info.resource_request = True
    info.verb = _VERBS.get(method, method.lower())
    if rest and rest[0] == "watch":
        info.verb, rest = "watch", rest[1:]
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        info.namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
            info.in_namespace_path = True
    if rest:
        info.resource = rest[0]
    if len(rest) > 1:
        info.name = rest[1]
    if len(rest) > 2:
        info.subresource = rest[2]
    info.extra = rest[3:]
    if method == "GET" and _truthy(query.get("watch")):
        info.verb = "watch"
    elif not info.name and info.verb == "get":
        info.verb = "list"
    elif not info.name and info.verb == "delete":
        info.verb = "deletecollection"
    if info.verb in ("list", "watch") and not info.name:
        for term in (query.get("fieldSelector") or "").split(","):
            key, _, val = term.partition("=")
            if key.strip() == "metadata.name":
                info.selector_name = val.removeprefix("=").strip()
    return info
