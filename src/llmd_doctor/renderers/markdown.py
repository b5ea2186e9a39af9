"""The Markdown status report: the seed's structure, computed (templates/report.md.j2)."""

from __future__ import annotations

from llmd_doctor.renderers.templating import normalize_markdown, render_template
from llmd_doctor.renderers.view import STATUS_EMOJI, build_view
from llmd_doctor.report import Report

TEMPLATE = "report.md.j2"


def render_markdown(report: Report, template: str | None = None) -> str:
    """The report as GitHub-flavoured Markdown; `template` is a user's template file."""
    context = {"v": build_view(report), "report": report, "emoji": {s.value: e for s, e in STATUS_EMOJI.items()}}
    return normalize_markdown(render_template(TEMPLATE, context, autoescape=False, path=template))
