"""The root error of a crashed container, read from any log: no catalogue of known failures needed.

`root_error(log, termination)` looks, in this order, for
1. a Go `panic:` / `fatal error:` and the first frame outside the Go runtime; a Rust panic (agentgateway,
   ztunnel) or Envoy's crash handler (`Caught Segmentation fault`) and the first frame outside the
   runtimes (native_crash.py);
2. a Python traceback, following exception chains and vLLM's multi-process output to the exception that
   started it (an engine worker's, not the API server's "See root cause above");
3. a fatal structured record (zap `fatal`/`panic`/`dpanic`, klog `F`, logrus `fatal`);
4. a line the process printed as it gave up (`exec format error`, `executable file not found in $PATH`,
   an argparse `error:`, `Error: ...`, `Killed`, a C++ `terminate called ...`);
5. a Python exception printed without its traceback (`torch.distributed.DistBackendError: ...`, a pydantic
   `ValidationError` with its indented detail, NCCL's `Last error:` detail): the first one after serving;
6. structured errors (zap/klog/logrus `error`, vLLM `ERROR`): the first that repeats, else the last;
7. weaker plain-text errors (`error: ...`, `ERROR: ...`);
then the termination message, then the exit code. A traceback the process recovered from (it served
requests afterwards) is not the cause.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .exit_codes import exit_code_meaning
from .go_panic import go_crash
from .lines import MAX_LINE, Log, clip, fold
from .native_crash import NativeCrash, envoy_crash, rust_panic
from .python_tb import WRAPPER_TEXT, PyException, is_consequence, tracebacks
from .structured import ERROR_LEVELS, FATAL_LEVELS, Entry, parse_entry, quick_level

SUMMARY_LIMIT = 300
_EXCERPT_LINES = 8
_TB_MARGIN = 300  # lines after the last traceback frame searched for its exception (other processes interleave)
_TB_WINDOW = 10_000  # at most this many lines before the last traceback mark are read for tracebacks
_GO_TRACE_LINES = 160
_NATIVE_MARKS = ("panicked at", "suspect faulting address")  # a Rust panic, Envoy's crash handler
_NATIVE_TRACE_LINES = 200

_ACCESS_OK = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" [1-4]\d\d')
# Literal markers (any case) of the lines the readers below need: a Go crash header, a structured error, a
# plain-text failure. Found with str.find; every other line is never decoded.
_CANDIDATE_MARKS = ("error", "fatal", "panic", "critical", "not found", "no such file", "flag provided",
                    "terminate called", "exception in thread", "segmentation fault", "core dumped", "killed")
_KLOG_ERROR = re.compile(r"\n[EF][01]\d\d\d ")  # a literal first character keeps the scan fast
_TB_MARKS = ("Traceback (most recent call last):", 'File "')
_SERVING_MARKS = ("Avg prompt throughput:", "Application startup complete", '"msg":"Request handled"')


def _last_serving(log: Log) -> int:
    """The last line that shows the process serving: vLLM stats, startup banner, uvicorn 1xx-4xx, EPP requests."""
    last = max(log.rfind_line(m) for m in _SERVING_MARKS)
    before = None
    while True:  # uvicorn access lines, newest first, until one below 500
        i = log.rfind_line(" HTTP/", before)
        if i <= last:
            return last
        if "INFO:" in log.lines[i] and _ACCESS_OK.search(log.lines[i]):
            return i
        before = i


# (name, needle, pattern, summary): a pattern with a needle is searched for only in lines holding the needle
# (a literal test is cheap; a regex search over long lines is not); one without is matched at the line's start.
_STRONG_PLAIN = (
    ("exec-format", "exec format error", re.compile(r"exec format error"),
     "exec format error: the image's binaries are for another CPU architecture than the node's"),
    ("not-in-path", "executable file not found", re.compile(r'exec: "(?P<cmd>[^"]+)": executable file not found'),
     'executable "{cmd}" not found in $PATH: the command/entrypoint does not exist in the image'),
    ("no-such-exec", ": no such file or directory", re.compile(r"exec (?P<cmd>/\S+): no such file or directory"),
     "{cmd}: no such file or directory: the entrypoint is missing from the image (or its interpreter is)"),
    ("command-not-found", ": command not found", re.compile(r"(?P<cmd>[^\s:]+): command not found"),
     "{cmd}: command not found"),
    ("go-flag", "flag provided but not defined", re.compile(r"flag provided but not defined: (?P<flag>\S+)"),
     "flag provided but not defined: {flag} (the binary does not know this flag)"),
    ("cxx-terminate", "terminate called after throwing",
     re.compile(r"terminate called after throwing an instance of '(?P<type>[^']+)'"),
     "terminate called after throwing {type}"),
    ("segfault", "egmentation fault", re.compile(r"[Ss]egmentation fault"), "segmentation fault (native code crashed)"),
    ("core-dumped", "core dumped", re.compile(r"core dumped"), "the process crashed and dumped core"),
    ("argparse", "", re.compile(r"(?P<prog>[\w./\-]+(?: [\w\-]+)?): error: (?P<msg>.+)"), "{prog}: error: {msg}"),
    ("java", "", re.compile(r'Exception in thread "(?P<thread>[^"]+)" (?P<exc>.+)'),
     'Exception in thread "{thread}": {exc}'),
    ("cobra", "", re.compile(r"Error: (?P<msg>.+)"), "Error: {msg}"),
    ("rust-abort", "fatal runtime error", re.compile(r"fatal runtime error: (?P<msg>.+)"),
     "fatal runtime error: {msg} (the Rust runtime aborted the process)"),
    ("fatal", "", re.compile(r"(?:FATAL|\[FATAL\]|Fatal error)[: ]\s*(?P<msg>.+)"), "FATAL: {msg}"),
    ("killed", "", re.compile(r"Killed$"), "Killed: the process was killed by SIGKILL (usually the OOM killer)"),
)
# A Python exception line printed on its own (stderr, no logging prefix): `pkg.mod.SomeError: message`.
BARE_EXCEPTION = re.compile(r"(?P<type>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception))(?:: (?P<msg>.*))?$")
_CONTINUATION_LINES = 6  # lines after a bare exception read as its detail
_LAST_ERROR = "Last error:"  # NCCL prints its system error on the line after this one

# A supervisor (Istio's pilot-agent, an init process) logs its child's death by a signal at warning level.
_EVEN_IN_WARNINGS = frozenset({"segfault", "core-dumped"})

_WEAK_PLAIN = (
    ("error", "", re.compile(r"(?:error|ERROR): (?P<msg>.+)"), "error: {msg}"),
)


@dataclass(frozen=True)
class RootError:
    """The error a container died of, as far as its log and status show."""

    kind: str  # python | go-panic | go-fatal | rust-panic | envoy-crash | structured | klog | plain |
    # termination-message | exit-code
    summary: str  # one line
    excerpt: tuple[str, ...] = ()  # the few lines that show it
    location: str | None = None  # file:line or frame
    process: str | None = None  # vLLM process tag the error came from ("VllmWorker rank=0 pid=1065")
    exit_meaning: str | None = None  # what the exit code / reason says, when the termination is known
    source: str = "log"  # "log" | "termination-message" | "container-state"
    note: str | None = None  # a caveat, e.g. only a wrapper exception was found

    @property
    def excerpt_text(self) -> str:
        return "\n".join(self.excerpt)


def _summary(text: str) -> str:
    return clip(text, SUMMARY_LIMIT)


# ---- Python -------------------------------------------------------------------------------------------

_PROC_RANK = (("worker", 3), ("rayworker", 3), ("enginecore", 2))


def _proc_rank(proc: str) -> int:
    name = proc.split(" ", 1)[0].lower()
    return next((rank for key, rank in _PROC_RANK if key in name), 1)


def _from_python(excs: list[PyException], last_serving: int) -> RootError | None:
    live = [e for e in excs if e.last > last_serving]  # recovered from: served requests afterwards
    if not live:
        return None
    chosen: dict[int, PyException] = {}
    for e in live:  # per chain, the oldest exception that is not only a wrapper
        have = chosen.get(e.chain)
        if have is None or (have.is_wrapper and not e.is_wrapper):
            chosen[e.chain] = e
    candidates = sorted(chosen.values(), key=lambda e: (e.is_wrapper, -_proc_rank(e.proc), e.first))
    root = candidates[0]
    note = None
    if root.is_wrapper:
        note = ("only a wrapper exception is in this log; the process that failed first printed the cause "
                "(look further back in the log or in that process's output)")
    summary, excerpt = _python_summary(root), _python_excerpt(root)
    then = max((e for e in live if e.chain == root.chain), key=lambda e: e.position)
    if then is not root and not then.is_wrapper:  # e.g. `except KeyError: raise ValueError("...")`
        summary += f" -> then {then.text}"
        excerpt += (clip(f"then: {then.text}"),)
    return RootError("python", _summary(summary), excerpt, _python_location(root), root.proc or None, note=note)


def _assert_code(e: PyException) -> str:
    code = e.frames[-1].code if e.frames else ""
    return code if code.startswith("assert") else ""


def _python_summary(e: PyException) -> str:
    if e.type.rsplit(".", 1)[-1] == "AssertionError":
        code = _assert_code(e)
        msg = " ".join(m.strip() for m in e.message if m.strip())
        where = f" at {e.frames[-1].location}" if e.frames else ""
        if msg:
            return f"AssertionError: {msg}" + (f" ({code})" if code else where)
        return f"AssertionError ({code}){where}" if code else f"AssertionError{where}"
    return e.text


def _python_location(e: PyException) -> str | None:
    return e.frames[-1].location if e.frames else None


def _python_excerpt(e: PyException) -> tuple[str, ...]:
    out: list[str] = []
    if e.frames:
        f = e.frames[-1]
        out.append(f'File "{f.file}", line {f.line}' + (f", in {f.func}" if f.func else ""))
        if f.code:
            out.append(f"  {f.code}")
    out.append(clip(f"{e.type}: {e.message[0]}" if e.message else e.type))
    out += [clip(m) for m in e.message[1:4]]
    if e.proc:
        out.insert(0, f"({e.proc})")
    return tuple(out)


# ---- structured records ---------------------------------------------------------------------------------

def _entry_kind(entry: Entry) -> str:
    return "klog" if entry.format == "klog" else "structured"


def _entry_location(entry: Entry) -> str | None:
    if entry.caller:
        return entry.caller
    return entry.logger or None


def _entry_summary(entry: Entry) -> str:
    level = entry.level.upper()
    return _summary(f"{level} {entry.text}" if entry.level in FATAL_LEVELS else entry.text)


def _error_entries(log: Log, candidates: list[int], skip: set[int]) -> list[Entry]:
    out = []
    for i in candidates:
        if i in skip:
            continue
        line = log.line(i)
        if quick_level(line) not in ERROR_LEVELS:
            continue
        entry = parse_entry(line)
        if entry is not None and entry.level in ERROR_LEVELS and entry.text and not _dump_line(entry):
            out.append(entry)
    return out


def _dump_line(entry: Entry) -> bool:
    """A line of Envoy's crash dump (`[critical][backtrace]`, or Istio's `critical<TAB>envoy backtrace`):
    read whole by native_crash, not an error of its own."""
    return entry.format in ("envoy", "zap-console") and entry.logger == "backtrace"


def _from_fatal(entries: list[Entry]) -> RootError | None:
    fatal = [e for e in entries if e.level in FATAL_LEVELS]
    if not fatal:
        return None
    e = fatal[-1]
    return RootError(_entry_kind(e), _entry_summary(e), (clip(e.raw),), _entry_location(e))


def _from_errors(entries: list[Entry]) -> RootError | None:
    if not entries:
        return None
    telling = [e for e in entries if not WRAPPER_TEXT.search(e.text)]  # "EngineCore failed to start." says little
    entries = telling or entries
    counts = Counter(fold(e.text) for e in entries)
    repeated = [e for e in entries if counts[fold(e.text)] > 1]
    e = repeated[0] if repeated else entries[-1]
    times = counts[fold(e.text)]
    excerpt = [clip(e.raw) + (f"   (x{times})" if times > 1 else "")]
    last = entries[-1]
    if fold(last.text) != fold(e.text):
        excerpt.append(clip(last.raw))
    summary = _entry_summary(e) + (f" (repeated {times} times)" if times > 1 else "")
    return RootError(_entry_kind(e), summary, tuple(excerpt), _entry_location(e))


# ---- plain text -----------------------------------------------------------------------------------------

def _from_plain(log: Log, marked: list[int], patterns: tuple, skip: set[int]) -> RootError | None:
    for i in reversed(marked):
        line = log.line(i)
        text = line.text.strip()
        level = quick_level(line)
        if not text or i in skip or level in ("debug", "info"):
            continue
        for name, needle, rx, template in patterns:
            if (needle and needle not in text) or (level == "warn" and name not in _EVEN_IN_WARNINGS):
                continue
            m = rx.search(text) if needle else rx.match(text)
            if m:
                summary = template.format(**{k: v or "" for k, v in m.groupdict().items()})
                excerpt = [clip(line.raw)]
                if name == "cxx-terminate" and i + 1 < len(log.lines):  # then "  what():  <message>"
                    what = log.lines[i + 1].strip()
                    excerpt.append(clip(what))
                    summary += " " + what
                return RootError("plain", _summary(summary), tuple(excerpt))
    return None


# ---- Python exceptions without a traceback ----------------------------------------------------------------

def _continuation(log: Log, i: int) -> list[str]:
    """The detail lines printed right after a bare exception: indented or plain lines, up to a blank line
    or the next log record."""
    out: list[str] = []
    for line in log.parsed(i + 1, i + 1 + _CONTINUATION_LINES):
        text = line.text.rstrip()
        if not text.strip() or line.level or text.lstrip().startswith(("{", "Traceback", 'File "', "INFO:")):
            break
        if quick_level(line) and not text[:1].isspace():
            break  # another structured record (klog, zap console, logrus)
        out.append(text)
    return out


def _from_bare_exception(log: Log, marked: list[int], skip: set[int], last_serving: int) -> RootError | None:
    """The first exception line printed without a traceback after the process last served, with its detail."""
    found: list[tuple[int, re.Match[str], str]] = []
    for i in marked:
        if i <= last_serving or i in skip:
            continue
        line = log.line(i)
        if line.level or line.text[:1].isspace():
            continue
        m = BARE_EXCEPTION.match(line.text.strip())
        if m:
            found.append((i, m, line.proc))
    if not found:
        return None
    telling = [f for f in found if not is_consequence(f[1].group("type"), f[1].group(0))]
    i, m, proc = (telling or found)[0]
    detail = _continuation(log, i)
    summary = m.group(0).strip()
    if _LAST_ERROR in (d.strip() for d in detail):
        after = [d.strip() for d in detail[[d.strip() for d in detail].index(_LAST_ERROR) + 1:] if d.strip()]
        if after:
            summary += f"; last error: {after[0]}"
    elif detail and detail[0][:1].isspace():  # pydantic and others indent the detail under the exception
        summary += f": {detail[0].strip()}"
    note = None if telling else "only an exception that follows from another failure is in this log"
    excerpt = (clip(log.lines[i]), *(clip(d) for d in detail))
    return RootError("python", _summary(summary), excerpt, None, proc or None, note=note)


# ---- putting it together --------------------------------------------------------------------------------

def _from_text(text: str) -> RootError | None:
    log = Log(text)
    klog = [i + 1 for i in log.search(_KLOG_ERROR)] + ([0] if _KLOG_ERROR.match("\n" + log.lines[0]) else [])
    candidates = sorted(set(log.find(_CANDIDATE_MARKS, fold_case=True)).union(klog))
    headers = [i for i in candidates if log.lines[i].startswith(("panic: ", "fatal error: "))]
    if headers:
        go = go_crash(log.parsed(headers[-1], headers[-1] + _GO_TRACE_LINES))
        if go is not None:
            where = f" in {go.culprit.func}" if go.culprit else ""
            signal = f" [signal {go.signal.split(':', 1)[0]}]" if go.signal else ""
            label = "panic" if go.kind == "go-panic" else "fatal error"
            return RootError(go.kind, _summary(f"{label}: {go.message}{signal}{where}"),
                             tuple(clip(x) for x in go.excerpt), go.culprit.location if go.culprit else None)
    native = [i for i in candidates if any(m in log.lines[i] for m in _NATIVE_MARKS)]
    crash = None
    if native:
        lines = log.parsed(native[-1], native[-1] + _NATIVE_TRACE_LINES)
        crash = rust_panic(lines) or envoy_crash(lines)
        if crash is not None and crash.fatal:
            return _native(crash)
    last_serving = _last_serving(log)
    first, last = log.first_line(_TB_MARKS), log.last_line(_TB_MARKS)
    excs = tracebacks(log.parsed(max(first, last - _TB_WINDOW), last + _TB_MARGIN)) if last >= 0 else []
    # Lines of tracebacks (recovered ones too) are not separate errors; nor is what was served past.
    skip: set[int] = set()
    for e in excs:
        skip.update(range(e.first, e.last + 1))
    entries = _error_entries(log, candidates, skip)
    if crash is not None:  # a panic in another thread than main: the process may have lived on
        at = native[-1]
        later = (last_serving > at or any(e.last > at for e in excs if e.last > last_serving)
                 or any(e.no > at for e in entries if e.level in FATAL_LEVELS))
        if not later:
            return _native(crash)
    py = _from_python(excs, last_serving)
    if py is not None:
        return py
    return (_from_fatal(entries)
            or _from_plain(log, candidates, _STRONG_PLAIN, skip)
            or _from_bare_exception(log, candidates, skip, last_serving)
            or _from_errors([e for e in entries if e.no > last_serving])
            or _from_plain(log, candidates, _WEAK_PLAIN, skip))


def _native(crash: NativeCrash) -> RootError:
    return RootError(crash.kind, _summary(crash.summary), crash.excerpt, crash.location)


def _with_state(found: RootError, meaning: str | None, source: str) -> RootError:
    return RootError(found.kind, found.summary, found.excerpt, found.location, found.process, meaning,
                     source, found.note)


def root_error(log: str | None, termination: dict[str, Any] | None = None) -> RootError | None:
    """The root error of a container from its log and its `state.terminated`/`lastState.terminated`.

    None when neither shows an error (a healthy log, a clean exit).
    """
    t = termination if isinstance(termination, dict) else {}
    code, signal = (v if isinstance(v, int) and not isinstance(v, bool) else None
                    for v in (t.get("exitCode"), t.get("signal")))
    reason = t.get("reason") if isinstance(t.get("reason"), str) else None
    meaning = exit_code_meaning(code, reason, signal) if t else None
    tail = tuple(clip(x) for x in (log or "").strip().splitlines()[-3:])
    if reason == "OOMKilled":  # the kernel ended it; whatever the log says last is not why it died
        return RootError("exit-code", _summary(meaning or "OOMKilled"), tail, None, None, meaning,
                         "container-state")
    if log and log.strip():
        found = _from_text(log)
        if found is not None:
            return _with_state(found, meaning, "log")
    message = t.get("message") if isinstance(t.get("message"), str) else ""
    if message.strip():
        found = _from_text(message)
        if found is None:
            first = next(x for x in message.strip().splitlines() if x.strip())
            found = RootError("termination-message", _summary(first),
                              tuple(clip(x) for x in message.strip().splitlines()[:_EXCERPT_LINES]))
        return _with_state(found, meaning, "termination-message")
    if code not in (None, 0) or signal or reason in ("ContainerCannotRun", "StartError", "Error"):
        return RootError("exit-code", _summary(meaning or "terminated"), tail, None, None, meaning,
                         "container-state")
    return None


__all__ = ["MAX_LINE", "RootError", "root_error"]
