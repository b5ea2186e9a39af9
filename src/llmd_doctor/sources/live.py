"""Read a live cluster into a Snapshot.

Every read is a raw GET whose JSON we parse ourselves (sources/kubeclient.py; the typed models cost
milliseconds per object). One paginated LIST per kind (per namespace when scoped), in parallel;
served versions from discovery (sources/connection.py, started while the checks load); logs only
for the pods the checks ask about, tailed. Reads only:
GET, plus the SelfSubjectReview that says who we are and the checks' SubjectAccessReviews.

Cluster-wide, pods come in a second round: the first round's workloads, pools, routes and gateways
say which pods the checks can care about (sources/pod_queries.py), and only those are listed;
Snapshot.pod_scope says what that was. Cyclic GC is paused while pages are parsed (it cost most of
the parse time, issue #15), and with `prune` each item is cut to what the checks read as soon as
it is parsed (sources/prune.py); `collect` keeps objects whole.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import gc_pause
from llmd_doctor.kinds import CORE_GROUPS, KINDS, KindInfo, info
from llmd_doctor.snapshot import (
    AccessQuestion,
    ApiError,
    DataUnavailable,
    Forbidden,
    LogRequest,
    Snapshot,
    SourceInfo,
)
from llmd_doctor.sources import page_reader, pod_queries
from llmd_doctor.sources.connection import Connection
from llmd_doctor.sources.connection import as_dict as _dict
from llmd_doctor.sources.kubeclient import (
    JSON_ACCEPT,
    DeadlinePassed,
    KubeClient,
    LiveSourceError,
    Response,
)
from llmd_doctor.sources.page_reader import PageReader
from llmd_doctor.sources.pages import Page, PageKind, Shaper, early_continue, read_page

__all__ = ["Connection", "LiveOptions", "LiveSourceError", "load_live"]

# Secrets are only ever read as metadata: the server never sends their values.
METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


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
    # Seconds for the whole read (None = no limit): what is not read by then is an ApiError per kind.
    deadline: float | None = None
    # Cut each object to what the checks read (sources/prune.py); `collect` keeps them whole.
    prune: bool = False
    # Cluster-wide, list only the pods the checks can care about (sources/pod_queries.py).
    select_pods: bool = True
    # Share the pages of long lists with a second process (sources/page_reader.py); the environment
    # variable LLMD_DOCTOR_PAGE_READER=0 turns it off.
    page_reader: bool = field(default_factory=lambda: os.environ.get("LLMD_DOCTOR_PAGE_READER", "1") != "0")


# ---- discovery ------------------------------------------------------------------------------


def _resource_path(k: KindInfo, version: str, namespace: str | None) -> str:
    base = f"/api/{version}" if not k.group else f"/apis/{k.group}/{version}"
    return f"{base}/namespaces/{namespace}/{k.plural}" if namespace else f"{base}/{k.plural}"


# ---- listing --------------------------------------------------------------------------------


def _forbidden(resp: Response, verb: str, k: KindInfo, namespace: str | None) -> Forbidden:
    resource = f"{k.plural}.{k.group}" if k.group else k.plural
    return Forbidden(verb, resource, namespace, resp.message)


# Read only to plan the pod round (their pod templates say what their pods run); not in the snapshot.
PLANNER_KINDS = (KindInfo("DaemonSet", "apps", "daemonsets", True, ("v1",)),
                 KindInfo("Job", "batch", "jobs", True, ("v1",)))
POD = info("Pod")


class Listed(list[dict[str, Any]]):
    """The items of one LIST, and a warning for each item dropped as malformed."""

    warnings: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.warnings = []

    def add(self, page: Page) -> None:
        self.extend(page.items)
        self.warnings.extend(page.warnings)


# Pages of one list parsed or waiting to be while the next is fetched: more only holds more bytes, as
# parsing holds the GIL.
PARSE_AHEAD = 1


def _list_kind(client: KubeClient, opts: LiveOptions, k: KindInfo, version: str, namespace: str | None,
               selector: str, shaper: Shaper, ahead: ThreadPoolExecutor | None = None,
               reader: PageReader | None = None) -> list[dict[str, Any]]:
    """Every item of one LIST (all its pages), each shaped as its page is parsed (sources/pages.py).
    With `ahead`, a page whose continue token can be read before parsing is parsed there while the
    next one is fetched; at most PARSE_AHEAD pages wait, so a big list never sits in memory whole.
    With `reader`, a list whose first page says that much more is to come (`page_reader.worth_it`)
    shares its other pages with the page reader process (sources/page_reader.py)."""
    accept = METADATA_ACCEPT if k.kind == "Secret" else JSON_ACCEPT
    query: list[tuple[str, Any]] = [("limit", opts.page_size)]
    if selector:
        query.append(("labelSelector", selector))
    if k.kind == "Event" and not opts.all_events:
        query.append(("fieldSelector", "type=Warning"))  # checks read Warning events only
    path = _resource_path(k, version, namespace)
    pk = PageKind(k.key, k.kind, f"{k.group}/{version}" if k.group else version, opts.prune, k.plural)

    def fetch(cont: str | None) -> Response:
        return client.get(path, query + ([("continue", cont)] if cont else []), accept)

    items = Listed()
    parsing: deque[tuple[str, Future[Page]]] = deque()  # (the token read early, the page being parsed)

    def settle(page: Page, early: str | None = None) -> None:
        if early is not None and page.cont != early:
            raise _token_mismatch(k)
        items.add(page)

    def settle_all() -> None:
        while parsing:
            token, fut = parsing.popleft()
            settle(fut.result(), token)

    resp = fetch(None)
    try:
        while True:
            if resp.status == 404 and not items and not parsing:
                return Listed()  # the kind is not served after all
            refused = _refusal(resp, k, namespace)
            if refused:
                raise refused
            early = early_continue(resp.body) if ahead is not None else None
            if ahead is not None and early:
                first = not items and not parsing
                shared = reader is not None and first and page_reader.worth_it(resp.body, opts.page_size)
                parsing.append((early, ahead.submit(read_page, resp.body, pk, shaper)))
                del resp  # its bytes now belong to the parse
                while len(parsing) > PARSE_AHEAD:
                    token, fut = parsing.popleft()
                    settle(fut.result(), token)
                if shared and reader is not None and reader.start():
                    try:
                        return _with_reader(reader, client, fetch, (path, query, accept, pk), k, namespace,
                                            shaper, ahead, parsing, items, early)
                    except page_reader.ReaderStopped:  # read the list again, without the reader
                        return _list_kind(client, opts, k, version, namespace, selector, shaper, ahead)
                resp = fetch(early)
                continue
            page = read_page(resp.body, pk, shaper)
            del resp
            settle_all()
            settle(page)
            if not page.cont:
                return items
            resp = fetch(page.cont)
    finally:
        for _, fut in parsing:
            fut.cancel()


READER_START = 1.0  # seconds a list waits for the reader to start

# Pages of a list read with the page reader that may be fetched and not yet settled (theirs and ours).
WITH_READER_AHEAD = 4


def _with_reader(reader: PageReader, client: KubeClient, fetch: Callable[[str | None], Response],
                 request: tuple[str, list[tuple[str, Any]], str, PageKind], k: KindInfo, namespace: str | None,
                 shaper: Shaper, ahead: ThreadPoolExecutor, parsing: deque[tuple[str, Future[Page]]],
                 items: Listed, cont: str) -> Listed:
    """The rest of a list after the page(s) in `parsing`, from `cont` on: once the page reader is
    ready, it and this process take turns, page by page (each fetches its page, passes the next
    token on as soon as its page arrives, then parses it), and the pages are settled in order.
    Turns, not a queue: a process parsing cannot fetch (the parse holds its GIL), so the next
    token comes fastest from the one that is not parsing. Raises ReaderStopped when the reader
    stops answering."""
    path, query, accept, pk = request
    connect = reader.connect(client)
    # (the next page's token as read before parsing, the page, whether the reader read it)
    inflight: deque[tuple[str | None, Future[Page], bool]] = deque((t, f, False) for t, f in parsing)
    parsing.clear()
    last: str | None = None
    theirs = True  # whose turn it is, once the reader is ready

    def settle() -> None:
        nonlocal last
        token, fut, remote = inflight.popleft()
        page = fut.result()
        if token is not None and page.cont != token:
            raise _token_mismatch(k)
        items.add(shaper.adopt(page, pk) if remote else page)
        last = page.cont

    # The reader starts in ~0.1 s: wait for it once, rather than fetch a page here while this process
    # is busy (the first round's parsing slows its fetches most).
    reader.ready(wait=READER_START)
    try:
        while True:
            ready = reader.ready()
            if ready and theirs:
                sent = reader.submit(functools.partial(page_reader.Job, connect=connect, path=path, query=tuple(query),
                                                       accept=accept, kind=pk, cont=cont))
                answer = sent.token.result()
                if isinstance(answer, Response):
                    raise _refusal(answer, k, namespace) or ApiError(f"list {k.plural}: the page reader answered 200")
                token, page = answer, sent.page
                inflight.append((token, page, True))
            else:
                resp = fetch(cont)
                refused = _refusal(resp, k, namespace)
                if refused:
                    raise refused
                token = early_continue(resp.body)
                inflight.append((token, ahead.submit(read_page, resp.body, pk, shaper), False))
                del resp
            theirs = not theirs if ready else True
            while len(inflight) > WITH_READER_AHEAD or (inflight and inflight[0][1].done()):
                settle()
            if not token:  # the last page, or a token not found ahead of parsing: the parsed page says
                while inflight:
                    settle()
                if not last:
                    return items
                token = last
            cont = token
    finally:
        for _, fut, _ in inflight:
            fut.cancel()


def _token_mismatch(k: KindInfo) -> ApiError:
    return ApiError(f"list {k.plural}: the page's continue token is not the one read ahead of parsing")


def _refusal(resp: Response, k: KindInfo, namespace: str | None) -> DataUnavailable | None:
    """Why a list page that did not answer 200 gives no items (a 404 on the first page aside)."""
    if resp.status == 403:
        return _forbidden(resp, "list", k, namespace)
    if resp.status in (404, 410):  # a later page gone: what was read is not the whole list
        return ApiError(f"list {k.plural}: HTTP {resp.status} on a later page: {resp.message}")
    if resp.status != 200:
        return ApiError(f"list {k.plural}: HTTP {resp.status}: {resp.message}")
    return None


def _fetch_log(client: KubeClient, opts: LiveOptions,
               req: LogRequest) -> tuple[LogRequest, str | None | DataUnavailable]:
    query = [
        ("container", req.container),
        ("tailLines", opts.log_tail_lines),
        ("limitBytes", opts.log_limit_bytes),
    ]
    if req.previous:
        query.append(("previous", "true"))
    try:
        resp = client.get(f"/api/v1/namespaces/{req.namespace}/pods/{req.pod}/log", query, "text/plain, */*",
                          tail_bytes=opts.log_limit_bytes)
    except DataUnavailable as e:
        return req, e
    if resp.status == 200:
        return req, resp.body.decode("utf-8", errors="replace")
    if resp.status == 403:
        return req, Forbidden("get", "pods/log", req.namespace, resp.message)
    if resp.status in (400, 404):
        return req, None  # no such (previous) container log
    return req, ApiError(f"logs of {req}: HTTP {resp.status}: {resp.message}")


def _namespace_exists(client: KubeClient, name: str) -> bool | None:
    """One GET per namespace asked with -n: False = it does not exist; None = we may not know (403)."""
    try:
        resp = client.get(f"/api/v1/namespaces/{name}")
    except DataUnavailable:
        return None
    return True if resp.status == 200 else False if resp.status == 404 else None


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


class _Laps:
    """Seconds per phase, into Snapshot.timings (the benchmark's breakdown)."""

    def __init__(self, into: dict[str, float], started: float):
        self.into, self.last = into, started

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.into[phase] = round(now - self.last, 4)
        self.last = now


def _gc_paused() -> AbstractContextManager[None]:
    """No cyclic GC while pages are parsed: JSON makes no cycles, and each collection walks every
    object already read (issue #15: most of the parse time). What was read is then frozen, so the
    collections after the run skip it. (bench/gc_modes.py swaps this.)"""
    return gc_pause.paused(freeze_after=True)


def load_live(
    kinds: Iterable[str],
    logs_for: Callable[[Snapshot], list[LogRequest]],
    opts: LiveOptions,
    access_for: Callable[[Snapshot], list[AccessQuestion]] | None = None,
    connection: Connection | None = None,
) -> Snapshot:
    """Read the cluster; `connection`: connecting and discovery already under way (`Connection(opts)`)."""
    with _gc_paused():
        return _load(list(kinds), logs_for, opts, access_for, connection or Connection(opts))


class _Reads:
    """The LISTs of one run: submitted in rounds, absorbed into the snapshot in submission order.

    Three executors: `pool` runs whole LISTs (each may wait for the next page it asked for ahead);
    `io` runs single requests that wait for nothing (discovery, the small early lists, next pages),
    so neither can starve the other; `pods` runs the pod round. Once the lists are read, all three
    fetch the logs and ask the access reviews over the connections they opened."""

    def __init__(self, client: KubeClient, opts: LiveOptions, snap: Snapshot):
        self.client, self.opts, self.snap = client, opts, snap
        self.pool = ThreadPoolExecutor(max_workers=opts.workers)
        self.io = ThreadPoolExecutor(max_workers=opts.workers)
        # The pod round is the longest read: its lists never wait behind the first round's.
        self.pods = ThreadPoolExecutor(max_workers=opts.workers)
        self.shaper = Shaper()
        # Parses pages while their lists fetch the next (a thread per list parsing at once: the GIL
        # lets one parse anyway, and each holds a parsed page).
        self.parse_pool = ThreadPoolExecutor(max_workers=2)
        # Long lists share their pages with a second process, started when the first such list comes.
        self.reader = PageReader(client.count) if opts.page_reader else None
        self.jobs: list[tuple[KindInfo, str | None, str, Future[list[dict[str, Any]]]]] = []

    def submit(self, k: KindInfo, version: str, ns: str | None = None, selector: str = "",
               store: bool = True, early: bool = False, pods: bool = False) -> Future[list[dict[str, Any]]]:
        """One LIST; `store` = its items go into the snapshot; `early` = a small list, on the io
        executor; `pods` = a list of the pod round, on its own executor."""
        if early:
            fut = self.io.submit(_list_kind, self.client, self.opts, k, version, ns, selector, self.shaper)
        else:
            fut = (self.pods if pods else self.pool).submit(_list_kind, self.client, self.opts, k, version, ns,
                                                            selector, self.shaper, self.parse_pool, self.reader)
        if store:
            self.jobs.append((k, ns, selector, fut))
        return fut

    def close(self) -> None:
        # A fatal error (401, TLS) in one read: do not start the reads still queued.
        for executor in (self.pool, self.pods, self.io):
            executor.shutdown(wait=True, cancel_futures=True)
        self.parse_pool.shutdown(wait=True, cancel_futures=True)
        if self.reader is not None:
            self.reader.close()

    def absorb(self, progress: Callable[[str], None], tick: Callable[[str, int, int], None]) -> None:
        snap = self.snap
        seen_pods: set[tuple[str, str]] = set()
        for done, (k, ns, selector, fut) in enumerate(self.jobs, 1):
            try:
                good = fut.result()
                snap.warnings.extend(w for w in getattr(good, "warnings", ()) if w not in snap.warnings)
                if k.key == POD.key and selector:  # pods come from overlapping lists
                    good = [p for p in good if _pod_key(p) not in seen_pods]
                if k.key == POD.key:
                    seen_pods.update(_pod_key(p) for p in good)
                snap.objects.setdefault(k.key, []).extend(good)
                if k.key not in snap.errors:
                    snap.collected.add(k.key)
            except DataUnavailable as e:
                snap.errors[k.key] = e
                snap.collected.discard(k.key)
                if isinstance(e, Forbidden) and not any(str(d) == str(e) for d in snap.denied):
                    snap.denied.append(e)
            where = f" in {ns}" if ns else ""
            progress(f"listed {k.plural}{where}" + (f" ({selector})" if selector else ""))
            tick("list", done, len(self.jobs))


def _pod_key(p: dict[str, Any]) -> tuple[str, str]:
    m = p.get("metadata") or {}
    return (str(m.get("namespace") or ""), str(m.get("name") or ""))


def _results(futures: dict[str, Future[list[dict[str, Any]]]],
             unserved: set[str]) -> tuple[dict[str, list[dict[str, Any]]], set[str]]:
    """Wait for lists: (items by kind, with [] for kinds not served; kinds that could not be read)."""
    objects: dict[str, list[dict[str, Any]]] = {key: [] for key in unserved}
    unreadable: set[str] = set()
    for key, fut in futures.items():
        try:
            objects[key] = fut.result()
        except DataUnavailable:
            unreadable.add(key)
    return objects, unreadable


def _plan_pods(planner_keys: dict[str, Future[list[dict[str, Any]]]], unserved: set[str]) -> pod_queries.PodPlan:
    """Wait for what the pod round depends on, then plan it."""
    return pod_queries.plan(*_results(planner_keys, unserved))


def _version_of(k: KindInfo, served: dict[str, list[str]] | None) -> str | None:
    """The version to list a kind at; None when the cluster does not serve it (or discovery failed)."""
    if k.group in CORE_GROUPS or k in PLANNER_KINDS:
        return k.versions[0]
    have = (served or {}).get(k.key)
    return next((v for v in k.versions if v in have), have[0]) if have else None


def _load(
    kinds: list[str],
    logs_for: Callable[[Snapshot], list[LogRequest]],
    opts: LiveOptions,
    access_for: Callable[[Snapshot], list[AccessQuestion]] | None,
    connection: Connection,
) -> Snapshot:
    started = connection.started
    client, server_version = connection.client()
    progress = opts.progress or (lambda _msg: None)
    tick = opts.tick or (lambda _phase, _done, _total: None)
    wanted = [info(k) for k in kinds]
    snap = Snapshot(
        source=SourceInfo(kind="live", context=client.context_name, server_version=server_version),
        namespaces=list(opts.namespaces) if opts.namespaces else None,
    )
    lap = _Laps(snap.timings, started)
    lap("connect")
    reads = _Reads(client, opts, snap)
    try:
        who = reads.io.submit(_who_am_i, client)
        asked = {ns: reads.io.submit(_namespace_exists, client, ns) for ns in opts.namespaces or []}
        pods_later = opts.select_pods and not opts.namespaces and any(k.key == POD.key for k in wanted)
        plan_keys = (*pod_queries.PLAN_INPUTS, *pod_queries.EARLY) if pods_later else ()
        extra = [k for k in [*(KINDS[key] for key in plan_keys if key in KINDS), *PLANNER_KINDS]
                 if pods_later and k.key not in {w.key for w in wanted}]
        todo = [k for k in [*wanted, *extra] if not (pods_later and k.key == POD.key)]
        planner: dict[str, Future[list[dict[str, Any]]]] = {}
        unserved: set[str] = set()

        def submit(k: KindInfo, version: str) -> None:
            scopes: list[str | None] = list(opts.namespaces) if (opts.namespaces and k.namespaced) else [None]
            for ns in scopes:
                fut = reads.submit(k, version, ns, store=k in wanted, early=k.key in pod_queries.EARLY)
                if k.key in plan_keys:
                    planner[k.key] = fut

        # Built-in kinds need no discovery: their lists start while it runs.
        for k in todo:
            if k.group in CORE_GROUPS or k in PLANNER_KINDS:
                submit(k, k.versions[0])
        discovery_error: DataUnavailable | None = None
        found = connection.served()
        if isinstance(found, DataUnavailable):
            snap.warnings.append(f"discovery failed ({found}); custom resources were not read")
            served, discovery_error = None, found
        else:
            served = snap.served = found
        lap("discovery")
        for k in sorted(todo, key=lambda k: k.key not in pod_queries.EARLY):  # pools first
            if k.group in CORE_GROUPS or k in PLANNER_KINDS:
                continue
            version = _version_of(k, served)
            if version is not None:
                submit(k, version)
            elif k.group in connection.unreadable_groups():
                if k in wanted:  # unknown whether it is served: not "none"
                    snap.errors[k.key] = connection.unreadable_groups()[k.group]
            elif served is not None:
                unserved.add(k.key)
                if k in wanted:
                    snap.collected.add(k.key)  # not installed: the cluster has none
            elif isinstance(discovery_error, DeadlinePassed) and k in wanted:
                snap.errors[k.key] = discovery_error
        if pods_later:
            early = {key: fut for key, fut in planner.items() if key in pod_queries.EARLY}
            why = pod_queries.mostly_llmd(_results(early, unserved)[0])
            plan = pod_queries.everything(why) if why else _plan_pods(planner, unserved)
            for q in plan.queries:
                reads.submit(POD, "v1", q.namespace, q.selector, pods=True)
            snap.pod_scope = plan.scope
            progress("pods: every pod (" + plan.why + ")" if plan.scope is None else
                     f"pods: {len(plan.scope.namespaces)} namespaces in full, {len(plan.scope.selectors)} selectors")
            lap("lists")
        reads.absorb(progress, tick)
        snap.missing_namespaces = [ns for ns, fut in asked.items() if fut.result() is False]
        lap("pods" if pods_later else "lists")
        _logs_and_reviews(reads, logs_for, access_for, progress, tick)
        snap.source.user = who.result() or client.user_name
        lap("logs and reviews")
    finally:
        reads.close()
    snap.requests = client.requests
    return snap


def _logs_and_reviews(reads: _Reads, logs_for: Callable[[Snapshot], list[LogRequest]],
                      access_for: Callable[[Snapshot], list[AccessQuestion]] | None,
                      progress: Callable[[str], None], tick: Callable[[str, int, int], None]) -> None:
    """The logs the checks ask for, and their access questions, at the same time."""
    snap, client, opts = reads.snap, reads.client, reads.opts
    # Access reviews are one POST each: ask the first few, the checks evaluate the rest from the
    # RBAC objects they already have (and say which way each answer was found). None past the
    # deadline: an unasked question is evaluated statically, a failed one would be an error.
    questions = [] if client.deadline.passed() else (access_for(snap) if access_for else [])
    # Reviews and logs only wait: they go to the list executors first, whose reads are done and whose
    # connections are open (a fresh one costs a TLS handshake), then to fresh workers.
    opened = [reads.io, reads.pods, reads.pool]
    answers = [opened[i % len(opened)].submit(_review, client, q)
               for i, q in enumerate(questions[: opts.max_access_reviews])]
    reqs = logs_for(snap)

    def fetch(r: LogRequest) -> tuple[LogRequest, str | None | DataUnavailable]:
        return _fetch_log(client, opts, r)

    with ThreadPoolExecutor(max_workers=opts.workers) as more:
        executors = list(opened)
        if len(reqs) + len(answers) > len(opened) * opts.workers:
            executors.append(more)
        share = -(-len(reqs) // len(executors))
        fetched = itertools.chain.from_iterable([
            ex.map(fetch, reqs[i * share:(i + 1) * share]) for i, ex in enumerate(executors)])
        for done, (req, res) in enumerate(fetched, 1):
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
    for fut in answers:
        q, allowed = fut.result()
        if allowed is None and client.deadline.passed():
            continue
        snap.access[q] = allowed
