"""What the endpoint picker's log says it did: requests scheduled and where, errors, pods, configuration.

Reads the EPP of kubernetes-sigs/gateway-api-inference-extension (GIE) and of llm-d-inference-scheduler
(llm-d-router, which embeds it), in zap JSON or console encoding. Message texts, from the upstream code:
- per request: "Request handled" with model/incomingModelName, targetModel and endpoint
  (pkg/epp/requestcontrol/director.go: logged at V(2) up to GIE v0.5, at V(3) from v1.0); "EPP received
  request" at V(2) from GIE v1.4 (pkg/epp/handlers/server.go).
- pods: "Pod added" / "Pod already exists" (pkg/epp/datastore/datastore.go, pkg/epp/controller/
  pod_reconciler.go), "Starting refresher" / "Stopping refresher" (pkg/epp/backend/metrics/pod_metrics.go),
  "Removing pod" / "Removing endpoint" (datastore.go).
- configuration: "Flags processed", "Configuration file loaded", "Loaded configuration", "loaded
  configuration from file/text successfully", "parsed config" (cmd/epp/runner/runner.go, config loader).
- errors are returned as `inference gateway: <Code> - <Msg>` (pkg/epp/util/error/error.go) and logged by
  "Error handling request" / "Failed to process request" (handlers/server.go): "no pods available in
  datastore" (handlers/request.go), "failed to find candidate pods for serving the request" (director.go,
  v0.5-v1.0; "failed to find endpoint candidates ..." later), "failed to find target pod: ..." (director.go),
  "no pods available for the given request" (scheduling/framework/scheduler_profile.go), "system saturated,
  sheddable request dropped" (director.go / admission.go), "model not found in request body".
All at https://github.com/kubernetes-sigs/gateway-api-inference-extension (tags v0.5.1, v1.0.0, v1.5.0) and
https://github.com/llm-d/llm-d-inference-scheduler.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .lines import Log, clip, fold
from .structured import ERROR_LEVELS, Entry, json_field, normalize_level, parse_entry

_REQUEST_HANDLED = "Request handled"
_REQUEST_RECEIVED = "EPP received request"
_POD_SEEN = ("Pod added", "Pod already exists", "Starting refresher")
_POD_GONE = ("Removing pod", "Removing endpoint", "Stopping refresher")
_CONFIG = ("Configuration file loaded", "Loaded configuration", "loaded configuration from file/text successfully",
           "parsed config", "Configuration with defaults set")
# Informational lines that still say something is wrong (logged at Info/V(n) by upstream).
NOTICES = ("Filter eliminated all endpoints", "failed to run scheduler profile",
           "No container ports match pool targetPorts", "Pool is not initialized",
           "InferencePool not found. Clearing the datastore", "InferencePool is marked for deletion",
           "Skipping reconciling Pod because the InferencePool is not available yet",
           "No associated InferenceObjective found", "No associated inferenceModel found", "Not scraping metric")
# Literal markers of the lines read (any case); the rest of the log is never decoded.
_MARKS = tuple({m.lower() for m in (_REQUEST_HANDLED, _REQUEST_RECEIVED, *_POD_SEEN, *_POD_GONE, *_CONFIG,
                                    *NOTICES, "Flags processed", "GIE build", "error", "fatal", "panic")})

# Error categories, first match wins, with the hop each points at.
ERROR_CATEGORIES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("no-endpoint", re.compile(r"no pods available|failed to find (?:candidate pods|endpoint candidates|target "
                               r"pod|target endpoint)|failed to run any scheduler profile|eliminated all",
                               re.IGNORECASE),
     "the EPP found no model-server pod for the request (none Ready and selected by the pool, or all filtered)"),
    ("shed", re.compile(r"saturated|request dropped|timed out in queue", re.IGNORECASE),
     "the EPP dropped the request: the pool is saturated (queue/KV-cache thresholds)"),
    ("bad-request", re.compile(r"BadRequest|not found in request|unmarshal", re.IGNORECASE),
     "the request body is not what the EPP expects (no model, not JSON, unsupported API)"),
    ("metrics", re.compile(r"refresh(?:ed)? metrics|fetch metrics|metric family|unexpected status code from",
                           re.IGNORECASE),
     "the EPP cannot scrape the model servers' metrics (port, path, scheme or metric names)"),
    ("kubernetes-api", re.compile(r"forbidden|Failed to watch|Unable to get|failed to list|cannot (?:list|watch|get)",
                                  re.IGNORECASE),
     "the EPP cannot read the pool, objectives or pods from the API server (RBAC, missing CRD)"),
    ("ext-proc", re.compile(r"Cannot receive stream|Send failed|error sending response|Failed to process request"
                            r"|stream|ext.?proc", re.IGNORECASE),
     "the gateway-to-EPP ext_proc stream failed"),
    ("startup", re.compile(r"Failed to (?:validate|parse|setup|create|register|get)|failed to (?:create|load|init)",
                           re.IGNORECASE),
     "the EPP failed while starting (flags, configuration, controllers)"),
)
_NAMESPACED = re.compile(r"NamespacedName:(?P<nn>[^\s}]+)")
_ADDRESS = re.compile(r"Address:(?P<addr>[^\s}]+)")
_PORT = re.compile(r"Port:(?P<port>\d+)")


@dataclass
class EppActivity:
    """The endpoint picker's own account of its work, from one log."""

    pool: str | None = None  # "namespace/name" from the flags
    verbosity: int | None = None  # --v
    build: str | None = None  # "GIE build" build-ref (the llm-d scheduler's own version in its images)
    config_loaded: tuple[str, ...] = ()  # configuration lines seen, in order
    requests_received: int = 0
    requests_handled: int = 0
    endpoints: dict[str, int] = field(default_factory=dict)  # target endpoint (pod, else ip:port) -> requests
    models: dict[str, int] = field(default_factory=dict)  # requested model -> requests
    errors: dict[str, int] = field(default_factory=dict)  # error text (variable parts folded) -> count
    error_examples: dict[str, str] = field(default_factory=dict)  # error text -> first line, clipped
    error_categories: dict[str, int] = field(default_factory=dict)  # ERROR_CATEGORIES name -> count
    notices: dict[str, int] = field(default_factory=dict)  # NOTICES text -> count
    pods_seen: tuple[str, ...] = ()
    pods_removed: tuple[str, ...] = ()
    last_activity: str | None = None  # the last request line, clipped
    last_activity_time: str | None = None

    @property
    def requests_visible(self) -> bool | None:
        """Whether this log would show requests if there were any (--v high enough), None if unknown."""
        if self.requests_handled or self.requests_received:
            return True
        if self.verbosity is None:
            return None
        if self.verbosity >= 3:
            return True
        return False if self.verbosity <= 1 else None  # --v=2: only GIE < v1.0 and >= v1.4 log requests

    @property
    def handled_any(self) -> bool:
        return bool(self.requests_handled or self.requests_received)


