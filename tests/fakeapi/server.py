"""HTTP plumbing: a loopback ThreadingHTTPServer that serves a bundle read-only, like kube-apiserver.

One port speaks both plain HTTP (`url`) and TLS (`https_url`, certs/ca.crt): kubectl only sends a
kubeconfig token over TLS, so `kubeconfig()` points at the TLS side with the CA embedded.
Order per request: latency -> fault -> authentication (401) -> authorization (403) -> handler.
`watch=true` is answered 405 MethodNotAllowed (no streaming).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import pickle
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from llmd_doctor.sources.bundle import BundleData, read_bundle

from .handlers import Api, Response, User
from .rbac import AUTHENTICATED, Deny
from .requestinfo import parse
from .status import ApiError, status, unauthorized

ANONYMOUS = "system:anonymous"
DEFAULT_TOKENS: dict[str, tuple[str, list[str]]] = {"admin-token": ("admin", ["system:masters"])}
# A throwaway test CA and a 127.0.0.1/localhost certificate it signed (valid to 2126). Test-only keys.
CERTS = Path(__file__).parent / "certs"
CA_FILE = str(CERTS / "ca.crt")
OTHER_CA_FILE = str(CERTS / "other-ca.crt")  # signed nothing here: TLS verification fails with it


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering. status=None: answer normally after delay_s."""

    status: int | None = None
    body: bytes | str | dict[str, Any] | None = None  # None with a status: a Status body for that code
    delay_s: float = 0.0
    drop: bool = False  # close the connection without answering
    content_type: str = "application/json"

    def response(self) -> Response:
        assert self.status is not None
        if self.body is None:
            return Response.json(status(self.status, f"injected fault {self.status}"), self.status)
        if isinstance(self.body, dict):
            return Response.json(self.body, self.status)
        raw = self.body.encode() if isinstance(self.body, str) else self.body
        return Response(self.status, raw, self.content_type)


FaultFn = Callable[[str, str, dict[str, str]], Fault | None]


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    user: str | None
    status: int  # 0 = connection dropped by a fault
    accept: str
    user_agent: str = ""
    size: int = 0  # bytes of the answer's body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        super().finish()
        self.server.owner._track(self.connection, False)

    def _any(self) -> None:
        self.server.owner._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of new connections overflows it and the kernel
    # drops SYNs, which clients retry after a second. kube-apiserver (Go) listens with the system's
    # somaxconn (4096 on current kernels).
    request_queue_size = 4096
    owner: FakeApiServer
    tls: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's thread: a TLS ClientHello starts with 0x16, anything else is HTTP."""
        try:
            tls = request.recv(1, socket.MSG_PEEK) == b"\x16"
            if tls:
                request = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if tls:
                with contextlib.suppress(OSError):
                    request.close()


_EXAMPLES = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))


@functools.lru_cache(maxsize=32)
def _example_bytes(path: str) -> bytes:
    return pickle.dumps(read_bundle(path))


def _read(path: str) -> BundleData:
    """An example bundle (never changed by tests) is read once per process, a fresh copy each time."""
    real = os.path.realpath(path)
    if real.startswith(_EXAMPLES + os.sep):
        return pickle.loads(_example_bytes(real))
    return read_bundle(path)


