"""What the human-readable reports say, computed once from a Report: the sections as data.

The Markdown and HTML templates (and the GitHub step summary) render a `ReportView`, in this order:
the verdict with what was not verified, the problems (a root cause with its fix, evidence, the
capabilities it costs and its symptoms folded under it), the next steps (one per problem), what could
not be checked, what was suppressed, then the impact, the end-to-end test, the conclusion and what
works. Every sentence comes from the results, the problems, the capabilities and the probes — nothing
is written for one deployment. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
from llmd_doctor.problems import Problem
from llmd_doctor.renderers.docs import DocsLink, docs_link
from llmd_doctor.renderers.e2e import E2E, e2e_view
from llmd_doctor.renderers.text_utils import MAX_EVIDENCE, clean, clip, commands_in, join, plural
from llmd_doctor.report import CapabilityStatus, Report

__all__ = ["build_view", "clean", "commands_in", "ReportView", "STATUS_EMOJI", "STATUS_LABEL"]

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
VERDICT_EMOJI = {"healthy": "✅", "degraded": "⚠️", "broken": "❌", "unknown": "❔"}
VERDICT_MEANING = {
    "healthy": "no check found a problem",
    "degraded": "core inference works, but some capabilities are lost or at risk",
    "broken": "inference itself fails or cannot be shown to work",
    "unknown": "llmd-doctor could not see what a verdict needs",
}
_TALLY = (("pass", "passed"), ("warn", "warning"), ("fail", "failed"), ("error", "could not run"),
          ("skip", "skipped"), ("blocked", "blocked"))
MAX_SYMPTOM_EVIDENCE = 8
_AND_MORE = re.compile(r" \(and \d+ more\)$")  # the engine's "<first finding> (and 2 more)"


def area_title(area: str) -> str:
    from llmd_doctor.registry import area_title as title

    return title(area)


def cap_title(name: str) -> str:
    return name[:1].upper() + name[1:]


def tally(counts: dict[str, int], suppressed: dict[str, int] | None = None) -> str:
    """`19 passed, 2 warnings, 4 failed (4 suppressed), …`: suppressed results counted as such."""
    parts = []
    for key, word in _TALLY:
        n = counts[key]
        text = plural(n, "warning") if key == "warn" else f"{n} {word}"
        if suppressed and suppressed.get(key):
            text += f" ({suppressed[key]} suppressed)"
        parts.append(text)
    return ", ".join(parts)


def suppressed_counts(report: Report) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in report.suppressed:
        out[r.status.value] = out.get(r.status.value, 0) + 1
    return out


@dataclass
class CheckRef:
    id: str
    title: str
    status: str
    message: str
    anchor: str

    @classmethod
    def of(cls, r: CheckResult) -> CheckRef:
        return cls(r.id, clean(r.spec.title), r.status.value, clip(r.message), "check-" + r.spec.anchor)


@dataclass
class Issue:
    """One fail/warn/error result on its own (the errors section; `v.issues`, the flat list)."""

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
    docs: DocsLink
    remediation: str
    step: int | None  # number of the next step that fixes it (the step of its problem)


@dataclass
class SymptomLine:
    """A result a problem's root cause explains: one line (check, status, object, message), its
    evidence and docs folded."""

    check: CheckRef
    status: str
    label: str
    emoji: str
    object: str  # the first object it names ("" for a cluster-wide result)
    more_objects: int
    message: str
    line: str  # "<object>: <message>", or the message when it names the object itself
    evidence: list[str]
    docs: DocsLink
    anchor: str  # "issue-<check>": links to a check's result keep working


@dataclass
class ProblemView:
    n: int
    id: str
    anchor: str  # "problem-<id>"
    title: str
    status: str  # fail | warn
    label: str
    emoji: str
    severity: str
    root: CheckRef
    root_anchor: str  # "issue-<root check>"
    objects: list[str]
    cause: str  # the root's full message, "" when the title already says all of it
    evidence: list[str]
    details: list[str]  # the root's other findings
    capabilities: list[str]  # what the problem costs
    remediation: str
    commands: list[str]
    docs: DocsLink
    symptoms: list[SymptomLine]
    blocked: list[CheckRef]  # checks that could not run until it is fixed
    step: int


@dataclass
class CapabilityLine:
    name: str
    title: str
    status: str  # available | unavailable | unknown ("not verified": no passing check shows it)
    text: str  # what it gives (available/unknown) or what its loss means (unavailable)
    because: list[CheckRef]
    problems: list[ProblemView] = field(default_factory=list)  # the problems that cost it


@dataclass
class StatusBlock:
    label: str  # WORKING | BROKEN | BLOCKED | NOT VERIFIED | PARTLY VERIFIED
    emoji: str
    capabilities: list[CapabilityLine]
    blocked_by: list[CheckRef]  # the root causes (problems' roots) that take its capabilities


@dataclass
class Step:
    n: int
    check: CheckRef
    action: str
    commands: list[str]
    docs: DocsLink
    unblocks: list[CheckRef]
    also: list[CheckRef]
    problem: ProblemView


@dataclass
class SuppressedLine:
    check: CheckRef
    status: str
    label: str
    reason: str
    message: str


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
    verdict_line: str  # what follows the verdict: "unverified: …", "could not see: …", "lost: …"
    unverified: list[str]  # what no passing check shows (summary.unverified)
    unverified_note: list[str]  # the same, when the verdict line does not already carry it
    unverified_short: list[str]  # unverified_note by name: "end-to-end request", "runtime.gateway-access"
    source: str
    started_at: str
    duration_s: float
    tool_version: str
    counts: dict[str, int]
    suppressed_counts: dict[str, int]
    tally: str  # "19 passed, 2 warnings, 4 failed (4 suppressed), ..."
    warnings: list[str]
    problems: list[ProblemView]
    problems_heading: str  # "2 problems"
    steps: list[Step]
    errors: list[Issue]  # what could not be checked (error results; `unverified` lists them too)
    suppressed: list[SuppressedLine]
    working: list[AreaGroup]
    available: list[CapabilityLine]
    missing: list[CapabilityLine]
    unknown: list[CapabilityLine]
    core: StatusBlock
    advanced: StatusBlock
    e2e: E2E | None
    conclusion: str
    issues: list[Issue] = field(default_factory=list)  # every judged fail/error/warn, worst first
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


def _evidence(lines: list[str], limit: int = MAX_EVIDENCE) -> list[str]:
    out = [clip(e) for e in lines[:limit]]
    if len(lines) > limit:
        out.append(f"… {plural(len(lines) - limit, 'more line')} (see the JSON report)")
    return out


def _details(r: CheckResult) -> list[str]:
    """The result's other findings of its status, beside the one its message names."""
    base = _AND_MORE.sub("", r.message)
    return [clip(f.message + (f" ({f.object})" if f.object and f.object not in f.message else ""))
            for f in r.findings if f.status == r.status and f.message != base]


