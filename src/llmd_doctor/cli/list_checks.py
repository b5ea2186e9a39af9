"""`llmd-doctor list-checks`: the catalog."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from llmd_doctor.cli.app import ChecksDirOpt, Output, app


@app.command("list-checks")
def list_checks(
    checks_dir: ChecksDirOpt = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
) -> None:
    """List the check catalog: id, severity, area and title."""
    from llmd_doctor.run import RunOptions, choose_specs

    specs = choose_specs(RunOptions(checks_dirs=list(checks_dir or [])))
    if output == Output.json:
        import json

        rows = [
            {"id": s.id, "title": s.title, "area": s.area, "severity": s.severity.value,
             "requires": list(s.requires), "capabilities": list(s.capabilities), "docs": s.docs}
            for s in specs
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    width = max((len(s.id) for s in specs), default=10)
    for s in specs:
        sys.stdout.write(f"{s.id:<{width}}  {s.severity.value:<8}  {s.title}\n")
