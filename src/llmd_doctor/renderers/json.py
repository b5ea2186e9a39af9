"""The JSON document (docs/reports.md): one document, nothing else on stdout."""

from __future__ import annotations

import json

from llmd_doctor.report import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
