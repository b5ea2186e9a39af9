"""Problems: results grouped by root cause, each with the symptoms it explains.

A check declares which checks' failures it can explain (`CheckSpec.explains`, like `requires`). Per
run, a warn/fail result R explains a warn/fail result S when S's check is in R's `explains` and their
objects are related (the same EPP, its pods, its pool, the route that reaches or bypasses it — asked of
the topology). The roots are the results nothing else explains; each root takes the symptoms it
reaches, transitively; a symptom two roots reach goes to the first (fail before warn, then severity,
then run order). Every warn/fail result belongs to exactly one problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.model import CheckResult, Severity, Status

_RANK = {Status.FAIL: 0, Status.WARN: 1}
_SEVERITY = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.INFO: 3}
Related = Callable[[str], Iterable[str]]


@dataclass
class Problem:
    """One root cause, the symptoms it explains, what it costs and the one fix."""

    root: CheckResult
    symptoms: list[CheckResult] = field(default_factory=list)

    @property
    def results(self) -> list[CheckResult]:
        return [self.root, *self.symptoms]

    @property
    def status(self) -> Status:
        return Status.FAIL if any(r.status == Status.FAIL for r in self.results) else Status.WARN

    @property
    def checks(self) -> list[str]:
        return [r.id for r in self.results]

    @property
    def objects(self) -> list[str]:
        return list(dict.fromkeys(o for r in self.results for o in r.objects))

    @property
    def title(self) -> str:
        """The root's message without the object it names first, cut at a clause a reader takes in at a
        glance (the object is shown beside it)."""
        message = self.root.message
        for o in self.root.objects[:1]:
            message = message.removeprefix(f"{o}: ")
        first = message.split(" ", 1)[0]
        if first.isalpha() and first.islower():  # a plain word; never a name (llm-d-inference-scheduler)
            message = message[:1].upper() + message[1:]
        return headline(message)

    @property
    def cause(self) -> str:
        return self.root.message

    @property
    def evidence(self) -> list[str]:
        return self.root.evidence

    @property
    def remediation(self) -> str:
        return self.root.remediation

    @property
    def capabilities(self) -> list[str]:
        return list(dict.fromkeys(c for r in self.results for c in r.lost_capabilities))

    @property
    def id(self) -> str:
        """A stable id: the root check and its first object (`epp-config--llm-d--ms-llm-d-epp`)."""
        obj = self.root.objects[0].split("/", 1)[1] if self.root.objects else ""
        return slug(f"{self.root.id} {obj}")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status.value, "root": self.root.id,
                "checks": self.checks, "objects": self.objects, "cause": self.cause,
                "evidence": self.evidence, "remediation": self.remediation, "capabilities": self.capabilities}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def headline(message: str, width: int = 140) -> str:
    """A message's first clause that fits `width` (a colon, semicolon or dash ends a clause)."""
    text = " ".join(message.split())
    if len(text) <= width:
        return text
    cut = max((m.start() for m in re.finditer(r": |; | — ", text[:width])), default=-1)
    return text[:cut] if cut > 40 else text[: width - 1].rsplit(" ", 1)[0] + "…"


def _order(r: CheckResult, index: dict[str, int]) -> tuple[int, int, int]:
    return _RANK[r.status], _SEVERITY[r.spec.severity], index[r.id]


def group(results: list[CheckResult], related: Related | None = None) -> list[Problem]:
    """The problems among the judged warn/fail results, root causes first, in the order to fix them."""
    index = {r.id: i for i, r in enumerate(results)}
    bad = [r for r in results if r.status in _RANK and r.suppressed is None]
    near: dict[str, frozenset[str]] = {}

    def objects_near(r: CheckResult) -> frozenset[str]:
        if r.id not in near:
            objs = set(r.objects)
            if related is not None:
                for o in list(objs):
                    objs |= set(related(o))
            near[r.id] = frozenset(objs)
        return near[r.id]

    def explains(a: CheckResult, b: CheckResult) -> bool:
        if a is b or b.id not in a.spec.explains:
            return False
        if not a.objects or not b.objects:  # a cluster-wide finding relates to everything
            return True
        return bool(objects_near(a) & set(b.objects))

    edges = {r.id: [s for s in bad if explains(r, s)] for r in bad}
    explained = {s.id for targets in edges.values() for s in targets}
    roots = sorted((r for r in bad if r.id not in explained), key=lambda r: _order(r, index))
    if not roots and bad:  # a cycle of explanations: the first in fix order is the root
        roots = [min(bad, key=lambda r: _order(r, index))]
    claimed: set[str] = set()
    problems: list[Problem] = []
    for root in roots:
        if root.id in claimed:
            continue
        claimed.add(root.id)
        problem = Problem(root)
        todo = list(edges[root.id])
        while todo:
            s = todo.pop(0)
            if s.id in claimed:
                continue
            claimed.add(s.id)
            problem.symptoms.append(s)
            todo += edges[s.id]
        problem.symptoms.sort(key=lambda r: index[r.id])
        problems.append(problem)
    for r in sorted(bad, key=lambda r: _order(r, index)):  # left over from cycles: problems of their own
        if r.id not in claimed:
            claimed.add(r.id)
            problems.append(Problem(r))
    return problems
