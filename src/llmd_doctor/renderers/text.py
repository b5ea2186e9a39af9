"""Terminal output of `check` (and `report -o text`): the verdict first, then the problems.

Order: the source; the verdict with what was lost or not verified; each problem (root cause first:
its title, the check and objects, the cause, evidence, what it costs, `fix:`, `docs:`, then its
symptoms one line each and the checks blocked until it is fixed); the next steps, one per problem;
what could not be checked; suppressed results (muted); the tally. What works is quiet (one line)
unless `verbose`, which lists every passing and skipped check by area and the symptoms' evidence.
Plain ASCII without colour (`[FAIL]`, `[ok]`); rich markup with colour.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.markup import escape

from llmd_doctor.model import CheckResult, Status
from llmd_doctor.renderers.docs import docs_link
from llmd_doctor.renderers.view import (
    area_title,
    clean,
    problem_view,
    suppressed_counts,
    symptom_line,
    tally,
    verdict_line,
)
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
_VERDICT_MARKUP = {"healthy": "bold green", "degraded": "bold yellow", "broken": "bold red", "unknown": "bold magenta"}
MAX_EVIDENCE = 8
MAX_EVIDENCE_LINES = 3  # wrapped lines per evidence item
MAX_SYMPTOM_LINES = 2  # wrapped lines per symptom (verbose: all)


class _Lines:
    def __init__(self, style: TextStyle):
        self.style = style
        self.out: list[str] = []

    def add(self, text: str = "", markup: str | None = None, indent: int = 0, hang: int = 0,
            max_lines: int | None = None, prefix: str = "") -> None:
        """Wrap `text` to the width; `prefix` is rich markup put before the first line (a symbol)."""
        width = max(40, self.style.width - indent)
        text = clean(text) if self.style.color else clean(text).replace("…", "...")
        wrapped = textwrap.wrap(text, width=width, subsequent_indent=" " * hang, break_on_hyphens=False) or [""]
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

    def heading(self, text: str, markup: str = "bold") -> None:
        """A blank line, then a section's title."""
        self.add()
        self.add(text, markup)

    def status_line(self, status: Status, text: str, indent: int, max_lines: int | None = None,
                    markup: str | None = None) -> None:
        """`[FAIL] text` (plain) or `✖ text` (colour), continuation lines under the text."""
        if self.style.color:
            sym, color = _SYMBOLS_UNICODE[status]
            self.add(text, markup, indent=indent, hang=2, max_lines=max_lines, prefix=f"[{color}]{sym}[/] ")
        else:
            sym = _SYMBOLS_ASCII[status]
            self.add(f"{sym} {text}", indent=indent, hang=len(sym) + 1, max_lines=max_lines)


def _evidence(lines: _Lines, evidence: list[str], indent: int) -> None:
    for e in evidence[:MAX_EVIDENCE]:
        lines.add(f"evidence: {e}", "dim", indent=indent, hang=10, max_lines=MAX_EVIDENCE_LINES)
    if len(evidence) > MAX_EVIDENCE:
        lines.add(f"evidence: ... {len(evidence) - MAX_EVIDENCE} more (llmd-doctor report, or -o json)", "dim",
                  indent=indent, hang=10)


def _fix_and_docs(lines: _Lines, r: CheckResult, indent: int, remediation: str | None = None) -> None:
    fix = r.remediation if remediation is None else remediation
    if fix:
        lines.add(f"fix: {fix}", "cyan", indent=indent, hang=5)
    docs = docs_link(r.spec)
    if docs:
        lines.add(f"docs: {docs.text}", "dim", indent=indent, hang=6)


def _blocked(lines: _Lines, report: Report, r: CheckResult, indent: int) -> None:
    for b in report.blocked_under(r.id):
        lines.status_line(b.status, f"{b.id}  not run until {r.id} is fixed ({b.spec.title})", indent)


def _header(report: Report, lines: _Lines) -> None:
    src = report.source
    where = f"bundle {src.path}" if src.kind == "bundle" else f"context {src.context or '(current)'}"
    if src.kind == "bundle" and src.context:
        where += f" (context {src.context})"
    extra = f", Kubernetes {src.server_version}" if src.server_version else ""
    lines.add(f"llmd-doctor {'·' if lines.style.color else '-'} {where}{extra}", "bold")
    for w in report.warnings:
        lines.add(f"warning: {w}", "yellow", hang=9)


def _verdict(report: Report, lines: _Lines) -> None:
    text, unverified = verdict_line(report)
    lines.add()
    lines.add(f"verdict: {report.verdict} - {text}", _VERDICT_MARKUP.get(report.verdict), hang=9)
    for u in unverified:
        lines.add(f"not verified: {u}", "dim", indent=2, hang=14)


