"""Generate docs/checks.md from the check specs (`python -m llmd_doctor.docgen > docs/checks.md`).

A test keeps the committed page in sync with the code.
"""

from __future__ import annotations

import sys

from llmd_doctor.model import CheckSpec
from llmd_doctor.registry import load_specs


def render_checks_md(specs: list[CheckSpec]) -> str:
    out = [
        "# Check catalog",
        "",
        "Generated from the check specs by `python -m llmd_doctor.docgen > docs/checks.md`; do not edit by hand.",
        "Ids are stable (see `shared/spec/checks-and-report.md`). Results: `pass`, `warn`, `fail`, `error`,",
        "`skip`, `blocked`.",
        "",
        "| id | severity | title |",
        "|---|---|---|",
    ]
    out += [f"| [`{s.id}`](#{s.anchor}) | {s.severity.value} | {s.title} |" for s in specs]
    areas: dict[str, list[CheckSpec]] = {}
    for s in specs:
        areas.setdefault(s.area, []).append(s)
    for area, group in areas.items():
        out += ["", f"## {area}"]
        for s in group:
            out += ["", f'<a id="{s.anchor}"></a>', f"### `{s.id}` — {s.title}", ""]
            if s.description:
                out += [s.description, ""]
            out.append(f"- **Severity:** {s.severity.value}")
            if s.requires:
                out.append(f"- **Requires:** {', '.join(f'`{r}`' for r in s.requires)} (blocked when one fails)")
            if s.inputs:
                out.append(f"- **Reads:** {', '.join(f'`{i}`' for i in s.inputs)}")
            if s.logs is not None:
                out.append("- **Logs:** of the pods it needs, tailed (current and previous)")
            if s.capabilities:
                out.append(f"- **Protects:** {', '.join(s.capabilities)}")
            if s.remediation:
                out.append(f"- **Fix:** {s.remediation}")
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render_checks_md(load_specs(plugins=False)))


if __name__ == "__main__":
    main()
