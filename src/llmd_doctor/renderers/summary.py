"""Short Markdown for CI: the GitHub Actions step summary (templates/summary.md.j2)."""

from __future__ import annotations

import os

from llmd_doctor.renderers.templating import normalize_markdown, render_template
from llmd_doctor.renderers.view import STATUS_EMOJI, build_view
from llmd_doctor.report import Report

TEMPLATE = "summary.md.j2"
ENV = "GITHUB_STEP_SUMMARY"


def render_step_summary(report: Report) -> str:
    context = {"v": build_view(report), "report": report, "emoji": {s.value: e for s, e in STATUS_EMOJI.items()}}
    return normalize_markdown(render_template(TEMPLATE, context, autoescape=False))


def append_step_summary(report: Report, environ: dict[str, str] | None = None) -> str | None:
    """Append the summary to $GITHUB_STEP_SUMMARY when it is set; the path written, or None."""
    path = (environ if environ is not None else os.environ).get(ENV)
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as f:
        f.write(render_step_summary(report) + "\n")
    return path
