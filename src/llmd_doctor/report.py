"""The Report: results plus what they mean — problems (a root cause and its symptoms), the verdict,
what could not be verified, capabilities, one next step per problem.

Renderers are pure functions of a Report; `to_dict` is the JSON contract (docs/reports.md,
schema_version 2: `problems[]`, the `unknown` verdict, `summary.unverified`).
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
from llmd_doctor.problems import Problem, Related, group
from llmd_doctor.snapshot import SourceInfo

SCHEMA_VERSION = "2"
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
    # The other checks of the problem this step fixes (its symptoms).
    also: list[str] = field(default_factory=list)
    problem: str = ""  # the problem's id


@dataclass
class Report:
    source: SourceInfo
    started_at: str
    duration_s: float
    results: list[CheckResult]
    warnings: list[str] = field(default_factory=list)
    probes: dict[str, Any] = field(default_factory=dict)
    # Which objects belong together (topology.related): problem grouping asks it. None: by check only.
    related: Related | None = field(default=None, repr=False, compare=False)

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
            errored = [r.id for r in protecting if r.status == Status.ERROR]
            if lost:
                out.append(CapabilityStatus(cap, "unavailable", lost))
            elif errored:  # a check that would show it could not look: one passing beside it is not enough
                out.append(CapabilityStatus(cap, "unknown", errored))
            elif any(r.status == Status.PASS for r in protecting):
                out.append(CapabilityStatus(cap, "available", [r.id for r in protecting if r.status == Status.PASS]))
            else:
                why = [r.id for r in protecting if r.status in (Status.ERROR, Status.SKIP, Status.BLOCKED)]
                out.append(CapabilityStatus(cap, "unknown", why))
        return out

    @property
    def problems(self) -> list[Problem]:
        """warn/fail results grouped by root cause, in the order to fix them."""
        if not hasattr(self, "_problems"):
            self._problems = group(self.results, self.related)
        return self._problems

    @property
    def issues(self) -> list[CheckResult]:
        """fail, error and warn results (judged), worst first."""
        rank = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
        probs = [r for r in self.judged if r.status in rank]
        return sorted(probs, key=lambda r: (rank[r.status], _SEVERITY_ORDER[r.spec.severity]))

    @property
    def unverified(self) -> list[str]:
        """What no passing check shows: reads refused or failed, data not collected, the probe not run."""
        out: list[str] = []
        for r in self.judged:
            if r.status == Status.ERROR:
                out.append(f"{r.id}: {r.message}")
            elif r.id == "e2e.chat-completion" and r.status == Status.SKIP:
                out.append(f"end-to-end request ({r.message.removeprefix('not applicable: ')})")
            elif r.status == Status.SKIP and any(f.unverified for f in r.findings):
                out.append(f"{r.id}: {r.message}")
            else:
                out += [f"{r.id}: {f.message}" for f in r.findings if f.unverified and f.status != Status.PASS
                        and r.status not in (Status.SKIP,) and f.message not in r.message]
        return list(dict.fromkeys(out))

    @property
    def verdict(self) -> str:
        """broken: a core capability is lost; degraded: problems, but inference is shown to work;
        unknown: no capability lost, but what a verdict needs could not be read or shown (refused or
        failed reads, a core capability no passing check shows, nothing of llm-d found); healthy:
        nothing wrong, and inference is shown to work (what was not verified is listed beside it)."""
        core = self.core_capabilities
        if any(c.status == "unavailable" for c in core):
            return "broken"
        if any(r.spec.area == "cluster" and r.status == Status.FAIL for r in self.judged):
            return "unknown"  # the run could not see the cluster (or found nothing of llm-d in it)
        if any(c.status == "unknown" and c.because for c in core):
            return "unknown"  # checks that would show it could not (refused reads, data not collected)
        if self.problems:
            return "degraded"
        return "unknown" if any(r.status == Status.ERROR for r in self.judged) else "healthy"

    def blocked_under(self, check_id: str) -> list[CheckResult]:
        return [r for r in self.results if r.status == Status.BLOCKED and check_id in r.blocked_by]

    @property
    def root_causes_first(self) -> list[CheckResult]:
        """The problems' results, each problem's root first, in the order to fix them, then the errors."""
        out = [r for p in self.problems for r in p.results]
        return out + [r for r in self.issues if r.status == Status.ERROR]

    @property
    def next_steps(self) -> list[NextStep]:
        """One step per problem, in the order to do them: its root's fix."""
        steps = []
        for p in self.problems:
            root = p.root
            unblocks = [b.id for r in p.results for b in self.blocked_under(r.id)]
            steps.append(NextStep(root.id, root.spec.title, p.remediation, root.spec.docs, list(dict.fromkeys(unblocks)),
                                  [r.id for r in p.symptoms], p.id))
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
        """1: findings at or above `fail_on`; 3: a check could not run and `fail_on_error`; 0 otherwise."""
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
            "summary": {**self.counts, "suppressed": len(self.suppressed), "verdict": self.verdict,
                        "unverified": self.unverified},
            "problems": [p.to_dict() for p in self.problems],
            "checks": [result_to_dict(r) for r in self.results],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "next_steps": [
                {"problem": s.problem, "check": s.check_id, "title": s.title, "action": s.action, "docs": s.docs,
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
