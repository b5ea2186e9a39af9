"""Terminal output of `check`: grouped by area, one line per check, problems explained.

Quiet on success: an area whose checks all pass is one line; `verbose` lists passes and skips.
Without colour the decorations are plain ASCII (`[FAIL]`, `[ok]`); with colour, symbols.
Under each problem: other findings, evidence, `fix:` and `docs:`; checks blocked by it are nested
under it (the root cause is shown once). Plain ASCII without colour when asked (NO_COLOR, or
stdout is not a terminal); rich markup otherwise.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.markup import escape

from llmd_doctor.model import CheckResult, Status
from llmd_doctor.renderers.view import area_title, clean
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
_PROBLEMS = (Status.FAIL, Status.WARN, Status.ERROR)
MAX_EVIDENCE = 8
MAX_EVIDENCE_LINES = 3  # wrapped lines per evidence item


class _Lines:
    def __init__(self, style: TextStyle):
        self.style = style
        self.out: list[str] = []

    def add(self, text: str = "", markup: str | None = None, indent: int = 0, hang: int = 0,
            max_lines: int | None = None, prefix: str = "") -> None:
        """Wrap `text` to the width; `prefix` is rich markup put before the first line (a symbol)."""
        width = max(40, self.style.width - indent)
        wrapped = textwrap.wrap(clean(text), width=width, subsequent_indent=" " * hang, break_on_hyphens=False) or [""]
        if max_lines and len(wrapped) > max_lines:
            wrapped = wrapped[:max_lines]
            wrapped[-1] = wrapped[-1][: max(0, width - 3)].rstrip() + ("…" if self.style.color else "...")
        for i, line in enumerate(wrapped):
            body = escape(line) if self.style.color else line
            if self.style.color and markup:
                body = f"[{markup}]{body}[/]"
            if i == 0 and prefix:
                body = prefix + body
            self.out.append(" " * indent + body)


def _symbol(status: Status, style: TextStyle) -> tuple[str, str]:
    """(markup to print, its visible width + 1)."""
    if not style.color:
        sym = _SYMBOLS_ASCII[status]
        return "", len(sym) + 1
    sym, color = _SYMBOLS_UNICODE[status]
    return f"[{color}]{sym}[/] ", 2


def _check_line(r: CheckResult, lines: _Lines, indent: int, text: str | None = None) -> None:
    markup, hang = _symbol(r.status, lines.style)
    head = f"{r.id}  {text if text is not None else r.message}"
    if lines.style.color:
        lines.add(head, indent=indent, hang=hang, prefix=markup)
    else:
        lines.add(f"{_SYMBOLS_ASCII[r.status]} {head}", indent=indent, hang=hang)


def _details(r: CheckResult, lines: _Lines, indent: int) -> None:
    base = r.message.split(" (and ")[0]
    for f in r.findings:
        if f.status != r.status or f.message == base:
            continue
        lines.add(f"- {f.message}", indent=indent, hang=2)
    evidence = r.evidence
    for e in evidence[:MAX_EVIDENCE]:
        lines.add(f"evidence: {e}", "dim", indent=indent, hang=10, max_lines=MAX_EVIDENCE_LINES)
    if len(evidence) > MAX_EVIDENCE:
        lines.add(f"evidence: ... {len(evidence) - MAX_EVIDENCE} more (llmd-doctor report, or -o json)", "dim",
                  indent=indent, hang=10)
    if r.lost_capabilities:
        lines.add(f"lost: {', '.join(r.lost_capabilities)}", "red", indent=indent, hang=6)
    if r.remediation:
        lines.add(f"fix: {r.remediation}", "cyan", indent=indent, hang=5)
    if r.spec.docs:
        lines.add(f"docs: {r.spec.docs}", "dim", indent=indent, hang=6)


def _area_counts(results: list[CheckResult]) -> str:
    words = {Status.FAIL: "failed", Status.ERROR: "could not run", Status.WARN: "warning",
             Status.BLOCKED: "blocked", Status.PASS: "passed", Status.SKIP: "skipped"}
    parts = []
    for status, word in words.items():
        n = sum(1 for r in results if r.status == status)
        if n:
            parts.append(f"{n} {word}{'s' if status == Status.WARN and n > 1 else ''}")
    return ", ".join(parts)


def render_text(report: Report, style: TextStyle | None = None) -> str:
    style = style or TextStyle()
    lines = _Lines(style)
    src = report.source
    where = f"bundle {src.path}" if src.kind == "bundle" else f"context {src.context or '(current)'}"
    if src.kind == "bundle" and src.context:
        where += f" (context {src.context})"
    extra = f", Kubernetes {src.server_version}" if src.server_version else ""
    lines.add(f"llmd-doctor {'·' if style.color else '-'} {where}{extra}", "bold")
    for w in report.warnings:
        lines.add(f"warning: {w}", "yellow", hang=9)

    shown_ids = {r.id for r in report.results if r.status in _PROBLEMS}
    compact = False  # the previous line is a one-line area
    for area, results in report.by_area().items():
        entries: list[CheckResult] = []
        for r in results:
            if r.status in _PROBLEMS or (style.verbose and r.status in (Status.PASS, Status.SKIP)):
                entries.append(r)
            elif r.status == Status.BLOCKED and not any(b in shown_ids for b in r.blocked_by):
                entries.append(r)  # its root cause is not shown (filtered out): show it here
        title = f"{area_title(area)}  ({_area_counts(results)})"
        if not entries:
            markup, _ = _symbol(Status.PASS if all(r.status == Status.PASS for r in results) else Status.SKIP, style)
            if not compact:
                lines.add()
            lines.add(title, "bold", prefix=markup if style.color else "")
            compact = True
            continue
        compact = False
        lines.add()
        lines.add(title, "bold")
        for r in entries:
            if r.suppressed is not None:  # muted by the config file: one dim line, no details
                _check_line(r, lines, indent=2, text=f"{r.message} [suppressed: {r.suppressed}]")
                continue
            _check_line(r, lines, indent=2)
            if r.status in _PROBLEMS:
                _details(r, lines, indent=6)
                for b in report.blocked_under(r.id):
                    _check_line(b, lines, indent=6, text=f"not run until {r.id} is fixed ({b.spec.title})")

    c = report.counts
    lines.add()
    lines.add(
        f"{c['pass']} passed, {c['warn']} warning{'s' if c['warn'] != 1 else ''}, {c['fail']} failed, "
        f"{c['error']} could not run, {c['skip']} skipped, {c['blocked']} blocked; verdict: {report.verdict}",
        "bold",
    )
    lost: dict[tuple[str, ...], list[str]] = {}
    for cap in report.capabilities:
        if cap.status == "unavailable":
            lost.setdefault(tuple(cap.because), []).append(cap.name)
    for because, names in lost.items():
        lines.add(f"capabilities lost: {', '.join(names)} (because of {', '.join(because)})", "red", hang=4)
    steps = report.next_steps
    if steps:
        lines.add(f"start with {steps[0].check_id}; the full report: llmd-doctor report (same flags)",
                  "dim", hang=4)
    return "\n".join(lines.out) + "\n"
