"""The JSON document (docs/reports.md): one document, nothing else on stdout."""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring  # the C escaper, as json.dumps(ensure_ascii=False) uses
from typing import Any

from llmd_doctor.report import Report

# Pieces of the document joined before each write (see write_json).
BATCH = 8192
INDENT = 2


def render_json(report: Report) -> str:
    pieces: list[str] = []
    write_json(report, pieces.append)
    return "".join(pieces)


def write_json(report: Report, write: Callable[[str], Any]) -> None:
    """The JSON document, written in batches as it is encoded: a 500-stack cluster's report is ~5 MB,
    and encoding it whole held ~35 MB more at the end of the run (issue #15)."""
    pieces: list[str] = []

    def flush() -> None:
        write("".join(pieces))
        pieces.clear()

    _Indented(pieces, flush).value(report.to_dict(), 0)
    pieces.append("\n")
    flush()


class _Indented:
    """The text of `json.dumps(o, indent=2, ensure_ascii=False)`, byte for byte (tests/test_render_golden.py
    compares them), ~3× faster: the standard library indents with the pure-Python encoder, whose
    nested generators pass every token up through each level (~0.1 s of a 5 MB report, issue #15).
    Lists of strings, the bulk of a report (evidence, objects), are escaped and joined in one go."""

    def __init__(self, pieces: list[str], flush: Callable[[], None]):
        self.pieces, self.flush = pieces, flush
        self.newlines = ["\n"]  # newline and indentation of each level

    def _nl(self, level: int) -> str:
        while len(self.newlines) <= level:
            self.newlines.append("\n" + " " * (INDENT * len(self.newlines)))
        return self.newlines[level]

    def value(self, o: Any, level: int) -> None:
        if isinstance(o, dict):
            self.mapping(o, level)
        elif isinstance(o, list | tuple):
            self.sequence(o, level)
        else:
            self.pieces.append(_scalar(o))

    def mapping(self, o: dict[Any, Any], level: int) -> None:
        if not o:
            self.pieces.append("{}")
            return
        pieces, inner = self.pieces, self._nl(level + 1)
        sep = "{" + inner
        for k, v in o.items():
            pieces.append(sep + _key(k) + ": ")
            sep = "," + inner
            if isinstance(v, str):
                pieces.append(encode_basestring(v))
            elif isinstance(v, dict | list | tuple):
                self.value(v, level + 1)
            else:
                pieces.append(_scalar(v))
        pieces.append(self._nl(level) + "}")
        if len(pieces) >= BATCH:
            self.flush()

    def sequence(self, o: list[Any] | tuple[Any, ...], level: int) -> None:
        if not o:
            self.pieces.append("[]")
            return
        pieces, inner = self.pieces, self._nl(level + 1)
        if all(type(x) is str for x in o):
            pieces.append("[" + inner + ("," + inner).join(map(encode_basestring, o)) + self._nl(level) + "]")
            return
        sep = "[" + inner
        for v in o:
            pieces.append(sep)
            sep = "," + inner
            self.value(v, level + 1)
        pieces.append(self._nl(level) + "]")
        if len(pieces) >= BATCH:
            self.flush()


def _scalar(o: Any) -> str:
    """A JSON scalar as json.JSONEncoder writes it (the same order of tests: bool before int)."""
    if isinstance(o, str):
        return encode_basestring(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def _key(k: Any) -> str:
    """A mapping key as json.JSONEncoder writes it (non-string keys as their JSON text, quoted)."""
    if isinstance(k, str):
        return encode_basestring(k)
    if isinstance(k, float):
        return encode_basestring(_float(k))
    if k is True or k is False or k is None:
        return encode_basestring(_scalar(k))
    if isinstance(k, int):
        return encode_basestring(int.__repr__(k))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")

