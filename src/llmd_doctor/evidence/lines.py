"""Line-level helpers shared by the evidence analysers.

vLLM runs its API server, engine core and GPU workers as separate processes that write to the same
stream; each line carries the writer's tag and Python logging's prefix:

    (EngineCore_DP0 pid=283) ERROR 08-12 10:01:02 [core.py:700] ValueError: ...
    (VllmWorker rank=0 pid=1065) ERROR 07-07 18:08:26 [multiproc_executor.py:527]   File "...", line 3
    ERROR 04-17 15:10:09 [engine.py:448] ...          (vLLM >= 0.8)
    INFO 02-28 21:48:18 metrics.py:161] ...           (vLLM < 0.8)

`split_lines` peels those off once so every analyser reads the message itself.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

MAX_LINE = 400  # characters of one log line kept in an excerpt or a summary

# `kubectl logs --timestamps` puts an RFC 3339 time and one space before every line.
_KUBECTL_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ", re.MULTILINE)
# vLLM process tags: at least one key=value, so that an ordinary "(text) ..." line is left alone.
_PROCESS = re.compile(
    r"\((?P<proc>[A-Za-z_][\w\-]*(?:[ ,]+\w+=[\w.:\-]+)+|pid=\d+(?:, ip=[\d.]+)?)\) ?")
# torch.distributed's per-rank prefix.
_RANK = re.compile(r"\[rank\d+\]: ?")
# Python logging as vLLM configures it (vllm/logger.py): LEVEL MM-DD hh:mm:ss [file.py:NNN] message
_VLLM_PREFIX = re.compile(
    r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? "
    r"\[?(?P<src>[\w.\-]+:\d+)\] ?")

_LEVEL_INITIALS = frozenset("DIWEC")

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{16,}\b", re.IGNORECASE)
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_NUMBER = re.compile(r"\b\d{6,}\b")  # ports and counts stay


class LogLine(NamedTuple):
    """One line of a log with the process tag and vLLM's logging prefix taken off."""

    no: int  # 0-based index in the log
    proc: str  # "EngineCore_DP0 pid=283", "" when untagged
    level: str  # "ERROR", "INFO", ... from vLLM's prefix; "" when the line has none
    src: str  # "core.py:700" from vLLM's prefix
    text: str  # the message, indentation kept (traceback frames are indented)
    raw: str


def split_lines(text: str | Sequence[str], start: int = 0) -> Iterator[LogLine]:
    """Every line, prefixes peeled (numbered from `start`); linear in the size of the text."""
    lines = Log(text).lines if isinstance(text, str) else text
    for no, line in enumerate(lines, start):
        rest = line
        proc = ""
        if rest[:1] == "(":
            m = _PROCESS.match(rest)
            if m:
                proc, rest = m.group("proc"), rest[m.end():]
        if rest[:5] == "[rank":
            m = _RANK.match(rest)
            if m:
                rest = rest[m.end():]
        level = src = ""
        if rest[:1] in _LEVEL_INITIALS:
            m = _VLLM_PREFIX.match(rest)
            if m:
                level, src, rest = m.group("level"), m.group("src"), rest[m.end():]
        yield LogLine(no, proc, level, src, rest, line)


class Log:
    """A log's lines, with the lines a pattern marks found in one pass of the regex engine over the text.

    Analysers decode only the marked lines (and the regions around them), so a 2 MB log of healthy
    output costs a few regex scans, not a Python step per line.
    """

    def __init__(self, text: str) -> None:
        if _KUBECTL_TS.match(text):
            text = _KUBECTL_TS.sub("", text)
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        self.text = text
        self.lines = text.split("\n")
        self._starts: list[int] | None = None
        self._lower: str | None = None

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = list(accumulate((len(x) + 1 for x in self.lines), initial=0))
        return self._starts

    def _line_of(self, offset: int) -> int:
        return bisect_right(self._line_starts(), offset) - 1

    def find(self, literals: Sequence[str], fold_case: bool = False) -> list[int]:
        """Indexes of the lines that contain any of `literals`, ascending, each once.

        `str.find` runs at memory speed; a regex alternation over megabytes does not. With `fold_case`, the
        literals (given in lower case) match in any case.
        """
        text = self.text
        if fold_case:
            if text.isascii():  # lower() keeps every offset
                if self._lower is None:
                    self._lower = text.lower()
                text = self._lower
            else:
                literals = [v for lit in literals for v in {lit, lit.upper(), lit.capitalize()}]
        found: set[int] = set()
        for lit in literals:
            pos = text.find(lit)
            while pos >= 0:
                line = self._line_of(pos)
                found.add(line)
                pos = text.find(lit, self._line_starts()[line + 1] if line + 1 < len(self.lines) else len(text))
        return sorted(found)

    def search(self, pattern: re.Pattern[str]) -> list[int]:
        """Indexes of the lines `pattern` matches in (give it a literal first character: that keeps it fast)."""
        found: list[int] = []
        for m in pattern.finditer(self.text):
            i = self._line_of(m.start())
            if not found or found[-1] != i:
                found.append(i)
        return found

    def first_line(self, literals: Sequence[str]) -> int:
        """Index of the first line containing any of `literals`, -1 if none."""
        found = [p for p in (self.text.find(lit) for lit in literals) if p >= 0]
        return self._line_of(min(found)) if found else -1

    def last_line(self, literals: Sequence[str]) -> int:
        """Index of the last line containing any of `literals`, -1 if none."""
        pos = max(self.text.rfind(lit) for lit in literals)
        return self._line_of(pos) if pos >= 0 else -1

    def rfind_line(self, literal: str, before: int | None = None) -> int:
        """Index of the last line containing `literal` (before line `before`), -1 if none."""
        end = len(self.text) if before is None else self._start(before)
        pos = self.text.rfind(literal, 0, end)
        return -1 if pos < 0 else self._line_of(pos)

    def _start(self, line: int) -> int:
        return self._line_starts()[max(0, min(line, len(self.lines)))]

    def parsed(self, start: int, stop: int) -> list[LogLine]:
        start, stop = max(start, 0), min(stop, len(self.lines))
        return list(split_lines(self.lines[start:stop], start))

    def line(self, i: int) -> LogLine:
        return next(split_lines(self.lines[i:i + 1], i))


def clip(s: str, limit: int = MAX_LINE) -> str:
    """`s` on one line, at most `limit` characters (an ellipsis marks the cut)."""
    s = " ".join(s.split()) if ("\n" in s or "\t" in s) else s.strip()
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


@lru_cache(maxsize=4096)
def fold(message: str) -> str:
    """`message` with request ids, times, hex values and long numbers replaced, so repeats group together."""
    message = _TIME.sub("<time>", message)
    message = _UUID.sub("<id>", message)
    message = _HEX.sub("<hex>", message)
    return _NUMBER.sub("<n>", message)
