"""The requests: GET /v1/models, one chat completion (and one streamed), a prefix-affinity series.

Every step is bounded: the DNS lookup (in a daemon thread, `connect_timeout`), the connect
(`connect_timeout`), each read (`read_timeout`) and the whole request (`total_timeout`, checked
between chunks). The count is bounded too: 1 + 1 + 1 + `prefix_requests` (at most 20), and the
series stops at the first transport error. The httpx client is injected (`ProbeOptions.client`
or `.transport`), so tests use pytest-httpx or a loopback server and nothing leaves the machine.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import secrets
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmd_doctor import __version__
from llmd_doctor.probes import ProbeOptions
from llmd_doctor.probes import classify as cl
from llmd_doctor.probes import record as rc
from llmd_doctor.probes.target import MAX_MODELS, PlannedModel, Target, discover, plan_models
from llmd_doctor.snapshot import Snapshot

if TYPE_CHECKING:
    import httpx  # imported when a request is sent: a run whose probe is not sent never pays for it

USER_AGENT = f"llmd-doctor/{__version__}"

PROMPT = "Hello! What is 2+2? Answer in one short sentence."
MAX_BODY_BYTES = 1024 * 1024
MAX_PREFIX_REQUESTS = 20
Resolver = Callable[[str, int, float], "str | None"]


class _Deadline(Exception):
    """The whole request took longer than total_timeout."""


def resolve(host: str, port: int, timeout: float) -> str | None:
    """Resolve `host` within `timeout` (getaddrinfo itself has none); None when it resolves, else why not."""
    out: dict[str, str] = {}

    def work() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            out["error"] = str(e) or type(e).__name__

    t = threading.Thread(target=work, name="llmd-doctor-dns", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return f"no answer within {timeout:g}s"
    return out.get("error")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class Prober:
    def __init__(self, opts: ProbeOptions, client: httpx.Client | Callable[[], httpx.Client], resolver: Resolver | None,
                 api_key: str | None, clock: Callable[[], float] = time.monotonic):
        """`client` may be a function that makes one: it is called at the first request sent, so a probe
        stopped by the DNS lookup never loads httpx (~70 ms) nor the CA bundle."""
        self.opts, self._client, self.resolver, self.key, self.clock = opts, client, resolver, api_key, clock

    @property
    def client(self) -> httpx.Client:
        if callable(self._client):
            self._client = self._client()
        return self._client

    def exchange(self, method: str, url: str, body: Any = None, *, kind: str = "chat") -> dict[str, Any]:
        """One request and what came back, as a record (classified; the key scrubbed)."""
        stream = kind == "stream"
        rec = rc.request_record(method, url, body, bool(self.key), stream)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        o = self.opts
        if self.resolver is not None and host and not _is_ip(host):
            why = self.resolver(host, port, o.connect_timeout)
            if why:
                rec.update(error_class="dns", error=cl.transport_message("dns", host, port, why), hop="network")
                return rec
        # llmd-doctor/<version>: platform teams find the probe in gateway access logs.
        headers = {"accept": "text/event-stream" if stream else "application/json", "user-agent": USER_AGENT}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        import httpx

        timeout = httpx.Timeout(connect=o.connect_timeout, read=min(o.read_timeout, o.total_timeout),
                                write=o.connect_timeout, pool=o.connect_timeout)
        start = self.clock()
        deadline = start + o.total_timeout
        try:
            with self.client.stream(method, url, json=body, headers=headers, timeout=timeout) as resp:
                rec["status"] = resp.status_code
                rec["headers"] = rc.selected_headers(resp.headers.multi_items())
                if stream and resp.status_code == 200:
                    self._read_sse(resp, rec, start, deadline)
                else:
                    text = self._read_body(resp, deadline)
                    rc.put_body(rec, text, cl.parse_json(text) if text.strip() else None)
        except _Deadline:
            rec.update(error_class="timeout",
                       error=cl.transport_message("timeout", host, port, "", o.total_timeout) + " (total)")
        except httpx.TimeoutException as e:
            cls = cl.classify_transport(type(e).__name__, str(e))
            limit = o.connect_timeout if cls == "connect_timeout" else min(o.read_timeout, o.total_timeout)
            rec.update(error_class=cls, error=cl.transport_message(cls, host, port, str(e), limit))
        except httpx.HTTPError as e:
            cls = cl.classify_transport(type(e).__name__, str(e))
            rec.update(error_class=cls, error=cl.transport_message(cls, host, port, str(e) or type(e).__name__))
        rec["latency_s"] = round(self.clock() - start, 4)
        c = cl.classify_record(rec, kind)
        if c.ok:
            rec.update(error_class=None, hop=None)
        else:
            rec.update(error_class=c.cls, hop=c.hop)
            rec.setdefault("error", c.message)
        return rc.scrub(rec, self.key)

    def _read_body(self, resp: httpx.Response, deadline: float) -> str:
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                break
            if self.clock() > deadline:
                raise _Deadline
        return b"".join(chunks).decode("utf-8", errors="replace")

    def _read_sse(self, resp: httpx.Response, rec: dict[str, Any], start: float, deadline: float) -> None:
        """Server-sent events: `data: {chunk}` lines until `data: [DONE]`; TTFT at the first content."""
        chunks, done, ttft, first, content, raw = 0, False, None, None, [], []
        for line in resp.iter_lines():
            if self.clock() > deadline:
                raise _Deadline
            line = line.strip()
            if len(raw) < 20:
                raw.append(line)
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            doc = cl.parse_json(data)
            if not isinstance(doc, dict):
                continue
            chunks += 1
            now = self.clock() - start
            first = now if first is None else first
            for ch in doc.get("choices") or []:
                delta = (ch or {}).get("delta") or {} if isinstance(ch, dict) else {}
                if isinstance(delta, dict) and delta.get("content"):
                    ttft = now if ttft is None else ttft
                    content.append(str(delta["content"]))
        rec.update(chunks=chunks, done=done, content_excerpt="".join(content)[:500])
        if ttft is not None or first is not None:
            rec["ttft_s"] = round(ttft if ttft is not None else first, 4)
        if chunks == 0:
            rec["body_excerpt"] = "\n".join(raw)[: rc.BODY_EXCERPT_CHARS]


def _prefix(nonce: str) -> str:
    """~3,600 characters shared by every request of the series (the nonce makes it new each run)."""
    lines = [f"[llmd-doctor prefix-affinity probe {nonce}]"]
    lines += [f"Line {i}: requests that share this long prefix should be routed to the endpoint that "
              f"already holds its KV cache." for i in range(36)]
    return "\n".join(lines)


def _unreachable(t: Target, error: str) -> str:
    where = f"{t.address}:{t.port}" if t.address else t.base_url
    what = "the gateway's cluster-internal address" if t.internal else "the gateway's address"
    return f"{what} {where} ({t.gateway}) is not reachable from this machine: {error}; {t.how_to_reach()}"


def _prefix_series(prober: Prober, url: str, model: str, n: int) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "system", "content": _prefix(secrets.token_hex(4))},
                                         {"role": "user", "content": "Question {i}: reply with one word."}],
            "max_tokens": 1, "temperature": 0}
    requests: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        b = {**body, "messages": [body["messages"][0], {"role": "user", "content": f"Question {i}: reply with one word."}]}
        ex = prober.exchange("POST", url, b)
        short = {k: ex[k] for k in ("status", "headers", "latency_s", "error_class", "hop", "error")
                 if ex.get(k) is not None}
        if ex.get("error_class") and ex.get("body_excerpt"):
            short["body_excerpt"] = ex["body_excerpt"][:300]
        requests.append(short | {"endpoint": cl.endpoint_of(ex.get("headers"))})
        if ex.get("error_class") in cl.CONNECT_CLASSES | {"timeout", "disconnected"}:
            break  # bounded: one transport failure ends the series
    ok = [r for r in requests if not r.get("error_class")]
    endpoints = Counter(r["endpoint"] for r in ok if r.get("endpoint"))
    identified = sum(endpoints.values())
    out: dict[str, Any] = {"url": url, "request": rc.request_record("POST", url, body, bool(prober.key))["request"],
                           "prefix_chars": len(body["messages"][0]["content"]), "n": n, "requests": requests,
                           "succeeded": len(ok), "endpoints": dict(endpoints), "identified": identified}
    if identified:
        out["rate"] = round(endpoints.most_common(1)[0][1] / identified, 3)
    return out


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default verification context, built once: loading the CA bundle costs ~15-30 ms."""
    import httpx

    return httpx.create_ssl_context()


