"""e2e.models: GET /v1/models through the gateway lists the expected model."""

from __future__ import annotations

from collections.abc import Iterator

from llmd_doctor.model import OPENAI_API, CheckContext, Finding, Severity, Status
from llmd_doctor.probes import classify as cl
from llmd_doctor.registry import check

from ._hops import failure
from ._records import INPUTS, line, not_sent, record, target_of


@check(
    "e2e.models",
    title="Model list through the gateway",
    area="e2e",
    severity=Severity.MAJOR,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=(OPENAI_API,),
    why="Clients discover models with GET /v1/models; a model missing there is one clients cannot ask for.",
    remediation="Ask for a served model with --model, or make the expected model's servers Ready.",
)
def e2e_models(ctx: CheckContext) -> Iterator[Finding]:
    """GET /v1/models through the gateway lists the expected model."""
    snap = ctx.snapshot
    skipped = not_sent(snap, "models")
    if skipped is not None:
        yield skipped
        return
    rec = record(snap, "models")
    t = target_of(rec)
    c = cl.classify_record(rec, "models")
    if not c.ok:
        chat = snap.probes.get("e2e")
        chat_ok = isinstance(chat, dict) and not chat.get("not_run") and cl.classify_record(chat).ok
        f = failure(snap, rec, c, (OPENAI_API,), what="GET /v1/models: ")
        if chat_ok and f.status == Status.FAIL:  # the API works; only the listing does not
            yield Finding(Status.WARN, f"{f.message} (chat completions work)", f.object, f.evidence,
                          remediation=f.remediation, capabilities=())
        else:
            yield f
        return
    ids = cl.model_ids(rec.get("response")) or []
    expected = rec.get("expected") or t.model
    probed = [str(m) for m in rec.get("expected_models") or [] if m]
    evidence = (line(rec), f"models: {', '.join(ids[:10]) or '(none)'}")
    others = [m for m in probed if m in ids and m != expected]
    if not ids:
        yield Finding(Status.FAIL, f"GET /v1/models through {rec.get('url', '?')} lists no model", t.gateway,
                      evidence, remediation="Check that the model servers finished loading (`/v1/models` on a pod).")
    elif expected and expected not in ids and others and t.model_source != "--model":
        # A Gateway with a pool per model sends GET /v1/models to one pool: it lists that pool's models.
        yield Finding(Status.PASS, f"GET /v1/models through {rec.get('url', '?')} lists {', '.join(map(repr, others))} "
                                   f"but not {expected!r}: with a pool per model, the listing comes from one pool",
                      t.gateway, evidence)
    elif expected and expected not in ids and t.model_source != "GET /v1/models":
        status = Status.FAIL if t.model_source == "--model" else Status.WARN
        yield Finding(status, f"GET /v1/models does not list {expected!r} (from {t.model_source or 'discovery'}); "
                              f"it lists {', '.join(ids[:5])}", t.gateway, evidence,
                      capabilities=None if status == Status.FAIL else ())
    else:
        yield Finding(Status.PASS, f"GET /v1/models through {rec.get('url', '?')} lists "
                                   f"{expected or ids[0]!r} ({len(ids)} model(s))", t.gateway, evidence)
