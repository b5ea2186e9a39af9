"""The config file `.llmd-doctor.yaml`: defaults for flags, expectations, and suppressions.

Found in the working directory or given with `--config`. Flags on the command line win over the
file. A suppression mutes matching results (they stay visible, marked muted, and no longer count
for the exit code or the verdict) until it expires; an expired suppression mutes nothing and warns.

    namespaces: [llm-d]
    context: rosa-prod
    gatewayUrl: http://localhost:8000
    model: meta-llama/Llama-3.2-3B-Instruct
    failOn: warn
    requestTimeout: 10s
    timeout: 2m                            # total deadline of a live run (--timeout)
    docsUrl: https://example.org/llmd-doctor/checks.html   # docs references also give <docsUrl>#<check>
    only: ["*"]
    skip: [e2e.routing]
    expect:
      replicas: {Deployment/llm-d/ms-llm-d-modelservice-decode: 3}
      images: {Deployment/llm-d/ms-llm-d-epp: ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1}
    suppress:
      - check: httproute.backends
        object: HTTPRoute/llm-d/*
        reason: routed straight to decode until the EPP is fixed (JIRA-123)
        expires: 2026-12-31
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from llmd_doctor.docsref import is_url
from llmd_doctor.model import CheckResult, Status

DEFAULT_NAME = ".llmd-doctor.yaml"
#: A duration as kubectl writes it: `10`, `10s`, `1m`, `500ms` (the CLI's parse_duration reads it).
DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*")
_KNOWN_KEYS = {"namespaces", "context", "kubeconfig", "gatewayUrl", "model", "failOn", "only", "skip",
               "expect", "suppress", "requestTimeout", "timeout", "docsUrl"}


class ConfigError(Exception):
    """The config file is invalid: a one-line message naming the file and the key."""


@dataclass(frozen=True)
class Suppression:
    check: str  # id or glob
    reason: str
    expires: date | None = None
    object: str | None = None  # glob over "Kind/namespace/name"

    def matches(self, result: CheckResult) -> bool:
        if not fnmatch.fnmatchcase(result.id, self.check):
            return False
        if self.object is None:
            return True
        objects = result.objects or [f.object for f in result.findings if f.object]
        return bool(objects) and all(fnmatch.fnmatchcase(o, self.object) for o in objects)

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        target = self.check + (f" on {self.object}" if self.object else "")
        until = f" until {self.expires.isoformat()}" if self.expires else ""
        return f"{target}{until}: {self.reason}"


@dataclass
class Config:
    path: str | None = None
    namespaces: list[str] = field(default_factory=list)
    context: str | None = None
    kubeconfig: str | None = None
    gateway_url: str | None = None
    model: str | None = None
    fail_on: str | None = None
    request_timeout: str | None = None
    timeout: str | None = None
    docs_url: str | None = None
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)
    suppress: list[Suppression] = field(default_factory=list)


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where} must be a string or a list of strings")


def _parse_suppression(entry: Any, where: str) -> Suppression:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a mapping with check, reason and expires")
    unknown = set(entry) - {"check", "object", "reason", "expires"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    check, reason = entry.get("check"), entry.get("reason")
    if not isinstance(check, str) or not check:
        raise ConfigError(f"{where}.check must name a check id or glob")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}.reason is required: say why this is accepted")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise ConfigError(f"{where}.expires must be a date (YYYY-MM-DD), not {expires!r}") from None
    if expires is not None and not isinstance(expires, date):
        raise ConfigError(f"{where}.expires must be a date (YYYY-MM-DD)")
    obj = entry.get("object")
    if obj is not None and not isinstance(obj, str):
        raise ConfigError(f"{where}.object must be a string (Kind/namespace/name, globs allowed)")
    return Suppression(check=check, reason=reason.strip(), expires=expires, object=obj)


def parse(doc: Any, path: str | None = None) -> Config:
    name = path or DEFAULT_NAME
    if doc is None:
        return Config(path=path)
    if not isinstance(doc, dict):
        raise ConfigError(f"{name}: the top level must be a mapping")
    unknown = set(doc) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KNOWN_KEYS))})")
    fail_on = doc.get("failOn")
    if fail_on is not None and fail_on not in ("warn", "fail", "never"):
        raise ConfigError(f"{name}: failOn must be warn, fail or never")
    expect = doc.get("expect") or {}
    if not isinstance(expect, dict):
        raise ConfigError(f"{name}: expect must be a mapping")
    for key in ("replicas", "images"):
        if key in expect and not isinstance(expect[key], dict):
            raise ConfigError(f"{name}: expect.{key} must map Kind/namespace/name to a value")
    suppress = doc.get("suppress") or []
    if not isinstance(suppress, list):
        raise ConfigError(f"{name}: suppress must be a list")
    for key in ("context", "kubeconfig", "gatewayUrl", "model", "requestTimeout", "timeout", "docsUrl"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise ConfigError(f"{name}: {key} must be a string")
    for key in ("requestTimeout", "timeout"):
        if doc.get(key) is not None and not DURATION.fullmatch(doc[key]):
            raise ConfigError(f"{name}: {key} must be a duration (e.g. 10s, 2m), not {doc[key]!r}")
    docs_url = doc.get("docsUrl")
    if docs_url is not None and not is_url(docs_url):
        raise ConfigError(f"{name}: docsUrl must be an http:// or https:// URL, not {docs_url!r}")
    return Config(
        path=path,
        namespaces=_str_list(doc.get("namespaces"), f"{name}: namespaces"),
        context=doc.get("context"),
        kubeconfig=doc.get("kubeconfig"),
        gateway_url=doc.get("gatewayUrl"),
        model=doc.get("model"),
        fail_on=fail_on,
        request_timeout=doc.get("requestTimeout"),
        timeout=doc.get("timeout"),
        docs_url=docs_url,
        only=_str_list(doc.get("only"), f"{name}: only"),
        skip=_str_list(doc.get("skip"), f"{name}: skip"),
        expect=dict(expect),
        suppress=[_parse_suppression(e, f"{name}: suppress[{i}]") for i, e in enumerate(suppress)],
    )


def load(path: str | None = None, cwd: Path | None = None) -> Config:
    """The given file, else `.llmd-doctor.yaml` in the working directory, else an empty Config."""
    if path is None:
        candidate = (cwd or Path.cwd()) / DEFAULT_NAME
        if not candidate.is_file():
            return Config()
        path = str(candidate)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from e
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML ({first})") from e
    return parse(doc, path)


def apply_suppressions(results: list[CheckResult], suppressions: list[Suppression],
                       today: date | None = None) -> list[str]:
    """Mute matching fail/warn/error results in place; return warnings (expired suppressions)."""
    today = today or date.today()
    warnings = []
    for s in suppressions:
        if s.expired(today):
            warnings.append(f"suppression expired on {s.expires.isoformat()}: {s.describe()}")  # type: ignore[union-attr]
            continue
        for r in results:
            if r.status in (Status.FAIL, Status.WARN, Status.ERROR) and r.suppressed is None and s.matches(r):
                r.suppressed = s.describe()
    return warnings
