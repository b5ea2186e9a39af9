"""Python tracebacks in a log, per writing process, with exception chains.

CPython prints a chain oldest first: the exception that happened first, then "The above exception was the
direct cause of the following exception:" (`raise ... from`) or "During handling of the above exception,
another exception occurred:", then the next one (https://docs.python.org/3/library/traceback.html).
vLLM's engine processes print their own traceback under their process tag, and the API server's final
exception only points at it ("See root cause above"), so every process is read on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .lines import LogLine

_FRAME = re.compile(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_EXC = re.compile(r"(?P<type>[A-Za-z_][\w.]*(?:\([\w.]+\))?)(?::(?: (?P<msg>.*))?)?$")
_NOISE = re.compile(r"\s*(?:[~^]+\s*|\.\.\.<\d+ lines>\.\.\.|\[Previous line repeated \d+ more times?\])$")
_CHAIN_MARKERS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_TRACEBACK = "Traceback (most recent call last):"
_MAX_MESSAGE_LINES = 6

# Exceptions that only say the cause is elsewhere (in another process, "above"), and exceptions that are
# the consequence of another process dying. vLLM's texts: vllm/v1/engine/utils.py (wait_for_engine_startup),
# vllm/v1/executor/multiproc_executor.py (wait_for_ready, worker failure) and vllm/v1/engine/core.py.
WRAPPER_TEXT = re.compile(
    r"See root cause above|See stack trace for root cause|stack trace above for the root cause"
    r"|Engine core initialization failed|WorkerProc initialization failed|EngineCore failed to start"
    r"|Worker failed with error|Engine(?:Core)? encountered an issue|EngineDeadError|EngineGenerateError",
    re.IGNORECASE)
_CONSEQUENCE_TYPES = frozenset({
    "KeyboardInterrupt", "SystemExit", "GeneratorExit", "CancelledError", "asyncio.CancelledError",
    "asyncio.exceptions.CancelledError", "concurrent.futures._base.CancelledError", "EOFError",
    "BrokenPipeError", "ConnectionResetError", "zmq.error.ZMQError", "zmq.error.ContextTerminated",
    "EngineDeadError", "vllm.v1.engine.exceptions.EngineDeadError",
})


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    func: str
    code: str  # the source line CPython printed under the frame ("" when none)

    @property
    def location(self) -> str:
        return f"{short_path(self.file)}:{self.line}" + (f" in {self.func}" if self.func else "")


@dataclass(frozen=True)
class PyException:
    """One exception of a traceback: type, message lines, frames (outermost first)."""

    type: str
    message: tuple[str, ...]
    frames: tuple[Frame, ...]
    proc: str  # the process tag it was printed under
    first: int  # line index of its first traceback line
    last: int  # line index of its last message line
    chain: int  # exceptions of one chain share this number
    position: int  # 0 for the oldest exception of its chain
    lines: tuple[int, ...]  # indexes of its exception/message lines

    @property
    def text(self) -> str:
        msg = " ".join(m.strip() for m in self.message if m.strip())
        return f"{self.type}: {msg}" if msg else self.type

    @property
    def is_wrapper(self) -> bool:
        """Only points at a cause printed elsewhere, or is the consequence of another failure."""
        return is_consequence(self.type, self.text)


def is_consequence(exc_type: str, text: str = "") -> bool:
    """An exception that only follows from another failure (a process that died, a wrapper that points
    elsewhere)."""
    return (exc_type in _CONSEQUENCE_TYPES or exc_type.rsplit(".", 1)[-1] in _CONSEQUENCE_TYPES
            or bool(WRAPPER_TEXT.search(text)))


def short_path(path: str) -> str:
    """`.../site-packages/vllm/v1/engine/core.py` -> `vllm/v1/engine/core.py`."""
    for marker in ("site-packages/", "dist-packages/"):
        i = path.rfind(marker)
        if i >= 0:
            return path[i + len(marker):]
    return path


class _Stream:
    """Parser state for one process's lines."""

    def __init__(self, proc: str, chain_ids: list[int]) -> None:
        self.proc = proc
        self.chain_ids = chain_ids  # shared counter across streams
        self.frames: list[Frame] | None = None  # inside a traceback when not None
        self.first = 0
        self.chain = -1
        self.position = 0
        self.pending_chain = False
        self.exc: dict | None = None  # the exception whose message lines are still being read

    def _finish(self, out: list[PyException]) -> None:
        if self.exc is not None:
            e = self.exc
            out.append(PyException(e["type"], tuple(e["message"]), tuple(e["frames"]), self.proc, e["first"],
                                   e["last"], e["chain"], e["position"], tuple(e["lines"])))
            self.exc = None

    def _start(self, no: int) -> None:
        if self.pending_chain and self.chain >= 0:
            self.position += 1
        else:
            self.chain_ids[0] += 1
            self.chain, self.position = self.chain_ids[0], 0
        self.pending_chain = False
        self.frames, self.first = [], no

    def feed(self, line: LogLine, out: list[PyException]) -> None:
        text = line.text
        stripped = text.strip()
        if self.exc is not None:
            e = self.exc
            continues = (stripped and len(e["message"]) < _MAX_MESSAGE_LINES and line.level == e["level"]
                         and line.src == e["src"] and not stripped.endswith(_TRACEBACK)
                         and stripped not in _CHAIN_MARKERS and not _FRAME.match(text)
                         and not stripped.startswith(("{", "Process ", "INFO:", "WARNING:", "ERROR:")))
            if continues:
                e["message"].append(stripped)
                e["lines"].append(line.no)
                e["last"] = line.no
                return
            self._finish(out)
        if stripped.endswith(_TRACEBACK):  # vLLM also logs "EngineCore hit an exception: Traceback (...):"
            self._start(line.no)
            return
        if stripped in _CHAIN_MARKERS:
            self.pending_chain = True
            return
        m = _FRAME.match(text)
        if m:
            if self.frames is None:  # the tail starts inside a traceback
                self._start(line.no)
            frames = self.frames if self.frames is not None else []
            frames.append(Frame(m.group("file"), int(m.group("line")), (m.group("func") or "").strip(), ""))
            return
        if self.frames is None:
            if stripped:
                self.pending_chain = False
            return
        if not stripped or _NOISE.match(text):
            return
        last = self.frames[-1] if self.frames else None
        exc = None if text[:1].isspace() else _EXC.match(stripped)
        if exc is None:
            if last is not None and not last.code:  # the source line CPython prints under a frame
                self.frames[-1] = Frame(last.file, last.line, last.func, stripped)
            elif not text[:1].isspace():  # neither code nor an exception: not a traceback after all
                self.frames = None
            return
        frames, self.frames = self.frames, None
        msg = exc.group("msg")
        self.exc = {"type": exc.group("type"), "message": [msg] if msg else [], "frames": frames,
                    "first": self.first, "last": line.no, "chain": self.chain, "position": self.position,
                    "lines": [line.no], "level": line.level, "src": line.src}

    def close(self, out: list[PyException]) -> None:
        self._finish(out)


def tracebacks(lines: Iterable[LogLine]) -> list[PyException]:
    """Every exception printed with a traceback, in log order."""
    streams: dict[str, _Stream] = {}
    chain_ids = [0]
    out: list[PyException] = []
    for line in lines:
        s = streams.get(line.proc)
        if s is None:
            s = streams[line.proc] = _Stream(line.proc, chain_ids)
        s.feed(line, out)
    for s in streams.values():
        s.close(out)
    out.sort(key=lambda e: e.first)
    return out
