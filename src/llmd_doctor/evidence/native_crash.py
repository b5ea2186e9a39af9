"""Crashes of native gateways and proxies: Rust panics (agentgateway, ztunnel) and Envoy's crash handler.

Rust's standard panic hook writes to stderr (https://doc.rust-lang.org/std/panic/fn.set_hook.html):
- since Rust 1.73: `thread 'main' panicked at src/main.rs:10:5:` then the message on the next lines;
- before: `thread 'main' panicked at 'the message', src/main.rs:10:5`;
then `note: run with `RUST_BACKTRACE=1` ...` or a `stack backtrace:` whose frames are `  N: symbol` with
`at file:line:col` under them. The frame that explains it is the first outside the standard library.

Envoy's crash handler (source/server/backtrace.h, signal_action.cc) logs at `critical` on the `backtrace`
logger: `Caught Segmentation fault, suspect faulting address 0x0`, then `#N: symbol [0xaddr]` frames;
the first frame outside the signal handler, libc and the C++ runtime is the code that crashed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .lines import LogLine, clip
from .structured import parse_entry

_RUST_NEW = re.compile(r"thread '(?P<thread>[^']*)' panicked at (?P<loc>\S+?:\d+:\d+):$")
_RUST_OLD = re.compile(r"thread '(?P<thread>[^']*)' panicked at '(?P<msg>.*)', (?P<loc>\S+?:\d+:\d+)$")
_RUST_FRAME = re.compile(r"\s*\d+: (?P<sym>\S.*)$")
_RUST_AT = re.compile(r"\s+at (?P<loc>\S+?:\d+(?::\d+)?)$")
_RUST_STD = ("std::", "core::", "alloc::", "rust_begin_unwind", "rust_panic", "__rust", "<std::", "<core::",
             "<alloc::", "tokio::runtime::", "<tokio::", "__libc", "_start", "start_thread", "clone")
_RUST_END = ("note: run with `RUST_BACKTRACE", "stack backtrace:", "note: Some details are omitted")
_MESSAGE_LINES = 4

_ENVOY_CAUGHT = re.compile(r"Caught (?P<signal>[A-Z][\w ]+?), suspect faulting address (?P<addr>0x[0-9a-f]+)")
_ENVOY_FRAME = re.compile(r"#(?P<n>\d+): (?P<sym>.+?)(?: \[0x[0-9a-f]+\])?$")
_ENVOY_HANDLER = ("__restore_rt", "Envoy::SignalAction", "Envoy::BackwardsTrace", "Envoy::FatalErrorHandler",
                  "Envoy::Assert", "__GI_", "raise", "abort", "__libc", "std::", "__cxa", "__gnu_cxx",
                  "(unknown)", "_start", "start_thread", "clone")
_ENVOY_FRAMES = 40


@dataclass(frozen=True)
class NativeCrash:
    kind: str  # "rust-panic" | "envoy-crash"
    summary: str  # one line
    location: str | None  # file:line:col, or the crashing function
    excerpt: tuple[str, ...]
    # The process died of it: Envoy's crash handler, a panic of the main thread. A panic of another
    # thread (a tokio task, a library's worker) may have been survived: the caller weighs it.
    fatal: bool = True


def rust_panic(lines: Sequence[LogLine]) -> NativeCrash | None:
    """The last Rust panic in `lines` (text of the log from the first candidate on)."""
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i].text.strip()
        if "panicked at" not in text:
            continue
        old = _RUST_OLD.search(text)
        new = None if old else _RUST_NEW.search(text)
        if not old and not new:
            continue
        m = old or new
        assert m is not None
        thread, loc = m.group("thread"), m.group("loc")
        message = [m.group("msg")] if old else _message(lines, i + 1)
        culprit = _rust_culprit(lines, i + 1)
        where = culprit or loc
        text_msg = " ".join(x.strip() for x in message if x.strip()) or "(no message)"
        summary = f"panic in thread '{thread}': {text_msg}"
        excerpt = (clip(lines[i].raw), *(clip(x) for x in message[:_MESSAGE_LINES] if not old))
        return NativeCrash("rust-panic", summary, where, excerpt, fatal=thread == "main")
    return None


def _message(lines: Sequence[LogLine], start: int) -> list[str]:
    out: list[str] = []
    for line in lines[start:start + _MESSAGE_LINES + 2]:
        text = line.text.rstrip()
        if not text.strip() or text.startswith(_RUST_END) or line.level:
            break
        out.append(text)
    return out[:_MESSAGE_LINES]


def _rust_culprit(lines: Sequence[LogLine], start: int) -> str | None:
    """With RUST_BACKTRACE set: `symbol (file:line:col)` of the first frame outside std, core and tokio."""
    begin = next((j for j in range(start, min(len(lines), start + 12))
                  if lines[j].text.strip() == "stack backtrace:"), None)
    if begin is None:
        return None
    j = begin + 1
    while j < len(lines) and j < begin + 200:
        m = _RUST_FRAME.match(lines[j].text)
        if not m:
            break
        sym = m.group("sym").strip()
        at = _RUST_AT.match(lines[j + 1].text) if j + 1 < len(lines) else None
        if not sym.startswith(_RUST_STD):
            return f"{sym} ({at.group('loc')})" if at else sym
        j += 2 if at else 1
    return None


def envoy_crash(lines: Sequence[LogLine]) -> NativeCrash | None:
    """Envoy's crash handler output: the signal and the first frame outside the handler and the runtimes."""
    for i in range(len(lines) - 1, -1, -1):
        m = _ENVOY_CAUGHT.search(lines[i].text)
        if not m:
            continue
        frames: list[str] = []
        for line in lines[i + 1:i + 1 + _ENVOY_FRAMES]:
            f = _ENVOY_FRAME.match(_record_text(line))
            if f:
                frames.append(f.group("sym").strip())
        culprit = next((f for f in frames if not f.startswith(_ENVOY_HANDLER)), None)
        where = f" in {culprit}" if culprit else ""
        summary = f"Envoy caught {m.group('signal')} (faulting address {m.group('addr')}){where}"
        excerpt = [clip(lines[i].raw)]
        excerpt += [clip(x.raw) for x in lines[i + 1:i + 1 + _ENVOY_FRAMES]
                    if culprit and culprit in x.text][:1]
        return NativeCrash("envoy-crash", summary, culprit, tuple(excerpt))
    return None


def _record_text(line: LogLine) -> str:
    """A record's message without its header: Envoy's `[time][thread][level][logger] [file:line]`, or
    Istio's tab-separated form (evidence/structured.py reads both)."""
    entry = parse_entry(line)
    return entry.msg if entry is not None else line.text.strip()


__all__ = ["NativeCrash", "envoy_crash", "rust_panic"]
