"""e2e.chat-completion: a real POST /v1/chat/completions through the gateway for every model it serves —
status, OpenAI shape, latency, time to first token; a failure classified and pinned to the hop of that
model's pool, so one broken pool is found beside one that works."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from llmd_doctor.model import (
    GATEWAY_ROUTING,
    GPU_INFERENCE,
    OPENAI_API,
    CheckContext,
    Finding,
    Severity,
    Status,
)
from llmd_doctor.probes import classify as cl
from llmd_doctor.registry import check
from llmd_doctor.snapshot import Snapshot

from ._hops import failure
from ._records import INPUTS, headers_line, line, model_records, not_probed, not_sent, record, target_of


@check(
    "e2e.chat-completion",
    title="Chat completion through the gateway",
    area="e2e",
    severity=Severity.CRITICAL,
    inputs=INPUTS,
    requires=("cluster.access",),
    capabilities=(OPENAI_API, GATEWAY_ROUTING, GPU_INFERENCE),
    explains=("e2e.routing", "e2e.models"),
    why="The one test that shows inference works end to end: objects can all look healthy while a request "
        "through the gateway still fails.",
    remediation="See the hop named above; `llmd-doctor explain e2e.chat-completion` lists every failure class and "
    "its fix.",
)
def e2e_chat_completion(ctx: CheckContext) -> Iterator[Finding]:
    """POST /v1/chat/completions through the gateway, for every model probed: status, OpenAI shape, latency,
    TTFT; failures classified and pinned to the hop of the model's pool."""
    snap = ctx.snapshot
    skipped = not_sent(snap, "e2e")
    if skipped is not None:
        yield skipped
        return
    rec = record(snap, "e2e")
    recs = model_records(rec)
    multi = len(recs) > 1
    verdicts = [(r, cl.classify_record(r, "chat")) for r in recs]
    answered = [f"model {r['model']!r} answered in {float(r.get('latency_s') or 0):.2f}s" for r, c in verdicts if c.ok]
    for i, (r, c) in enumerate(verdicts):
        what = f"model {r['model']!r}: " if multi else ""
        if not c.ok:
            f = failure(snap, r, c, None, what=what)
            # Another model answered: the API and the gateway work; this model's inference does not.
            yield replace(f, evidence=(*f.evidence, *answered),
                          capabilities=(GPU_INFERENCE,) if f.capabilities is None else f.capabilities) if answered else f
        elif i == 0:
            yield from _first(snap, r, recs, answered, not_probed(rec))
        else:
            yield Finding(Status.PASS, _answer(r), target_of(r).gateway, _evidence(r))


def _answer(rec: dict) -> str:
    """`<model> answered through <url> in 0.84s: '...' (finish_reason stop, 9 completion tokens)`."""
    doc = rec.get("response") or {}
    first = (doc.get("choices") or [{}])[0]
    answer = " ".join(str((first.get("message") or {}).get("content") or "").split())
    usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
    details = [f"finish_reason {first.get('finish_reason')}"] if first.get("finish_reason") else []
    if usage.get("completion_tokens") is not None:
        details.append(f"{usage['completion_tokens']} completion tokens")
    return (f"{rec.get('model') or doc.get('model', 'the model')} answered through {rec.get('url', '?')} in "
            f"{float(rec.get('latency_s') or 0):.2f}s: {answer[:80]!r}" + (f" ({', '.join(details)})" if details else ""))


def _evidence(rec: dict) -> tuple[str, ...]:
    return (line(rec), *(x for x in (headers_line(rec),) if x))


def _first(snap: Snapshot, rec: dict, recs: list[dict], answered: list[str], left: str | None) -> Iterator[Finding]:
    """The first model's answer: its shape and its streamed twin; the other models' outcome in one phrase."""
    _, missing = cl.chat_shape(rec.get("response") or {})
    message = _answer(rec)
    stream = rec.get("stream")
    sc = cl.classify_record(stream, "stream") if isinstance(stream, dict) else None
    if sc is not None and sc.ok and isinstance(stream.get("ttft_s"), int | float):
        message += f"; streaming: first token after {stream['ttft_s']:.2f}s"
    if len(recs) > 1:
        message += f"; {len(answered)} of {len(recs)} models answered"
    if left:
        message += f"; {left}"
    gateway = target_of(rec).gateway
    yield Finding(Status.PASS, message, gateway, _evidence(rec))
    if missing:
        yield Finding(Status.WARN, f"the chat completion lacks {', '.join(missing)}: clients that read them may break",
                      gateway, _evidence(rec), capabilities=(),
                      remediation="Serve the OpenAI chat completion format (vLLM's OpenAI server does).")
    if sc is not None and not sc.ok:
        f = failure(snap, stream, sc, (), what="the streaming chat completion failed: ")
        yield Finding(Status.WARN if f.status == Status.FAIL else f.status, f.message, f.object, f.evidence,
                      remediation=f.remediation, capabilities=())
