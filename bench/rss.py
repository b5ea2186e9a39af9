"""Peak RSS of a child process and its helper processes, measured from a small launcher.

Linux keeps the pre-exec high-water mark in ru_maxrss, so a child forked straight from a large
process (the benchmark, or pytest) would report at least its parent's RSS. Run this launcher as
`python -S -c LAUNCHER <out-file> <timeout-s> <argv...>`: it forks the real child, kills it at the
timeout, and writes "<peak RSS KB> <exit code>" of that child alone to <out-file>.

llmd-doctor parses big list pages in helper processes (sources/pages.py), and ru_maxrss counts one
process (for descendants, the largest one, not their sum). So the launcher also samples the RSS of
the child's whole process tree every 5 ms from /proc and reports the larger of that sum's peak and
the child's own ru_maxrss.
"""

LAUNCHER = """
import os, signal, sys, time
out, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, timeout)

def tree(p):
    try:
        with open(f"/proc/{p}/task/{p}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        kids = []
    return [p] + [q for k in kids for q in tree(k)]

def rss_kb(p):
    try:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

peak = 0
while True:
    try:
        done, status, usage = os.wait4(pid, os.WNOHANG)
    except InterruptedError:
        continue
    if done:
        break
    peak = max(peak, sum(rss_kb(p) for p in tree(pid)))
    time.sleep(0.005)
with open(out, "w") as f:
    f.write(f"{max(peak, usage.ru_maxrss)} {os.waitstatus_to_exitcode(status)}")
"""
