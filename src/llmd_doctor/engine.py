"""Run checks over a snapshot: order by `requires`, propagate `blocked`, never crash.

A check's exceptions become results: data the source could not give is `skip` (not collected) or
`error` (forbidden, API error); any other exception is an `error` naming the crash. Findings are
folded into one result per check id: the worst status wins, and a finding that says something could
not be verified outranks a pass. The kinds each check reads are recorded on its result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from llmd_doctor.model import CheckContext, CheckResult, CheckSpec, Finding, Status
from llmd_doctor.snapshot import (
    AccessQuestion,
    ApiError,
    Forbidden,
    LogRequest,
    NotCollected,
    Snapshot,
    recording,
)


def order_specs(specs: list[CheckSpec]) -> list[CheckSpec]:
    """Topological order by `requires`, stable otherwise; unknown prerequisites are ignored."""
    by_id = {s.id: s for s in specs}
    done: dict[str, None] = {}
    visiting: set[str] = set()

    def visit(s: CheckSpec) -> None:
        if s.id in done:
            return
        if s.id in visiting:
            raise ValueError(f"check {s.id} requires itself through {sorted(visiting)}")
        visiting.add(s.id)
        for r in s.requires:
            if r in by_id:
                visit(by_id[r])
        visiting.discard(s.id)
        done[s.id] = None

    for s in specs:
        visit(s)
    return [by_id[i] for i in done]


def fold(spec: CheckSpec, findings: list[Finding]) -> CheckResult:
    if not findings:
        return CheckResult(spec, Status.SKIP, "nothing to check", [])
    worst = max(findings, key=lambda f: f.rank)
    same = [f for f in findings if f.status == worst.status and f.unverified == worst.unverified]
    message = worst.message
    if len(same) > 1 and worst.status not in (Status.PASS, Status.SKIP):
        message += f" (and {len(same) - 1} more)"
    if worst.unverified:
        passed = sum(1 for f in findings if f.status == Status.PASS)
        if passed:
            message += f" ({passed} other finding{'s' if passed != 1 else ''} passed)"
    return CheckResult(spec, worst.status, message, findings)


def _root_causes(requires: Iterable[str], results: dict[str, CheckResult]) -> list[str]:
    """The failed checks at the bottom of a chain of blocked prerequisites."""
    roots: list[str] = []
    for r in requires:
        res = results.get(r)
        if res is None:
            continue
        ids = res.blocked_by if res.status == Status.BLOCKED else [r] if res.status == Status.FAIL else []
        roots.extend(i for i in ids if i not in roots)
    return roots


def run_one(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    started = time.perf_counter()
    blockers = _root_causes(spec.requires, ctx.results)
    skipped = [r for r in spec.requires if r in ctx.results and ctx.results[r].status == Status.SKIP]
    if blockers:
        result = CheckResult(spec, Status.BLOCKED, f"blocked by {', '.join(blockers)}", [], blocked_by=blockers)
    elif skipped:
        why = ctx.results[skipped[0]].message
        result = CheckResult(spec, Status.SKIP, f"not applicable: {skipped[0]} skipped ({why})", [])
    else:
        with recording() as reads:
            result = _run(spec, ctx)
        result.reads = frozenset(reads)
    result.duration_s = time.perf_counter() - started
    return result


def _run(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    try:
        return fold(spec, list(spec.run(ctx)))
    except NotCollected as e:
        return CheckResult(spec, Status.SKIP, str(e), [])
    except Forbidden as e:
        return CheckResult(spec, Status.ERROR, str(e), [Finding(Status.ERROR, str(e), unverified=True)])
    except ApiError as e:
        return CheckResult(spec, Status.ERROR, f"API error: {e}", [Finding(Status.ERROR, str(e), unverified=True)])
    except Exception as e:  # a bug in a check must not take the run down
        msg = f"check crashed: {type(e).__name__}: {e}"
        return CheckResult(spec, Status.ERROR, msg, [Finding(Status.ERROR, msg)])


def run_checks(
    specs: list[CheckSpec], snapshot: Snapshot, options: dict[str, Any] | None = None
) -> list[CheckResult]:
    ctx = CheckContext(snapshot=snapshot, options=dict(options or {}))
    out: list[CheckResult] = []
    for spec in order_specs(specs):
        result = run_one(spec, ctx)
        ctx.results[spec.id] = result
        out.append(result)
    return out


def needed_kinds(specs: Iterable[CheckSpec]) -> list[str]:
    kinds: dict[str, None] = {}
    for s in specs:
        for k in s.inputs:
            kinds.setdefault(k)
    return list(kinds)


def needed_logs(specs: Iterable[CheckSpec], snapshot: Snapshot) -> list[LogRequest]:
    """The pod logs the checks ask for, given the objects already listed."""
    reqs: dict[LogRequest, None] = {}
    for s in specs:
        if s.logs is None:
            continue
        try:
            for r in s.logs(snapshot):
                reqs.setdefault(r)
        except Exception:  # missing data or a bug in the hook: the check itself reports it when it runs
            continue
    return list(reqs)


def needed_access(specs: Iterable[CheckSpec], snapshot: Snapshot, limit: int | None = None) -> list[AccessQuestion]:
    """The access questions the checks want the API server to answer (SubjectAccessReview), the first
    `limit` of them: the hooks are generators, so the rest are never built (5,500 at 500 EPPs)."""
    qs: dict[AccessQuestion, None] = {}
    for s in specs:
        if s.access is None:
            continue
        try:
            for q in s.access(snapshot):
                qs.setdefault(q)
                if limit is not None and len(qs) >= limit:
                    return list(qs)
        except Exception:  # as for logs: the check reports it when it runs
            continue
    return list(qs)