def _client(opts: ProbeOptions) -> tuple[httpx.Client, bool]:
    if opts.client is not None:
        return opts.client, False
    import httpx

    return httpx.Client(transport=opts.transport, follow_redirects=False, verify=_tls()), True


def _stderr(line: str) -> None:
    print(f"llmd-doctor: {line}", file=sys.stderr, flush=True)


def _say(opts: ProbeOptions, line: str, target: Target | None = None) -> None:
    """One line on stderr (or the injected `notice`), said before anything is sent; kept in the record."""
    if target is not None:
        target.notices.append(line)
    (opts.notice or _stderr)(line)


def _safety(opts: ProbeOptions, target: Target, key_given: bool) -> None:
    """Say where the probe goes when the address is public, and that the API key stays home."""
    if target.public:
        _say(opts, f"probing {target.base_url}: the address {target.gateway} reports in its status is neither "
                   "cluster-internal nor private (--no-probe sends nothing; --gateway-url chooses the address)",
             target)
    if key_given and target.api_key == "withheld":
        _say(opts, f"the API key in ${opts.api_key_env} is not sent to {target.base_url}: it goes only to an "
                   "address given with --gateway-url", target)


def run_probes(snapshot: Snapshot, opts: ProbeOptions, *, routing: bool = True) -> dict[str, dict[str, Any]]:
    target = discover(snapshot, opts)
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def base() -> dict[str, Any]:
        return {"version": rc.RECORD_VERSION, "started_at": started, "target": target.to_dict()}

    names = ("e2e", "models", "routing") if routing else ("e2e", "models")
    if target.base_url is None:
        _say(opts, f"end-to-end probe not sent: {target.not_found}")
        return {n: {**base(), "not_run": target.not_found} for n in names}
    key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
    _safety(opts, target, bool(key))
    if target.source != "flag":
        key = None  # never to an address the user did not give
    injected = opts.client is not None or opts.transport is not None
    resolver = opts.resolver if opts.resolver is not None else (None if injected else resolve)
    owned: list[httpx.Client] = []

    def make_client() -> httpx.Client:
        client, ours = _client(opts)
        if ours:
            owned.append(client)
        return client

    try:
        out = _probe(Prober(opts, make_client, resolver, key), snapshot, target, base, opts, routing)
    finally:
        for client in owned:
            client.close()
    return {n: out[n] for n in names if n in out}


