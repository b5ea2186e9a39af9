"""JUnit XML for CI dashboards: one <testsuite> per area, one <testcase> per check; the failures are
the problems.

A problem is one <failure> on its root cause's testcase: the problem's title as the message, and in
the body its cause, objects, evidence, fix, docs, the capabilities it costs and its symptoms (one
line each). A symptom's own testcase is <skipped message="symptom of <root>: …"> (its evidence and
docs in the body), like a check blocked by a failure, so a dashboard counts one failure per problem. error → <error>; skip and
blocked → <skipped>; a result muted by the config file → <skipped message="suppressed: …">.
JUnit has no "warning": a warn problem is a <failure> when the gate fails on warnings (`fail_on="warn"`),
otherwise a passing testcase whose <system-out> carries the warning.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from llmd_doctor.model import CheckResult, Status
from llmd_doctor.problems import Problem
from llmd_doctor.renderers.docs import docs_link
from llmd_doctor.renderers.view import clean, symptom_line
from llmd_doctor.report import Report

# Characters XML 1.0 cannot carry. Control codes (log lines hold terminal escapes) are shown as
# \xNN by `clean` first; what remains (lone surrogates, U+FFFE/U+FFFF) becomes U+FFFD.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", clean(text))


def _body(r: CheckResult, problem: Problem | None = None, report: Report | None = None, fix: bool = True) -> str:
    lines = [r.message]
    lines += [f"object: {o}" for o in r.objects]
    lines += [f"evidence: {e}" for e in r.evidence]
    if problem is not None and problem.capabilities:
        lines.append(f"lost: {', '.join(problem.capabilities)}")
    if r.remediation and fix:
        lines.append(f"fix: {r.remediation}")
    docs = docs_link(r.spec)
    if docs:
        lines.append(f"docs: {docs.text}")
    if problem is not None:
        for s in problem.symptoms:
            lines.append(f"symptom: [{s.status.value}] {s.id}  {symptom_line(s).line}")
        if report is not None:
            lines += [f"blocked: {b.id} (not run until {r.id} is fixed)" for x in problem.results
                      for b in report.blocked_under(x.id)]
    return _x("\n".join(lines))


def _testcase(parent: ET.Element, r: CheckResult, fail_on: str, report: Report,
              problems: dict[str, Problem]) -> str:
    case = ET.SubElement(parent, "testcase", {
        "classname": _x(f"llmd-doctor.{r.spec.area}"),
        "name": _x(f"{r.id}: {r.spec.title}"),
        "time": f"{r.duration_s:.3f}",
    })
    problem = problems.get(r.id)
    kind = "pass"
    if r.suppressed is not None:
        kind = "skipped"
        ET.SubElement(case, "skipped", {"message": _x(f"suppressed: {r.suppressed} ({r.status.value}: {r.message})")})
    elif problem is not None and problem.root is not r:
        kind = "skipped"
        # Counted in its problem's failure; its own evidence and docs stay with it.
        ET.SubElement(case, "skipped", {"message": _x(f"symptom of {problem.root.id} ({r.status.value}): {r.message}")}
                      ).text = _body(r, fix=False)  # the problem has one fix: its root's
    elif problem is not None:
        if problem.status == Status.FAIL or fail_on == "warn":
            kind = "failure"
            ET.SubElement(case, "failure", {"message": _x(problem.title),
                                            "type": f"{problem.status.value}:{r.spec.severity.value}"}
                          ).text = _body(r, problem, report)
        else:
            ET.SubElement(case, "system-out").text = _x("WARNING: ") + _body(r, problem, report)
    elif r.status == Status.ERROR:
        kind = "error"
        ET.SubElement(case, "error", {"message": _x(r.message), "type": "could-not-check"}).text = _body(r)
    elif r.status == Status.SKIP:
        kind = "skipped"
        ET.SubElement(case, "skipped", {"message": _x(r.message)})
    elif r.status == Status.BLOCKED:
        kind = "skipped"
        ET.SubElement(case, "skipped", {"message": _x(f"blocked by {', '.join(r.blocked_by)}")})
    return kind


def render_junit(report: Report, fail_on: str = "fail") -> str:
    root = ET.Element("testsuites", {"name": "llmd-doctor"})
    problems = {r.id: p for p in report.problems for r in p.results}
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for area, results in report.by_area().items():
        suite = ET.SubElement(root, "testsuite", {"name": _x(area)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("source", report.source.kind), ("context", report.source.context),
                            ("server_version", report.source.server_version), ("verdict", report.verdict),
                            ("llmd_doctor_version", report.tool_version)):
            if value:
                ET.SubElement(props, "property", {"name": name, "value": _x(value)})
        counts = {"tests": 0, "failure": 0, "error": 0, "skipped": 0}
        for r in results:
            kind = _testcase(suite, r, fail_on, report, problems)
            counts["tests"] += 1
            if kind in counts:
                counts[kind] += 1
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failure"]))
        suite.set("errors", str(counts["error"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", f"{sum(r.duration_s for r in results):.3f}")
        suite.set("timestamp", report.started_at.removesuffix("Z"))
        for key, n in zip(("tests", "failures", "errors", "skipped"),
                          (counts["tests"], counts["failure"], counts["error"], counts["skipped"]), strict=True):
            totals[key] += n
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("time", f"{report.duration_s:.3f}")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
