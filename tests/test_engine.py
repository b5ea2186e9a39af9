"""The engine: ordering, blocked propagation, data-unavailable and crashes as results, folding."""

from __future__ import annotations

from llmd_doctor.engine import order_specs, run_checks
from llmd_doctor.model import CheckSpec, Finding, Severity, Status
from llmd_doctor.report import Report
from llmd_doctor.snapshot import Forbidden, NotCollected, Snapshot, SourceInfo


def spec(id: str, fn, requires=(), capabilities=()) -> CheckSpec:  # noqa: ANN001
    return CheckSpec(id=id, title=id, area=id.split(".")[0], severity=Severity.MAJOR, run=fn,
                     requires=tuple(requires), capabilities=tuple(capabilities))


def const(*findings: Finding):  # noqa: ANN201
    return lambda ctx: list(findings)


SNAP = Snapshot(source=SourceInfo(kind="bundle"))


def test_order_puts_prerequisites_first() -> None:
    a = spec("a.x", const(), requires=["b.x"])
    b = spec("b.x", const(), requires=["c.x"])
    c = spec("c.x", const())
    assert [s.id for s in order_specs([a, b, c])] == ["c.x", "b.x", "a.x"]


def test_blocked_names_the_root_cause_once() -> None:
    root = spec("root.x", const(Finding(Status.FAIL, "CRD missing")))
    mid = spec("mid.x", const(Finding(Status.PASS, "ok")), requires=["root.x"])
    leaf = spec("leaf.x", const(Finding(Status.PASS, "ok")), requires=["mid.x", "root.x"])
    results = {r.id: r for r in run_checks([leaf, mid, root], SNAP)}
    assert results["root.x"].status == Status.FAIL
    assert results["mid.x"].status == Status.BLOCKED and results["mid.x"].blocked_by == ["root.x"]
    assert results["leaf.x"].status == Status.BLOCKED and results["leaf.x"].blocked_by == ["root.x"]


def test_skipped_prerequisite_skips_dependents() -> None:
    istio = spec("istio.cp", const(Finding(Status.SKIP, "no Istio in this cluster")))
    ext = spec("istio.ext", const(Finding(Status.FAIL, "would fail")), requires=["istio.cp"])
    results = {r.id: r for r in run_checks([istio, ext], SNAP)}
    assert results["istio.ext"].status == Status.SKIP
    assert "no Istio" in results["istio.ext"].message


def test_unavailable_data_and_crashes_become_results() -> None:
    def not_collected(ctx):  # noqa: ANN001, ANN202
        raise NotCollected("bundle holds no RoleBinding objects")

    def forbidden(ctx):  # noqa: ANN001, ANN202
        raise Forbidden("list", "pods", "llm-d")

    def crash(ctx):  # noqa: ANN001, ANN202
        return {}["boom"]

    results = {r.id: r for r in run_checks(
        [spec("a.nc", not_collected), spec("a.fb", forbidden), spec("a.crash", crash)], SNAP)}
    assert results["a.nc"].status == Status.SKIP and "RoleBinding" in results["a.nc"].message
    assert results["a.fb"].status == Status.ERROR
    assert results["a.fb"].message == "forbidden: cannot list pods in namespace llm-d"
    assert results["a.crash"].status == Status.ERROR and "KeyError" in results["a.crash"].message


def test_worst_finding_wins_and_no_findings_is_skip() -> None:
    fn = const(Finding(Status.PASS, "one ok", "Pod/a/b"), Finding(Status.WARN, "one odd", "Pod/a/c"),
               Finding(Status.WARN, "two odd", "Pod/a/d"))
    results = {r.id: r for r in run_checks([spec("a.mix", fn), spec("a.none", const())], SNAP)}
    mix = results["a.mix"]
    assert mix.status == Status.WARN and mix.message == "one odd (and 1 more)"
    assert mix.objects == ["Pod/a/c", "Pod/a/d"]
    assert results["a.none"].status == Status.SKIP


def test_report_verdict_capabilities_and_exit_codes() -> None:
    core_ok = spec("pods.ok", const(Finding(Status.PASS, "3/3 Ready")), capabilities=["GPU inference"])
    route_ok = spec("route.ok", const(Finding(Status.PASS, "routed")), capabilities=["gateway routing", "OpenAI-compatible API"])
    epp_bad = spec("epp.bad", const(Finding(Status.FAIL, "crash")), capabilities=["cache-aware routing"])
    results = run_checks([core_ok, route_ok, epp_bad], SNAP)
    report = Report(source=SNAP.source, started_at="2026-11-27T10:00:00Z", duration_s=0.1, results=results)
    caps = {c.name: c for c in report.capabilities}
    assert caps["cache-aware routing"].status == "unavailable" and caps["cache-aware routing"].because == ["epp.bad"]
    assert caps["GPU inference"].status == "available"
    assert caps["P/D disaggregation"].status == "unknown"
    assert report.verdict == "degraded"
    assert report.exit_code("fail") == 1 and report.exit_code("never") == 0
    doc = report.to_dict()
    assert doc["summary"] == {"pass": 2, "warn": 0, "fail": 1, "error": 0, "skip": 0, "blocked": 0, "suppressed": 0, "verdict": "degraded",
                              "unverified": []}


def test_error_only_exits_3_with_fail_on_error() -> None:
    def forbidden(ctx):  # noqa: ANN001, ANN202
        raise Forbidden("list", "pods", None)

    results = run_checks([spec("a.fb", forbidden)], SNAP)
    report = Report(source=SNAP.source, started_at="x", duration_s=0, results=results)
    assert report.exit_code("fail") == 0
    assert report.exit_code("fail", fail_on_error=True) == 3


def test_evidence_is_capped_per_finding_and_per_result_saying_how_many_more() -> None:
    from llmd_doctor.model import MAX_EVIDENCE, CheckResult

    lines = tuple(f"Pod/llm-d/vllm-{i}" for i in range(120))
    f = Finding(Status.PASS, "120 pods Ready", evidence=lines)
    assert f.evidence == (*lines[:MAX_EVIDENCE], "... and 70 more")
    spec = CheckSpec(id="t.cap", title="t", area="t", severity=Severity.MINOR, run=lambda ctx: [])
    findings = [Finding(Status.WARN, f"pool {i}", f"InferencePool/ns/p{i}", (f"line {i}",)) for i in range(60)]
    result = CheckResult(spec, Status.WARN, "60 pools", findings=findings)
    assert result.evidence == [f"line {i}" for i in range(MAX_EVIDENCE)] + ["... and 10 more (each finding has its own)"]
    assert [f.evidence for f in result.findings][-1] == ("line 59",)
    short = Finding(Status.PASS, "2 pods", evidence=lines[:2])
    assert short.evidence == lines[:2]


def test_a_view_checks_share_records_its_reads_for_every_check_that_asks() -> None:
    """`derive_for_checks`: computed once, but each check asking for it is held to the kinds it read
    (a view computed unrecorded would hide them from test_unreadable_property and test_inputs)."""
    from llmd_doctor.snapshot import record_read, recording

    snap = Snapshot(SourceInfo(kind="bundle"))
    calls: list[int] = []

    def plan() -> str:
        calls.append(1)
        record_read("Pod", "InferencePool.inference.networking.k8s.io")
        return "plan"

    with recording() as first:
        assert snap.derive_for_checks("plan", plan) == "plan"
    with recording() as second:
        assert snap.derive_for_checks("plan", plan) == "plan"
    assert calls == [1]
    assert first == second == {"Pod", "InferencePool.inference.networking.k8s.io"}
