"""Mask what a support bundle must not carry: tokens, keys, passwords — keeping the structure.

Masking replaces a value with `<redacted>`; names, keys and shapes stay, so the checks still see
that an `HF_TOKEN` is set, that `--api-key` is passed, that a ConfigMap has a `token` key.

Two kinds of rules:
- by name: env vars, flags, ConfigMap keys and annotations whose name looks like a token, key,
  password or secret (`name_strength`, `masks`). A strong name (`DB_PASSWORD`, `MY_PASS`,
  `HF_TOKEN`) masks any value but a boolean; a weak one (`OPENAI_KEY`, `BASIC_AUTH`) masks values
  that could be a credential, not `true`, `8000` or `/etc/tls/tls.key`;
- by shape, anywhere in text: bearer tokens, JWTs, Hugging Face `hf_...` tokens, OpenAI-style
  `sk-...` keys, GitHub/GitLab/AWS/Google/Slack tokens, private-key blocks, passwords in URLs, and
  `name=value`, `name: value` and `name "value"` pairs whose name is sensitive.

`collect` reads no Secret at all; `strip_secret` still drops the values of any Secret object that
reaches a bundle some other way, even with `--no-redact`.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# How sure a name is that its value is a credential. STRONG: always masked (a boolean aside). WEAK:
# masked unless the value cannot be one (a boolean, a number, a file path, under 6 characters), so
# `--metrics-endpoint-auth=true` and `SSL_KEY=/etc/tls/tls.key` stay readable.
NOT_SENSITIVE, WEAK, STRONG = 0, 1, 2

# A name is strongly sensitive when one of its words is one of these ...
_SENSITIVE_WORDS = frozenset({
    "token", "password", "passwd", "passphrase", "secret", "apikey", "credential", "credentials",
    "accesskey", "secretkey", "privatekey", "authtoken", "accesstoken", "bearertoken", "sessiontoken",
})
# ... or contains one of these (`MYSECRET`, `DBPASSWORD`: names written as one word) ...
_SENSITIVE_PARTS = ("secret", "password", "passwd", "credential")
# ... or ends in one of these (`MY_PASS`, `DB_PWD`; `PWD` alone is the shell's working directory) ...
_SENSITIVE_LAST = frozenset({"pass", "pwd"})
# ... or it holds "<one of these> key" (api key, access key, private key, ...).
_KEY_PREFIXES = frozenset({
    "api", "access", "secret", "private", "client", "encryption", "signing", "session", "master", "ssh",
})
# Weakly sensitive: a name ending in `key` or `auth` (`OPENAI_KEY`, `WANDB_KEY`, `AccountKey`,
# `BASIC_AUTH`) — unless the word before `key` makes it a lookup key, not a credential:
# `DESTINATION_ENDPOINT_HINT_KEY` / `destinationEndpointHintKey` are EPP settings.
_WEAK_LAST = frozenset({"key", "keys", "auth", "authorization"})
_STRUCTURAL_KEY = frozenset({
    "hint", "header", "label", "annotation", "selector", "sort", "partition", "routing", "hash", "cache",
    "topology", "prefix", "metric", "metrics", "lookup", "index", "field", "shard", "group", "map", "node",
    "feature", "request", "block", "queue", "public", "primary", "foreign", "idempotency",
})
# Names that point at a secret rather than hold one (`SECRET_NAME`, `--token-file`, `secretKeyRef`,
# `TLS_KEY_PATH`: a path is evidence, not a credential), or count or time one (`token_count`).
_EXEMPT_LAST = frozenset({
    "name", "names", "file", "path", "dir", "ref", "refs", "mount", "header", "config", "type", "mode",
    "size", "length", "len", "ttl", "timeout", "interval", "seconds", "enabled", "url", "uri", "endpoint",
    "namespace", "binding", "account", "count", "counts", "limit", "budget", "usage", "total", "rate",
    "expiry", "expiration", "lifetime",
})
_EXEMPT_FIRST = frozenset({"enable", "disable", "use", "require", "allow", "max", "min", "num"})
# Values that are never a credential, whatever the name.
_NOT_CREDENTIALS = frozenset({
    "true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled", "required", "optional",
    "bearer", "basic", "digest", "negotiate",
})
_PATH_VALUE = re.compile(r"^(?:/|\./|~/)[\w.@+/-]*$")


def words(name: str) -> list[str]:
    """`HF_TOKEN` -> [hf, token]; `apiKey` -> [api, key]; `--api-key` -> [api, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def name_strength(name: str) -> int:
    """NOT_SENSITIVE, WEAK or STRONG: how surely this env var, flag, key or annotation name holds a credential."""
    ws = words(name)
    if not ws or ws[-1] in _EXEMPT_LAST or ws[0] in _EXEMPT_FIRST:
        return NOT_SENSITIVE
    if any(w in _SENSITIVE_WORDS or any(p in w for p in _SENSITIVE_PARTS) for w in ws):
        return STRONG
    if ws[-1] in _SENSITIVE_LAST and ws != ["pwd"]:
        return STRONG
    if any(a in _KEY_PREFIXES and b in ("key", "keys") for a, b in zip(ws, ws[1:], strict=False)):
        return STRONG
    if ws[-1] in _WEAK_LAST and (len(ws) == 1 or ws[-2] not in _STRUCTURAL_KEY):
        return WEAK
    return NOT_SENSITIVE


def sensitive_name(name: str) -> bool:
    """Does this env var, flag, key or annotation name look like it may hold a credential?"""
    return name_strength(name) != NOT_SENSITIVE


def masks(name: str, value: str) -> bool:
    """Should `value`, found under `name`, be masked?"""
    strength = name_strength(name)
    v = value.strip().strip("\"'").strip()
    if strength == NOT_SENSITIVE or not v or REDACTED in v or v.lower() in _NOT_CREDENTIALS:
        return False
    if strength == WEAK:
        return not (len(v) < 6 or v.isdigit() or _PATH_VALUE.match(v))
    return True


# ---- text ---------------------------------------------------------------------------------------

# Token shapes, one pattern each: a literal start lets the regex engine skip ahead fast.
_TOKEN_SHAPES = [re.compile(p, re.DOTALL) for p in (
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",  # PEM private keys
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs (Kubernetes SA tokens, OIDC)
    r"hf_[A-Za-z0-9]{20,}",  # Hugging Face
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}",  # OpenAI-style API keys
    r"gh[pousr]_[A-Za-z0-9]{30,}", r"github_pat_[A-Za-z0-9_]{30,}",  # GitHub
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}",  # AWS access key ids (long-lived and STS)
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"glpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"xox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
)]
# `Authorization: Bearer <token>`, `bearer <token>`, `Basic <b64>`: the word stays, the token goes.
# A token has a digit or is long, so "Bearer authentication failed" stays readable.
_AUTH_SCHEME = re.compile(
    r"\b(?P<scheme>[Bb]earer|BEARER|[Bb]asic)(?P<sep>\s+)"
    r"(?P<value>(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}|[A-Za-z0-9._~+/=-]{20,})"
)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:)(?P<value>[^@\s/'\"]+)(?P<tail>@)")
# Pair names must contain one of these (a cheap pre-filter; `masks` decides).
_HINTS = ("token", "pass", "secret", "key", "credential", "pwd", "auth")
_HINT = r"(?=[\w.-]*(?i:" + "|".join(_HINTS) + "))"


def _hinted(text: str) -> bool:
    low = text.lower()
    return any(h in low for h in _HINTS)


# `--api-key sk-1`, `--token=abc` (flags; a space-separated value must not look like a flag) ...
_FLAG_PAIR = re.compile(
    r"(?<![\w-])(?P<name>--?" + _HINT + r"[A-Za-z][\w.-]*)(?P<sep>=|[ \t]+)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s'\"-][^\s'\"]*)"
)
# ... and `HF_TOKEN=hf_1`, `"api_key": "x"`, `password: y` (one line, scalar values; no space before ':').
_KV_PAIR = re.compile(
    r"(?<![\w.-])(?P<name>[\"']?" + _HINT + r"[A-Za-z_][\w.-]*[\"']?)(?P<sep>[ \t]*=[ \t]*|:[ \t]*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;}{\[\]'\"]+)"
)
# ... and `token "abc"`, `password 'x'` (a quoted value after a space). Only credential words: `secret
# "llm-d-hf-token" not found` names a Secret object, evidence the checks and people need.
_SPACED_PAIR = re.compile(
    r"(?<![\w.-])(?P<name>(?:[A-Za-z][\w-]*[_-])?(?i:token|password|passwd|passphrase|api[_-]?key|pass|pwd))"
    r"(?P<sep>[ \t]+)(?P<value>\"[^\"\n]+\"|'[^'\n]+')"
)


class Redactions(Counter):
    """How many values were masked, by where they were found (for the collect summary)."""


def _mask_pair(m: re.Match[str], counts: Redactions, where: str) -> str:
    name = m.group("name")
    value = m.group("value")
    if not masks(name.strip("\"'").lstrip("-"), value):
        return m.group(0)
    quote = value[0] if value[:1] in "\"'" and len(value) > 1 and value[-1] == value[0] else ""
    counts[where] += 1
    return f"{name}{m.group('sep')}{quote}{REDACTED}{quote}"


def redact_text(text: str, counts: Redactions | None = None, where: str = "text", pairs: bool = True) -> str:
    """Mask token shapes (and, with `pairs`, `name=value` pairs with a sensitive name) in free text."""
    if not text:
        return text
    c = counts if counts is not None else Redactions()

    def shape(m: re.Match[str]) -> str:
        c[where] += 1
        return REDACTED

    def scheme(m: re.Match[str]) -> str:
        c[where] += 1
        return f"{m.group('scheme')}{m.group('sep')}{REDACTED}"

    def url(m: re.Match[str]) -> str:
        c[where] += 1
        return f"{m.group('head')}{REDACTED}{m.group('tail')}"

    out = text
    for pattern in _TOKEN_SHAPES:
        out = pattern.sub(lambda m: shape(m) if _bounded(m) else m.group(0), out)
    out = _AUTH_SCHEME.sub(scheme, out)
    out = _URL_PASSWORD.sub(url, out)
    if pairs and _hinted(out):
        # Only the lines that mention a credential-like word go through the pair patterns.
        lines = out.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if _hinted(line):
                line = _FLAG_PAIR.sub(lambda m: _mask_pair(m, c, where), line)
                line = _SPACED_PAIR.sub(lambda m: _mask_pair(m, c, where), line)
                lines[i] = _KV_PAIR.sub(lambda m: _mask_pair(m, c, where), line)
        out = "".join(lines)
    return out


def _bounded(m: re.Match[str]) -> bool:
    """The token does not continue a longer word (`xhf_...` is not a Hugging Face token)."""
    s = m.string
    return m.start() == 0 or not (s[m.start() - 1].isalnum() or s[m.start() - 1] == "_")


def redact_argv(argv: list[Any], counts: Redactions) -> list[Any]:
    """`--api-key=sk-1` -> `--api-key=<redacted>`; `--token abc` -> `--token <redacted>`; shell strings too."""
    out: list[Any] = []
    flag = ""  # the sensitive flag whose value is the next argument
    for a in argv:
        if not isinstance(a, str):
            out.append(a)
            flag = ""
            continue
        if flag and not a.startswith("-"):
            hide = masks(flag, a)
            out.append(REDACTED if hide else a)
            counts["args"] += hide
            flag = ""
            continue
        flag = ""
        m = re.fullmatch(r"(-{1,2})([A-Za-z][\w.-]*)(?:=(.*))?", a, re.DOTALL)
        if m and sensitive_name(m.group(2)):
            if m.group(3) is None:
                flag = m.group(2)
                out.append(a)
            elif masks(m.group(2), m.group(3)):
                counts["args"] += 1
                out.append(f"{m.group(1)}{m.group(2)}={REDACTED}")
            else:
                out.append(a)
            continue
        out.append(redact_text(a, counts, "args"))  # e.g. `sh -c "vllm serve --api-key sk-1"`
    return out


# ---- objects ------------------------------------------------------------------------------------


def strip_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret keeps its metadata, type and key names; every value becomes `<redacted>`, and so does
    its last-applied annotation (`kubectl apply` stores the whole Secret there). Always applied."""
    if obj.get("kind") != "Secret" or "/" in str(obj.get("apiVersion", "v1")):
        return obj
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict) and LAST_APPLIED in meta["annotations"]:
        out["metadata"] = {**meta, "annotations": {**meta["annotations"], LAST_APPLIED: REDACTED}}
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {k: REDACTED for k in out[field]}
    return out


def _redact_env(env: list[Any], counts: Redactions) -> list[Any]:
    out = []
    for e in env:
        if isinstance(e, dict) and isinstance(e.get("value"), str) and e["value"]:
            e = dict(e)
            if masks(str(e.get("name", "")), e["value"]):
                e["value"] = REDACTED
                counts["env"] += 1
            else:
                e["value"] = redact_text(e["value"], counts, "env")
        out.append(e)
    return out


def _redact_annotations(ann: dict[str, Any], counts: Redactions) -> dict[str, Any]:
    out = {}
    for k, v in ann.items():
        if not isinstance(v, str) or not v:
            out[k] = v
        elif k == LAST_APPLIED or masks(k.rsplit("/", 1)[-1], v):
            out[k] = REDACTED  # last-applied embeds whole manifests, secrets included
            counts["annotations"] += 1
        else:
            out[k] = redact_text(v, counts, "annotations")
    return out


def _walk(node: Any, counts: Redactions) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "env" and isinstance(v, list):
                out[k] = [_walk(e, counts) for e in _redact_env(v, counts)]
            elif k in ("args", "command") and isinstance(v, list):
                out[k] = redact_argv(v, counts)
            elif k == "annotations" and isinstance(v, dict):
                out[k] = _redact_annotations(v, counts)
            else:
                out[k] = _walk(v, counts)
        return out
    if isinstance(node, list):
        return [_walk(v, counts) for v in node]
    if isinstance(node, str):
        return redact_text(node, counts, "objects", pairs=False)
    return node


def _redact_configmap(obj: dict[str, Any], counts: Redactions) -> dict[str, Any]:
    out = dict(obj)
    for field in ("data", "binaryData"):
        data = obj.get(field)
        if not isinstance(data, dict):
            continue
        new = {}
        for k, v in data.items():
            if isinstance(v, str) and v and (masks(k, v) or k.endswith((".key", ".p12", ".jks"))):
                new[k] = REDACTED
                counts["configmaps"] += 1
            elif isinstance(v, str) and field == "data":
                new[k] = redact_text(v, counts, "configmaps")
            else:
                new[k] = v
        out[field] = new
    return out


def clean_object(obj: dict[str, Any]) -> dict[str, Any]:
    """What every bundle gets, redacted or not: no managedFields (as `kubectl get -o yaml` shows), no Secret values."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return strip_secret(obj)


def redact_object(obj: dict[str, Any], counts: Redactions | None = None) -> dict[str, Any]:
    """A masked copy of a Kubernetes object; the input is not changed."""
    c = counts if counts is not None else Redactions()
    obj = clean_object(copy.deepcopy(obj))
    if obj.get("kind") == "ConfigMap" and "/" not in str(obj.get("apiVersion", "v1")):
        obj = _redact_configmap(obj, c)
        data = {f: obj.pop(f) for f in ("data", "binaryData") if f in obj}
        obj = _walk(obj, c)
        obj.update(data)
        return obj
    if obj.get("kind") == "CustomResourceDefinition":
        # Schemas: megabytes of descriptions and no values; only their annotations can carry any.
        meta = obj.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            meta["annotations"] = _redact_annotations(meta["annotations"], c)
        return obj
    return _walk(obj, c)
