"""Read a live cluster into a Snapshot.

The official kubernetes client is used for kubeconfig, auth (tokens, client certificates, exec
plugins) and transport only: every read is a raw GET whose JSON we parse ourselves (the typed
models cost milliseconds per object). One paginated LIST per kind (per namespace when scoped),
in parallel; served versions from discovery; logs only for the pods the checks ask about, tailed.
Reads only: GET, plus the SelfSubjectReview that says who we are.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.kinds import CORE_GROUPS, KINDS, KindInfo, info
from llmd_doctor.snapshot import (
    AccessQuestion,
    ApiError,
    DataUnavailable,
    Forbidden,
    LogRequest,
    Snapshot,
    SourceInfo,
    misshapen,
)

# Secrets are only ever read as metadata: the server never sends their values.
METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
JSON_ACCEPT = "application/json"


class LiveSourceError(Exception):
    """The cluster cannot be read at all (no kubeconfig, unreachable, unauthorized)."""


@dataclass
class LiveOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] | None = None
    request_timeout: float = 10.0
    workers: int = 8
    page_size: int = 500
    log_tail_lines: int = 400
    log_limit_bytes: int = 1024 * 1024
    retries: int = 2
    max_access_reviews: int = 64
    progress: Callable[[str], None] | None = None
    # Checks read Warning events only; `collect` reads every event.
    all_events: bool = False
    # Structured progress for progress bars: (phase "list" | "logs", done, total).
    tick: Callable[[str, int, int], None] | None = None


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise ApiError(f"malformed JSON in the API response ({e})") from e

    def obj(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is an API error, never a traceback."""
        doc = self.json()
        if not isinstance(doc, dict):
            raise ApiError(f"the API answered a JSON {type(doc).__name__} where an object was expected")
        return doc

    @property
    def message(self) -> str:
        try:
            doc = json.loads(self.body)
            if isinstance(doc, dict) and doc.get("message"):
                return str(doc["message"])
        except ValueError:
            pass
        return self.body[:200].decode("utf-8", errors="replace").strip() or f"HTTP {self.status}"


class KubeClient:
    """Raw JSON reads through the kubernetes client's configuration and connection pool."""

    def __init__(self, opts: LiveOptions):
        from kubernetes import config as kconfig
        from kubernetes.client import ApiClient, Configuration
        from kubernetes.config.config_exception import ConfigException

        self.opts = opts
        cfg = Configuration()
        self.context_name: str | None = opts.context
        self.user_name: str | None = None
        try:
            kubeconfig = opts.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            if not opts.kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(kubeconfig) \
                    and os.environ.get("KUBERNETES_SERVICE_HOST"):
                kconfig.load_incluster_config(client_configuration=cfg)
                self.context_name = "in-cluster"
            else:
                first = kubeconfig.split(os.pathsep)[0]
                if not os.path.exists(first):
                    raise LiveSourceError(
                        f"no kubeconfig at {first} (use --kubeconfig, set KUBECONFIG, or --bundle PATH)"
                    )
                contexts, active = kconfig.list_kube_config_contexts(config_file=kubeconfig)
                chosen = next((c for c in contexts if c["name"] == opts.context), None) if opts.context else active
                if opts.context and chosen is None:
                    raise LiveSourceError(f"context {opts.context!r} not found in {kubeconfig}")
                if chosen:
                    self.context_name = chosen["name"]
                    self.user_name = (chosen.get("context") or {}).get("user")
                kconfig.load_kube_config(
                    config_file=kubeconfig, context=opts.context, client_configuration=cfg, persist_config=False
                )
        except ConfigException as e:
            raise LiveSourceError(f"invalid kubeconfig: {e}") from e
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise LiveSourceError(f"cannot load kubeconfig: {e}") from e
        cfg.connection_pool_maxsize = max(4, opts.workers)
        cfg.retries = False  # we retry ourselves, with backoff, for reads only
        self.api = ApiClient(cfg)
        self.host = cfg.host
        self.requests = 0
        self._lock = threading.Lock()

    def get(self, path: str, query: Iterable[tuple[str, Any]] = (), accept: str = JSON_ACCEPT,
            tail_bytes: int | None = None) -> _Response:
        return self._call("GET", path, query, accept, None, tail_bytes)

    def post_review(self, path: str, body: dict[str, Any]) -> _Response:
        """Access reviews are POSTs that read; nothing else is ever sent."""
        return self._call("POST", path, (), JSON_ACCEPT, body)

    def _call(self, method: str, path: str, query: Iterable[tuple[str, Any]], accept: str, body: Any,
              tail_bytes: int | None = None) -> _Response:
        import time

        import urllib3

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            with self._lock:
                self.requests += 1
            try:
                m, url, hdrs, b, _ = self.api.param_serialize(
                    method, path, query_params=list(query), header_params=headers, body=body,
                    auth_settings=["BearerToken"],
                )
                resp = self.api.call_api(m, url, header_params=hdrs, body=b,
                                         _request_timeout=(self.opts.request_timeout, self.opts.request_timeout))
                data = _read_tail(resp, tail_bytes) if tail_bytes else (resp.read() or b"")
                result = _Response(resp.status, data, dict(resp.headers or {}))
            except (urllib3.exceptions.HTTPError, OSError) as e:
                if attempt < self.opts.retries and method == "GET":
                    attempt += 1
                    time.sleep(0.2 * 2**attempt)
                    continue
                raise ApiError(_transport_error(e, self.opts.request_timeout)) from e
            except Exception as e:  # the client raises ApiException(status=0) on TLS errors
                raise ApiError(f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}") from e
            if result.status >= 500 and attempt < self.opts.retries and method == "GET":
                attempt += 1
                time.sleep(0.2 * 2**attempt)
                continue
            return result


