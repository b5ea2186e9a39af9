"""What the fake API answers: discovery, list/get, pod logs, access reviews. No HTTP here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmd_doctor.snapshot import LogRequest
from llmd_doctor.sources.bundle import BundleData

from . import discovery
from .catalog import CREATE_ONLY, Catalog, ResourceType
from .rbac import Attributes, Authorizer
from .requestinfo import RequestInfo
from .status import ApiError, bad_request, forbidden, method_not_allowed, no_route, status
from .store import Page, Store

JSON = "application/json"
META_GROUP = "meta.k8s.io"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON

    @classmethod
    def json(cls, obj: Any, code: int = 200) -> Response:
        return cls(code, json.dumps(obj).encode())


def negotiate(accept: str, as_kind: str) -> str | None:
    """The first acceptable media type: "json", a metadata apiVersion ("meta.k8s.io/v1") for the
    PartialObjectMetadata[List] form, or None (406). Protobuf, YAML and Table are skipped."""
    for rng in (accept or "*/*").split(","):
        mtype, *params = [p.strip() for p in rng.split(";")]
        p = dict(x.split("=", 1) for x in params if "=" in x)
        if mtype not in ("application/json", "application/*", "*/*"):
            continue
        if "as" not in p:
            return "json"
        if p["as"] == as_kind and p.get("g") == META_GROUP and p.get("v") in ("v1", "v1beta1"):
            return f"{META_GROUP}/{p['v']}"
    return None


class Api:
    def __init__(self, data: BundleData, rbac: bool):
        self.catalog = Catalog(data.objects)
        self.store = Store(data.objects)
        self.authz = Authorizer(data.objects, rbac)
        self.logs = data.logs
        self.git_version = data.manifest.get("serverVersion")
        self.aggregated_discovery = True

    # ---- authorization --------------------------------------------------------------------------

    def authorize(self, info: RequestInfo, user: User) -> None:
        a = self._attrs(info, user)
        allowed, _ = self.authz.authorize(a)
        if not allowed:
            raise forbidden(user.name, a.verb, resource=a.resource, subresource=a.subresource, group=a.group,
                            namespace=a.namespace, name=a.name, path=a.path)

    @staticmethod
    def _attrs(info: RequestInfo, user: User) -> Attributes:
        if not info.resource_request:
            return Attributes(user.name, user.groups, info.verb, path=info.path)
        return Attributes(user.name, user.groups, info.verb, info.resource, info.subresource, info.group,
                          info.namespace, info.authz_name)

    # ---- dispatch -------------------------------------------------------------------------------

    def serve(self, method: str, info: RequestInfo, query: dict[str, str], accept: str, body: bytes,
              user: User, server_address: str) -> Response:
        if not info.resource_request:
            if method != "GET":
                raise method_not_allowed()
            return self._non_resource(info.path, server_address, accept)
        t = self.catalog.lookup(info.group, info.version, info.resource)
        if t is None or info.extra or (info.in_namespace_path and not t.namespaced) \
                or (t.namespaced and info.name and not info.in_namespace_path):
            raise no_route()
        if t.verbs == CREATE_ONLY:
            if method != "POST" or info.name:
                raise method_not_allowed()
            return Response.json(self._review(t, info, body, user))
        if info.verb not in ("get", "list", "watch"):
            raise method_not_allowed()
        if info.verb == "watch":
            raise method_not_allowed("watch is not supported by the fake API server")
        if info.subresource == "log" and t.kind == "Pod" and not t.group:
            return self._pod_log(info.namespace, info.name, query)
        if info.subresource and info.subresource not in t.subresources:
            raise no_route()
        if info.name:
            return self._get(t, info, accept)
        return self._list(t, info, query, accept)

    def _non_resource(self, path: str, address: str, accept: str = JSON) -> Response:
        p = path.rstrip("/") or "/"
        parts = p.strip("/").split("/")
        if p == "/version":
            return Response.json(discovery.version_info(self.git_version))
        if p in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        agg = discovery.aggregated_version(accept) if self.aggregated_discovery else None
        if p in ("/api", "/apis") and agg:
            doc = discovery.aggregated(self.catalog, p == "/api", agg)
            return Response(200, json.dumps(doc).encode(), discovery.aggregated_content_type(agg))
        if p == "/api":
            return Response.json(discovery.api_versions(address))
        if p == "/api/v1":
            return Response.json(discovery.resource_list(self.catalog, "", "v1"))
        if p == "/apis":
            return Response.json(discovery.api_group_list(self.catalog))
        if parts[0] == "apis" and len(parts) == 2:
            return Response.json(discovery.one_group(self.catalog, parts[1]))
        if parts[0] == "apis" and len(parts) == 3:
            return Response.json(discovery.resource_list(self.catalog, parts[1], parts[2]))
        raise no_route()  # includes /openapi/v2 and /openapi/v3: kubectl get/describe/logs cope

    # ---- reads ----------------------------------------------------------------------------------

    def _get(self, t: ResourceType, info: RequestInfo, accept: str) -> Response:
        obj = self.store.get(t, info.version, info.namespace, info.name)
        fmt = negotiate(accept, "PartialObjectMetadata")
        if fmt is None:
            raise _not_acceptable()
        if fmt != "json":
            return Response.json({"kind": "PartialObjectMetadata", "apiVersion": fmt, "metadata": obj["metadata"]})
        return Response.json(obj)

    def _list(self, t: ResourceType, info: RequestInfo, query: dict[str, str], accept: str) -> Response:
        fmt = negotiate(accept, "PartialObjectMetadataList")
        if fmt is None:
            raise _not_acceptable()
        page: Page = self.store.list(t, info.version, info.namespace, query)
        meta: dict[str, Any] = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        if fmt != "json":
            items = [{"kind": "PartialObjectMetadata", "apiVersion": fmt, "metadata": o["metadata"]}
                     for o in page.items]
            return Response.json({"kind": "PartialObjectMetadataList", "apiVersion": fmt, "metadata": meta,
                                  "items": items})
        return Response.json({"kind": f"{t.kind}List", "apiVersion": t.api_version(info.version),
                              "metadata": meta, "items": page.items})

    def _pod_log(self, ns: str, name: str, query: dict[str, str]) -> Response:
        pods = self.catalog.for_kind("", "Pod")
        assert pods is not None
        pod = self.store.get(pods, "v1", ns, name)
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        inits = [c.get("name") for c in spec.get("initContainers") or []]
        ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
        container = query.get("container") or ""
        if not container:
            if len(names) == 1:
                container = names[0]
            elif not names:
                raise bad_request(f"a container name must be specified for pod {name}")
            else:
                msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                if inits:
                    msg += f" or one of the init containers: [{' '.join(inits)}]"
                raise bad_request(msg)
        elif container not in names + inits + ephemeral:
            raise bad_request(f"container {container} is not valid for pod {name}")
        previous = (query.get("previous") or "").lower() in ("true", "1")
        text = self.logs.get(LogRequest(ns, name, container, previous))
        if text is None:
            if previous:
                raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {waiting}')
            text = ""
        tail = query.get("tailLines")
        if tail is not None and tail.lstrip("-").isdigit() and int(tail) >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - int(tail):]) if int(tail) else ""
        data = text.encode()
        limit = query.get("limitBytes")
        if limit and limit.isdigit() and int(limit) > 0:
            data = data[: int(limit)]
        return Response(200, data, "text/plain")

    # ---- access reviews -------------------------------------------------------------------------

    def _review(self, t: ResourceType, info: RequestInfo, body: bytes, user: User) -> dict[str, Any]:
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise bad_request(f"the body of the request was in an unknown format: {e}") from None
        spec = req.get("spec") or {}
        out: dict[str, Any] = {"kind": t.kind, "apiVersion": t.api_version(info.version),
                               "metadata": {"creationTimestamp": None}, "spec": spec}
        if t.kind == "SelfSubjectReview":
            out.pop("spec")
            out["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
        elif t.kind == "SelfSubjectRulesReview":
            res, nonres = self.authz.rules_for(user.name, user.groups, spec.get("namespace") or "")
            out["status"] = {"resourceRules": res, "nonResourceRules": nonres, "incomplete": False}
        else:
            who = user if t.kind == "SelfSubjectAccessReview" else \
                User(spec.get("user") or "", tuple(spec.get("groups") or ()))
            if t.kind == "LocalSubjectAccessReview":
                spec.setdefault("resourceAttributes", {})["namespace"] = info.namespace
            allowed, reason = self.authz.authorize(_review_attrs(spec, who))
            out["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
        return out


def _review_attrs(spec: dict[str, Any], who: User) -> Attributes:
    if ra := spec.get("resourceAttributes"):
        return Attributes(who.name, who.groups, ra.get("verb") or "", ra.get("resource") or "",
                          ra.get("subresource") or "", ra.get("group") or "", ra.get("namespace") or "",
                          ra.get("name") or "")
    nra = spec.get("nonResourceAttributes") or {}
    return Attributes(who.name, who.groups, nra.get("verb") or "", path=nra.get("path") or "")


def _waiting_reason(pod: dict[str, Any], container: str) -> str:
    st = pod.get("status") or {}
    for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return ((cs.get("state") or {}).get("waiting") or {}).get("reason") or ""
    return ""


def _not_acceptable() -> ApiError:
    return ApiError(status(406, "only the following media types are accepted: application/json", "NotAcceptable"))
