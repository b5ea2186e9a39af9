"""The Report: results plus what they mean (summary, verdict, capabilities, next steps).

Renderers are pure functions of a Report; `to_dict` is the JSON contract of
shared/spec/checks-and-report.md (schema_version 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import __version__
from llmd_doctor.model import (
    ALL_CAPABILITIES,
    CORE_CAPABILITIES,
    CheckResult,
    ExitCode,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.snapshot import SourceInfo

SCHEMA_VERSION = "1"
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.INFO: 3}
_PROBLEM_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
#: `--fail-on` levels: the statuses that make the gate fail.
FAIL_LEVELS: dict[str, tuple[Status, ...]] = {
    "warn": (Status.WARN, Status.FAIL),
    "fail": (Status.FAIL,),
    "never": (),
}
#: Past this many restarts a CrashLoopBackOff has reached the kubelet's 5-minute back-off cap
#: (10s, 20s, 40s, 80s, 160s, 300s): the container crashed every time for minutes, waiting won't fix it.
BACKOFF_RESTARTS = 5
_RESTARTS = re.compile(r"(?:(\d+)\s+restarts?\b|restartCount[\s:=]+(\d+)|restarted\s+(\d+)\s+times)")
# Waiting reasons and events that do not go away by waiting (`--wait` stops on them at once).
_STUCK = (
    (re.compile(r"\b(ImagePullBackOff|ErrImagePull|InvalidImageName)\b"), None),
    (re.compile(r"\bCreateContainerConfigError\b"), None),
    # A cluster autoscaler that is adding a node can still make a pod schedulable.
    (re.compile(r"\b(Unschedulable|FailedScheduling)\b"), re.compile(r"TriggeredScaleUp|triggered scale-up", re.I)),
)


@dataclass
class CapabilityStatus:
    name: str
    status: str  # available | unavailable | unknown
    because: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "because": list(self.because)}


@dataclass
class NextStep:
    check_id: str
    title: str
    action: str
    docs: str
    # Checks that cannot run until this one is fixed (blocked on it).
    unblocks: list[str] = field(default_factory=list)
    # Other problems with the same remediation (one step fixes them all).
    also: list[str] = field(default_factory=list)


@dataclass
class Report:
    source: SourceInfo
    started_at: str
    duration_s: float
    results: list[CheckResult]
    warnings: list[str] = field(default_factory=list)
    probes: dict[str, Any] = field(default_factory=dict)

    # ---- derived -----------------------------------------------------------------------------

    @property
    def judged(self) -> list[CheckResult]:
        """The results that count for the verdict and the gate: all but config-file suppressions."""
        return [r for r in self.results if r.suppressed is None]

    @property
    def suppressed(self) -> list[CheckResult]:
        return [r for r in self.results if r.suppressed is not None]

    @property
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    @property
    def capabilities(self) -> list[CapabilityStatus]:
        out = []
        for cap in ALL_CAPABILITIES:
            lost = [r.id for r in self.judged if cap in r.lost_capabilities]
            protecting = [r for r in self.results if cap in r.spec.capabilities]
            if lost:
                out.append(CapabilityStatus(cap, "unavailable", lost))
            elif any(r.status == Status.PASS for r in protecting):
                out.append(CapabilityStatus(cap, "available", [r.id for r in protecting if r.status == Status.PASS]))
            else:
                why = [r.id for r in protecting if r.status in (Status.ERROR, Status.SKIP, Status.BLOCKED)]
                out.append(CapabilityStatus(cap, "unknown", why))
        return out

    @property
    def verdict(self) -> str:
        if not any(r.status in (Status.WARN, Status.FAIL, Status.ERROR) for r in self.judged):
            return "healthy"
        core = [c for c in self.capabilities if c.name in CORE_CAPABILITIES]
        if any(c.status == "unavailable" for c in core) or all(c.status == "unknown" for c in core):
            return "broken"
        return "degraded"

    @property
    def problems(self) -> list[CheckResult]:
        """fail, warn and error results, root causes first (blocked ones hang under them)."""
        rank = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
        probs = [r for r in self.judged if r.status in rank]
        return sorted(probs, key=lambda r: (rank[r.status], _SEVERITY_ORDER[r.spec.severity]))

    def blocked_under(self, check_id: str) -> list[CheckResult]:
        return [r for r in self.results if r.status == Status.BLOCKED and check_id in r.blocked_by]

    @property
    def root_causes_first(self) -> list[CheckResult]:
        """Problems in the order to fix them: failures before errors before warnings, then the
        checks that block others, then by severity; a problem whose remediation defers to another
        problem's check (e.g. "epp.logs names the cause") comes after that check."""
        order = {r.id: i for i, r in enumerate(self.results)}
        probs = sorted(
            self.problems,
            key=lambda r: (_PROBLEM_RANK[r.status], -len(self.blocked_under(r.id)),
                           _SEVERITY_ORDER[r.spec.severity], order[r.id]),
        )
        ids = [r.id for r in probs]
        for r in list(probs):
            named = [i for i in ids if i != r.id and re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", r.remediation)]
            later = [probs.index(x) for x in probs if x.id in named and probs.index(x) > probs.index(r)]
            if later:
                probs.remove(r)
                probs.insert(max(later), r)
        return probs

    @property
    def next_steps(self) -> list[NextStep]:
        """One step per remediation, in root-cause order (`root_causes_first`)."""
        probs = self.root_causes_first
        steps: list[NextStep] = []
        by_action: dict[str, NextStep] = {}
        for r in probs:
            action = r.remediation
            if not action:
                continue
            unblocks = [b.id for b in self.blocked_under(r.id)]
            if action in by_action:
                step = by_action[action]
                step.also.append(r.id)
                step.unblocks.extend(u for u in unblocks if u not in step.unblocks)
                continue
            by_action[action] = step = NextStep(r.id, r.spec.title, action, r.spec.docs, unblocks)
            steps.append(step)
        return steps

    # ---- views the renderers share ----------------------------------------------------------------

    @property
    def tool_version(self) -> str:
        return __version__

    def by_area(self, statuses: tuple[Status, ...] | None = None) -> dict[str, list[CheckResult]]:
        """Results grouped by area, in run order (only the given statuses when asked)."""
        out: dict[str, list[CheckResult]] = {}
        for r in self.results:
            if statuses is None or r.status in statuses:
                out.setdefault(r.spec.area, []).append(r)
        return out

    @property
    def working(self) -> dict[str, list[CheckResult]]:
        """Passing checks by area: the seed's "working components"."""
        return self.by_area((Status.PASS,))

    def capability(self, name: str) -> CapabilityStatus | None:
        return next((c for c in self.capabilities if c.name == name), None)

    @property
    def core_capabilities(self) -> list[CapabilityStatus]:
        return [c for c in self.capabilities if c.name in CORE_CAPABILITIES]

    @property
    def advanced_capabilities(self) -> list[CapabilityStatus]:
        return [c for c in self.capabilities if c.name not in CORE_CAPABILITIES]

    def gating(self, fail_on: str = "fail") -> list[CheckResult]:
        """Results at or above the `--fail-on` level."""
        return [r for r in self.judged if r.status in FAIL_LEVELS[fail_on]]

    def unrecoverable(self, fail_on: str = "fail") -> list[tuple[str, str]]:
        """(check id, evidence) of gating results that waiting cannot fix: CrashLoopBackOff past its
        back-off, image pull failures, unschedulable pods, container config errors."""
        out: list[tuple[str, str]] = []
        for r in self.gating(fail_on):
            for f in [f for f in r.findings if f.status == r.status] or [Finding(r.status, r.message)]:
                why = _stuck(f)
                if why:
                    out.append((r.id, why))
                    break
        return out

    def exit_code(self, fail_on: str = "fail", fail_on_error: bool = False) -> ExitCode:
        if self.gating(fail_on):
            return ExitCode.FINDINGS
        if fail_on_error and any(r.status == Status.ERROR for r in self.judged):
            return ExitCode.COULD_NOT_CHECK
        return ExitCode.OK

    # ---- JSON contract -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "llmd-doctor", "version": __version__},
            "source": self.source.to_dict(),
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "summary": {**self.counts, "suppressed": len(self.suppressed), "verdict": self.verdict},
            "checks": [result_to_dict(r) for r in self.results],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "next_steps": [
                {"check": s.check_id, "title": s.title, "action": s.action, "docs": s.docs,
                 "unblocks": list(s.unblocks), "also": list(s.also)}
                for s in self.next_steps
            ],
            "warnings": list(self.warnings),
        }


