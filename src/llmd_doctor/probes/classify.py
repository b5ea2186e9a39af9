"""What an answer (or the lack of one) says: a failure class, the hop it points at, a sentence.

Pure functions of recorded data (status, selected headers, body), so a check classifies a
replayed bundle record exactly like a live one. The snapshot-aware refinement of the hop (the
EPP crash-loops, the pool selects no Ready pod) is done by checks/e2e.py.

Response signatures (sources):
- Envoy: `no healthy upstream` (503), `upstream connect error or disconnect/reset before headers`
  (502/503), `upstream request timeout` (504), `fault filter abort` (500), 404 with an empty body
  when no route matches — GIE site-src/guides/troubleshooting.md@v1.5.0.
- EPP: 400 `model not found in request body`, 429 `system saturated, sheddable request dropped`
  — same guide; pkg/epp/handlers @v1.0.0.
- 500 with an empty body from `server: istio-envoy` when ext_proc to the EPP fails —
  llm-d/llm-d-autoscaling#1010; `ext_proc_error_gRPC_error_14` — kserve/kserve#5716, llm-d/llm-d-router#653.
- vLLM: `{"object": "error", "message": "The model `x` does not exist.", "code": 404}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Classes where no HTTP exchange happened: nothing was learned about the inference path.
CONNECT_CLASSES = frozenset({"dns", "refused", "connect_timeout", "unreachable", "tls", "connect_error"})

#: What each hop is, for messages.
HOPS = {
    "network": "the network between this machine and the gateway",
    "gateway": "the gateway (its proxy and listener)",
    "httproute": "the HTTPRoute",
    "epp": "the endpoint picker (ext_proc)",
    "pool": "the InferencePool's endpoints",
    "selector": "the InferencePool selector",
    "model-server": "the model server",
    "model": "the model name",
}

#: Response headers that show the endpoint picker took part (it sets them on the response).
EPP_HEADERS = (
    "x-went-into-resp-headers",  # GIE EPP response-header processing (pkg/epp/handlers/response.go)
    "x-gateway-destination-endpoint-served",
    "x-gateway-destination-endpoint",
    "x-conformance-test-served-endpoint",
    "x-conformance-test-selected-endpoint",
    "target-pod",  # early llm-instance-gateway ext_proc
)
#: Response headers that name the endpoint that answered, most specific first.
ENDPOINT_HEADERS = (
    "x-gateway-destination-endpoint-served",
    "x-conformance-test-served-endpoint",
    "x-gateway-destination-endpoint",
    "x-conformance-test-selected-endpoint",
    "x-inference-pod",  # llm-d-inference-sim with POD_NAME
    "target-pod",
)


@dataclass(frozen=True)
class Classification:
    cls: str | None  # None = a good answer
    hop: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.cls is None


def _excerpt(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _error_text(body: str, doc: Any) -> str:
    """The error message of a JSON error body (OpenAI/vLLM shapes), else the body itself."""
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if doc.get("message"):
            return str(doc["message"])
    return body


_MODEL_NOT_FOUND = re.compile(r"model[`'\" ]+.*(does not exist|not found)|(unknown|invalid) model|no such model|"
                              r"model .*not (served|available)", re.I)


def classify_http(status: int, headers: dict[str, str], body: str, doc: Any = None) -> Classification:
    """Classify an HTTP answer to a chat completion (or /v1/models) request."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    server = h.get("server", "")
    envoy = "envoy" in server.lower() or any(k.startswith("x-envoy-") for k in h)
    empty = not body.strip()
    text = _error_text(body, doc)
    low = text.lower()
    shown = f": {_excerpt(text)}" if not empty else " with an empty body" + (f" (server: {server})" if server else "")
    if 200 <= status < 300:
        return Classification(None, None, f"HTTP {status}")
    if status in (401, 403):
        return Classification("unauthorized", "gateway",
                              f"HTTP {status}{shown}: the gateway (or the model server) wants credentials")
    if "model not found in request body" in low or "prompt not found in request" in low:
        return Classification("model_missing_in_body", "epp",
                              f"HTTP {status}{shown}: the endpoint picker did not find the model in the request body")
    if status in (400, 404) and _MODEL_NOT_FOUND.search(text):
        return Classification("model_not_found", "model", f"HTTP {status}{shown}: the model is not served")
    if status == 404:
        return Classification("route_not_found", "httproute",
                              f"HTTP 404{shown}: no route matches the request (no HTTPRoute for this host and path)")
    if status == 400:
        return Classification("bad_request", "model-server", f"HTTP 400{shown}")
    if status == 429:
        return Classification("saturated", "epp",
                              f"HTTP 429{shown}: the request was shed (system saturated)")
    if "no healthy upstream" in low:
        return Classification("no_healthy_upstream", "pool",
                              f"HTTP {status} no healthy upstream: the gateway has no ready endpoint to send to")
    if "upstream connect error" in low or "disconnect/reset before headers" in low:
        return Classification("upstream_connect_error", "model-server",
                              f"HTTP {status}{shown}: the chosen endpoint did not accept the connection")
    if "upstream request timeout" in low or status == 504:
        return Classification("upstream_timeout", "model-server",
                              f"HTTP {status}{shown}: the gateway timed out waiting for the model server")
    if "fault filter abort" in low:
        return Classification("fault_filter_abort", "httproute",
                              f"HTTP {status} fault filter abort: the route's backend does not resolve")
    if "ext_proc" in low or "grpc_error" in low or (status == 500 and empty and envoy):
        return Classification("ext_proc_failure", "epp",
                              f"HTTP {status}{shown}: the gateway's ext_proc call to the endpoint picker failed")
    if status == 503:
        return Classification("unavailable", "epp" if envoy and empty else "pool", f"HTTP 503{shown}")
    if status >= 500 and not empty:
        return Classification("server_error", "model-server", f"HTTP {status}{shown}")
    return Classification("http_error", "gateway", f"HTTP {status}{shown}")


