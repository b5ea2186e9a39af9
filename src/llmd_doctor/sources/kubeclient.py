"""The HTTP side of the live source: one client per run, raw reads, errors that say what happened.

The official kubernetes client is used for kubeconfig, auth (tokens, client certificates, exec
plugins) and transport only: every read is a raw GET whose JSON the caller parses. Failures that
make the whole cluster unreadable (credentials rejected, TLS verification failed) end the run with
a `LiveSourceError`; the others become `ApiError`s that say what was tried and for how long.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import __version__
from llmd_doctor.snapshot import ApiError

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


class KubeClient:
    """Raw reads through the kubernetes client's configuration and connection pool."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None, *, request_timeout: float = 10.0,
                 retries: int = 2, workers: int = 8, deadline: float | None = None):
        from kubernetes import config as kconfig
        from kubernetes.client import ApiClient, Configuration
        from kubernetes.config.config_exception import ConfigException

        self.request_timeout = request_timeout
        self.retries = retries
        self.deadline = Deadline(deadline)
        cfg = Configuration()
        self.context_name: str | None = context
        self.user_name: str | None = None
        try:
            path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            if not kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(path) \
                    and os.environ.get("KUBERNETES_SERVICE_HOST"):
                kconfig.load_incluster_config(client_configuration=cfg)
                self.context_name = "in-cluster"
            else:
                first = path.split(os.pathsep)[0]
                if not os.path.exists(first):
                    raise LiveSourceError(
                        f"no kubeconfig at {first} (use --kubeconfig, set KUBECONFIG, or --bundle PATH)"
                    )
                contexts, active = kconfig.list_kube_config_contexts(config_file=path)
                chosen = next((c for c in contexts if c["name"] == context), None) if context else active
                if context and chosen is None:
                    raise LiveSourceError(f"context {context!r} not found in {path}")
                if chosen:
                    self.context_name = chosen["name"]
                    self.user_name = (chosen.get("context") or {}).get("user")
                kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                         persist_config=False)
        except ConfigException as e:
            raise LiveSourceError(f"invalid kubeconfig: {e}") from e
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise LiveSourceError(f"cannot load kubeconfig: {e}") from e
        cfg.connection_pool_maxsize = max(4, workers)
        cfg.retries = False  # we retry ourselves, with backoff, for reads only
        self.has_credentials = bool(cfg.api_key or cfg.cert_file or cfg.username or cfg.refresh_api_key_hook)
        self.api = ApiClient(cfg)
        self.api.user_agent = USER_AGENT  # so platform teams find our reads in the audit log
        self.host = cfg.host
        self.requests = 0
        self._lock = threading.Lock()

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

    def _call(self, method: str, path: str, query: Iterable[tuple[str, Any]], accept: str, body: Any,
              tail_bytes: int | None = None) -> Response:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        attempt = 0
        while True:
            timeout, by_deadline = self._timeout()
            attempt += 1
            with self._lock:
                self.requests += 1
            try:
                m, url, hdrs, b, _ = self.api.param_serialize(
                    method, path, query_params=list(query), header_params=headers, body=body,
                    auth_settings=["BearerToken"],
                )
                resp = self.api.call_api(m, url, header_params=hdrs, body=b, _request_timeout=(timeout, timeout))
                data = _read_tail(resp, tail_bytes) if tail_bytes else (resp.read() or b"")
                result = Response(resp.status, data, dict(resp.headers or {}))
            except (urllib3.exceptions.HTTPError, OSError) as e:
                timed_out = _is_timeout(e)
                if timed_out and by_deadline:
                    raise self.deadline.error() from e
                if self._retry(method, attempt, TIMEOUT_RETRIES if timed_out else self.retries):
                    continue
                what = f"timed out after {timeout:g}s" if timed_out else f"cannot connect: {_reason(e)}"
                if attempt > 1:
                    what += f" ({attempt} attempts, {_seconds(time.monotonic() - started)})"
                raise ApiError(what) from e
            except ApiException as e:  # the client raises ApiException(status=0) on TLS errors
                raise self._tls_error(e) if "SSL" in str(e.reason or "") else \
                    ApiError(f"{type(e).__name__}: {_first_line(str(e))}") from e
            except Exception as e:  # an exec plugin or the client failing in its own way
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

    def _tls_error(self, e: Exception) -> TlsFailed:
        import re

        text = str(getattr(e, "reason", "") or e)
        m = re.search(r"certificate verify failed: ([^()\n]+?)\s*(?:\(_ssl|\)|$)", text, re.M)
        if m:
            return TlsFailed(f"TLS verification of {self.host} failed: certificate verify failed: {m.group(1)}; "
                             "check the kubeconfig's certificate-authority-data or --context")
        detail = next((ln for ln in text.splitlines() if ln.strip() and ln.strip() != "SSLError"), text)
        return TlsFailed(f"TLS connection to {self.host} failed: {_first_line(detail)}; check the server "
                         "address and certificate-authority in the kubeconfig, or --context")


def _is_timeout(e: Exception) -> bool:
    return "timed out" in str(e).lower() or "timeout" in type(e).__name__.lower()


def _reason(e: Exception) -> str:
    return str(getattr(e, "reason", None) or e).strip()


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else ""


def _read_tail(resp: Any, limit: int) -> bytes:
    """Stream a body keeping only its last `limit` bytes: a server that ignores limitBytes cannot
    make us hold a 50 MB log."""
    buf = bytearray()
    for chunk in resp.response.stream(64 * 1024):
        buf += chunk
        if len(buf) > 2 * limit:
            del buf[: len(buf) - limit]
    return bytes(buf[-limit:])
