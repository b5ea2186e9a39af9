"""Where `collect` writes its .tar.gz, and how: the `-o` target decides.

- a regular file (new or existing): written to a temporary file beside it and renamed when complete,
  so an interrupted or failed write never leaves a half-written bundle and never damages an old one;
- a directory (or no `-o`): `llmd-doctor-bundle-<context>-<UTC time>.tar.gz` inside it, as above;
- `-` : streamed to stdout (refused when stdout is a terminal);
- an existing character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe): streamed into it
  in place, as `tar czf /dev/null` or `kubectl ... > /dev/null` would. The node is never replaced;
- anything else that exists and is not a regular file (a block device, a socket): refused.

A symbolic link is followed: the file it points at is written, the link stays.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from llmd_doctor.errors import UsageError

STDOUT = "-"
Tick = Callable[[str, int, int], None]


def default_output(now: datetime | None = None, context: str | None = None) -> str:
    """`llmd-doctor-bundle-[<context>-]<UTC time>.tar.gz`, the context made safe as a file name
    (EKS and OpenShift context names hold `/` and `:`)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    ctx = re.sub(r"[^A-Za-z0-9._-]+", "-", context or "").strip("-.")[:63].strip("-.")
    return f"llmd-doctor-bundle-{ctx}-{stamp}.tar.gz" if ctx else f"llmd-doctor-bundle-{stamp}.tar.gz"


def top_folder(name: str) -> str:
    """The archive's one top folder: its file name without the archive suffix."""
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or "bundle"
    return name or "bundle"


@dataclass(frozen=True)
class Output:
    """A checked `-o` target. mode "file": atomic write to `path`, or to a default name in `directory`
    when `path` is None; "stream": an existing character device or FIFO, written in place; "stdout"."""

    mode: str
    path: Path | None = None
    directory: Path | None = None

    def final_path(self, default_name: str) -> Path | None:
        if self.mode == "file" and self.path is None:
            return (self.directory or Path(".")) / default_name
        return self.path


def _node_type(mode: int) -> str:
    for test, name in ((stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _writable_dir(directory: Path, shown: str) -> None:
    if not directory.is_dir():
        raise UsageError(f"cannot write {shown}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {shown}: directory {directory} is not writable")


def resolve_output(output: str | None) -> Output:
    """Check the `-o` value before anything is read from the cluster. Raises UsageError."""
    if output == STDOUT:
        if sys.stdout.isatty():
            raise UsageError("refusing to write a binary archive to a terminal: "
                             "redirect stdout (-o - > bundle.tar.gz) or give -o FILE")
        return Output("stdout")
    if not output:
        _writable_dir(Path("."), "the bundle")
        return Output("file", directory=Path("."))
    target = Path(output)
    if target.is_symlink():
        target = Path(os.path.realpath(target))  # write where the link points; the link stays a link
    try:
        st: os.stat_result | None = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from e
    if st is None:
        if output.endswith(("/", os.sep)):
            raise UsageError(f"cannot write {output}: directory {output} does not exist")
    elif stat.S_ISDIR(st.st_mode):
        _writable_dir(target, output)
        return Output("file", directory=target)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {output}: permission denied")
        return Output("stream", target)
    elif not stat.S_ISREG(st.st_mode):
        raise UsageError(f"cannot write {output}: it is a {_node_type(st.st_mode)}, not a regular file; "
                         "give a file or directory path, or -o - for stdout")
    _writable_dir(target.parent, output)
    return Output("file", target)


class _Counting(io.RawIOBase):
    """A write-only stream that counts what passes through to `out` (stdout and devices cannot be stat'ed)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.written = out, 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.out.write(b)
        self.written += len(b)
        return len(b)


def stream_archive(files: list[tuple[str, bytes]], out: BinaryIO, top: str, *,
                   mtime: float | None = None, tick: Tick | None = None) -> int:
    """Write the files as a .tar.gz under one top folder to a stream (no seeking); bytes written."""
    stamp = int(mtime if mtime is not None else time.time())
    sink = _Counting(out)
    with tarfile.open(fileobj=sink, mode="w|gz") as tf:
        for i, (rel, data) in enumerate(files, 1):
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size, info.mtime, info.mode = len(data), stamp, 0o644
            tf.addfile(info, io.BytesIO(data))
            if tick:
                tick("write", i, len(files))
    out.flush()
    return sink.written


def write_archive(files: list[tuple[str, bytes]], target: str | os.PathLike[str], *,
                  mtime: float | None = None, tick: Tick | None = None) -> int:
    """Write a .tar.gz atomically: a temporary file (mode 0600) beside the target, renamed when
    complete. On any exception (Ctrl-C included) the temporary file is removed and the target is
    untouched."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as raw:
            stream_archive(files, raw, top_folder(target.name), mtime=mtime, tick=tick)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target.stat().st_size


def write_output(files: list[tuple[str, bytes]], out: Output, default_name: str, *,
                 mtime: float | None = None, tick: Tick | None = None) -> tuple[str, int]:
    """Write the archive where `out` says; (where it went, bytes). Raises UsageError on a write error
    (a full disk, /dev/full, a closed pipe): one line, and no file left behind."""
    path = out.final_path(default_name)
    shown = "stdout" if out.mode == "stdout" else str(path)
    try:
        if out.mode == "stdout":
            return shown, stream_archive(files, sys.stdout.buffer, top_folder(default_name), mtime=mtime, tick=tick)
        assert path is not None
        if out.mode == "stream":
            with open(path, "wb") as dev:
                return shown, stream_archive(files, dev, top_folder(default_name), mtime=mtime, tick=tick)
        return shown, write_archive(files, path, mtime=mtime, tick=tick)
    except OSError as e:
        if out.mode == "stdout":  # stdout is gone (a closed pipe): stop Python flushing it again at exit
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise UsageError(f"cannot write {shown}: {e.strerror or e}") from e