def _problems(report: Report, lines: _Lines) -> None:
    problems = report.problems
    if not problems:
        return
    lines.heading(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    for n, p in enumerate(problems, start=1):
        view = problem_view(report, n, p)
        lines.add()
        # The whole cause as the problem's line: a terminal has room for more than a headline.
        lines.status_line(p.status, f"{n}. {view.cause or view.title}", indent=0, markup="bold")
        objects = ", ".join(view.objects[:3]) + (f" and {len(view.objects) - 3} more" if len(view.objects) > 3 else "")
        lines.add(f"root cause: {p.root.id} ({p.root.spec.title})" + (f" on {objects}" if objects else ""),
                  indent=4, hang=12)
        for d in view.details:
            lines.add(f"- {d}", indent=4, hang=2)
        _evidence(lines, p.evidence, indent=4)
        if p.capabilities:
            lines.add(f"lost: {', '.join(p.capabilities)}", "red", indent=4, hang=6)
        _fix_and_docs(lines, p.root, indent=4, remediation=p.remediation)
        if p.symptoms:
            lines.add(f"symptoms ({len(p.symptoms)}, explained by {p.root.id}):", indent=4)
        for s in p.symptoms:
            line = symptom_line(s)
            text = f"{s.id}  {line.line}" + (f" (and {line.more_objects} more)" if line.more_objects else "")
            lines.status_line(s.status, text, indent=6, max_lines=None if lines.style.verbose else MAX_SYMPTOM_LINES)
            if lines.style.verbose:
                under = 7 + (2 if lines.style.color else len(_SYMBOLS_ASCII[s.status]))
                _evidence(lines, s.evidence, indent=under)
                _fix_and_docs(lines, s, indent=under, remediation="")
        for r in p.results:
            _blocked(lines, report, r, indent=4)


def _steps(report: Report, lines: _Lines) -> None:
    steps = report.next_steps
    if not steps:
        return
    lines.heading("next steps")
    for n, s in enumerate(steps, start=1):
        lines.add(f"{n}. {s.check_id}: {s.action}", indent=2, hang=len(str(n)) + 2,
                  max_lines=None if lines.style.verbose else 2)


def _errors(report: Report, lines: _Lines) -> None:
    errors = [r for r in report.judged if r.status == Status.ERROR]
    if not errors:
        return
    lines.heading(f"could not check ({len(errors)})")
    for r in errors:
        lines.status_line(r.status, f"{r.id}  {r.message}", indent=2)
        _evidence(lines, r.evidence, indent=6)
        _fix_and_docs(lines, r, indent=6)
        _blocked(lines, report, r, indent=6)


def _suppressed(report: Report, lines: _Lines) -> None:
    muted = report.suppressed
    if not muted:
        return
    lines.heading(f"suppressed ({len(muted)}, muted by the config file; not counted)", "dim")
    for r in muted:  # dim, and ASCII status words even with colour: muted, not alarming
        sym = _SYMBOLS_ASCII[r.status]
        lines.add(f"{sym} {r.id}  {r.message}", "dim", indent=2, hang=len(sym) + 1, max_lines=2)
        lines.add(f"[suppressed: {r.suppressed}]", "dim", indent=3 + len(sym), hang=13)
        _blocked(lines, report, r, indent=3 + len(sym))


def _unplaced(report: Report) -> list[CheckResult]:
    """Blocked checks whose root cause is not shown above (filtered out, or itself not a problem)."""
    shown = ({r.id for p in report.problems for r in p.results} | {r.id for r in report.suppressed}
             | {r.id for r in report.judged if r.status == Status.ERROR})
    return [r for r in report.results if r.status == Status.BLOCKED and not any(b in shown for b in r.blocked_by)]


def _works(report: Report, lines: _Lines) -> None:
    """What works: one line, or every passing and skipped check by area (verbose)."""
    orphans = _unplaced(report)
    if not lines.style.verbose:
        passed = report.working
        if passed:
            lines.add()
            areas = ", ".join(f"{area_title(a)} {len(rs)}" for a, rs in passed.items())
            lines.add(f"passed: {areas} (-v lists them)", "green", hang=4)
        for r in orphans:
            lines.status_line(r.status, f"{r.id}  {r.message}", indent=2)
        return
    for area, results in report.by_area().items():
        shown = [r for r in results if r.status in (Status.PASS, Status.SKIP) or r in orphans]
        if not shown:
            continue
        lines.heading(area_title(area))
        for r in shown:
            lines.status_line(r.status, f"{r.id}  {r.message}", indent=2)


def render_text(report: Report, style: TextStyle | None = None) -> str:
    style = style or TextStyle()
    lines = _Lines(style)
    _header(report, lines)
    _verdict(report, lines)
    _problems(report, lines)
    _steps(report, lines)
    _errors(report, lines)
    _suppressed(report, lines)
    _works(report, lines)
    lines.add()
    lines.add(f"{tally(report.counts, suppressed_counts(report))}; verdict: {report.verdict}", "bold")
    if report.next_steps:
        lines.add(f"start with {report.next_steps[0].check_id}; the full report: llmd-doctor report (same flags)",
                  "dim", hang=4)
    return "\n".join(lines.out) + "\n"