def _issue(report: Report, r: CheckResult, step: int | None) -> Issue:
    return Issue(
        check=CheckRef.of(r), area=area_title(r.spec.area), status=r.status.value,
        label=STATUS_LABEL[r.status], emoji=STATUS_EMOJI[r.status], severity=r.spec.severity.value,
        objects=[clean(o) for o in r.objects], cause=clean(r.message), evidence=_evidence(r.evidence),
        details=_details(r), lost=r.lost_capabilities, blocked=[CheckRef.of(b) for b in report.blocked_under(r.id)],
        docs=docs_link(r.spec), remediation=clean(r.remediation), step=step,
    )


def symptom_line(r: CheckResult) -> SymptomLine:
    objects = r.objects
    obj = clean(objects[0]) if objects else ""
    message = clip(r.message)
    line = message if not obj or obj in message else f"{obj}: {message}"
    return SymptomLine(CheckRef.of(r), r.status.value, STATUS_LABEL[r.status], STATUS_EMOJI[r.status], obj,
                       max(0, len(objects) - 1), message, line, _evidence(r.evidence, MAX_SYMPTOM_EVIDENCE),
                       docs_link(r.spec), "issue-" + r.spec.anchor)


def _cause(p: Problem) -> str:
    """The root's whole message less the object shown beside it; "" when the title is all of it."""
    message = " ".join(p.root.message.split())
    for o in p.root.objects[:1]:
        message = message.removeprefix(f"{o}: ")
    return "" if p.title.lower() == message.lower() else clean(message)


def problem_view(report: Report, n: int, p: Problem) -> ProblemView:
    root = p.root
    blocked = {b.id: CheckRef.of(b) for r in p.results for b in report.blocked_under(r.id)}
    remediation = clean(p.remediation)
    return ProblemView(
        n=n, id=p.id, anchor=f"problem-{p.id}", title=clean(p.title), status=p.status.value,
        label=STATUS_LABEL[p.status], emoji=STATUS_EMOJI[p.status], severity=root.spec.severity.value,
        root=CheckRef.of(root), root_anchor="issue-" + root.spec.anchor, objects=[clean(o) for o in root.objects],
        cause=_cause(p), evidence=_evidence(p.evidence), details=_details(root), capabilities=p.capabilities,
        remediation=remediation, commands=commands_in(remediation), docs=docs_link(root.spec),
        symptoms=[symptom_line(s) for s in p.symptoms], blocked=list(blocked.values()), step=n,
    )