# ---- transport errors (class names and texts, so this module never imports httpx) ----------

_DNS = re.compile(r"name or service not known|nodename nor servname|getaddrinfo|name resolution|"
                  r"no address associated|dns", re.I)
_REFUSED = re.compile(r"connection refused|errno 111|errno 61|actively refused|econnrefused", re.I)
_UNREACHABLE = re.compile(r"network is unreachable|no route to host|host is unreachable|errno 101|errno 113", re.I)
_TLS = re.compile(r"ssl|tls|certificate|handshake", re.I)


def classify_transport(kind: str, text: str) -> str:
    """`kind` is the httpx exception's class name (ConnectError, ReadTimeout, ...)."""
    if kind == "ConnectTimeout":
        return "connect_timeout"
    if kind in ("ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException", "Deadline"):
        return "timeout"
    if kind in ("RemoteProtocolError", "ReadError", "WriteError", "CloseError"):
        return "disconnected"
    for cls, pattern in (("dns", _DNS), ("refused", _REFUSED), ("unreachable", _UNREACHABLE), ("tls", _TLS)):
        if pattern.search(text):
            return cls
    return "connect_error"


def transport_message(cls: str, host: str, port: int | None, detail: str, timeout: float | None = None) -> str:
    where = f"{host}:{port}" if port else host
    after = f" within {timeout:g}s" if timeout else ""
    return {
        "dns": f"DNS lookup of {host} failed ({detail})",
        "refused": f"connection to {where} refused",
        "connect_timeout": f"no connection to {where}{after}",
        "unreachable": f"{where} is unreachable ({detail})",
        "tls": f"TLS handshake with {where} failed ({detail})",
        "connect_error": f"cannot connect to {where} ({detail})",
        "timeout": f"no complete answer from {where}{after}",
        "disconnected": f"{where} closed the connection without a complete answer ({detail})",
    }.get(cls, f"{cls}: {detail}")


TRANSPORT_HOPS = {"timeout": "model-server", "disconnected": "gateway"}


# ---- shapes ----------------------------------------------------------------------------------


def chat_shape(doc: Any) -> tuple[list[str], list[str]]:
    """(fatal problems, missing optional fields) of an OpenAI chat.completion body."""
    if not isinstance(doc, dict):
        return ["the body is not a JSON object"], []
    choices = doc.get("choices")
    if not isinstance(choices, list) or not choices:
        return ["no choices[]"], []
    first = choices[0] if isinstance(choices[0], dict) else {}
    msg = first.get("message")
    if not isinstance(msg, dict) or not isinstance(msg.get("content", ""), str | type(None)):
        return ["choices[0].message is missing"], []
    missing = [f for f in ("id", "object", "usage") if f not in doc]
    if not first.get("finish_reason"):
        missing.append("choices[0].finish_reason")
    if doc.get("object") not in (None, "chat.completion"):
        missing.append(f"object is {doc.get('object')!r}, not 'chat.completion'")
    return [], missing


def model_ids(doc: Any) -> list[str] | None:
    """Ids of an OpenAI `/v1/models` list; None when the body is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        return None
    return [str(m["id"]) for m in doc["data"] if isinstance(m, dict) and m.get("id")]


def parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def endpoint_of(headers: dict[str, str] | None) -> str | None:
    h = {k.lower(): v for k, v in (headers or {}).items()}
    for name in ENDPOINT_HEADERS:
        v = h.get(name, "")
        if v and not v.startswith("fail"):
            return v.split(",")[0].strip()
    return None


def epp_evidence(headers: dict[str, str] | None) -> list[str]:
    h = {k.lower(): v for k, v in (headers or {}).items()}
    return [f"{name}: {h[name]}" for name in EPP_HEADERS if h.get(name)]


def classify_record(rec: dict[str, Any], kind: str = "chat") -> Classification:
    """Classify a recorded exchange: its transport error, else its HTTP answer and body shape."""
    cls = rec.get("error_class")
    status = rec.get("status")
    if cls and not isinstance(status, int):
        return Classification(cls, rec.get("hop") or TRANSPORT_HOPS.get(cls, "network"),
                              str(rec.get("error") or cls))
    if not isinstance(status, int):
        return Classification("no_answer", "network", "no answer was recorded")
    body = rec.get("body_excerpt")
    doc = rec.get("response")
    text = body if isinstance(body, str) else json.dumps(doc) if doc is not None else ""
    c = classify_http(status, rec.get("headers") or {}, text, doc)
    if not c.ok:
        return c
    if cls in ("timeout", "disconnected"):  # headers came, the body did not
        return Classification(cls, TRANSPORT_HOPS[cls], str(rec.get("error") or cls))
    if kind == "stream":
        if rec.get("chunks", 0) == 0:
            why = "no `data:` chunks" + (f" ({_excerpt(body)})" if isinstance(body, str) and body else "")
            return Classification("not_openai", "httproute", f"HTTP {status} but the stream has {why}")
        return c
    if kind == "models":
        if model_ids(doc) is None:
            return Classification("not_openai", "httproute",
                                  f"HTTP {status} but the body is not an OpenAI model list"
                                  + (f" ({_excerpt(text, 80)})" if text else " (empty body)"))
        return c
    fatal, _ = chat_shape(doc)
    if doc is None or fatal:
        why = fatal[0] if doc is not None else ("empty body" if not text.strip() else f"not JSON: {_excerpt(text, 80)}")
        return Classification("not_openai", "httproute", f"HTTP {status} but the body is not an OpenAI chat completion ({why})")
    return c
