"""A second process that reads and parses every other page of a long list (issue #15).

Parsing JSON and shaping what it holds keeps the GIL: on a cluster whose pods are nearly all
llm-d's, reading them took half of a run's CPU, on one core, while the other stayed idle. So a long
list shares its pages with a reader process (`PageReader`; this module's `main` in the child), in
turns: the parent sends it a page's continue token, the reader fetches the page
over its own connection, answers at once with the next page's token (the API server writes it
before the items), then parses the page, shapes its items exactly as the parent would
(sources/pages.py) and sends them back pickled. Meanwhile the parent fetches and parses the next
page itself. The parent only unpickles the reader's pages and shares their replica-identical parts
with what it already holds (`Shaper.adopt`); their items arrive whole, without the garbage parsing
leaves.

It is started for the first list that is long enough to be worth it (`worth_it`: the first page's
size times what `remainingItemCount` says is left): on issue #15's clusters, the pods of a cluster
whose pods are nearly all llm-d's, and nothing on a shared cluster, where pods are read by selector.
The reader only ever saves time: when it cannot start, dies, or answers what it should not, the
list is read again from its start by the parent alone.

Wire format, one pickle per message. To the reader: `Job`s. From it: ("hello", 0, None, 0) once it
is ready, then per job, by its `seq`:
- ("token", seq, the next page's continue token or None, requests): the page was fetched (200);
- ("page", seq, Page, requests): the shaped page;
- ("response", seq, Response, requests): the server refused the page (403, 410, 5xx after retries);
  the parent reads it as it reads its own, and no page follows;
- ("raise", seq, error, requests): the client's error (a timeout, the deadline, 401, TLS) or a page
  that is not a list, raised in the parent as its own;
- ("failed", seq, text, requests): anything else.
`requests`: how many requests the reader made since its last message (for the run's count).
"""

from __future__ import annotations

import gc
import itertools
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import IO, Any

from llmd_doctor.snapshot import DataUnavailable
from llmd_doctor.sources.kubeclient import Deadline, KubeClient, LiveSourceError, Response
from llmd_doctor.sources.kubeconfig import Target
from llmd_doctor.sources.pages import Page, PageKind, Shaper, early_continue, read_page, remaining_items

# The child runs this, with `-P` (no current directory on its path: a `json.py` where the user runs
# the tool must not run in a process that holds the cluster's credentials) and the parent's own
# import path, so that it imports exactly what the parent imported. `-c` rather than `-m` so that
# this module is imported once, by its own name (the classes pickled between the two are found by it).
# Once `main` returns (every message written), the process ends at once: tearing down its interpreter
# took ~65 ms that the parent spent waiting for it at the end of the read (issue #15).
_CHILD = ("import os, sys; sys.path[:] = {path!r}; from llmd_doctor.sources.page_reader import main; main(); "
          "os._exit(0)")

# JSON still to come in a list, as its first page lets one estimate it, for the reader to be worth
# its start (~0.1 s of a core, ~20 MB) and its memory (~40 MB while it reads): ~0.5 s of parsing.
MIN_BYTES = 16 << 20


def worth_it(first_page: bytes, page_size: int) -> bool:
    """Whether a list is long enough to share with the reader: its first page's size times the pages
    the API server says are left (`remainingItemCount`, absent for lists by selector: those are small)."""
    left = remaining_items(first_page)
    return left is not None and len(first_page) * left >= MIN_BYTES * max(page_size, 1)


@dataclass(frozen=True)
class FixedAuthorization:
    """The Authorization header the parent's credentials gave when the job was made (a token an
    exec plugin renews is valid for minutes; a run takes seconds)."""

    value: str | None

    def __call__(self) -> str | None:
        return self.value


@dataclass(frozen=True)
class Connect:
    """How the reader reaches the API server: the parent client's target and limits."""

    target: Target
    request_timeout: float
    retries: int
    deadline: Deadline  # the run's: the monotonic clock is the machine's, so its end is the same here

    def client(self) -> KubeClient:
        return KubeClient(target=self.target, request_timeout=self.request_timeout, retries=self.retries,
                          deadline=self.deadline)


def connect_for(client: KubeClient) -> Connect:
    """The reader's way to the API server: the client's. Raises ReaderStopped when its credentials
    cannot be had now (a token file or plugin failing): the parent reads alone, and says so per kind."""
    try:
        auth = client.target.authorization()
    except Exception as e:  # noqa: BLE001 - kubeclient turns it into an ApiError for each read
        raise ReaderStopped(f"no credentials for the page reader: {type(e).__name__}: {e}") from e
    return Connect(replace(client.target, authorization=FixedAuthorization(auth)), client.request_timeout,
                   client.retries, client.deadline)


