"""What the human-readable reports say, computed once from a Report: the seed's sections as data.

The Markdown and HTML templates (and the GitHub step summary) render a `ReportView`; every
sentence in it comes from the results, the capabilities and the probes — nothing is written for
one deployment. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    GATEWAY_ROUTING,
    GPU_INFERENCE,
    OPENAI_API,
    PD_DISAGGREGATION,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
    CheckResult,
    Status,
)
from llmd_doctor.report import CapabilityStatus, Report

# What each capability gives, and what its loss means (the seed's "What works / What's missing").
CAPABILITY_TEXT: dict[str, tuple[str, str]] = {
    GPU_INFERENCE: ("model servers run on GPUs and answer requests",
                    "no model server is ready to answer on a GPU"),
    GATEWAY_ROUTING: ("requests reach the model servers through the gateway",
                      "requests do not reach the model servers through the gateway"),
    OPENAI_API: ("the OpenAI-compatible endpoints (/v1/chat/completions, /v1/models) answer",
                 "the OpenAI-compatible endpoints do not answer"),
    CACHE_AWARE_ROUTING: ("the endpoint picker sends each request to the pod that holds its KV cache",
                          "no routing by KV-cache state: requests are spread without knowing which pod holds the cache"),
    PREFIX_CACHE: ("prompts that share a prefix land on the pod that cached it",
                   "shared prompt prefixes are not detected, so each pod recomputes them"),
    SATURATION_SCHEDULING: ("the endpoint picker steers requests away from saturated pods (queue depth, KV-cache use)",
                            "no endpoint selection by load: busy pods keep getting requests (plain round-robin)"),
    PD_DISAGGREGATION: ("prefill and decode run on separate pods",
                        "prefill and decode are not split across pods"),
}

STATUS_EMOJI = {
    Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌",
    Status.ERROR: "❗", Status.SKIP: "⏭️", Status.BLOCKED: "⛔",
}
STATUS_LABEL = {
    Status.PASS: "passed", Status.WARN: "warning", Status.FAIL: "failed",
    Status.ERROR: "could not check", Status.SKIP: "skipped", Status.BLOCKED: "blocked",
}
VERDICT_EMOJI = {"healthy": "✅", "degraded": "⚠️", "broken": "❌"}
VERDICT_MEANING = {
    "healthy": "no check found a problem",
    "degraded": "core inference works, but some capabilities are lost or at risk",
    "broken": "inference itself fails or cannot be shown to work",
}
# Command words that make a code span in a remediation a command to run.
_COMMANDS = ("kubectl", "oc", "helm", "helmfile", "istioctl", "curl", "llmd-doctor", "kustomize", "gcloud", "kind")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
MAX_EVIDENCE = 20
MAX_LINE = 500
MAX_BODY = 6000


def area_title(area: str) -> str:
    from llmd_doctor.registry import area_title as title

    return title(area)


def cap_title(name: str) -> str:
    return name[:1].upper() + name[1:]


def commands_in(text: str) -> list[str]:
    """Commands a remediation asks to run: code spans starting with a known tool, or the text itself."""
    spans = [m.group(2).strip() for m in _CODE_SPAN.finditer(text)]
    cmds = [s for s in spans if s.split(" ", 1)[0] in _COMMANDS]
    if not spans and text.split(" ", 1)[0] in _COMMANDS:
        cmds = [text.strip()]
    return list(dict.fromkeys(cmds))


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def tally(counts: dict[str, int]) -> str:
    return (f"{counts['pass']} passed, {_n(counts['warn'], 'warning')}, {counts['fail']} failed, "
            f"{counts['error']} could not run, {counts['skip']} skipped, {counts['blocked']} blocked")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: object) -> str:
    """Text from the cluster without control characters (a log line's terminal escapes would
    garble a terminal, a GitHub issue or an XML file): shown as \\xNN instead."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def _clip(text: str, limit: int = MAX_LINE) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


@dataclass
class CheckRef:
    id: str
    title: str
    status: str
    message: str
    anchor: str

    @classmethod
    def of(cls, r: CheckResult) -> CheckRef:
        return cls(r.id, clean(r.spec.title), r.status.value, _clip(r.message), "check-" + r.spec.anchor)


@dataclass
class Issue:
    check: CheckRef
    area: str
    status: str
    label: str  # failed | warning | could not check
    emoji: str
    severity: str
    objects: list[str]
    cause: str
    evidence: list[str]
    details: list[str]
    lost: list[str]
    blocked: list[CheckRef]
    docs: str
    remediation: str
    step: int | None  # number of the next step that fixes it


