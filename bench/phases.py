"""Where the time and memory of one `check` go: imports, live reads, access reviews, each check.

    python -m bench.phases 10000x500 --latency 20 [--checks-timeout 60]

Serves a generated cluster like `python -m bench`, then runs a child that times the phases of
`llmd-doctor check` one by one (the same calls `run.diagnose` makes) and prints them as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.gen import generate
from bench.rss import LAUNCHER
from bench.run import parse_sizes
from bench.server import CachedFakeApiServer

CHILD = r"""
import json, resource, sys, time, threading, os
t0 = time.perf_counter()
import kubernetes.client, kubernetes.config  # noqa: F401  (what live.py imports, timed alone)
t_kube = time.perf_counter() - t0
from llmd_doctor.engine import needed_access, needed_logs, run_checks, order_specs
from llmd_doctor.run import RunOptions, choose_specs
from llmd_doctor.sources.live import LiveOptions, load_live
from llmd_doctor.engine import needed_kinds
t_import = time.perf_counter() - t0
kc, timeout = sys.argv[1], float(sys.argv[2])
specs = choose_specs(RunOptions())
def live(access):
    t = time.perf_counter()
    snap = load_live(needed_kinds(specs), lambda s: needed_logs(specs, s), LiveOptions(kubeconfig=kc),
                     access_for=(lambda s: needed_access(specs, s)) if access else None)
    return snap, time.perf_counter() - t
snap0, t_lists = live(False)
requests_lists = snap0.requests
del snap0
rss_lists = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
snap, t_all = live(True)
out = {"imports_s": round(t_import, 3), "kubernetes_import_s": round(t_kube, 3),
       "reads_without_reviews_s": round(t_lists, 3), "requests_without_reviews": requests_lists,
       "reads_with_reviews_s": round(t_all, 3), "requests": snap.requests, "access_reviews": len(snap.access),
       "objects": sum(len(v) for v in snap.objects.values()), "rss_after_reads_mb": round(rss_lists)}
print(json.dumps(out), flush=True)
threading.Timer(timeout, lambda: (print(json.dumps({"checks": "timeout", "checks_done": done}), flush=True), os._exit(0))).start()
done = {}
from llmd_doctor.model import CheckContext
from llmd_doctor.engine import run_one
ctx = CheckContext(snapshot=snap)
for spec in order_specs(specs):
    r = run_one(spec, ctx)
    ctx.results[spec.id] = r
    done[spec.id] = round(r.duration_s, 3)
print(json.dumps({"checks_s": round(sum(done.values()), 3), "slowest": sorted(done.items(), key=lambda kv: -kv[1])[:6],
                  "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)
os._exit(0)
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.phases", description=__doc__.split("\n\n")[0])
    p.add_argument("size", help="PODSxNAMESPACES, e.g. 10000x500")
    p.add_argument("--latency", type=int, default=20, help="ms per request (default 20)")
    p.add_argument("--checks-timeout", type=float, default=60.0, help="stop the checks after this many seconds")
    args = p.parse_args(argv)
    size = parse_sizes(args.size)[0]
    data = generate(size)
    with tempfile.TemporaryDirectory() as d, CachedFakeApiServer(data) as srv:
        kc = srv.kubeconfig(Path(d) / "kc")
        # Warm the answer cache at 0 ms (reads only: the checks are not needed for that).
        subprocess.run([sys.executable, "-c", CHILD, kc, "0"], capture_output=True, timeout=900)
        srv.latency_s = args.latency / 1000
        # Through the small launcher, so the child's ru_maxrss is its own (see bench/run.py).
        r = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(Path(d) / "rusage"), "900",
                            sys.executable, "-c", CHILD, kc, str(args.checks_timeout)],
                           capture_output=True, text=True, timeout=900)
        print(f"{size.label}, {args.latency} ms per request")
        for line in r.stdout.splitlines():
            print(json.dumps(json.loads(line), indent=1))
        if r.returncode:
            print(r.stderr[-3000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