@dataclass(frozen=True)
class Job:
    """One page to read: GET `path` with `query` and the continue token `cont`."""

    seq: int
    connect: Connect
    path: str
    query: tuple[tuple[str, Any], ...]
    accept: str
    kind: PageKind
    cont: str


# ---- the parent's side --------------------------------------------------------------------------


class ReaderStopped(Exception):
    """The reader stopped answering: the list is to be read again without it."""


@dataclass
class Pending:
    """A page sent to the reader: its next-page token (or the refusing Response), then its page."""

    token: Future[str | None | Response]
    page: Future[Page]


class PageReader:
    """One reader process per run, started for the first list worth it (`start`), serving any list
    that takes turns with it. Not `ready` until the child has started."""

    def __init__(self, count: Callable[[int], None]) -> None:
        self._count = count  # n more requests were made (for the run's count)
        self._proc: subprocess.Popen[bytes] | None = None
        self._start_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[int, Pending] = {}
        self._seq = itertools.count(1)
        self._sent = 0  # the last job's number
        self._ready = threading.Event()
        self._broken = False
        self._listener: threading.Thread | None = None
        self._connect: Connect | None = None
        self.stopped: str | None = None  # why the reader stopped before the run's end, if it did
        self._closing = False

    def connect(self, client: KubeClient) -> Connect:
        """How the reader reaches the API server, made once per run (the reader keeps one client)."""
        if self._connect is None:
            self._connect = connect_for(client)
        return self._connect

    def start(self) -> bool:
        """Start the reader if it is not running; whether it runs (or is starting)."""
        with self._start_lock:
            if not self._broken:
                try:
                    self._start()
                except OSError as e:
                    self.stopped = f"the page reader cannot start: {e}"
                    self._broken = True
                    self._ready.set()
        return not self._broken

    def ready(self, wait: float = 0.0) -> bool:
        """Whether the reader's process has started (waiting up to `wait` seconds for it)."""
        if wait and not self._broken:
            self._ready.wait(wait)
        return self._ready.is_set() and not self._broken

    def outstanding(self) -> int:
        return sum(1 for p in list(self._pending.values()) if not p.page.done())

    def _start(self) -> None:
        if self._proc is not None:
            return
        if not sys.executable:
            raise OSError("no Python executable to start")
        path = [p for p in sys.path if p]  # "" is the current directory
        self._proc = subprocess.Popen([sys.executable, "-P", "-c", _CHILD.format(path=path)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _widen(self._proc.stdout)
        self._listener = threading.Thread(target=self._listen, args=(self._proc.stdout,), daemon=True,
                                          name="page-reader")
        self._listener.start()

    def submit(self, job_of: Callable[[int], Job]) -> Pending:
        """Send the reader one page; `job_of(seq)` makes its Job."""
        seq = self._sent = next(self._seq)
        pending = Pending(Future(), Future())
        self._pending[seq] = pending
        proc = self._proc
        try:
            if proc is None or proc.stdin is None or self._broken:
                raise OSError("the page reader is not running")
            with self._send_lock:
                pickle.dump(job_of(seq), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.flush()
        except (OSError, ValueError) as e:
            self._fail(f"the page reader cannot be sent a page: {e}")
        return pending

    def _listen(self, out: IO[bytes] | None) -> None:
        """The reader's messages, each settling the futures of its page."""
        try:
            assert out is not None
            while True:
                what, seq, value, requests = pickle.load(out)
                if requests:
                    self._count(requests)
                if what == "hello":
                    self._ready.set()
                    continue
                if what not in ("token", "page", "response", "raise") or (
                        what == "raise" and not isinstance(value, DataUnavailable | LiveSourceError)):
                    raise ValueError(f"the page reader failed: {value}")
                pending = self._pending.get(seq) if what == "token" else self._pending.pop(seq, None)
                if pending is None:
                    if not 0 < seq <= self._sent:
                        raise ValueError(f"a message for page {seq}, which was never sent")
                    continue  # a page already settled: nothing waits for it
                if what == "token":
                    _settle(pending.token, value)
                elif what == "page":
                    _settle(pending.page, value)
                elif what == "response":
                    _settle(pending.token, value)
                    _settle(pending.page, Page())
                else:
                    _settle(pending.token, error=value)
                    _settle(pending.page, error=value)
        except Exception as e:  # noqa: BLE001 - whatever it was, the parent reads without the reader
            self._fail(f"the page reader stopped: {type(e).__name__}: {e}", closing=self._closing)
        else:
            self._fail("the page reader stopped", closing=self._closing)

    def _fail(self, why: str, closing: bool = False) -> None:
        if not closing and self.stopped is None:
            self.stopped = why
        self._broken = True
        self._ready.set()  # whoever waits for the reader to start: it will not
        for seq in list(self._pending):
            pending = self._pending.pop(seq, None)
            if pending is not None:
                _settle(pending.token, error=ReaderStopped(why))
                _settle(pending.page, error=ReaderStopped(why))

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._closing = True
        busy = self.outstanding() > 0
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        if busy:  # a list given up on: its pages are not wanted
            proc.kill()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._listener is not None:
            self._listener.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()
        self._fail("the page reader was closed", closing=True)


def _settle(fut: Future[Any], value: Any = None, error: BaseException | None = None) -> None:
    """Settle a future, unless the list that waited for it gave up on it (cancelled it) already."""
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
    except InvalidStateError:
        pass


# Bytes a pipe from the reader may hold: a pickled page of 500 pods is ~600 KB. With the default
# 64 KB, the reader waited on each page until the parent's listener got the GIL, which a parse in
# the parent holds for tens of milliseconds at a time.
PIPE_BYTES = 1 << 20


def _widen(pipe: IO[bytes] | None) -> None:
    """Let the pipe hold a whole page where the system allows (Linux; elsewhere it stays as it is)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined,union-attr]
    except (ImportError, AttributeError, OSError, ValueError):
        pass


# ---- the reader's side --------------------------------------------------------------------------


# How long the parsing thread keeps the GIL while the fetching one waits for it (Python's default:
# 5 ms). A page arrives in ~16 KB TLS records, each needing the GIL: at 5 ms a wait, the next page
# was not fetched until the page before was parsed.
SWITCH_INTERVAL = 0.0005


class _Outbox:
    """Messages to the parent, written whole, each with the requests made since the last one."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.lock = threading.Lock()
        self.clients: list[KubeClient] = []
        self.counted = 0

    def send(self, what: str, seq: int, value: Any) -> None:
        with self.lock:
            total = sum(c.requests for c in self.clients)
            n, self.counted = total - self.counted, total
            pickle.dump((what, seq, value, n), self.out, protocol=pickle.HIGHEST_PROTOCOL)
            self.out.flush()


def _fetch(client: KubeClient, job: Job, outbox: _Outbox, fetched: queue.Queue[tuple[Job, Response] | None]) -> None:
    """Fetch one page, answer its next token at once, and queue it for parsing."""
    try:
        resp = client.get(job.path, [*job.query, ("continue", job.cont)], job.accept)
    except (DataUnavailable, LiveSourceError) as e:
        outbox.send("raise", job.seq, e)
        return
    except Exception as e:  # noqa: BLE001 - the parent reads the list without the reader
        outbox.send("failed", job.seq, f"{type(e).__name__}: {e}")
        return
    if resp.status != 200:
        outbox.send("response", job.seq, resp)
        return
    outbox.send("token", job.seq, early_continue(resp.body))
    fetched.put((job, resp))


def _parse(fetched: queue.Queue[tuple[Job, Response] | None], outbox: _Outbox) -> None:
    """Parse the pages in the order they arrived."""
    while (entry := fetched.get()) is not None:
        job, resp = entry
        try:
            # A Shaper per page: its items share their parts within the page (so it pickles small)
            # and the parent shares them with the rest; parts kept from every page would pin here
            # the memory of all of them.
            page = read_page(resp.body, job.kind, Shaper())
            del resp, entry
            outbox.send("page", job.seq, page)
        except DataUnavailable as e:
            outbox.send("raise", job.seq, e)
        except BrokenPipeError:
            return
        except Exception as e:  # noqa: BLE001 - the parent reads the list without the reader
            outbox.send("failed", job.seq, f"{type(e).__name__}: {e}")


# Pages fetched at once: one per list the parent reads with the reader (the lists of a run's first
# round and its pods), each list waiting for its page's token.
FETCHERS = 4


def main() -> None:
    """The reader process: jobs on stdin, messages on stdout, until stdin closes."""
    gc.disable()  # JSON makes no cycles, and this process lives for one run
    sys.setswitchinterval(SWITCH_INTERVAL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes the reader
    inp, outbox = sys.stdin.buffer, _Outbox(sys.stdout.buffer)
    sys.stdout = sys.stderr  # nothing but messages on the pipe
    fetched: queue.Queue[tuple[Job, Response] | None] = queue.Queue()
    parser = threading.Thread(target=_parse, args=(fetched, outbox))
    parser.start()
    clients: list[tuple[Connect, KubeClient]] = []  # one per way to connect (all the same in a run)
    try:
        outbox.send("hello", 0, None)
        with ThreadPoolExecutor(max_workers=FETCHERS) as fetchers:
            while True:
                try:
                    job: Job = pickle.load(inp)
                except (EOFError, OSError, pickle.UnpicklingError):
                    break
                client = next((c for connect, c in clients if connect == job.connect), None)
                if client is None:
                    client = job.connect.client()
                    clients.append((job.connect, client))
                    outbox.clients.append(client)
                fetchers.submit(_fetch, client, job, outbox, fetched)
    except BrokenPipeError:
        pass
    finally:
        fetched.put(None)
        parser.join()