@dataclass
class CapabilityLine:
    name: str
    title: str
    status: str  # available | unavailable | unknown
    text: str  # what it gives (available/unknown) or what its loss means (unavailable)
    because: list[CheckRef]


@dataclass
class StatusBlock:
    label: str  # WORKING | BROKEN | BLOCKED | NOT VERIFIED | PARTLY VERIFIED
    emoji: str
    capabilities: list[CapabilityLine]
    blocked_by: list[CheckRef]


@dataclass
class E2E:
    ok: bool
    method: str
    url: str
    status: int | None
    latency_s: float | None
    error: str
    curl: str
    request: str
    response: str
    response_lang: str


@dataclass
class Step:
    n: int
    check: CheckRef
    action: str
    commands: list[str]
    docs: str
    unblocks: list[CheckRef]
    also: list[CheckRef]


@dataclass
class AreaGroup:
    area: str
    title: str
    checks: list[CheckRef]


@dataclass
class ReportView:
    title: str
    verdict: str
    verdict_emoji: str
    verdict_meaning: str
    source: str
    started_at: str
    duration_s: float
    tool_version: str
    counts: dict[str, int]
    tally: str  # "6 passed, 1 warning, 2 failed, ..."
    warnings: list[str]
    working: list[AreaGroup]
    issues: list[Issue]
    issues_heading: str
    available: list[CapabilityLine]
    missing: list[CapabilityLine]
    unknown: list[CapabilityLine]
    core: StatusBlock
    advanced: StatusBlock
    e2e: E2E | None
    steps: list[Step]
    conclusion: str
    missing_because: list[CheckRef] = field(default_factory=list)
    all_checks: list[CheckRef] = field(default_factory=list)
    skipped: list[CheckRef] = field(default_factory=list)


# ---- pieces -----------------------------------------------------------------------------------


def source_text(report: Report) -> str:
    s = report.source
    parts = [f"bundle `{s.path}`" if s.kind == "bundle" else "live cluster"]
    if s.context:
        parts.append(f"context `{s.context}`")
    if s.server_version:
        parts.append(f"Kubernetes {s.server_version}")
    if s.kind == "bundle" and s.collected_at:
        parts.append(f"collected {s.collected_at}")
    if s.kind == "live" and s.user:
        parts.append(f"as `{s.user}`")
    return ", ".join(parts)


def _where(report: Report) -> str:
    s = report.source
    if s.context:
        return f"in context `{s.context}`"
    return f"captured in bundle `{s.path}`" if s.kind == "bundle" else "in the current context"


def _issue(report: Report, r: CheckResult, steps: list[Step]) -> Issue:
    same = [f for f in r.findings if f.status == r.status]
    base = r.message.split(" (and ")[0]
    details = []
    for f in same:
        if f.message == base:
            continue
        details.append(_clip(f"{f.message}" + (f" ({f.object})" if f.object and f.object not in f.message else "")))
    evidence = [_clip(e) for e in r.evidence[:MAX_EVIDENCE]]
    if len(r.evidence) > MAX_EVIDENCE:
        evidence.append(f"… {len(r.evidence) - MAX_EVIDENCE} more lines (see the JSON report)")
    step = next((s.n for s in steps if s.check.id == r.id or any(a.id == r.id for a in s.also)), None)
    return Issue(
        check=CheckRef.of(r), area=area_title(r.spec.area), status=r.status.value,
        label=STATUS_LABEL[r.status], emoji=STATUS_EMOJI[r.status], severity=r.spec.severity.value,
        objects=[clean(o) for o in r.objects], cause=clean(r.message), evidence=evidence, details=details,
        lost=r.lost_capabilities, blocked=[CheckRef.of(b) for b in report.blocked_under(r.id)],
        docs=r.spec.docs, remediation=clean(r.remediation), step=step,
    )


def _cap_line(c: CapabilityStatus, by_id: dict[str, CheckResult]) -> CapabilityLine:
    gives, loss = CAPABILITY_TEXT.get(c.name, (c.name, f"{c.name} is unavailable"))
    refs = [CheckRef.of(by_id[i]) for i in c.because if i in by_id]
    return CapabilityLine(c.name, cap_title(c.name), c.status, loss if c.status == "unavailable" else gives, refs)


def _status_block(lines: list[CapabilityLine], core: bool) -> StatusBlock:
    lost = [c for c in lines if c.status == "unavailable"]
    avail = [c for c in lines if c.status == "available"]
    blockers: dict[str, CheckRef] = {}
    for c in lost:
        for ref in c.because:
            blockers.setdefault(ref.id, ref)
    if lost:
        label, emoji = ("BROKEN", "❌") if core else ("BLOCKED", "❌")
    elif lines and len(avail) == len(lines):
        label, emoji = "WORKING", "✅"
    elif avail:
        label, emoji = "PARTLY VERIFIED", "⚠️"
    else:
        label, emoji = "NOT VERIFIED", "❔"
    return StatusBlock(label, emoji, lines, list(blockers.values()))