def error_category(text: str) -> tuple[str, str]:
    """(category, what it points at) for an EPP error text."""
    for name, rx, meaning in ERROR_CATEGORIES:
        if rx.search(text):
            return name, meaning
    return "other", "an EPP error (see the message)"


def _pod_of(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("name"):
        ns = value.get("namespace")
        return f"{ns}/{value['name']}" if ns else str(value["name"])
    if isinstance(value, str) and value:
        m = _NAMESPACED.search(value)
        if m:
            return m.group("nn")
        return value if "/" in value and " " not in value else None
    return None


def _endpoints(value: Any) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    if "NamespacedName:" in value:
        nn = _NAMESPACED.search(value)
        return [nn.group("nn")] if nn else []
    if "Address:" in value:
        addr, port = _ADDRESS.search(value), _PORT.search(value)
        return [addr.group("addr") + (f":{port.group('port')}" if port else "")] if addr else []
    return [v.strip() for v in value.split(",") if v.strip()]


def _flags(entry: Entry, out: EppActivity) -> None:
    flags = entry.fields.get("flags")
    if not isinstance(flags, dict):
        return
    name = flags.get("poolName", flags.get("pool-name"))
    ns = flags.get("poolNamespace", flags.get("pool-namespace"))
    if name:
        out.pool = f"{ns}/{name}" if ns else str(name)
    v = flags.get("v")
    if isinstance(v, int) and not isinstance(v, bool):
        out.verbosity = v


class _Tally:
    """Counters filled while reading one log."""

    def __init__(self) -> None:
        self.endpoints: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.notices: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.seen: dict[str, None] = {}
        self.gone: dict[str, None] = {}
        self.config: list[str] = []
        self._keys: dict[str, tuple[str, str]] = {}  # error text -> (folded, category), computed once per text

    def error(self, text: str, raw: str) -> None:
        known = self._keys.get(text)
        if known is None:
            known = self._keys[text] = (fold(text), error_category(text)[0])
        key, category = known
        self.errors[key] += 1
        if key not in self.examples:
            self.examples[key] = clip(raw)
        self.categories[category] += 1


def _request(out: EppActivity, tally: _Tally, msg: str, endpoint: str | None, model: str | None,
             ts: str | None, raw: str) -> None:
    if msg == _REQUEST_HANDLED:
        out.requests_handled += 1
        for ep in _endpoints(endpoint):
            tally.endpoints[ep] += 1
        if model:
            tally.models[model] += 1
    else:
        out.requests_received += 1
    out.last_activity = clip(raw)
    out.last_activity_time = ts


def _fast_json(raw: str, out: EppActivity, tally: _Tally) -> bool:
    """The hot lines of a zap JSON log (errors, requests) read without decoding the JSON; False if not one."""
    level = json_field(raw, "level") or json_field(raw, "severity") or ""
    msg = json_field(raw, "msg") or json_field(raw, "message") or ""
    if normalize_level(level)[0] in ERROR_LEVELS:
        err = json_field(raw, "error") or ""
        text = f"{msg}: {err}" if msg and err else (msg or err)
        if text:
            tally.error(text, raw)
        return True
    if msg in (_REQUEST_HANDLED, _REQUEST_RECEIVED):
        model = json_field(raw, "incomingModelName") or json_field(raw, "model")
        _request(out, tally, msg, json_field(raw, "endpoint"), model, json_field(raw, "ts"), raw)
        return True
    return False


def _other(entry: Entry, out: EppActivity, tally: _Tally) -> None:
    msg, fields = entry.msg, entry.fields
    if entry.level in ERROR_LEVELS:
        if entry.text:
            tally.error(entry.text, entry.raw)
    elif msg in (_REQUEST_HANDLED, _REQUEST_RECEIVED):
        model = fields.get("incomingModelName", fields.get("model"))
        ts = fields.get("ts")
        _request(out, tally, msg, fields.get("endpoint"), model if isinstance(model, str) else None,
                 str(ts) if ts is not None else None, entry.raw)
    elif msg in _POD_SEEN:
        pod = (_pod_of(fields.get("Pod")) or _pod_of(fields.get("name")) or _pod_of(fields.get("pod"))
               or _pod_of(fields.get("metadata")))
        if pod:
            tally.seen[pod] = None
            tally.gone.pop(pod, None)
    elif msg in _POD_GONE:
        pod = (_pod_of(fields.get("pod")) or _pod_of(fields.get("endpoint")) or _pod_of(fields.get("metadata"))
               or _pod_of(fields.get("name")))
        if pod:
            tally.gone[pod] = None
    elif msg in _CONFIG:
        tally.config.append(msg)
    elif msg == "Flags processed":
        _flags(entry, out)
    elif msg == "GIE build":
        ref = fields.get("build-ref")
        out.build = str(ref) if ref else out.build
    else:
        notice = next((n for n in NOTICES if msg.startswith(n)), None)
        if notice:
            tally.notices[notice] += 1


def epp_activity(log: str | None) -> EppActivity:
    """The EPP's activity in one log (an empty EppActivity for an empty or foreign log)."""
    out = EppActivity()
    if not log:
        return out
    text = Log(log)
    tally = _Tally()
    for i in text.find(_MARKS, fold_case=True):
        raw = text.lines[i]
        if raw.startswith("{") and _fast_json(raw, out, tally):
            continue
        entry = parse_entry(text.line(i))
        if entry is not None:
            _other(entry, out, tally)
    out.endpoints = dict(tally.endpoints.most_common())
    out.models = dict(tally.models.most_common())
    out.errors = dict(tally.errors.most_common())
    out.error_examples = {k: tally.examples[k] for k in out.errors}
    out.error_categories = dict(tally.categories.most_common())
    out.notices = dict(tally.notices.most_common())
    out.pods_seen = tuple(tally.seen)
    out.pods_removed = tuple(tally.gone)
    out.config_loaded = tuple(tally.config)
    return out