def _chat_body(model: str, opts: ProbeOptions) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": min(opts.max_tokens, 16), "temperature": 0}


def _chats(prober: Prober, chat_url: str, plan: list[PlannedModel], left: list[dict[str, str]], opts: ProbeOptions,
           started: float) -> list[dict[str, Any]]:
    """One chat completion per planned model (the first also streamed), within the run's time budget."""
    budget = opts.budget if opts.budget is not None else max(60.0, 2 * opts.total_timeout)
    out: list[dict[str, Any]] = []
    for i, m in enumerate(plan):
        if i and prober.clock() - started > budget:
            left[:0] = [{"model": p.name, "why": f"not probed: the probe's time budget ({budget:g}s) was spent"}
                        for p in plan[i:]]
            break
        body = _chat_body(m.name, opts)
        ex = prober.exchange("POST", chat_url, body)
        rec = {"model": m.name, "pools": m.pools, "model_sources": m.sources, **ex}
        endpoint = cl.endpoint_of(ex.get("headers"))
        if endpoint:
            rec["endpoint"] = endpoint
        if i == 0 and ex.get("error_class") is None and opts.stream:
            rec["stream"] = prober.exchange("POST", chat_url, {**body, "stream": True}, kind="stream")
        out.append(rec)
        if ex.get("error_class") in cl.CONNECT_CLASSES and i + 1 < len(plan):  # the gateway went away
            left[:0] = [{"model": p.name, "why": f"not probed: {ex.get('error')}"} for p in plan[i + 1:]]
            break
    return out


