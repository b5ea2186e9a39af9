"""Peak RSS of a child process, measured from a small launcher.

Linux keeps the pre-exec high-water mark in ru_maxrss, so a child forked straight from a large
process (the benchmark, or pytest) would report at least its parent's RSS. Run this launcher as
`python -S -c LAUNCHER <out-file> <timeout-s> <argv...>`: it forks the real child, kills it at the
timeout, and writes "<ru_maxrss KB> <exit code>" of that child alone to <out-file>.
"""

LAUNCHER = """
import os, signal, sys
out, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""
