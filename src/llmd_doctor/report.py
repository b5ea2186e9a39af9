"""The Report: results plus what they mean (summary, verdict, capabilities, next steps).

Renderers are pure functions of a Report; `to_dict` is the JSON contract of
shared/spec/checks-and-report.md (schema_version 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmd_doctor import __version__
from llmd_doctor.model import (
    ALL_CAPABILITIES,
    CORE_CAPABILITIES,
    CheckResult,
    ExitCode,
    Severity,
    Status,
)
from llmd_doctor.snapshot import SourceInfo

SCHEMA_VERSION = "1"
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.INFO: 3}


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
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    @property
    def capabilities(self) -> list[CapabilityStatus]:
        out = []
        for cap in ALL_CAPABILITIES:
            lost = [r.id for r in self.results if cap in r.lost_capabilities]
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
        if not any(r.status in (Status.WARN, Status.FAIL, Status.ERROR) for r in self.results):
            return "healthy"
        core = [c for c in self.capabilities if c.name in CORE_CAPABILITIES]
        if any(c.status == "unavailable" for c in core) or all(c.status == "unknown" for c in core):
            return "broken"
        return "degraded"

    @property
    def problems(self) -> list[CheckResult]:
        """fail, warn and error results, root causes first (blocked ones hang under them)."""
        rank = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
        probs = [r for r in self.results if r.status in rank]
        return sorted(probs, key=lambda r: (rank[r.status], _SEVERITY_ORDER[r.spec.severity]))

    def blocked_under(self, check_id: str) -> list[CheckResult]:
        return [r for r in self.results if r.status == Status.BLOCKED and check_id in r.blocked_by]

    @property
    def next_steps(self) -> list[NextStep]:
        steps: list[NextStep] = []
        seen: set[str] = set()
        for r in self.problems:
            action = r.remediation
            if not action or action in seen:
                continue
            seen.add(action)
            steps.append(NextStep(r.id, r.spec.title, action, r.spec.docs))
        return steps

    def exit_code(self, fail_on: str = "fail", fail_on_error: bool = False) -> ExitCode:
        levels = {"warn": (Status.WARN, Status.FAIL), "fail": (Status.FAIL,), "never": ()}
        if any(r.status in levels[fail_on] for r in self.results):
            return ExitCode.FINDINGS
        if fail_on_error and any(r.status == Status.ERROR for r in self.results):
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
            "summary": {**self.counts, "verdict": self.verdict},
            "checks": [result_to_dict(r) for r in self.results],
            "capabilities": [c.to_dict() for c in self.capabilities],
            "next_steps": [
                {"check": s.check_id, "title": s.title, "action": s.action, "docs": s.docs} for s in self.next_steps
            ],
            "warnings": list(self.warnings),
        }


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
    }