def _cap_line(c: CapabilityStatus, by_id: dict[str, CheckResult], problems: list[ProblemView]) -> CapabilityLine:
    gives, loss = CAPABILITY_TEXT.get(c.name, (c.name, f"{c.name} is unavailable"))
    refs = [CheckRef.of(by_id[i]) for i in c.because if i in by_id]
    costs = [p for p in problems if c.name in p.capabilities] if c.status == "unavailable" else []
    return CapabilityLine(c.name, cap_title(c.name), c.status, loss if c.status == "unavailable" else gives, refs, costs)


def _status_block(lines: list[CapabilityLine], core: bool) -> StatusBlock:
    lost = [c for c in lines if c.status == "unavailable"]
    avail = [c for c in lines if c.status == "available"]
    blockers: dict[str, CheckRef] = {}
    for c in lost:
        for ref in [p.root for p in c.problems] or c.because:
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


def _unseen(report: Report) -> list[str]:
    """What an `unknown` verdict could not see, in plain words."""
    out = [clean(r.message) for r in report.judged if r.spec.area == "cluster" and r.status == Status.FAIL]
    out += [clean(u) for u in report.unverified]
    if not out:
        out = [f"{c.name} ({', '.join(c.because)} did not run)" for c in report.core_capabilities
               if c.status == "unknown" and c.because]
    return list(dict.fromkeys(out))


def verdict_line(report: Report) -> tuple[str, list[str]]:
    """(the text beside the verdict, what is not verified when that text does not say it)."""
    verdict, unverified = report.verdict, [clean(u) for u in report.unverified]
    missing = [c for c in report.capabilities if c.status == "unavailable"]
    if verdict == "healthy":
        return (f"unverified: {'; '.join(unverified)}" if unverified else "no check found a problem"), []
    if verdict == "unknown":
        return f"could not see: {'; '.join(_unseen(report))}", []
    names = join([c.name for c in missing])
    if verdict == "degraded" and missing:
        text = f"core inference works, but {names} {'is' if len(missing) == 1 else 'are'} lost"
    else:
        text = VERDICT_MEANING[verdict] + (f"; lost: {names}" if missing else "")
    return text, unverified


def _short(item: str) -> str:
    """An unverified item by its name: the text before its first `: ` or ` (`."""
    cuts = [i for i in (item.find(": "), item.find(" (")) if i > 0]
    return item[: min(cuts)] if cuts else item


def _title(report: Report, problems: list[ProblemView]) -> str:
    base = "llm-d deployment status report"
    if problems:
        return f"{base} — {plural(len(problems), 'problem')}"
    return f"{base}: {report.verdict}"


def _conclusion(report: Report, v: ReportView) -> str:
    c = report.counts
    ran = len(report.results) - c["skip"]
    where = _where(report)
    core_ok = [x.name for x in v.core.capabilities if x.status == "available"]
    core_lost = [x.name for x in v.core.capabilities if x.status == "unavailable"]
    core_unknown = [x.name for x in v.core.capabilities if x.status == "unknown"]
    lost = [x.name for x in v.missing]
    costly = list({p.n: p for c in v.missing for p in c.problems}.values())
    roots = sorted(costly, key=lambda p: p.n) or [p for p in v.problems if p.status == "fail"] or v.problems
    causes = join([f"{p.root.title} (`{p.root.id}`)" for p in roots[:3]] + (
        [f"{len(roots) - 3} more"] if len(roots) > 3 else []))
    counted = (f"{c['pass']} of {ran} checks that ran passed, {c['fail']} failed, {c['warn']} warned"
               f" and {c['error']} could not run")
    e2e = ""
    if v.e2e is not None:
        e2e = (" A chat completion through the gateway succeeded"
               + (f" in {v.e2e.latency_s:.2f} s." if v.e2e.latency_s is not None else ".")
               if v.e2e.ok else
               f" The chat completion through the gateway failed ({v.e2e.error or f'HTTP {v.e2e.status}'}).")
        if v.e2e.others:
            e2e += (f" {v.e2e.models_ok} of the {v.e2e.models_probed} models probed answered"
                    + (f"; {v.e2e.models_skipped} more {'was' if v.e2e.models_skipped == 1 else 'were'} not probed."
                       if v.e2e.models_skipped else "."))
    if v.verdict == "healthy":
        text = f"The llm-d deployment {where} is healthy: all {ran} checks that ran passed."
        if v.available:
            text += f" {cap_title(join([x.name for x in v.available]))} {'is' if len(v.available) == 1 else 'are'} available."
        text += e2e
        if v.unknown:
            text += f" Not verified: {join([x.name for x in v.unknown])}."
        return text
    verb = "is" if len(lost) == 1 else "are"
    if v.verdict == "unknown":
        text = (f"llmd-doctor could not see enough of the llm-d deployment {where} to judge it"
                + (f": {join(core_unknown)} could not be verified." if core_unknown else "."))
        text += e2e
        if v.problems:
            text += f" {cap_title(causes)} {'needs' if len(roots) == 1 else 'need'} attention."
    elif v.verdict == "degraded":
        if core_ok and not core_unknown:
            text = f"The llm-d deployment {where} provides its core functionality ({join(core_ok)})."
        elif core_ok:
            text = (f"The llm-d deployment {where} shows no failure of its core functionality: "
                    f"{join(core_ok)} {'works' if len(core_ok) == 1 else 'work'}, {join(core_unknown)} could not be verified.")
        else:
            text = f"No check shows the core functionality of the llm-d deployment {where} failing."
        text += e2e
        if lost:
            text += f" {cap_title(join(lost))} {verb} unavailable because of {causes}."
        else:
            text += f" {cap_title(causes)} {'needs' if len(roots) == 1 else 'need'} attention."
    else:
        if core_lost:
            text = (f"The llm-d deployment {where} does not serve inference: {join(core_lost)} "
                    f"{'is' if len(core_lost) == 1 else 'are'} unavailable because of {causes}.")
        else:
            text = (f"llmd-doctor could not show that the llm-d deployment {where} serves inference: "
                    f"{join(core_unknown)} could not be verified, and {causes} reported problems.")
        text += e2e
        other = [x for x in lost if x not in core_lost]
        if other:
            text += f" {cap_title(join(other))} {'is' if len(other) == 1 else 'are'} lost as well."
    text += f" In all, {counted}."
    if v.steps:
        first = v.steps[0]
        text += (f" Start with next step 1 ({first.check.title}, `{first.check.id}`)"
                 + (f", which also unblocks {plural(len(first.unblocks), 'more check', 'more checks')}." if first.unblocks else "."))
    return text


