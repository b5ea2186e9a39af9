"""The recorded end-to-end chat completion as the reports show it: the request as a `curl` command
and the answer (docs/reports.md, "The end-to-end record"). Pure, no I/O."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.renderers.text_utils import MAX_BODY, clean, clip


@dataclass
class ModelOutcome:
    """One more model's chat completion (the record's `per_model`), or a model not probed."""

    model: str
    ok: bool
    status: int | None
    latency_s: float | None
    error: str  # the failure, or why it was not probed
    probed: bool = True

    @property
    def text(self) -> str:
        """`HTTP 200 in 0.41 s`, `HTTP 404: ...`, `not probed: ...`."""
        if not self.probed:
            return f"not probed: {self.error}"
        out = f"HTTP {self.status}" if self.status is not None else "no response"
        if self.latency_s is not None:
            out += f" in {self.latency_s:.2f} s"
        return out + (f": {self.error}" if self.error else "")


@dataclass
class E2E:
    ok: bool
    method: str
    url: str
    status: int | None
    latency_s: float | None
    error: str
    curl: str
    request: str
    response: str
    response_lang: str
    model: str = ""  # the first model's name ("" in a format-1 record)
    others: list[ModelOutcome] = field(default_factory=list)  # the other models probed, then those skipped

    @property
    def models_ok(self) -> int:
        return int(self.ok) + sum(o.ok for o in self.others)

    @property
    def models_probed(self) -> int:
        return 1 + sum(o.probed for o in self.others)

    @property
    def models_skipped(self) -> int:
        return sum(not o.probed for o in self.others)


def e2e_view(probe: Any) -> E2E | None:
    """The recorded chat completion (probes["e2e"]), or None when no request was sent.

    `request` is either the JSON body sent, or {"method", "headers", "body"}; the answer is
    `response` (parsed JSON) or `body_excerpt` (text). See docs/reports.md."""
    if not isinstance(probe, dict) or "request" not in probe or probe.get("not_run"):
        return None
    url = str(probe.get("url") or "")
    req = probe.get("request")
    headers: dict[str, Any] = {}
    method = str(probe.get("method") or "POST")
    if isinstance(req, dict) and ("body" in req or "headers" in req or "method" in req) and set(req) <= {"method", "headers", "body"}:
        method = str(req.get("method") or method)
        headers = dict(req.get("headers") or {})
        req = req.get("body")
    method = method.upper()
    status, latency, error = _answer(probe)
    if probe.get("hop"):
        error += f" (failing hop: {probe['hop']})"
    if isinstance(req, dict | list):
        request = json.dumps(req, indent=2, ensure_ascii=False)
        body = json.dumps(req, ensure_ascii=False)
    else:
        request = body = "" if req is None else str(req)
    curl = f"curl -sS -X {method} {shlex.quote(url)}"
    for name, value in headers.items():
        if str(name).lower() == "authorization":
            curl += ' \\\n  -H "Authorization: Bearer $API_KEY"'
        elif str(name).lower() != "content-type" or not body:
            curl += f" \\\n  -H {shlex.quote(f'{name}: {value}')}"
    if body:
        curl += f" \\\n  -H 'Content-Type: application/json' \\\n  -d {shlex.quote(body)}"
    resp = probe["response"] if "response" in probe else probe.get("body_excerpt")
    if isinstance(resp, dict | list):
        response, lang = json.dumps(resp, indent=2, ensure_ascii=False), "json"
    else:
        response, lang = ("" if resp is None else str(resp)), "text"
    if len(response) > MAX_BODY:
        response = response[:MAX_BODY] + f"\n… ({len(response) - MAX_BODY} more characters)"
    ok = status is not None and 200 <= status < 300 and not error
    return E2E(ok, method, clean(url), status, latency, clean(error.strip()), clean(curl), clip(request, MAX_BODY),
               clean(response), lang, clean(str(probe.get("model") or "")), _others(probe))


def _answer(rec: dict[str, Any]) -> tuple[int | None, float | None, str]:
    """An exchange's HTTP status, seconds and failure (`error_class: error`), each None/"" when absent."""
    status = rec.get("status")
    status = int(status) if isinstance(status, int | float | str) and str(status).isdigit() else None
    latency = rec.get("latency_s")
    latency = float(latency) if isinstance(latency, int | float) else None
    error = str(rec.get("error") or "")
    if rec.get("error_class") and str(rec["error_class"]) not in error:
        error = f"{rec['error_class']}: {error}" if error else str(rec["error_class"])
    return status, latency, error


def _outcome(rec: dict[str, Any]) -> ModelOutcome:
    status, latency, error = _answer(rec)
    ok = status is not None and 200 <= status < 300 and not error
    return ModelOutcome(clean(str(rec.get("model") or "?")), ok, status, latency, clean(clip(error, 200)))


def _others(probe: dict[str, Any]) -> list[ModelOutcome]:
    """The other models' outcomes (`per_model`), then the models not probed (`skipped_models`)."""
    out = [_outcome(r) for r in probe.get("per_model") or [] if isinstance(r, dict)]
    out += [ModelOutcome(clean(str(r.get("model") or "?")), False, None, None,
                         clean(clip(str(r.get("why") or "").removeprefix("not probed: ") or "no reason recorded", 200)),
                         probed=False)
            for r in probe.get("skipped_models") or [] if isinstance(r, dict)]
    return out
