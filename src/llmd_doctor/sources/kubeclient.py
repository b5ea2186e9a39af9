"""The HTTP side of the live source: one client per run, raw reads, errors that say what happened.

Credentials and the server come from sources/kubeconfig.py; requests go over the standard library's
http.client, one keep-alive connection per worker thread (the official client's import alone took
0.25-0.35 s, issue #15). Every read is a raw GET whose JSON the caller parses. Failures that make
the whole cluster unreadable (credentials rejected, TLS verification failed) end the run with a
`LiveSourceError`; the others become `ApiError`s that say what was tried and for how long.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from llmd_doctor import __version__
from llmd_doctor.snapshot import ApiError

if TYPE_CHECKING:
    from llmd_doctor.sources.kubeconfig import Target

JSON_ACCEPT = "application/json"
USER_AGENT = f"llmd-doctor/{__version__}"
# A hung request is retried once: a server that did not answer in `request_timeout` rarely does on
# the third try, and each try costs the whole timeout.
TIMEOUT_RETRIES = 1


class LiveSourceError(Exception):
    """The cluster cannot be read at all (no kubeconfig, unreachable, unauthorized)."""


class CredentialsRejected(LiveSourceError):
    """401: every other read would be refused too, so the run stops here."""


class TlsFailed(LiveSourceError):
    """The server's certificate did not verify (or TLS did not start): no request can succeed."""


class DeadlinePassed(ApiError):
    """The run's total deadline passed before this read could be made or finish."""


class Deadline:
    """Seconds for the whole read (None = none). Requests are cut to what is left of it."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.at = time.monotonic() + seconds if seconds else None

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def passed(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def error(self) -> DeadlinePassed:
        return DeadlinePassed(f"not read: the run's deadline of {self.seconds:g}s passed")

    def check(self) -> None:
        if self.passed():
            raise self.error()


@dataclass
class Response:
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


def _seconds(s: float) -> str:
    return f"{s:.1f}s" if s < 10 else f"{s:.0f}s"


class _Connection(http.client.HTTPSConnection):
    """HTTPS that verifies the name the kubeconfig's tls-server-name gives, when it gives one."""

    server_name: str | None = None

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        host = self.server_name or (self._tunnel_host if self._tunnel_host else self.host)  # type: ignore[attr-defined]
        self.sock = self._context.wrap_socket(self.sock, server_hostname=host)  # type: ignore[attr-defined]