def _stuck(f: Finding) -> str | None:
    """The line of a finding that shows a state waiting cannot fix, or None."""
    lines = [f.message, *f.evidence]
    for line in lines:
        if "CrashLoopBackOff" in line:
            counts = [int(n) for m in _RESTARTS.finditer("\n".join(lines)) for n in m.groups() if n]
            if counts and max(counts) >= BACKOFF_RESTARTS:
                best = next((x for x in lines if "CrashLoopBackOff" in x and _RESTARTS.search(x)), line)
                return best[:200]
    text = "\n".join(lines)
    for pattern, unless in _STUCK:
        if pattern.search(text) and not (unless and unless.search(text)):
            return next(x for x in lines if pattern.search(x))[:200]
    return None


def result_to_dict(r: CheckResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.spec.title,
        "area": r.spec.area,
        "severity": r.spec.severity.value,
        "status": r.status.value,
        "message": r.message,
        "objects": r.objects,
        "evidence": r.evidence,
        "remediation": r.remediation if r.status in (Status.FAIL, Status.WARN, Status.ERROR) else "",
        "docs": r.spec.docs,
        "blocked_by": list(r.blocked_by),
        "capabilities": r.lost_capabilities if r.lost_capabilities else list(r.spec.capabilities),
        "findings": [
            {
                "status": f.status.value,
                "message": f.message,
                "object": f.object,
                "evidence": list(f.evidence),
            }
            for f in r.findings
        ],
        "duration_s": round(r.duration_s, 4),
        "suppressed": r.suppressed,
    }
