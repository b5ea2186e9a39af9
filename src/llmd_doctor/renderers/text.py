"""Terminal output of `check`: grouped by area, one line per check, problems explained.

Quiet on success (passes are counted per area; `verbose` lists them). Plain ASCII without colour
when asked (NO_COLOR, or stdout is not a terminal); rich markup otherwise.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.markup import escape

from llmd_doctor.model import CheckResult, Status
from llmd_doctor.report import Report


@dataclass(frozen=True)
class TextStyle:
    color: bool = False
    width: int = 100
    verbose: bool = False


_SYMBOLS_UNICODE = {
    Status.PASS: ("✔", "green"),
    Status.WARN: ("⚠", "yellow"),
    Status.FAIL: ("✖", "bold red"),
    Status.ERROR: ("!", "magenta"),
    Status.SKIP: ("-", "dim"),
    Status.BLOCKED: ("↳", "dim red"),
}
_SYMBOLS_ASCII = {
    Status.PASS: "[ok]",
    Status.WARN: "[WARN]",
    Status.FAIL: "[FAIL]",
    Status.ERROR: "[ERROR]",
    Status.SKIP: "[skip]",
    Status.BLOCKED: "[blocked]",
}


class _Lines:
    def __init__(self, style: TextStyle):
        self.style = style
        self.out: list[str] = []

    def add(self, text: str = "", markup: str | None = None, indent: int = 0, hang: int = 0) -> None:
        width = max(40, self.style.width - indent)
        wrapped = textwrap.wrap(text, width=width, subsequent_indent=" " * hang, break_on_hyphens=False) or [""]
        for i, line in enumerate(wrapped):
            body = escape(line) if self.style.color else line
            if self.style.color and markup and i == 0:
                body = f"[{markup}]{body}[/]"
            self.out.append(" " * indent + body)


def _symbol(status: Status, style: TextStyle) -> str:
    if not style.color:
        return _SYMBOLS_ASCII[status]
    sym, color = _SYMBOLS_UNICODE[status]
    return f"[{color}]{sym}[/]"


def _check_line(r: CheckResult, lines: _Lines, indent: int) -> None:
    style = lines.style
    sym = _symbol(r.status, style)
    head = f"{r.id}  {r.message}"
    if style.color:
        first, *rest = textwrap.wrap(head, width=max(40, style.width - indent - 4)) or [""]
        lines.out.append(" " * indent + f"{sym} {escape(first)}")
        lines.out.extend(" " * (indent + 2) + escape(x) for x in rest)
    else:
        lines.add(f"{sym} {head}", indent=indent, hang=len(sym) + 1)


def _details(r: CheckResult, lines: _Lines, indent: int) -> None:
    for f in r.findings:
        if f.status != r.status or f.message == r.message.split(" (and ")[0]:
            continue
        lines.add(f"- {f.message}", indent=indent, hang=2)
    for e in r.evidence[:6]:
        lines.add(f"evidence: {e}", "dim", indent=indent, hang=10)
    if r.remediation:
        lines.add(f"fix: {r.remediation}", "cyan", indent=indent, hang=5)
    if r.spec.docs:
        lines.add(f"docs: {r.spec.docs}", "dim", indent=indent, hang=6)


def render_text(report: Report, style: TextStyle | None = None) -> str:
    style = style or TextStyle()
    lines = _Lines(style)
    src = report.source
    where = f"bundle {src.path}" if src.kind == "bundle" else f"context {src.context or '(current)'}"
    extra = f", Kubernetes {src.server_version}" if src.server_version else ""
    lines.add(f"llmd-doctor · {where}{extra}", "bold")
    for w in report.warnings:
        lines.add(f"warning: {w}", "yellow", hang=9)

    areas: dict[str, list[CheckResult]] = {}
    for r in report.results:
        areas.setdefault(r.spec.area, []).append(r)
    for area, results in areas.items():
        lines.add()
        passed = sum(1 for r in results if r.status == Status.PASS)
        shown = [r for r in results if r.status != Status.BLOCKED and (style.verbose or r.status != Status.PASS)]
        label = f"{area}" + (f"  ({passed} passed)" if passed and not style.verbose else "")
        lines.add(label, "bold")
        for r in shown:
            _check_line(r, lines, indent=2)
            if r.status in (Status.FAIL, Status.WARN, Status.ERROR):
                _details(r, lines, indent=6)
            for b in report.blocked_under(r.id):
                sym = "↳" if style.color else _SYMBOLS_ASCII[Status.BLOCKED]
                lines.add(f"{sym} {b.id}  not run: needs {r.id}", "dim", indent=6, hang=4)

    c = report.counts
    lines.add()
    lines.add(
        f"{c['pass']} passed, {c['warn']} warnings, {c['fail']} failed, {c['error']} errors, "
        f"{c['skip']} skipped, {c['blocked']} blocked · verdict: {report.verdict}",
        "bold",
    )
    lost = [cap for cap in report.capabilities if cap.status == "unavailable"]
    if lost:
        lines.add("capabilities lost: " + "; ".join(f"{cap.name} ({', '.join(cap.because)})" for cap in lost),
                  "red", hang=4)
    return "\n".join(lines.out) + "\n"