def _e2e(probe: Any) -> E2E | None:
    """The recorded chat completion (probes["e2e"]), or None when no request was sent.

    `request` is either the JSON body sent, or {"method", "headers", "body"}; the answer is
    `response` (parsed JSON) or `body_excerpt` (text). See docs/reports.md."""
    if not isinstance(probe, dict) or "request" not in probe or probe.get("not_run"):
        return None
    url = str(probe.get("url") or "")
    req = probe.get("request")
    headers: dict[str, Any] = {}
    method = str(probe.get("method") or "POST")
    if isinstance(req, dict) and ("body" in req or "headers" in req or "method" in req) and set(req) <= {"method", "headers", "body"}:
        method = str(req.get("method") or method)
        headers = dict(req.get("headers") or {})
        req = req.get("body")
    method = method.upper()
    status = probe.get("status")
    status = int(status) if isinstance(status, int | float | str) and str(status).isdigit() else None
    latency = probe.get("latency_s")
    latency = float(latency) if isinstance(latency, int | float) else None
    error = str(probe.get("error") or "")
    if probe.get("error_class") and str(probe["error_class"]) not in error:
        error = f"{probe['error_class']}: {error}" if error else str(probe["error_class"])
    if probe.get("hop"):
        error += f" (failing hop: {probe['hop']})"
    if isinstance(req, dict | list):
        request = json.dumps(req, indent=2, ensure_ascii=False)
        body = json.dumps(req, ensure_ascii=False)
    else:
        request = body = "" if req is None else str(req)
    curl = f"curl -sS -X {method} {shlex.quote(url)}"
    for name, value in headers.items():
        if str(name).lower() == "authorization":
            curl += ' \\\n  -H "Authorization: Bearer $API_KEY"'
        elif str(name).lower() != "content-type" or not body:
            curl += f" \\\n  -H {shlex.quote(f'{name}: {value}')}"
    if body:
        curl += f" \\\n  -H 'Content-Type: application/json' \\\n  -d {shlex.quote(body)}"
    resp = probe["response"] if "response" in probe else probe.get("body_excerpt")
    if isinstance(resp, dict | list):
        response, lang = json.dumps(resp, indent=2, ensure_ascii=False), "json"
    else:
        response, lang = ("" if resp is None else str(resp)), "text"
    if len(response) > MAX_BODY:
        response = response[:MAX_BODY] + f"\n… ({len(response) - MAX_BODY} more characters)"
    ok = status is not None and 200 <= status < 300 and not error
    return E2E(ok, method, clean(url), status, latency, clean(error.strip()), clean(curl), _clip(request, MAX_BODY),
               clean(response), lang)


def _title(report: Report, issues: list[Issue]) -> str:
    base = "llm-d deployment status report"
    if not issues:
        return f"{base}: healthy"
    roots = [i for i in issues if i.status in ("fail", "error")] or issues
    areas = list(dict.fromkeys(i.area for i in roots))
    noun = "issue" if len(roots) == 1 else "issues"
    if len(areas) == 1:
        return f"{base} — {areas[0]} {noun}"
    return f"{base} — {len(roots)} {noun} in {len(areas)} areas"


