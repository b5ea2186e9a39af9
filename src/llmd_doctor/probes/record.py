"""The probe records: plain JSON, kept in `snapshot.probes` and written to bundles as probes/<name>.json.

One exchange (one HTTP request and what came back):

    {"url": "http://gw/v1/chat/completions",
     "request": {"method": "POST", "headers": {"content-type": "application/json",
                                               "authorization": "Bearer <redacted>"}, "body": {...}},
     "status": 200,                       # absent when no answer came
     "headers": {"server": "istio-envoy", "x-went-into-resp-headers": "true", ...},   # selected ones
     "response": {...},                   # the parsed JSON body, or
     "body_excerpt": "no healthy upstream",   # the first characters of a body that is not JSON
     "latency_s": 0.84, "ttft_s": 0.21,   # ttft_s only when streaming
     "error_class": null, "error": null, "hop": null}

The records (top level, each also carries "version", "started_at" and "target"):
- `e2e`: the non-streaming chat completion exchange of the first model, plus "stream" (the
  streaming exchange, with "chunks", "content_excerpt", "done"); or {"not_run": "why"} when nothing
  could be sent. Format 2 adds to every chat exchange "model", "pools" (the refs of the pools it
  should reach), "model_sources" (what named it) and "endpoint" (the one its answer names), and to
  the record "per_model" (the other models' exchanges, same shape, without "target"),
  "skipped_models" ([{"model", "why"}]: over the cap, out of time) and "models_cap". A format-1
  record (no "per_model") is one model.
- `models`: the GET /v1/models exchange, plus "models" (the ids listed), "expected" (the first
  model) and, format 2, "expected_models" (the models the topology names).
- `routing`: {"epp_evidence": ["x-went-into-resp-headers: true", ...], "prefix": {"url", "request"
  (the template, sent N times with "Question <i>"), "prefix_chars", "n", "requests": [{"status",
  "headers", "latency_s", "endpoint", "error_class", "hop", "error", "body_excerpt"}], "succeeded",
  "endpoints": {endpoint: count}, "identified", "rate", "model"} or {"skipped": "why"}}; or
  {"not_run": "why"}.

"target" (probes/target.py `Target`) says where the probe went and, format 2, "public" (an address
from the Gateway's status that is neither cluster-internal nor private), "api_key" ("sent" to
--gateway-url, or "withheld") and "notices" (the lines said on stderr before sending).

`not_run` means nothing could be sent (no Gateway, no address, an address this machine cannot
reach — the reason says how to reach it); the checks then `skip` with that reason.

The API key is never recorded: the Authorization header is written as `Bearer <redacted>`, and
the key's text is scrubbed from anything an answer echoes back.
"""

from __future__ import annotations

import json
from typing import Any

RECORD_VERSION = 2
REDACTED = "<redacted>"
BODY_EXCERPT_CHARS = 2000
MAX_JSON_CHARS = 64_000

# Response headers worth keeping: who answered, and whether the endpoint picker was in the path.
KEEP_HEADERS = ("server", "content-type", "content-length", "date", "x-request-id", "via", "retry-after")
KEEP_PREFIXES = ("x-gateway-", "x-inference-", "x-envoy-", "x-went-", "x-conformance-", "x-llm-d-", "target-pod",
                 "x-backend", "x-prefiller")


def selected_headers(headers: Any) -> dict[str, str]:
    """The headers of an answer worth recording (lower-cased names; never cookies or auth)."""
    out: dict[str, str] = {}
    for name, value in headers.items() if hasattr(headers, "items") else headers:
        n = str(name).lower()
        if n in KEEP_HEADERS or n.startswith(KEEP_PREFIXES):
            out[n] = str(value) if n not in out else f"{out[n]}, {value}"
    return out


def request_record(method: str, url: str, body: Any, has_key: bool, stream: bool = False) -> dict[str, Any]:
    headers = {"accept": "text/event-stream" if stream else "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
    if has_key:
        headers["authorization"] = f"Bearer {REDACTED}"
    req: dict[str, Any] = {"method": method, "headers": headers}
    if body is not None:
        req["body"] = body
    return {"url": url, "request": req}


def put_body(rec: dict[str, Any], text: str, doc: Any) -> None:
    """The parsed JSON body when it is one (and not huge), else the first characters of the text."""
    if doc is not None and len(text) <= MAX_JSON_CHARS:
        rec["response"] = doc
    elif text:
        rec["body_excerpt"] = text[:BODY_EXCERPT_CHARS]
    else:
        rec["body_excerpt"] = ""


def scrub(value: Any, secret: str | None) -> Any:
    """Replace the secret wherever it appears in a record (strings, nested dicts and lists)."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, REDACTED)
    if isinstance(value, dict):
        return {scrub(k, secret): scrub(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secret) for v in value]
    return value


def dump(rec: dict[str, Any]) -> str:
    """A record as the text of a bundle's probes/<name>.json."""
    return json.dumps(rec, indent=2, sort_keys=False, default=str) + "\n"
