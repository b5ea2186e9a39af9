"""The JSON document (docs/reports.md): one document, nothing else on stdout."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from llmd_doctor.report import Report

# Pieces of the document joined before each write (see write_json).
BATCH = 8192


def render_json(report: Report) -> str:
    pieces: list[str] = []
    write_json(report, pieces.append)
    return "".join(pieces)


def write_json(report: Report, write: Callable[[str], Any]) -> None:
    """The JSON document, written in batches as it is encoded: a 500-stack cluster's report is ~5 MB,
    and encoding it whole held ~35 MB more at the end of the run (issue #15)."""
    pieces: list[str] = []
    for piece in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(report.to_dict()):
        pieces.append(piece)
        if len(pieces) >= BATCH:
            write("".join(pieces))
            pieces.clear()
    pieces.append("\n")
    write("".join(pieces))
