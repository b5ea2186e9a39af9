"""Go crashes: `panic: ...` and `fatal error: ...` with their goroutine traces.

The Go runtime prints the panic value, an optional `[signal SIGSEGV: segmentation violation ...]` line, then
`goroutine N [running]:` and pairs of lines per frame: the function, then `<TAB>/path/file.go:LINE +0xOFF`
(https://pkg.go.dev/runtime#hdr-Environment_Variables, GOTRACEBACK; exit status 2). The frame that explains
the crash is the first one outside the runtime, e.g. in
https://github.com/llm-d/llm-d-router/issues/1140 (`panic: send on closed channel`, first frame
`.../pkg/epp/requestcontrol.(*Director).HandleResponseBody` at `director.go:414`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .lines import LogLine

_HEADER = re.compile(r"(?P<kind>panic|fatal error): (?P<msg>.*)")
_SIGNAL = re.compile(r"\[signal (?P<sig>[^\]]+)\]")
_GOROUTINE = re.compile(r"goroutine \d+ (?:[^\[\n]*)\[[^\]]*\]:")  # Go >= 1.23 may add "gp=0x... m=0 mp=0x..."
_FILE = re.compile(r"\s+(?P<file>\S+\.(?:go|s)):(?P<line>\d+)(?: \+0x[0-9a-f]+)?")
_RUNTIME_FUNCS = ("runtime.", "runtime/", "panic(", "sync.", "sync/", "internal/", "reflect.",
                  "k8s.io/apimachinery/pkg/util/runtime.")
_MODULE_CACHE = re.compile(r".*?/pkg/mod/")
_BUILD_ROOTS = ("/workspace/", "/go/src/", "/src/", "/app/", "/build/")
_MAX_FRAMES = 64
_ARGS = re.compile(r"\([^()]*\)$")


@dataclass(frozen=True)
class GoFrame:
    func: str  # package-qualified function, arguments dropped
    file: str
    line: int
    call: str  # the frame's first line as printed

    @property
    def location(self) -> str:
        return f"{short_go_path(self.file)}:{self.line}"


@dataclass(frozen=True)
class GoCrash:
    kind: str  # "go-panic" | "go-fatal"
    message: str  # the panic value / fatal error text
    signal: str  # "SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1da9531", or ""
    frames: tuple[GoFrame, ...]  # the crashing goroutine, innermost first
    culprit: GoFrame | None  # the first frame outside the Go runtime
    header_line: int
    excerpt: tuple[str, ...]


def short_go_path(path: str) -> str:
    """Module-cache and build-root prefixes off: `sigs.k8s.io/...@v0.5.1/pkg/epp/scheduling/scheduler.go`."""
    m = _MODULE_CACHE.match(path)
    if m:
        return path[m.end():]
    for root in _BUILD_ROOTS:
        if path.startswith(root):
            return path[len(root):]
    return path


def _is_runtime(frame: GoFrame) -> bool:
    return frame.func.startswith(_RUNTIME_FUNCS) or "/src/runtime/" in frame.file


def _frames(lines: Sequence[LogLine], start: int) -> list[GoFrame]:
    frames: list[GoFrame] = []
    i = start
    while i + 1 < len(lines) and len(frames) < _MAX_FRAMES:
        func = lines[i].text
        m = _FILE.fullmatch(lines[i + 1].text)
        if not func.strip() or func[:1].isspace() or not m:
            break
        name = _ARGS.sub("", func.removeprefix("created by ").split(" in goroutine ")[0].strip())
        frames.append(GoFrame(name, m.group("file"), int(m.group("line")), func.strip()))
        i += 2
    return frames


def go_crash(lines: Sequence[LogLine]) -> GoCrash | None:
    """The last Go panic or fatal error in `lines`, or None."""
    header, m = -1, None
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i].text
        if text.startswith(("panic: ", "fatal error: ")):
            header, m = i, _HEADER.match(text)
            break
    if m is None:
        return None
    kind = "go-panic" if m.group("kind") == "panic" else "go-fatal"
    message = m.group("msg").strip()
    signal = ""
    excerpt = [lines[header].text]
    frames: list[GoFrame] = []
    i = header + 1
    while i < len(lines) and i <= header + 8:
        text = lines[i].text
        s = _SIGNAL.match(text.strip())
        if s:
            signal = s.group("sig")
            excerpt.append(text.strip())
        elif text.startswith("\tpanic: "):  # nested panics while the first was being handled
            excerpt.append(text.strip())
        elif _GOROUTINE.match(text):
            excerpt.append(text)
            frames = _frames(lines, i + 1)
            break
        elif text.strip():
            break
        i += 1
    culprit = next((f for f in frames if not _is_runtime(f)), None)
    if culprit is not None:
        excerpt += [culprit.call, f"\t{culprit.location}"]
    return GoCrash(kind, message, signal, tuple(frames), culprit, lines[header].no, tuple(excerpt))