class FakeApiServer:
    def __init__(self, bundle: str | os.PathLike[str] | BundleData, *, latency_s: float = 0.0, rbac: bool = False,
                 tokens: dict[str, tuple[str, list[str]]] | None = None, fault: FaultFn | None = None,
                 anonymous_paths: tuple[str, ...] = (), aggregated_discovery: bool = True):
        self.data = bundle if isinstance(bundle, BundleData) else _read(str(bundle))
        self.api = Api(self.data, rbac)
        # False: a server older than Kubernetes 1.26, which answers discovery the legacy way only.
        self.api.aggregated_discovery = aggregated_discovery
        self.latency_s = latency_s
        self.fault = fault
        self.tokens = {**DEFAULT_TOKENS, **(tokens or {})}
        # Paths a request without credentials may read as system:anonymous (kube-apiserver's
        # AuthenticationConfiguration `anonymous.conditions`, e.g. ("/version", "/healthz")); any other
        # request without valid credentials is 401.
        self.anonymous_paths = anonymous_paths
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> FakeApiServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._httpd.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._httpd.tls.load_cert_chain(CERTS / "server.crt", CERTS / "server.key")
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fakeapi")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd and self._thread
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for c in self._conns:  # end keep-alive connections so handler threads exit
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._httpd, "use FakeApiServer as a context manager"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def https_url(self) -> str:
        """The same server over TLS; verify with `ca_file`."""
        return self.url.replace("http://", "https://", 1)

    ca_file = CA_FILE

    # ---- test helpers ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def forbid(self, verb: str, resource: str, namespace: str | None = None, group: str = "") -> None:
        """Answer 403 to `verb` on `resource` ("pods", "pods/log", "*") in `namespace` (None = everywhere)."""
        self.api.authz.denies = [*self.api.authz.denies, Deny(verb, resource, namespace, group)]

    def kubeconfig(self, path: str | os.PathLike[str], *, user: str = "admin", token: str | None = "admin-token",
                   context: str = "fake", namespace: str | None = None, tls: bool = True,
                   ca_file: str = CA_FILE) -> str:
        """Write a kubeconfig (user = the entry's name; the identity comes from the token). kubectl needs
        tls=True to send the token; the Python client sends it over plain HTTP too. `ca_file` is the CA
        the kubeconfig trusts (OTHER_CA_FILE: one that did not sign the server's certificate)."""
        ctx: dict[str, Any] = {"cluster": context, "user": user}
        cluster: dict[str, Any] = {"server": self.https_url if tls else self.url}
        if tls:
            cluster["certificate-authority-data"] = base64.b64encode(Path(ca_file).read_bytes()).decode()
        if namespace:
            ctx["namespace"] = namespace
        cfg = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token} if token else {}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f, sort_keys=False)
        return os.fspath(path)

    # ---- request handling -----------------------------------------------------------------------

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._conns.append(conn)
            elif conn in self._conns:
                self._conns.remove(conn)

    def _authenticate(self, header: str | None) -> User | None:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return None
        name, groups = self.tokens[token.strip()]
        extra = [AUTHENTICATED]
        if name.startswith("system:serviceaccount:"):
            extra = ["system:serviceaccounts", "system:serviceaccounts:" + name.split(":")[2], AUTHENTICATED]
        return User(name, tuple(dict.fromkeys([*groups, *extra])))

    def _handle(self, h: _Handler) -> None:
        url = urlsplit(h.path)
        path = unquote(url.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = _read_body(h)
        accept = h.headers.get("Accept", "")
        user = self._authenticate(h.headers.get("Authorization"))
        if user is None and not h.headers.get("Authorization") and path in self.anonymous_paths:
            user = User(ANONYMOUS, ("system:unauthenticated",))
        uname = user.name if user else None
        agent = h.headers.get("User-Agent", "")
        if self.latency_s:
            time.sleep(self.latency_s)
        fault = self.fault(h.command, path, query) if self.fault else None
        if fault and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault and fault.drop:
            self._record(RequestRecord(h.command, path, query, uname, 0, accept, agent))
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault and fault.status is not None:
            resp = fault.response()
        else:
            resp = self._answer(h.command, path, query, accept, body, user)
        self._record(RequestRecord(h.command, path, query, uname, resp.status, accept, agent, len(resp.body)))
        try:
            h.send_response(resp.status)
            h.send_header("Content-Type", resp.content_type)
            h.send_header("Content-Length", str(len(resp.body)))
            h.send_header("Cache-Control", "no-cache, private")
            h.end_headers()
            h.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            h.close_connection = True

    def _answer(self, method: str, path: str, query: dict[str, str], accept: str, body: bytes,
                user: User | None) -> Response:
        try:
            if user is None:
                raise unauthorized()
            info = parse(method, path, query)
            self.api.authorize(info, user)
            return self.api.serve(method, info, query, accept, body, user, self.url.removeprefix("http://"))
        except ApiError as e:
            return Response.json(e.body, e.code)
        except Exception as e:  # a bug here must still look like an API error, not a hang
            return Response(500, json.dumps(status(500, f"fakeapi: {type(e).__name__}: {e}")).encode())

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self._log.append(rec)


def _read_body(h: BaseHTTPRequestHandler) -> bytes:
    """The request body, sized by Content-Length or chunked, so keep-alive connections stay in step."""
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        out = b""
        while size := int(h.rfile.readline().split(b";")[0].strip() or b"0", 16):
            out += h.rfile.read(size)
            h.rfile.readline()
        while h.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return out
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length > 0 else b""
