"""Connecting to the API server and discovering what it serves, for the live source (live.py).

`Connection(opts)` starts both in a thread as soon as the run knows where to read: `check` then loads
its check modules (~0.1 s of CPU) while these requests wait on the network (issue #15). Discovery asks
`/apis` for the aggregated document (Kubernetes >= 1.26: every group, version and resource in one
answer); an older server answers the plain APIGroupList, and then each group-version is asked.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from llmd_doctor.kinds import CORE_GROUPS, KINDS
from llmd_doctor.snapshot import ApiError, DataUnavailable
from llmd_doctor.sources.kubeclient import DeadlinePassed, KubeClient, LiveSourceError

if TYPE_CHECKING:
    from llmd_doctor.sources.live import LiveOptions


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---- discovery ----------------------------------------------------------------------------------

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def aggregated(doc: dict[str, Any], groups: set[str]) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Served versions per kind from an APIGroupDiscoveryList, and the group-versions whose entry is
    stale (an aggregated API server that did not answer the API server): those are asked directly."""
    served: dict[str, list[str]] = {}
    stale: list[tuple[str, str]] = []
    for g in dicts(doc.get("items")):
        name = as_dict(g.get("metadata")).get("name")
        if name not in groups:
            continue
        for v in dicts(g.get("versions")):
            version = v.get("version")
            if not isinstance(version, str):
                continue
            if v.get("freshness") == "Stale":
                stale.append((name, version))
                continue
            for r in dicts(v.get("resources")):
                kind = as_dict(r.get("responseKind")).get("kind")
                if isinstance(kind, str) and kind:
                    served.setdefault(f"{kind}.{name}", []).append(version)
    return served, stale


def discover(client: KubeClient, pool: ThreadPoolExecutor,
             groups: set[str]) -> tuple[dict[str, list[str]], dict[str, DataUnavailable]]:
    """Served versions of every known CRD kind in the given groups: one request where the server
    offers aggregated discovery, else one per group-version. Also the groups a group-version of
    which could not be read (an error answer, not 404): what they serve is unknown, not none."""
    resp = client.get("/apis", accept=AGGREGATED_ACCEPT)
    if resp.status != 200:
        raise ApiError(f"discovery failed: {resp.message}")
    doc = resp.obj()
    served: dict[str, list[str]] = {}
    if doc.get("kind") == "APIGroupDiscoveryList":
        served, pairs = aggregated(doc, groups)
    else:
        versions: dict[str, list[str]] = {}
        for g in dicts(doc.get("groups")):
            if g.get("name") in groups:
                versions[g["name"]] = [v["version"] for v in dicts(g.get("versions"))
                                       if isinstance(v.get("version"), str)]
        pairs = [(g, v) for g, vs in versions.items() for v in vs]

    def resources(pair: tuple[str, str]) -> tuple[str, str, list[dict[str, Any]] | DataUnavailable]:
        g, v = pair
        r = client.get(f"/apis/{g}/{v}")
        if r.status == 404:
            return g, v, []  # gone since /apis answered: not served
        if r.status != 200:
            return g, v, ApiError(f"discovery of {g}/{v} failed: HTTP {r.status}: {r.message}")
        try:
            return g, v, dicts(r.obj().get("resources"))
        except ApiError as e:
            return g, v, ApiError(f"discovery of {g}/{v} failed: {e}")

    unreadable: dict[str, DataUnavailable] = {}
    for g, v, res in pool.map(resources, pairs):
        if isinstance(res, DataUnavailable):
            unreadable.setdefault(g, res)
            continue
        for r in res:
            if "/" in str(r.get("name", "")):
                continue  # subresources
            served.setdefault(f"{r.get('kind')}.{g}", []).append(v)
    return served, unreadable


# ---- connecting --------------------------------------------------------------------------------


def client_for(opts: LiveOptions) -> KubeClient:
    """The client of the kubeconfig and context asked for (reads the kubeconfig; nothing is sent)."""
    return KubeClient(opts.kubeconfig, opts.context, request_timeout=opts.request_timeout, retries=opts.retries,
                      workers=opts.workers, deadline=opts.deadline)


def connect(opts: LiveOptions, client: KubeClient | None = None) -> tuple[KubeClient, str | None]:
    """The client, and the server's version; a server that cannot be read at all is a LiveSourceError."""
    if client is None:
        client = client_for(opts)
        (opts.progress or (lambda _msg: None))(f"connecting to {client.host}")
    try:
        version = client.get("/version")
    except DeadlinePassed as e:
        raise LiveSourceError(f"the API server at {client.host} did not answer within the run's deadline "
                              f"of {opts.deadline:g}s") from e
    except ApiError as e:
        raise LiveSourceError(f"cannot reach the API server at {client.host}: {e}") from e
    try:
        server_version = version.obj().get("gitVersion") if version.status == 200 else None
    except ApiError:
        server_version = None
    return client, server_version if isinstance(server_version, str) else None


class Connection:
    """Connecting and discovery, started before the kinds to list are known: `check` starts them and
    then loads its check modules (~0.1 s of CPU) while these requests wait on the network.

    The kubeconfig is read, and progress said, in the caller's thread: only the requests run in the
    background, so a run that stops before reading (its checks failed to load) leaves no progress
    line behind."""

    def __init__(self, opts: LiveOptions):
        self.opts = opts
        self.started = time.perf_counter()
        self._connected, self._discovered = threading.Event(), threading.Event()
        self._client: tuple[KubeClient, str | None] | None = None
        self._served: dict[str, list[str]] | DataUnavailable | None = None
        self._unreadable: dict[str, DataUnavailable] = {}  # group -> why what it serves is unknown
        self._error: BaseException | None = None  # the run cannot go on (LiveSourceError)
        try:
            kube = client_for(opts)
        except BaseException as e:  # a kubeconfig that cannot be used: said when the run reads
            self._fail(e)
            return
        (opts.progress or (lambda _msg: None))(f"connecting to {kube.host}")
        threading.Thread(target=self._run, args=(kube,), name="llmd-doctor-connect", daemon=True).start()

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._connected.set()
        self._discovered.set()

    def _run(self, kube: KubeClient) -> None:
        try:
            self._client = connect(self.opts, kube)
        except BaseException as e:  # handed to the reader, in its thread
            self._fail(e)
            return
        self._connected.set()
        # Discover every group llmd-doctor knows, so "not served" is always an answer, never a guess.
        crd_groups = {k.group for k in KINDS.values() if k.group not in CORE_GROUPS}
        try:
            with ThreadPoolExecutor(max_workers=self.opts.workers) as pool:
                self._served, self._unreadable = discover(self._client[0], pool, crd_groups)
        except DataUnavailable as e:
            self._served = e
        except BaseException as e:  # a fatal answer (401, TLS): the run stops there
            self._error = e
        finally:
            self._discovered.set()

    def client(self) -> tuple[KubeClient, str | None]:
        """The client and the server's version, as soon as connected; LiveSourceError when it cannot be."""
        self._connected.wait()
        if self._client is None:
            raise self._error or LiveSourceError("the connection to the API server failed")
        return self._client

    def unreadable_groups(self) -> dict[str, DataUnavailable]:
        """Groups whose discovery failed in part (see `discover`), with why; after `served()`."""
        return self._unreadable

    def served(self) -> dict[str, list[str]] | DataUnavailable:
        """Served versions per kind, or why discovery failed."""
        self._discovered.wait()
        if self._error is not None:
            raise self._error
        if self._served is None:
            return ApiError("discovery did not finish")
        return self._served
