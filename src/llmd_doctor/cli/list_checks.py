"""`llmd-doctor list-checks`: the catalog, in kubectl's output styles (table, wide, name, json, yaml)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

from llmd_doctor.cli.app import ChecksDirOpt, ConfigOpt, app, load_config
from llmd_doctor.cli.output import LIST_FORMATS, choose_format, output_option


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows)


@app.command("list-checks")
def list_checks(
    checks_dir: ChecksDirOpt = None,
    output: Annotated[str | None, output_option(LIST_FORMATS, "text")] = None,
    config: ConfigOpt = None,
) -> None:
    """List the check catalog: id, severity and title (-o wide adds area, prerequisites, capabilities)."""
    from llmd_doctor import docsref
    from llmd_doctor.run import RunOptions, choose_specs

    fmt = choose_format(output, None, "text", LIST_FORMATS)
    specs = choose_specs(RunOptions(checks_dirs=list(checks_dir or [])))
    if fmt == "name":
        sys.stdout.write("".join(f"{s.id}\n" for s in specs))
    elif fmt in ("json", "yaml"):
        base = docsref.base_url(load_config(config).docs_url)
        rows: list[dict[str, Any]] = [
            {"id": s.id, "title": s.title, "area": s.area, "severity": s.severity.value,
             "requires": list(s.requires), "capabilities": list(s.capabilities),
             "docs": docsref.reference(s.id, base) if docsref.is_own_reference(s.docs) else s.docs}
            for s in specs
        ]
        if fmt == "json":
            import json

            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            import yaml

            sys.stdout.write(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True))
    elif fmt == "wide":
        rows_w = [["ID", "SEVERITY", "AREA", "REQUIRES", "PROTECTS", "TITLE"]]
        rows_w += [[s.id, s.severity.value, s.area, ",".join(s.requires) or "-",
                    ",".join(s.capabilities) or "-", s.title] for s in specs]
        sys.stdout.write(_table(rows_w))
    else:
        sys.stdout.write(_table([["ID", "SEVERITY", "TITLE"]] + [[s.id, s.severity.value, s.title] for s in specs]))
