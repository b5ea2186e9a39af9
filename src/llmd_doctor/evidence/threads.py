"""Threads that died inside a process that kept running.

CPython's default `threading.excepthook` prints `Exception in thread <name>:` and then the traceback and the
exception of a thread that raised (https://docs.python.org/3/library/threading.html#threading.excepthook);
the process goes on without that thread. vLLM runs side channels that way (the NIXL handshake listener, the
KV-events publisher, metrics exporters), so a pod can be Ready and serve while one of its functions is dead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .crash import BARE_EXCEPTION
from .lines import Log, clip
from .python_tb import tracebacks

_MARK = "Exception in thread "
_HEADER = re.compile(r"Exception in thread (?P<thread>[^\"\s][^:]*?):?\s*$")
_LOOKAHEAD = 80  # lines after the header searched for the thread's exception
_MAX_REPORTED = 5


@dataclass(frozen=True)
class DeadThread:
    thread: str  # the thread's name ("nixl_handshake_listener", "Thread-3 (run)")
    exception: str  # "zmq.error.ZMQError: Address already in use (addr='tcp://10.0.0.1:5557')"
    excerpt: tuple[str, ...]
    line: int  # 0-based index of the header line
    process: str | None  # the vLLM process tag it was printed under


def dead_threads(log: str | None) -> list[DeadThread]:
    """Every thread the log says died of an exception, in log order (at most a few)."""
    if not log or _MARK not in log:
        return []
    parsed = Log(log)
    out: list[DeadThread] = []
    for i in parsed.find((_MARK,)):
        head = parsed.line(i)
        m = _HEADER.search(head.text)
        if m is None:
            continue
        region = parsed.parsed(i + 1, i + 1 + _LOOKAHEAD)
        excs = [e for e in tracebacks(region) if e.proc == head.proc and e.first <= i + 2]  # its own traceback
        if excs:
            e = excs[0]
            text, excerpt = e.text, [clip(parsed.lines[n]) for n in e.lines[:3]]
            if e.frames:
                excerpt.insert(0, clip(f"at {e.frames[-1].location}"))
        else:
            bare = next(((x, b) for x in region[:6] if x.proc == head.proc and not x.text[:1].isspace()
                         and (b := BARE_EXCEPTION.match(x.text.strip()))), None)
            if bare is None:
                continue
            text, excerpt = bare[1].group(0).strip(), [clip(bare[0].raw)]
        out.append(DeadThread(m.group("thread").strip(), clip(text), (clip(head.raw), *excerpt), i,
                              head.proc or None))
        if len(out) >= _MAX_REPORTED:
            break
    return out
