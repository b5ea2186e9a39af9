"""The HTML status report: one self-contained, printable file (templates/report.html.j2).

No network fetches: inline CSS, system fonts, no scripts; everything from the cluster is escaped.
"""

from __future__ import annotations

from llmd_doctor.renderers.templating import render_template
from llmd_doctor.renderers.view import STATUS_LABEL, build_view
from llmd_doctor.report import Report

TEMPLATE = "report.html.j2"


def render_html(report: Report, template: str | None = None) -> str:
    """The report as one HTML document; `template` is a user's template file."""
    context = {"v": build_view(report), "report": report, "labels": {s.value: label for s, label in STATUS_LABEL.items()}}
    text = render_template(TEMPLATE, context, autoescape=True, path=template)
    return text if text.endswith("\n") else text + "\n"
