"""Structured log records: zap/logr JSON and console lines (the EPP, controller-runtime, Envoy Gateway),
klog text lines (client-go, many controllers), logrus `level=` lines, and vLLM's Python-logging lines.

Formats:
- zap JSON (go.uber.org/zap, as controller-runtime configures it): `{"level":"error","ts":...,"logger":...,
  "caller":"handlers/server.go:226","msg":"...","error":"..."}`; logr's `V(n)` shows as `"level":"Level(-n)"`.
  Google-style encoders write `"severity"`/`"message"` instead.
- zap console: `2025-05-07T04:01:09Z<TAB>ERROR<TAB>[logger<TAB>]caller<TAB>msg<TAB>{json fields}`, e.g. in
  https://github.com/kubernetes-sigs/gateway-api-inference-extension/issues/790
- klog: `E0913 03:44:36.844849       1 reflector.go:138] msg` (https://github.com/kubernetes/klog, header
  format `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`).
- logrus: `time="..." level=error msg="..."`.
- Envoy: `[2025-01-15 10:00:00.123][1][critical][main] [source/server/server.cc:131] msg` (its default
  `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v`); Istio's proxies write the zap-console-like
  `time<TAB>critical<TAB>envoy main ...<TAB>msg`. `critical` is the level Envoy exits on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .lines import LogLine

ERROR_LEVELS = frozenset({"error", "fatal", "panic", "dpanic", "critical"})
FATAL_LEVELS = frozenset({"fatal", "panic", "dpanic", "critical"})

_JSON_LEVEL = re.compile(r'"(?:level|severity|lvl)"\s*:\s*"(?P<level>[^"]+)"')
_V_LEVEL = re.compile(r"level\((-?\d+)\)", re.IGNORECASE)
_CONSOLE = re.compile(
    r"(?P<ts>\S+)\s*\t\s*(?P<level>DEBUG|INFO|WARN|WARNING|ERROR|DPANIC|PANIC|FATAL|CRITICAL|LEVEL\(-?\d+\)|"
    r"debug|info|warn|warning|error|dpanic|panic|fatal|critical|Level\(-?\d+\))\s*\t(?P<rest>.*)")
_ENVOY = re.compile(r"\[[^\]]+\]\[\d+\]\[(?P<level>trace|debug|info|warning|warn|error|critical)\]\[(?P<logger>[^\]]*)\]"
                    r"\s*(?:\[(?P<caller>[^\]\s]+:\d+)\]\s*)?(?P<msg>.*)")
_CALLER = re.compile(r"[\w.\-/]+\.go:\d+")
_ISTIO_ENVOY = re.compile(r"envoy (?P<logger>\S+) (?P<caller>\S+:\d+)")
_KLOG = re.compile(
    r"(?P<sev>[IWEF])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ (?P<caller>[^\s\]]+:\d+)\] (?P<msg>.*)")
_LOGRUS_LEVEL = re.compile(r'(?:^|\s)level=(?P<level>\w+)')
_LOGRUS_KV = re.compile(r'(\w[\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')

_KLOG_LEVELS = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_VLLM_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "WARN": "warn", "ERROR": "error",
                "CRITICAL": "critical"}


@dataclass(frozen=True)
class Entry:
    """One structured record."""

    no: int
    format: str  # "zap-json" | "zap-console" | "klog" | "logrus" | "vllm" | "envoy"
    level: str  # "debug" | "info" | "warn" | "error" | "dpanic" | "panic" | "fatal" | "critical"
    msg: str
    error: str = ""
    caller: str = ""
    logger: str = ""
    verbosity: int | None = None  # logr V(n) for zap's "Level(-n)"
    fields: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    @property
    def text(self) -> str:
        """`msg: error`, or the one that is set."""
        if self.msg and self.error:
            return f"{self.msg}: {self.error}"
        return self.msg or self.error


@lru_cache(maxsize=256)
def normalize_level(name: str) -> tuple[str, int | None]:
    """("error", None) for "ERROR"; ("info", 2) for zap's "Level(-2)" (logr V(2))."""
    low = name.strip().lower()
    m = _V_LEVEL.fullmatch(low)
    if m:  # logr V(n) is zap level -n: informational
        return "info", -int(m.group(1))
    if low in ("warning", "warn"):
        return "warn", None
    if low in ("err",):
        return "error", None
    return low, None


