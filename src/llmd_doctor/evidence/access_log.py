"""Gateway access logs: parsed entries, a summary by status and response flag, and the hop each failure
points at.

Formats read:
- Istio's text format (pilot/pkg/model/telemetry_logging.go, EnvoyTextLogFormat, Istio >= 1.9):
  `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
  %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
  %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
  "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
  %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%
  %ROUTE_NAME%` (https://github.com/istio/istio).
- Envoy's default text format, the same without the details, termination and transport-failure fields
  (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#default-format-string).
- Envoy JSON access logs with Istio's keys (`response_code`, `response_flags`, `upstream_host`, ...) or Envoy
  Gateway's (`:authority`, `x-envoy-origin-path`, `x-request-id`, ...), as kgateway and Envoy Gateway emit them.
- agentgateway's request log, text (`<time><TAB>info<TAB>request gateway=... route=... endpoint=...
  http.status=500 error="ext_proc failed: ..."`) or JSON with the same keys
  (crates/agentgateway/src/telemetry/log.rs in https://github.com/agentgateway/agentgateway; an example in
  https://github.com/kgateway-dev/kgateway/issues/12656).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .envoy_flags import EPP, MODEL_SERVER, PRIORITY, ROUTE, flag_meaning, split_flags
from .lines import clip

_ISTIO = re.compile(
    r'(?:\[(?P<time>[^\]]+)\] )?"(?P<method>\S+) (?P<path>\S+) (?P<proto>[^"]*)" (?P<code>\d+) (?P<flags>\S+) '
    r'(?P<details>\S+) (?P<term>\S+) "(?P<tfr>[^"]*)" (?P<rx>\S+) (?P<tx>\S+) (?P<dur>\S+) (?P<ust>\S+) '
    r'"(?P<xff>[^"]*)" "(?P<ua>[^"]*)" "(?P<rid>[^"]*)" "(?P<auth>[^"]*)" "(?P<uh>[^"]*)"(?P<tail>.*)')
_ENVOY = re.compile(
    r'(?:\[(?P<time>[^\]]+)\] )?"(?P<method>\S+) (?P<path>\S+) (?P<proto>[^"]*)" (?P<code>\d+) (?P<flags>\S+) '
    r'(?P<rx>\d+|-) (?P<tx>\d+|-) (?P<dur>\d+|-) (?P<ust>\S+) "(?P<xff>[^"]*)" "(?P<ua>[^"]*)" '
    r'"(?P<rid>[^"]*)" "(?P<auth>[^"]*)" "(?P<uh>[^"]*)"(?P<tail>.*)')
_AGW_TEXT = re.compile(r"(?P<time>\S+)\s+(?P<level>\w+)\s+request (?P<kv>.*)")
_KV = re.compile(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S*)')
_INFERENCE_PATH = re.compile(r"/v1/(?:chat/)?completions|/v1/embeddings|/v1/responses|/v1/messages|/generate")

_ALIASES = {
    "time": ("start_time", "time", "timestamp"),
    "method": ("method", ":method", "http.method"),
    "path": ("path", "x-envoy-origin-path", "x_envoy_original_path", "x-envoy-original-path", ":path", "http.path"),
    "protocol": ("protocol", "http.version"),
    "status": ("response_code", "http.status"),
    "flags": ("response_flags",),
    "details": ("response_code_details",),
    "termination": ("connection_termination_details",),
    "transport_failure": ("upstream_transport_failure_reason",),
    "upstream_host": ("upstream_host", "inferencepool.selected_endpoint", "endpoint"),
    "upstream_cluster": ("upstream_cluster",),
    "route": ("route_name", "route"),
    "authority": ("authority", ":authority", "http.host"),
    "request_id": ("request_id", "x-request-id", "x_request_id", "request.id"),
    "duration": ("duration",),
    "error": ("error",),
}


@dataclass(slots=True)
class AccessEntry:
    """One request as the gateway logged it."""

    format: str  # "istio-text" | "envoy-text" | "envoy-json" | "agentgateway"
    line: int
    status: int  # 0 when no response was sent
    method: str = ""
    path: str = ""
    flags: tuple[str, ...] = ()
    details: str = ""  # %RESPONSE_CODE_DETAILS%
    termination: str = ""  # %CONNECTION_TERMINATION_DETAILS%
    transport_failure: str = ""  # %UPSTREAM_TRANSPORT_FAILURE_REASON%
    upstream_host: str = ""  # the pod (ip:port) the request went to
    upstream_cluster: str = ""
    route: str = ""
    authority: str = ""
    request_id: str = ""
    duration_ms: float | None = None
    error: str = ""  # agentgateway's error field
    time: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Attribution:
    hop: str  # envoy_flags.HOPS, "" when the request did not fail
    reason: str


@dataclass
class AccessSummary:
    entries: int = 0
    inference_requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_flag: dict[str, int] = field(default_factory=dict)
    by_details: dict[str, int] = field(default_factory=dict)  # response code details of failures
    by_hop: dict[str, int] = field(default_factory=dict)  # failures per hop
    failing_upstreams: dict[str, int] = field(default_factory=dict)  # upstream host -> failures pointing at it
    ok_upstreams: dict[str, int] = field(default_factory=dict)  # upstream host -> successes
    examples: dict[str, str] = field(default_factory=dict)  # "503 UF" -> first such line, clipped


_EMPTY = frozenset({"-", "null", "None", ""})


def _dash(v: Any) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else str(v)
    return "" if s in _EMPTY else s


def _number(v: Any) -> float | None:
    s = v if isinstance(v, str) else str(v)
    if s in _EMPTY:
        return None
    try:
        return float(s.removesuffix("ms"))
    except ValueError:
        return None


def _status(v: Any) -> int:
    try:
        return int(str(v))
    except ValueError:
        return 0


def _from_text(line: str, no: int) -> AccessEntry | None:
    m = _ISTIO.match(line)
    fmt = "istio-text"
    if m is None:
        m = _ENVOY.match(line)
        fmt = "envoy-text"
    if m is None:
        return None
    g = m.groupdict("")
    tail = g["tail"].split()
    cluster, route = (tail[0] if tail else ""), (tail[5] if len(tail) > 5 else "")
    return AccessEntry(fmt, no, int(g["code"]), _dash(g["method"]), _dash(g["path"]), split_flags(g["flags"]),
                       _dash(g.get("details", "")), _dash(g.get("term", "")), _dash(g.get("tfr", "")),
                       _dash(g["uh"]), _dash(cluster), _dash(route), _dash(g["auth"]), _dash(g["rid"]),
                       _number(g["dur"]), "", g["time"], clip(line))


def _pick(obj: dict[str, Any], name: str) -> str:
    for key in _ALIASES[name]:
        if key in obj and obj[key] is not None:
            return _dash(obj[key])
    return ""


def _from_mapping(obj: dict[str, Any], fmt: str, no: int, raw: str) -> AccessEntry:
    return AccessEntry(fmt, no, _status(_pick(obj, "status")), _pick(obj, "method"), _pick(obj, "path"),
                       split_flags(_pick(obj, "flags")), _pick(obj, "details"), _pick(obj, "termination"),
                       _pick(obj, "transport_failure"), _pick(obj, "upstream_host"), _pick(obj, "upstream_cluster"),
                       _pick(obj, "route"), _pick(obj, "authority"), _pick(obj, "request_id"),
                       _number(_pick(obj, "duration")), _pick(obj, "error"), _pick(obj, "time"), clip(raw))


def _from_json(line: str, no: int) -> AccessEntry | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if "http.status" in obj:
        return _from_mapping(obj, "agentgateway", no, line)
    if "response_code" in obj:
        return _from_mapping(obj, "envoy-json", no, line)
    return None


def _from_agentgateway(line: str, no: int) -> AccessEntry | None:
    m = _AGW_TEXT.match(line)
    if m is None or "http.status=" not in line:
        return None
    kv = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v) for k, v in _KV.findall(m.group("kv"))}
    kv.setdefault("time", m.group("time"))
    return _from_mapping(kv, "agentgateway", no, line)


def parse_access_log(text: str | None) -> list[AccessEntry]:
    """Every access-log entry in `text`; other lines (the proxy's own logs) are skipped."""
    out: list[AccessEntry] = []
    for no, line in enumerate((text or "").split("\n")):
        line = line.strip()
        entry = None
        if line.startswith(("[", '"')):  # with or without the leading [%START_TIME%]
            entry = _from_text(line, no)
        elif line.startswith("{"):
            if '"response_code"' in line or '"http.status"' in line:
                entry = _from_json(line, no)
        elif "http.status=" in line:
            entry = _from_agentgateway(line, no)
        if entry is not None:
            out.append(entry)
    return out


def attribute(entry: AccessEntry) -> Attribution:
    """Which hop a failed request points at, and why; hop "" for a request that did not fail."""
    return _attribute(entry.flags, entry.details, entry.error, entry.status, entry.upstream_host)


@lru_cache(maxsize=4096)
def _attribute(flags: tuple[str, ...], details: str, error: str, status: int, upstream: str) -> Attribution:
    text = f"{details} {error}"
    if "ext_proc" in text or "ext-proc" in text or "extproc" in text:
        return Attribution(EPP, f"the endpoint picker (ext_proc) failed: {details or error}")
    ranked = sorted(flags, key=lambda f: PRIORITY.index(f) if f in PRIORITY else len(PRIORITY))
    for flag in ranked:
        if flag == "DC" and len(ranked) > 1:
            continue
        meaning = flag_meaning(flag)
        return Attribution(meaning.hop, f"{flag}: {meaning.meaning}")
    if details == "route_not_found":
        return Attribution(ROUTE, "no route matched the request")
    if details == "cluster_not_found":
        return Attribution(ROUTE, "the route's backend cluster does not exist")
    if status >= 500 or error:
        who = f" {upstream}" if upstream else ""
        if details == "via_upstream" or not details:
            return Attribution(MODEL_SERVER, f"the model server{who} answered {status}"
                               + (f" ({error})" if error else ""))
        return Attribution(MODEL_SERVER if upstream else ROUTE, f"{status} {details}".strip())
    if status == 404 and details == "via_upstream":
        return Attribution(MODEL_SERVER, "the model server answered 404 (unknown model name or path)")
    return Attribution("", "")


def summarize(entries: Iterable[AccessEntry]) -> AccessSummary:
    out = AccessSummary()
    statuses: Counter[int] = Counter()
    flags: Counter[str] = Counter()
    details: Counter[str] = Counter()
    hops: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for e in entries:
        out.entries += 1
        out.inference_requests += bool(_INFERENCE_PATH.search(e.path))
        statuses[e.status] += 1
        for f in e.flags:
            flags[f] += 1
        hop = attribute(e).hop
        if hop:
            hops[hop] += 1
            if e.details:
                details[e.details] += 1
            if e.upstream_host and hop == MODEL_SERVER:
                failing[e.upstream_host] += 1
            examples.setdefault(f"{e.status} {','.join(e.flags) or '-'}", e.raw)
        elif e.upstream_host and e.status < 400:
            ok[e.upstream_host] += 1
    out.by_status = dict(sorted(statuses.items()))
    out.by_flag = dict(flags.most_common())
    out.by_details = dict(details.most_common())
    out.by_hop = dict(hops.most_common())
    out.failing_upstreams = dict(failing.most_common())
    out.ok_upstreams = dict(ok.most_common())
    out.examples = examples
    return out
