"""Small text helpers every renderer shares: control characters shown, long lines clipped, counts and
lists in words, the commands a remediation asks to run."""

from __future__ import annotations

import re

MAX_EVIDENCE = 20
MAX_LINE = 500
MAX_BODY = 6000
# Command words that make a code span in a remediation a command to run.
_COMMANDS = ("kubectl", "oc", "helm", "helmfile", "istioctl", "curl", "llmd-doctor", "kustomize", "gcloud", "kind")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: object) -> str:
    """Text from the cluster without control characters (a log line's terminal escapes would
    garble a terminal, a GitHub issue or an XML file): shown as \\xNN instead."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def clip(text: str, limit: int = MAX_LINE) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 problem`, `2 problems`."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def join(items: list[str], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def commands_in(text: str) -> list[str]:
    """Commands a remediation asks to run: code spans starting with a known tool, or the text itself."""
    spans = [m.group(2).strip() for m in _CODE_SPAN.finditer(text)]
    cmds = [s for s in spans if s.split(" ", 1)[0] in _COMMANDS]
    if not spans and text.split(" ", 1)[0] in _COMMANDS:
        cmds = [text.strip()]
    return list(dict.fromkeys(cmds))