def _conclusion(report: Report, v: ReportView) -> str:
    c = report.counts
    ran = len(report.results) - c["skip"]
    where = _where(report)
    core_ok = [x.name for x in v.core.capabilities if x.status == "available"]
    core_lost = [x.name for x in v.core.capabilities if x.status == "unavailable"]
    core_unknown = [x.name for x in v.core.capabilities if x.status == "unknown"]
    lost = [x.name for x in v.missing]
    roots = [i for i in v.issues if i.status == "fail"] or v.issues
    causes = _join([f"{i.check.title} (`{i.check.id}`)" for i in roots[:3]] + (
        [f"{len(roots) - 3} more"] if len(roots) > 3 else []))
    tally = (f"{c['pass']} of {ran} checks that ran passed, {c['fail']} failed, {c['warn']} warned"
             f" and {c['error']} could not run")
    e2e = ""
    if v.e2e is not None:
        e2e = (" A chat completion through the gateway succeeded"
               + (f" in {v.e2e.latency_s:.2f} s." if v.e2e.latency_s is not None else ".")
               if v.e2e.ok else
               f" The chat completion through the gateway failed ({v.e2e.error or f'HTTP {v.e2e.status}'}).")
    if v.verdict == "healthy":
        text = f"The llm-d deployment {where} is healthy: all {ran} checks that ran passed."
        if v.available:
            text += f" {cap_title(_join([x.name for x in v.available]))} {'is' if len(v.available) == 1 else 'are'} available."
        text += e2e
        if v.unknown:
            text += f" Not verified: {_join([x.name for x in v.unknown])}."
        return text
    verb = "is" if len(lost) == 1 else "are"
    if v.verdict == "degraded":
        if core_ok and not core_unknown:
            text = f"The llm-d deployment {where} provides its core functionality ({_join(core_ok)})."
        elif core_ok:
            text = (f"The llm-d deployment {where} shows no failure of its core functionality: "
                    f"{_join(core_ok)} {'works' if len(core_ok) == 1 else 'work'}, {_join(core_unknown)} could not be verified.")
        else:
            text = f"No check shows the core functionality of the llm-d deployment {where} failing."
        text += e2e
        if lost:
            text += f" {cap_title(_join(lost))} {verb} unavailable because of {causes}."
        else:
            text += f" {cap_title(causes)} {'needs' if len(roots) == 1 else 'need'} attention."
    else:
        if core_lost:
            text = (f"The llm-d deployment {where} does not serve inference: {_join(core_lost)} "
                    f"{'is' if len(core_lost) == 1 else 'are'} unavailable because of {causes}.")
        else:
            text = (f"llmd-doctor could not show that the llm-d deployment {where} serves inference: "
                    f"{_join(core_unknown)} could not be verified, and {causes} reported problems.")
        text += e2e
        other = [x for x in lost if x not in core_lost]
        if other:
            text += f" {cap_title(_join(other))} {'is' if len(other) == 1 else 'are'} lost as well."
    text += f" In all, {tally}."
    if v.steps:
        first = v.steps[0]
        text += (f" Start with next step 1 ({first.check.title}, `{first.check.id}`)"
                 + (f", which also unblocks {_n(len(first.unblocks), 'more check', 'more checks')}." if first.unblocks else "."))
    return text


# ---- the view ---------------------------------------------------------------------------------


def build_view(report: Report) -> ReportView:
    by_id = {r.id: r for r in report.results}
    steps = [
        Step(n, CheckRef.of(by_id[s.check_id]), clean(s.action), commands_in(clean(s.action)), s.docs,
             [CheckRef.of(by_id[u]) for u in s.unblocks if u in by_id],
             [CheckRef.of(by_id[a]) for a in s.also if a in by_id])
        for n, s in enumerate(report.next_steps, start=1)
    ]
    issues = [_issue(report, r, steps) for r in report.root_causes_first]
    caps = [_cap_line(c, by_id) for c in report.capabilities]
    core_names = {c.name for c in report.core_capabilities}
    roots = [i for i in issues if i.status in ("fail", "error")] or issues
    areas = list(dict.fromkeys(i.area for i in roots))
    if not issues:
        heading = "Current issues"
    elif len(areas) == 1:
        heading = f"Current {'issue' if len(issues) == 1 else 'issues'}: {areas[0]}"
    else:
        heading = "Current issues"
    v = ReportView(
        title=_title(report, issues),
        verdict=report.verdict,
        verdict_emoji=VERDICT_EMOJI.get(report.verdict, ""),
        verdict_meaning=VERDICT_MEANING.get(report.verdict, ""),
        source=source_text(report),
        started_at=report.started_at,
        duration_s=report.duration_s,
        tool_version=report.tool_version,
        counts=report.counts,
        tally=tally(report.counts),
        warnings=[clean(w) for w in report.warnings],
        working=[AreaGroup(a, area_title(a), [CheckRef.of(r) for r in rs]) for a, rs in report.working.items()],
        issues=issues,
        issues_heading=heading,
        available=[c for c in caps if c.status == "available"],
        missing=[c for c in caps if c.status == "unavailable"],
        unknown=[c for c in caps if c.status == "unknown"],
        core=_status_block([c for c in caps if c.name in core_names], core=True),
        advanced=_status_block([c for c in caps if c.name not in core_names], core=False),
        e2e=_e2e(report.probes.get("e2e")),
        steps=steps,
        conclusion="",
        missing_because=list({b.id: b for c in caps if c.status == "unavailable" for b in c.because}.values()),
        all_checks=[CheckRef.of(r) for r in report.results],
        skipped=[CheckRef.of(r) for r in report.results if r.status == Status.SKIP],
    )
    v.conclusion = _conclusion(report, v)
    return v
