"""Each check's documentation, from the installed package: `llmd-doctor explain ID` and docs/checks.md.

One function builds a check's entry (`entry`) from its spec and the knowledge files that report under
it; the renderers here print it as Markdown (the catalog page and `explain -o markdown`), text and
JSON. `python -m llmd_doctor.docgen > docs/checks.md` writes the page; a test keeps it in sync, so
the page in the repository and what an installed tool prints are one text.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

from llmd_doctor import docsref
from llmd_doctor.model import CORE_CAPABILITIES, CheckSpec
from llmd_doctor.registry import load_specs

# Checks that report what the gateway implementations' facts (src/llmd_doctor/gateways/*.yaml) know:
# route conditions, controller log lines, known-bad releases.
CONDITION_CHECKS = ("httproute.status",)
GATEWAY_LOG_CHECKS = ("gateway.implementation",)
KNOWN_ISSUE_CHECKS = ("compat.versions",)

COMPONENT_LABELS = {
    "epp": "endpoint picker log",
    "vllm": "vLLM container log",
    "routing-sidecar": "routing sidecar log",
    "httproute-status": "HTTPRoute parent condition (reason: message)",
}
_SEVERITY_MEANS = {
    "critical": "when it fails, inference or the chain it belongs to does not work",
    "major": "when it fails, a capability is lost or at risk",
    "minor": "a problem worth fixing that does not stop inference",
    "info": "informational",
}


@dataclass(frozen=True)
class KnownCause:
    """A cause the check can name, with its fix: a log or condition signature, or a known issue."""

    id: str
    reads: str  # what it is matched on: "endpoint picker log", "version facts", ...
    status: str
    cause: str
    fix: str
    versions: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckEntry:
    spec: CheckSpec
    why: tuple[str, ...]
    required_by: tuple[str, ...]
    causes: tuple[KnownCause, ...]

    @property
    def docs(self) -> str:
        return docsref.reference(self.spec.id)


def _placeholders(text: str) -> str:
    """`{plugin}` (filled from the log at run time) reads as `<plugin>` in the docs."""
    return re.sub(r"\{(\w+)\}", r"<\1>", " ".join(text.split()))


def known_causes(spec: CheckSpec) -> list[KnownCause]:
    from llmd_doctor import knowledge
    from llmd_doctor.gateways import implementations

    components = spec.signatures
    out = [
        KnownCause(sig.id, COMPONENT_LABELS.get(comp, comp), sig.status, _placeholders(sig.cause),
                   _placeholders(sig.fix), sig.versions, sig.sources)
        for comp in components
        for sig in knowledge.signatures(comp)
    ]
    seen: set[str] = set()
    for impl in implementations():
        sigs = []
        if spec.id in CONDITION_CHECKS:
            sigs += [(sig, f"{impl.title} route condition (reason: message)") for sig in impl.condition_signatures
                     if sig.component == "httproute-status"]
        if spec.id in GATEWAY_LOG_CHECKS:
            sigs += [(sig, f"{impl.title} controller log") for sig in impl.log_signatures]
        for sig, reads in sigs:
            if sig.id not in seen:
                seen.add(sig.id)
                out.append(KnownCause(sig.id, reads, sig.status, _placeholders(sig.cause), _placeholders(sig.fix),
                                      sig.versions, sig.sources))
        if spec.id in KNOWN_ISSUE_CHECKS:
            for issue in impl.facts.get("known_issues") or []:
                out.append(KnownCause(
                    str(issue.get("id") or f"{impl.name}-{issue['versions']}"), f"{impl.title} version",
                    str(issue.get("status", "warn")), _placeholders(str(issue["message"])),
                    _placeholders(str(issue["fix"])), f"{impl.title} {issue['versions']}",
                    tuple(x.strip() for x in str(issue["source"]).split(", "))))
    return out


def entry(spec: CheckSpec, specs: list[CheckSpec]) -> CheckEntry:
    """A check's documentation; `specs` (the catalog) gives the checks that wait on it."""
    required_by = tuple(s.id for s in specs if spec.id in s.requires)
    why = [spec.why] if spec.why else []
    why.append(f"Severity {spec.severity.value}: {_SEVERITY_MEANS.get(spec.severity.value, '')}.")
    core = [c for c in spec.capabilities if c in CORE_CAPABILITIES]
    if core:
        why.append(f"A failure here can break inference itself ({', '.join(core)}): verdict `broken`.")
    extra = [c for c in spec.capabilities if c not in CORE_CAPABILITIES]
    if extra:
        why.append(f"A failure here can cost {', '.join(extra)}: verdict `degraded` when inference still works.")
    if required_by:
        why.append(f"While it fails, {', '.join(f'`{r}`' for r in required_by)} cannot run (`blocked`).")
    return CheckEntry(spec, tuple(why), required_by, tuple(known_causes(spec)))


def entries(specs: list[CheckSpec]) -> list[CheckEntry]:
    return [entry(s, specs) for s in specs]


# ---- Markdown: the catalog page and `explain -o markdown` ----------------------------------------