class KubeClient:
    """Raw reads over keep-alive connections (one per worker thread), with the kubeconfig's credentials."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None, *, request_timeout: float = 10.0,
                 retries: int = 2, workers: int = 8, deadline: float | Deadline | None = None,
                 target: Target | None = None):
        """`target`: the server and credentials already read (the page reader's), instead of the kubeconfig;
        `deadline`: seconds for the whole read, or the run's Deadline itself (the page reader's)."""
        from llmd_doctor.sources.kubeconfig import KubeconfigError, load

        self.request_timeout = request_timeout
        self.retries = retries
        self.deadline = deadline if isinstance(deadline, Deadline) else Deadline(deadline)
        try:
            self.target = target or load(kubeconfig, context)
        except KubeconfigError as e:
            raise LiveSourceError(str(e)) from e
        self.context_name = self.target.context
        self.user_name = self.target.user
        self.has_credentials = self.target.has_credentials
        self.host = self.target.host
        url = urlsplit(self.host)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise LiveSourceError(f"invalid kubeconfig: the server {self.host!r} is not an http(s) URL")
        self._https = url.scheme == "https"
        self._addr = (url.hostname, url.port or (443 if self._https else 80))
        self._prefix = url.path.rstrip("/")
        self._proxy = _proxy(self.target.proxy)
        self._ssl = self._ssl_context() if self._https else None
        self._local = threading.local()
        self.requests = 0
        self._lock = threading.Lock()

    def count(self, n: int) -> None:
        """`n` requests made on this client's behalf (by the page reader)."""
        with self._lock:
            self.requests += n

    def _ssl_context(self) -> ssl.SSLContext:
        t = self.target
        ctx = ssl.create_default_context(cafile=t.ca_file, cadata=t.ca_data.decode("ascii", "replace")
                                         if t.ca_data else None)
        if not t.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            if t.cert_data and t.key_data:  # load_cert_chain reads files only: a private file, deleted at once
                with tempfile.TemporaryDirectory(prefix="llmd-doctor-") as d:
                    cert, key = os.path.join(d, "client.crt"), os.path.join(d, "client.key")
                    for path, data in ((cert, t.cert_data), (key, t.key_data)):
                        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                            f.write(data)
                    ctx.load_cert_chain(cert, key)
            elif t.cert_file and t.key_file:
                ctx.load_cert_chain(t.cert_file, t.key_file)
        except (ssl.SSLError, OSError) as e:
            raise LiveSourceError(f"invalid kubeconfig: the client certificate or key cannot be used ({e})") from e
        return ctx

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            host, port = self._proxy or self._addr
            if self._https:
                conn = _Connection(host, port, timeout=timeout, context=self._ssl)
                conn.server_name = self.target.server_name
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            if self._proxy:
                conn.set_tunnel(*self._addr)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def get(self, path: str, query: Iterable[tuple[str, Any]] = (), accept: str = JSON_ACCEPT,
            tail_bytes: int | None = None) -> Response:
        return self._call("GET", path, query, accept, None, tail_bytes)

    def post_review(self, path: str, body: dict[str, Any]) -> Response:
        """Access reviews are POSTs that read; nothing else is ever sent."""
        return self._call("POST", path, (), JSON_ACCEPT, body)

    def _timeout(self) -> tuple[float, bool]:
        """This try's timeout, and whether the run's deadline (not --request-timeout) set it."""
        left = self.deadline.remaining()
        if left is None or left >= self.request_timeout:
            return self.request_timeout, False
        if left <= 0:
            raise self.deadline.error()
        return left, True

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float,
              tail_bytes: int | None) -> Response:
        """One request on this thread's connection; a connection the server closed while idle is
        opened again once (the request never reached it)."""
        for fresh in (False, True):
            conn = self._connection(timeout)
            reused = conn.sock is not None
            try:
                conn.request(method, url, body=body, headers=headers)
                resp = conn.getresponse()
                data = _read_tail(resp, tail_bytes) if tail_bytes else resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop_connection()
                if reused and not fresh:
                    continue
                raise
            except BaseException:
                self._drop_connection()
                raise
            if resp.will_close:
                self._drop_connection()
            return Response(resp.status, data, dict(resp.getheaders()))
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, query: Iterable[tuple[str, Any]], accept: str, body: Any,
              tail_bytes: int | None = None) -> Response:
        params = list(query)
        url = self._prefix + path + ("?" + urlencode(params) if params else "")
        headers = {"Accept": accept, "User-Agent": USER_AGENT}  # so platform teams find us in the audit log
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        attempt = 0
        while True:
            timeout, by_deadline = self._timeout()
            attempt += 1
            with self._lock:
                self.requests += 1
            try:
                auth = self.target.authorization()
                if auth:
                    headers["Authorization"] = auth
                result = self._send(method, url, headers, data, timeout, tail_bytes)
            except ssl.SSLError as e:
                raise self._tls_error(e) from e
            except (OSError, http.client.HTTPException) as e:
                timed_out = _is_timeout(e)
                if timed_out and by_deadline:
                    raise self.deadline.error() from e
                if self._retry(method, attempt, TIMEOUT_RETRIES if timed_out else self.retries):
                    continue
                what = f"timed out after {timeout:g}s" if timed_out else f"cannot connect: {_reason(e)}"
                if attempt > 1:
                    what += f" ({attempt} attempts, {_seconds(time.monotonic() - started)})"
                raise ApiError(what) from e
            except Exception as e:  # a token file or exec plugin failing in its own way
                raise ApiError(f"{type(e).__name__}: {_first_line(str(e))}") from e
            if result.status == 401:
                raise self._rejected()
            if result.status >= 500 and self._retry(method, attempt, self.retries):
                continue
            return result

    def _retry(self, method: str, attempt: int, limit: int) -> bool:
        """Sleep before the next try of a read, when one is allowed and fits in the deadline."""
        if method != "GET" or attempt > limit:
            return False
        pause = 0.2 * 2**attempt
        left = self.deadline.remaining()
        if left is not None and left <= pause:
            return False
        time.sleep(pause)
        return True

    def _rejected(self) -> CredentialsRejected:
        if not self.has_credentials:
            who = f" {self.user_name!r}" if self.user_name else ""
            return CredentialsRejected(
                f"the API server at {self.host} answered 401 Unauthorized: the kubeconfig's user{who} has no "
                "credentials (token, client certificate or exec plugin); check --kubeconfig and --context")
        # /version is often readable without credentials, so /api is the read that tells.
        return CredentialsRejected(
            f"the API server at {self.host} rejected our credentials (401 Unauthorized): the token may have "
            "expired; run `kubectl get --raw /api` to check")

    def _tls_error(self, e: ssl.SSLError) -> TlsFailed:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = e.verify_message or str(e)
            return TlsFailed(f"TLS verification of {self.host} failed: certificate verify failed: {why}; "
                             "check the kubeconfig's certificate-authority-data or --context")
        return TlsFailed(f"TLS connection to {self.host} failed: {e.reason or e}; check the server address and "
                         "certificate-authority in the kubeconfig, or --context")


def _proxy(url: str | None) -> tuple[str, int] | None:
    if not url:
        return None
    p = urlsplit(url)
    if p.scheme not in ("http", "https") or not p.hostname:
        raise LiveSourceError(f"the kubeconfig's proxy-url {url!r} is not supported (an http:// proxy is)")
    return p.hostname, p.port or (443 if p.scheme == "https" else 80)


def _is_timeout(e: Exception) -> bool:
    return isinstance(e, TimeoutError) or "timed out" in str(e).lower()


def _reason(e: Exception) -> str:
    if isinstance(e, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    return (getattr(e, "strerror", None) or str(e) or type(e).__name__).strip()


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else ""


def _read_tail(resp: http.client.HTTPResponse, limit: int) -> bytes:
    """Stream a body keeping only its last `limit` bytes: a server that ignores limitBytes cannot
    make us hold a 50 MB log."""
    buf = bytearray()
    while chunk := resp.read(64 * 1024):
        buf += chunk
        if len(buf) > 2 * limit:
            del buf[: len(buf) - limit]
    return bytes(buf[-limit:])