def _read_tail(resp: Any, limit: int) -> bytes:
    """Stream a body keeping only its last `limit` bytes: a server that ignores limitBytes cannot
    make us hold a 50 MB log."""
    buf = bytearray()
    for chunk in resp.response.stream(64 * 1024):
        buf += chunk
        if len(buf) > 2 * limit:
            del buf[: len(buf) - limit]
    return bytes(buf[-limit:])


def _transport_error(e: Exception, timeout: float) -> str:
    text = str(e)
    if "timed out" in text.lower() or "timeout" in type(e).__name__.lower():
        return f"timed out after {timeout:g}s"
    reason = getattr(e, "reason", None)
    return f"cannot connect: {reason or text}".strip()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---- discovery ------------------------------------------------------------------------------


def _resource_path(k: KindInfo, version: str, namespace: str | None) -> str:
    base = f"/api/{version}" if not k.group else f"/apis/{k.group}/{version}"
    return f"{base}/namespaces/{namespace}/{k.plural}" if namespace else f"{base}/{k.plural}"


def _discover(client: KubeClient, groups: set[str]) -> dict[str, list[str]]:
    """Served versions of every known CRD kind in the given groups (one request per group-version)."""
    resp = client.get("/apis")
    if resp.status != 200:
        raise ApiError(f"discovery failed: {resp.message}")
    doc = resp.obj()
    versions: dict[str, list[str]] = {}
    for g in _dicts(doc.get("groups")):
        if g.get("name") in groups:
            versions[g["name"]] = [v["version"] for v in _dicts(g.get("versions")) if isinstance(v.get("version"), str)]
    served: dict[str, list[str]] = {}
    pairs = [(g, v) for g, vs in versions.items() for v in vs]

    def resources(pair: tuple[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
        g, v = pair
        r = client.get(f"/apis/{g}/{v}")
        try:
            return g, v, _dicts(r.obj().get("resources")) if r.status == 200 else []
        except ApiError:
            return g, v, []

    with ThreadPoolExecutor(max_workers=client.opts.workers) as pool:
        for g, v, res in pool.map(resources, pairs):
            for r in res:
                if "/" in str(r.get("name", "")):
                    continue  # subresources
                served.setdefault(f"{r.get('kind')}.{g}", []).append(v)
    return served


# ---- listing --------------------------------------------------------------------------------


def _forbidden(resp: _Response, verb: str, k: KindInfo, namespace: str | None) -> Forbidden:
    resource = f"{k.plural}.{k.group}" if k.group else k.plural
    return Forbidden(verb, resource, namespace, resp.message)


def _list_kind(client: KubeClient, k: KindInfo, version: str, namespace: str | None) -> list[dict[str, Any]]:
    accept = METADATA_ACCEPT if k.kind == "Secret" else JSON_ACCEPT
    query: list[tuple[str, Any]] = [("limit", client.opts.page_size)]
    if k.kind == "Event" and not client.opts.all_events:
        query.append(("fieldSelector", "type=Warning"))  # checks read Warning events only
    items: list[dict[str, Any]] = []
    cont: str | None = None
    api_version = f"{k.group}/{version}" if k.group else version
    while True:
        q = query + ([("continue", cont)] if cont else [])
        resp = client.get(_resource_path(k, version, namespace), q, accept)
        if resp.status == 403:
            raise _forbidden(resp, "list", k, namespace)
        if resp.status == 404:
            return []  # the kind is not served after all
        if resp.status != 200:
            raise ApiError(f"list {k.plural}: HTTP {resp.status}: {resp.message}")
        doc = resp.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
            raise ApiError(f"list {k.plural}: the response is not a list")
        for item in doc.get("items") or []:
            if not isinstance(item, dict):
                continue
            # List items of built-in kinds carry no apiVersion/kind; metadata-only items carry the wrong ones.
            item["apiVersion"], item["kind"] = api_version, k.kind
            item.setdefault("metadata", {})
            items.append(item)
        cont = (doc.get("metadata") or {}).get("continue")
        if not cont:
            return items


def _fetch_log(client: KubeClient, req: LogRequest) -> tuple[LogRequest, str | None | DataUnavailable]:
    query = [
        ("container", req.container),
        ("tailLines", client.opts.log_tail_lines),
        ("limitBytes", client.opts.log_limit_bytes),
    ]
    if req.previous:
        query.append(("previous", "true"))
    try:
        resp = client.get(f"/api/v1/namespaces/{req.namespace}/pods/{req.pod}/log", query, "text/plain, */*",
                          tail_bytes=client.opts.log_limit_bytes)
    except DataUnavailable as e:
        return req, e
    if resp.status == 200:
        return req, resp.body.decode("utf-8", errors="replace")
    if resp.status == 403:
        return req, Forbidden("get", "pods/log", req.namespace, resp.message)
    if resp.status in (400, 404):
        return req, None  # no such (previous) container log
    return req, ApiError(f"logs of {req}: HTTP {resp.status}: {resp.message}")


# ---- the source -----------------------------------------------------------------------------


def _who_am_i(client: KubeClient) -> str | None:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        resp = client.post_review("/apis/authentication.k8s.io/v1/selfsubjectreviews", body)
        if resp.status == 201 or resp.status == 200:
            user = _dict(_dict(resp.obj().get("status")).get("userInfo")).get("username")
            return user if isinstance(user, str) else None
    except DataUnavailable:
        pass
    return None


def _review(client: KubeClient, q: AccessQuestion) -> tuple[AccessQuestion, bool | None]:
    attrs: dict[str, Any] = {"verb": q.verb, "resource": q.resource, "group": q.group}
    if q.namespace:
        attrs["namespace"] = q.namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": q.user, "groups": list(q.groups), "resourceAttributes": attrs},
    }
    try:
        resp = client.post_review("/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    except DataUnavailable:
        return q, None
    if resp.status not in (200, 201):
        return q, None
    try:
        allowed = _dict(resp.obj().get("status")).get("allowed")
    except ApiError:
        return q, None
    return q, allowed if isinstance(allowed, bool) else None


def load_live(
    kinds: Iterable[str],
    logs_for: Callable[[Snapshot], list[LogRequest]],
    opts: LiveOptions,
    access_for: Callable[[Snapshot], list[AccessQuestion]] | None = None,
) -> Snapshot:
    client = KubeClient(opts)
    progress = opts.progress or (lambda _msg: None)
    tick = opts.tick or (lambda _phase, _done, _total: None)
    progress(f"connecting to {client.host}")
    try:
        version = client.get("/version")
    except ApiError as e:
        raise LiveSourceError(f"cannot reach the API server at {client.host}: {e}") from e
    if version.status == 401:
        raise LiveSourceError(f"the API server at {client.host} rejected our credentials (401 Unauthorized)")
    try:
        server_version = version.obj().get("gitVersion") if version.status == 200 else None
    except ApiError:
        server_version = None
    if not isinstance(server_version, str):
        server_version = None

    wanted = [info(k) for k in kinds]
    snap = Snapshot(
        source=SourceInfo(kind="live", context=client.context_name, server_version=server_version),
        namespaces=list(opts.namespaces) if opts.namespaces else None,
    )
    # Discover every group llmd-doctor knows, so "not served" is always an answer, never a guess.
    crd_groups = {k.group for k in KINDS.values() if k.group not in CORE_GROUPS}
    with ThreadPoolExecutor(max_workers=opts.workers) as pool:
        who = pool.submit(_who_am_i, client)
        try:
            served = _discover(client, crd_groups) if crd_groups else {}
            snap.served = served
        except DataUnavailable as e:
            snap.warnings.append(f"discovery failed ({e}); custom resources were not read")
            served = None

        jobs = []
        for k in wanted:
            if k.group in CORE_GROUPS:
                version = k.versions[0]
            elif served is not None and served.get(k.key):
                have = served[k.key]
                version = next((v for v in k.versions if v in have), have[0])
            else:
                if served is not None:
                    snap.collected.add(k.key)  # not installed: the cluster has none
                continue
            scopes: list[str | None] = list(opts.namespaces) if (opts.namespaces and k.namespaced) else [None]
            for ns in scopes:
                jobs.append((k, ns, pool.submit(_list_kind, client, k, version, ns)))

        for done, (k, ns, fut) in enumerate(jobs, 1):
            try:
                items = fut.result()
                good = [o for o in items if not misshapen(o)]
                if len(good) < len(items):
                    snap.warnings.append(f"{len(items) - len(good)} {k.plural} of impossible shape ignored")
                snap.objects.setdefault(k.key, []).extend(good)
                if k.key not in snap.errors:
                    snap.collected.add(k.key)
            except DataUnavailable as e:
                snap.errors[k.key] = e
                snap.collected.discard(k.key)
                if isinstance(e, Forbidden):
                    snap.denied.append(e)
            progress(f"listed {k.plural}" + (f" in {ns}" if ns else ""))
            tick("list", done, len(jobs))

        reqs = logs_for(snap)
        for done, (req, res) in enumerate(pool.map(lambda r: _fetch_log(client, r), reqs), 1):
            tick("logs", done, len(reqs))
            if isinstance(res, DataUnavailable):
                snap.log_errors[req] = res
                if isinstance(res, Forbidden) and not any(d.resource == "pods/log" for d in snap.denied):
                    snap.denied.append(res)
                continue
            snap.logs_collected_for.add(f"{req.namespace}/{req.pod}")
            if res is not None:
                snap.logs[req] = res
        if reqs:
            progress(f"read {len(reqs)} logs")
        # Access reviews are one POST each: ask the first few, the checks evaluate the rest from the
        # RBAC objects they already have (and say which way each answer was found).
        questions = (access_for(snap) if access_for else [])[: opts.max_access_reviews]
        for q, allowed in pool.map(lambda q: _review(client, q), questions):
            snap.access[q] = allowed
        snap.source.user = who.result() or client.user_name
    snap.requests = client.requests
    return snap