def entry_markdown(e: CheckEntry) -> str:
    s = e.spec
    out = [f'<a id="{s.anchor}"></a>', f"### `{s.id}` — {s.title}", ""]
    if s.description:  # a docstring's later lines keep their indent: 4 spaces would make a code block
        out += [inspect.cleandoc(s.description), ""]
    out += ["**Why it matters.** " + " ".join(e.why), ""]
    out.append(f"- **Area:** {s.area}; **severity:** {s.severity.value}")
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
    out.append(f"- **Docs:** `{e.docs}`")
    if e.causes:
        out += ["", f"**Known causes** ({len(e.causes)}; in the order they are tried):", ""]
        for i, c in enumerate(e.causes, 1):
            where = f"{c.reads}; {c.versions}" if c.versions else c.reads
            out.append(f"{i}. `{c.id}` ({c.status}; {where}): {c.cause}")
            out.append(f"   - **Fix:** {c.fix}")
            if c.sources:
                out.append(f"   - **Sources:** {', '.join(c.sources)}")
    return "\n".join(out)


def render_checks_md(specs: list[CheckSpec]) -> str:
    out = [
        "# Check catalog",
        "",
        "Generated from the check specs by `python -m llmd_doctor.docgen > docs/checks.md`; do not edit by hand.",
        "The same entries ship in the package: `llmd-doctor explain <id>` prints one offline",
        "(`-o markdown` prints it as here). Results: `pass`, `warn`, `fail`, `error`, `skip`, `blocked`.",
        "",
        "| id | severity | title |",
        "|---|---|---|",
    ]
    out += [f"| [`{s.id}`](#{s.anchor}) | {s.severity.value} | {s.title} |" for s in specs]
    areas: dict[str, list[CheckEntry]] = {}
    for e in entries(specs):
        areas.setdefault(e.spec.area, []).append(e)
    for area, group in areas.items():
        out += ["", f"## {area}"]
        for e in group:
            out += ["", entry_markdown(e)]
    return "\n".join(out) + "\n"


# ---- Text and JSON: `explain` ----------------------------------------------------------------------


def entry_text(e: CheckEntry, width: int = 100, base: str | None = None) -> str:
    s = e.spec
    lines: list[str] = []

    def para(text: str, indent: int = 2, hang: int = 0) -> None:
        lines.extend(textwrap.wrap(text, width=width, initial_indent=" " * indent,
                                   subsequent_indent=" " * (indent + hang), break_on_hyphens=False) or [""])

    def field(name: str, value: str) -> None:
        para(f"{name + ':':<9} {' '.join(value.split())}", hang=10)

    lines += [f"{s.id} — {s.title}", f"  area {s.area}, severity {s.severity.value}", ""]
    if s.description:
        lines.append("What it checks")
        para(" ".join(s.description.split()))
        lines.append("")
    lines.append("Why it matters")
    for w in e.why:
        para(w.replace("`", ""))
    lines.append("")
    if s.inputs or s.logs is not None or s.requires or s.capabilities:
        if s.inputs:
            field("Reads", ", ".join(s.inputs) + ("; logs of the pods it needs" if s.logs is not None else ""))
        if s.requires:
            field("Requires", ", ".join(s.requires) + " (blocked when one fails)")
        if s.capabilities:
            field("Protects", ", ".join(s.capabilities))
        lines.append("")
    if e.causes:
        lines.append(f"Known causes ({len(e.causes)}; in the order they are tried)")
        for i, c in enumerate(e.causes, 1):
            where = f"{c.reads}; {c.versions}" if c.versions else c.reads
            para(f"{i}. {c.id} [{c.status}] ({where})", hang=3)
            para(c.cause, indent=5)
            para(f"fix: {c.fix}", indent=5, hang=5)
            if c.sources:
                para(f"sources: {', '.join(c.sources)}", indent=5, hang=9)
        lines.append("")
    if s.remediation:
        lines.append("Fix")
        para(" ".join(s.remediation.replace("`", "").split()))
        lines.append("")
    if base:
        lines += [f"Online: {docsref.url(s.id, base)}", ""]
    return "\n".join(lines)


def entry_dict(e: CheckEntry, base: str | None = None) -> dict[str, Any]:
    s = e.spec
    return {
        "id": s.id,
        "title": s.title,
        "area": s.area,
        "severity": s.severity.value,
        "description": " ".join(s.description.split()),
        "why": [w.replace("`", "") for w in e.why],
        "inputs": list(s.inputs),
        "logs": s.logs is not None,
        "requires": list(s.requires),
        "required_by": list(e.required_by),
        "capabilities": list(s.capabilities),
        "remediation": s.remediation,
        "known_causes": [
            {"id": c.id, "reads": c.reads, "status": c.status, "cause": c.cause, "fix": c.fix,
             "versions": c.versions, "sources": list(c.sources)}
            for c in e.causes
        ],
        "docs": docsref.reference(s.id, base),
    }


def main() -> None:
    sys.stdout.write(render_checks_md(load_specs(plugins=False)))


if __name__ == "__main__":
    main()
