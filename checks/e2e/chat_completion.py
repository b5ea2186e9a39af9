"""e2e.chat-completion: a real POST /v1/chat/completions through the gateway — status, OpenAI shape,
latency, time to first token; a failure classified and pinned to a hop."""

from __future__ import annotations

from collections.abc import Iterator

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

from ._hops import failure
from ._records import INPUTS, headers_line, line, record, target_of


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
    """POST /v1/chat/completions through the gateway: status, OpenAI shape, latency, TTFT; failures classified."""
    snap = ctx.snapshot
    rec = record(snap, "e2e")
    t = target_of(rec)
    c = cl.classify_record(rec, "chat")
    if not c.ok:
        yield failure(snap, rec, c, None)
        return
    doc = rec.get("response") or {}
    _, missing = cl.chat_shape(doc)
    first = (doc.get("choices") or [{}])[0]
    answer = " ".join(str((first.get("message") or {}).get("content") or "").split())
    usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
    details = [f"finish_reason {first.get('finish_reason')}"] if first.get("finish_reason") else []
    if usage.get("completion_tokens") is not None:
        details.append(f"{usage['completion_tokens']} completion tokens")
    message = (f"{t.model or doc.get('model', 'the model')} answered through {rec.get('url', '?')} in "
               f"{float(rec.get('latency_s') or 0):.2f}s: {answer[:80]!r}" + (f" ({', '.join(details)})" if details else ""))
    stream = rec.get("stream")
    sc = cl.classify_record(stream, "stream") if isinstance(stream, dict) else None
    if sc is not None and sc.ok and isinstance(stream.get("ttft_s"), int | float):
        message += f"; streaming: first token after {stream['ttft_s']:.2f}s"
    evidence = (line(rec), *(x for x in (headers_line(rec),) if x))
    yield Finding(Status.PASS, message, t.gateway, evidence)
    if missing:
        yield Finding(Status.WARN, f"the chat completion lacks {', '.join(missing)}: clients that read them may break",
                      t.gateway, evidence, capabilities=(),
                      remediation="Serve the OpenAI chat completion format (vLLM's OpenAI server does).")
    if sc is not None and not sc.ok:
        f = failure(snap, stream, sc, (), what="the streaming chat completion failed: ")
        yield Finding(Status.WARN if f.status == Status.FAIL else f.status, f.message, f.object, f.evidence,
                      remediation=f.remediation, capabilities=())
