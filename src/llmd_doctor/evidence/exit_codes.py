"""What a container's exit code, signal and termination reason mean.

A process killed by signal n is reported as exit code 128+n (POSIX shells and container runtimes);
Kubernetes sets `reason: OOMKilled` when the kernel's OOM killer ended the container for exceeding its
memory limit, `Error` for a non-zero exit, `ContainerCannotRun`/`StartError` (exit 128) when the runtime
could not start the process, and `Completed` for exit 0
(https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states).
A Go program exits 2 on an unrecovered panic and on a flag-parsing error (https://pkg.go.dev/flag,
https://pkg.go.dev/runtime); a Rust program exits 101 when it panics
(https://doc.rust-lang.org/std/macro.panic.html); shells use 126 (found but not executable) and 127
(command not found).
"""

from __future__ import annotations

_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
            8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
            14: "SIGALRM", 15: "SIGTERM"}

_BY_CODE = {
    0: "exited successfully",
    1: "exited with an error (exit 1): the program reported a failure; its log says which",
    2: "exited 2: a usage error (bad command-line flag or argument) or an unrecovered Go panic",
    101: "exited 101: the code a Rust program (agentgateway, ztunnel) exits with when it panics",
    126: "exit 126: the command was found but could not be executed (permissions, or not a binary)",
    127: "exit 127: command not found (the image has no such entrypoint/command in $PATH)",
    128: "exit 128: the container runtime could not start the process (bad command, missing binary or mount)",
    134: "killed by SIGABRT (exit 134): the process aborted itself (a failed C/C++/CUDA assertion, "
         "std::terminate or abort())",
    135: "killed by SIGBUS (exit 135): a bus error, often shared memory (/dev/shm) too small for NCCL or "
         "PyTorch workers",
    137: "killed by SIGKILL (exit 137): by the kubelet after a failed liveness probe or an expired grace "
         "period, or by the node's OOM killer",
    139: "killed by SIGSEGV (exit 139): a segmentation fault in native code",
    143: "stopped by SIGTERM (exit 143): asked to shut down (pod deleted, rolled out, or restarted after a "
         "failed liveness probe)",
    255: "exit 255: the program exited with status -1 (a fatal error in a launcher or entrypoint script)",
}

_BY_REASON = {
    "OOMKilled": "OOMKilled: the container used more memory than its limit and the kernel killed it "
                 "(SIGKILL, exit 137); raise resources.limits.memory or lower what the process holds in RAM",
    "ContainerCannotRun": "ContainerCannotRun: the runtime could not start the container's process "
                          "(see the termination message)",
    "StartError": "StartError: the runtime failed to start the process (see the termination message: a "
                  "missing executable, a bad mount or an exec format error)",
    "DeadlineExceeded": "DeadlineExceeded: the pod ran past activeDeadlineSeconds and was killed",
    "Evicted": "Evicted: the kubelet evicted the pod under node pressure (memory, disk or PIDs)",
}


def signal_name(n: int) -> str:
    return _SIGNALS.get(n, f"signal {n}")


def exit_code_meaning(code: int | None, reason: str | None = None, signal: int | None = None) -> str:
    """One sentence on why a container with this exit code / reason / signal stopped."""
    reason = reason.strip() if isinstance(reason, str) else ""
    signal = signal if isinstance(signal, int) and not isinstance(signal, bool) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    if reason in _BY_REASON:
        return _BY_REASON[reason]
    if signal:
        return f"killed by {signal_name(signal)} (signal {signal})" + (f", reason {reason}" if reason else "")
    if code is None:
        return f"terminated ({reason})" if reason else "terminated (no exit code reported)"
    text = _BY_CODE.get(code)
    if text is None:
        if 128 < code < 160:
            text = f"killed by {signal_name(code - 128)} (exit {code} = 128 + {code - 128})"
        elif code < 0:
            text = f"exit {code}: the runtime reported a negative status (the process did not run normally)"
        else:
            text = f"exited with code {code}: an application-specific failure (see its log)"
    if reason and reason not in ("Error", "Completed"):
        text += f" (reason {reason})"
    return text