def _probe(prober: Prober, snap: Snapshot, target: Target, base: Callable[[], dict[str, Any]], opts: ProbeOptions,
           routing: bool) -> dict[str, dict[str, Any]]:
    url = target.base_url or ""
    chat_url = f"{url}/v1/chat/completions"
    started = prober.clock()
    models = prober.exchange("GET", f"{url}/v1/models", kind="models")
    ids = cl.model_ids(models.get("response")) or []
    cls = models.get("error_class")
    if cls in cl.CONNECT_CLASSES:
        if target.source == "gateway":  # an address this machine cannot reach: say how to reach it
            why = _unreachable(target, str(models.get("error")))
            _say(opts, f"end-to-end probe not sent: {why}")
            return {"models": {**base(), **models, "not_run": why}, "e2e": {**base(), "not_run": why},
                    "routing": {**base(), "not_run": why}}
        body = {"model": target.model or "", "messages": [{"role": "user", "content": PROMPT}]}
        e2e = {**base(), **rc.request_record("POST", chat_url, body, bool(prober.key)), "error_class": cls,
               "error": f"{models.get('error')} (the chat completion was not sent)", "hop": "network"}
        return {"models": {**base(), **models, "models": ids, "expected": target.model}, "e2e": e2e,
                "routing": {**base(), "not_run": f"the gateway did not accept a connection: {models.get('error')}"}}
    plan, left = plan_models(snap, target, ids, opts.model)
    if not plan:
        why = ("no model name to ask for: no InferenceModel names one, no model-server argument does, "
               "and GET /v1/models listed none; pass --model")
        return {"models": {**base(), **models, "models": ids, "expected": None},
                "e2e": {**base(), "not_run": why}, "routing": {**base(), "not_run": why}}
    target.model, target.model_source = plan[0].name, (plan[0].sources or [None])[0]
    chats = _chats(prober, chat_url, plan, left, opts, started)
    out: dict[str, dict[str, Any]] = {
        "models": {**base(), **models, "models": ids, "expected": target.model,
                   "expected_models": [m.name for m in plan if m.sources != ["GET /v1/models"]]},
        "e2e": {**base(), **chats[0], **({"per_model": chats[1:]} if len(chats) > 1 else {}),
                **({"skipped_models": left} if left else {}), "models_cap": MAX_MODELS}}
    if routing:
        out["routing"] = _routing(prober, base, chat_url, chats, opts)
    return out


def _routing(prober: Prober, base: Callable[[], dict[str, Any]], chat_url: str, chats: list[dict[str, Any]],
             opts: ProbeOptions) -> dict[str, Any]:
    """The prefix-affinity series (with the first model that answered) and the EPP evidence of every answer."""
    rec = {**base()}
    n = max(0, min(opts.prefix_requests, MAX_PREFIX_REQUESTS))
    ok = next((c for c in chats if c.get("error_class") is None), None)
    if ok is None:
        rec["prefix"] = {"skipped": "the chat completion failed"}
    elif n == 0:
        rec["prefix"] = {"skipped": "the prefix-affinity probe is off (--prefix-probe 0)"}
    else:
        rec["prefix"] = {**_prefix_series(prober, chat_url, str(ok["model"]), n), "model": ok["model"]}
    heads = [c.get("headers") for c in chats] + [(chats[0].get("stream") or {}).get("headers")]
    heads += [r.get("headers") for r in (rec["prefix"].get("requests") or [])]
    evidence: list[str] = []
    for h in heads:
        evidence += [e for e in cl.epp_evidence(h) if e not in evidence]
    rec["epp_evidence"] = evidence
    return rec
