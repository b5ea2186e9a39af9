"""Peak RSS of a child process and the processes it starts, measured from a small launcher.

Linux keeps the pre-exec high-water mark in ru_maxrss, so a child forked straight from a large
process (the benchmark, or pytest) would report at least its parent's RSS. Run this launcher as
`python -S -c LAUNCHER <out-file> <timeout-s> <argv...>`: it forks the real child, kills it at the
timeout, and writes "<peak KB> <exit code>" to <out-file>.

The peak is the larger of the child's own ru_maxrss and the most that the child and its
descendants (llmd-doctor's page reader, sources/page_reader.py) held at once, summed from
/proc every 10 ms: a helper's memory counts as the tool's.
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
page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

def descendants(p):
    found = []
    try:
        for t in os.listdir(f"/proc/{p}/task"):
            with open(f"/proc/{p}/task/{t}/children") as f:
                for c in f.read().split():
                    found += [int(c), *descendants(int(c))]
    except OSError:
        pass
    return found

def rss_kb(p):
    try:
        with open(f"/proc/{p}/statm") as f:
            return int(f.read().split()[1]) * page_kb
    except (OSError, ValueError, IndexError):
        return 0

tree, peak, n = [pid], 0, 0
while True:
    try:
        done, status, usage = os.wait4(pid, os.WNOHANG)
    except InterruptedError:
        continue
    if done:
        break
    if n % 10 == 0:  # new helpers are rare: look for them every 100 ms
        tree = [pid, *descendants(pid)]
    n += 1
    peak = max(peak, sum(rss_kb(p) for p in tree))
    time.sleep(0.01)
with open(out, "w") as f:
    f.write(f"{max(usage.ru_maxrss, peak)} {os.waitstatus_to_exitcode(status)}")
"""