# ---- the view ---------------------------------------------------------------------------------


def build_view(report: Report) -> ReportView:
    by_id = {r.id: r for r in report.results}
    problems = [problem_view(report, n, p) for n, p in enumerate(report.problems, start=1)]
    by_problem = {p.id: p for p in problems}
    steps = [
        Step(n, CheckRef.of(by_id[s.check_id]), clean(s.action), commands_in(clean(s.action)), docs_link(by_id[s.check_id].spec),
             [CheckRef.of(by_id[u]) for u in s.unblocks if u in by_id],
             [CheckRef.of(by_id[a]) for a in s.also if a in by_id], by_problem[s.problem])
        for n, s in enumerate(report.next_steps, start=1)
    ]
    step_of = {r.id: by_problem[p.id].step for p in report.problems for r in p.results}
    caps = [_cap_line(c, by_id, problems) for c in report.capabilities]
    core_names = {c.name for c in report.core_capabilities}
    missing = [c for c in caps if c.status == "unavailable"]
    errors = [_issue(report, r, None) for r in report.judged if r.status == Status.ERROR]
    verdict_text, unverified_note = verdict_line(report)
    v = ReportView(
        title=_title(report, problems),
        verdict=report.verdict,
        verdict_emoji=VERDICT_EMOJI.get(report.verdict, ""),
        verdict_meaning=VERDICT_MEANING.get(report.verdict, ""),
        verdict_line=verdict_text,
        unverified=[clean(u) for u in report.unverified],
        unverified_note=unverified_note,
        unverified_short=list(dict.fromkeys(_short(u) for u in unverified_note)),
        source=source_text(report),
        started_at=report.started_at,
        duration_s=report.duration_s,
        tool_version=report.tool_version,
        counts=report.counts,
        suppressed_counts=suppressed_counts(report),
        tally=tally(report.counts, suppressed_counts(report)),
        warnings=[clean(w) for w in report.warnings],
        problems=problems,
        problems_heading=plural(len(problems), "problem"),
        steps=steps,
        errors=errors,
        suppressed=[SuppressedLine(CheckRef.of(r), r.status.value, STATUS_LABEL[r.status], clean(r.suppressed or ""),
                                   clip(r.message)) for r in report.suppressed],
        working=[AreaGroup(a, area_title(a), [CheckRef.of(r) for r in rs]) for a, rs in report.working.items()],
        available=[c for c in caps if c.status == "available"],
        missing=missing,
        unknown=[c for c in caps if c.status == "unknown"],
        core=_status_block([c for c in caps if c.name in core_names], core=True),
        advanced=_status_block([c for c in caps if c.name not in core_names], core=False),
        e2e=e2e_view(report.probes.get("e2e")),
        conclusion="",
        issues=[_issue(report, r, step_of.get(r.id)) for r in report.issues],
        missing_because=list({b.id: b for c in missing for b in ([p.root for p in c.problems] or c.because)}.values()),
        all_checks=[CheckRef.of(r) for r in report.results],
        skipped=[CheckRef.of(r) for r in report.results if r.status == Status.SKIP],
    )
    v.conclusion = _conclusion(report, v)
    return v