def _str(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def json_field(text: str, key: str) -> str | None:
    """The string value of `"key":"..."` in a zap JSON line (its first occurrence), without decoding the line.

    zap writes compact JSON with the standard keys first, so this is exact for them; None for other types.
    """
    marker = f'"{key}":"'
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = text.find('"', start)
    while end > 0 and text[end - 1] == "\\":  # an escaped quote unless the backslash is itself escaped
        run = len(text[start:end]) - len(text[start:end].rstrip("\\"))
        if run % 2 == 0:
            break
        end = text.find('"', end + 1)
    if end < 0:
        return None
    value = text[start:end]
    if "\\" in value:
        try:
            return json.loads(f'"{value}"')
        except ValueError:
            return value
    return value


def parse_json(line: LogLine) -> Entry | None:
    """A zap/logr JSON record (`"level"` or `"severity"`), or None."""
    try:
        obj = json.loads(line.text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    raw_level = obj.get("level", obj.get("severity", obj.get("lvl")))
    if not isinstance(raw_level, str):
        return None
    level, v = normalize_level(raw_level)
    msg = obj.get("msg", obj.get("message", ""))
    err = obj.get("error", obj.get("err", ""))
    return Entry(line.no, "zap-json", level, _str(msg), _str(err), _str(obj.get("caller", "")),
                 _str(obj.get("logger", "")), v, obj, line.raw)


def parse_console(line: LogLine) -> Entry | None:
    """A zap console record: time, level, [logger,] caller, message and a JSON object of fields."""
    m = _CONSOLE.match(line.text)
    if not m:
        return None
    level, v = normalize_level(m.group("level"))
    parts = [p.strip() for p in m.group("rest").split("\t")]
    fields: dict[str, Any] = {}
    if parts and parts[-1].startswith("{"):
        try:
            loaded = json.loads(parts[-1])
            if isinstance(loaded, dict):
                fields = loaded
                parts = parts[:-1]
        except ValueError:
            pass
    logger = caller = ""
    istio = _ISTIO_ENVOY.fullmatch(parts[0]) if parts else None
    if istio:  # Istio's proxy: `envoy <logger> <file:line>`, the message, then `thread=N`
        logger, caller = istio.group("logger"), istio.group("caller")
        parts = [x for x in parts[1:] if not x.startswith("thread=")]
    elif len(parts) >= 2 and _CALLER.fullmatch(parts[1]):
        logger, caller, parts = parts[0], parts[1], parts[2:]
    elif parts and _CALLER.fullmatch(parts[0]):
        caller, parts = parts[0], parts[1:]
    msg = " ".join(parts)
    return Entry(line.no, "zap-console", level, msg, _str(fields.get("error", "")), caller, logger, v,
                 fields, line.raw)


def parse_klog(line: LogLine) -> Entry | None:
    m = _KLOG.match(line.text)
    if not m:
        return None
    return Entry(line.no, "klog", _KLOG_LEVELS[m.group("sev")], m.group("msg"), caller=m.group("caller"),
                 raw=line.raw)


def parse_logrus(line: LogLine) -> Entry | None:
    m = _LOGRUS_LEVEL.search(line.text)
    if not m or "msg=" not in line.text:
        return None
    kv = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v)
          for k, v in _LOGRUS_KV.findall(line.text)}
    level, v = normalize_level(kv.get("level", ""))
    return Entry(line.no, "logrus", level, kv.get("msg", ""), kv.get("error", kv.get("err", "")),
                 verbosity=v, fields=kv, raw=line.raw)


def parse_envoy(line: LogLine) -> Entry | None:
    m = _ENVOY.match(line.text)
    if not m:
        return None
    level, _ = normalize_level(m.group("level"))
    return Entry(line.no, "envoy", level, m.group("msg").strip(), caller=m.group("caller") or "",
                 logger=m.group("logger"), raw=line.raw)


def parse_entry(line: LogLine) -> Entry | None:
    """The structured record on `line` in any of the formats above, or None for free text."""
    text = line.text
    if line.level:  # vLLM's Python logging
        level = _VLLM_LEVELS.get(line.level, "info")
        return Entry(line.no, "vllm", level, text.strip(), caller=line.src, raw=line.raw)
    if text.startswith("{"):
        return parse_json(line)
    first = text[:1]
    if first == "[" and (envoy := parse_envoy(line)) is not None:
        return envoy
    if first in "IWEF" and len(text) > 5 and text[1:5].isdigit():
        return parse_klog(line)
    if "\t" in text:
        return parse_console(line)
    if "level=" in text:
        return parse_logrus(line)
    return None


def quick_level(line: LogLine) -> str:
    """A cheap guess of the record's level without decoding JSON ("" when not a record or not known).

    Lets callers decode only the lines they need on multi-megabyte logs.
    """
    text = line.text
    if line.level:
        return _VLLM_LEVELS.get(line.level, "info")
    if text.startswith("{"):
        m = _JSON_LEVEL.search(text)
        return normalize_level(m.group("level"))[0] if m else ""
    first = text[:1]
    if first == "[" and (m := _ENVOY.match(text)):
        return normalize_level(m.group("level"))[0]
    if first in "IWEF" and len(text) > 5 and text[1:5].isdigit() and text[5:6] == " ":
        return _KLOG_LEVELS[first]
    if "\t" in text:
        m = _CONSOLE.match(text)
        return normalize_level(m.group("level"))[0] if m else ""
    if "level=" in text:
        m = _LOGRUS_LEVEL.search(text)
        return normalize_level(m.group("level"))[0] if m else ""
    return ""
