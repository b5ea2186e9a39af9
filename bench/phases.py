"""Where the time and memory of one `check` go: imports, each phase of the live read, the checks, rendering.

    python -m bench.phases 10000x500 --shape shared --latency 20
    python -m bench.phases 10000x500 --shape all-llmd --repeat 16 --against OTHER/.venv/bin/python

Serves a generated cluster like `python -m bench`, then runs a child that does what `llmd-doctor
check -o json` does (the same `run.diagnose`, with `build_snapshot` timed) and prints the phases as
JSON: imports, the live source's own timings (Snapshot.timings: connect, discovery, lists, pods,
logs, reviews), the checks (their own durations), rendering, and peak RSS after reading and at the end.

With `--repeat N` it runs N times and prints each phase's median and range; with `--against PYTHON`
(another tree's virtualenv) it alternates the two trees' runs against the same served cluster and
says, per phase, in how many of the pairs this tree was faster: on a shared machine whose speed
drifts by tens of percent within minutes, pairs run back to back are what can be compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.gen import SHAPES, generate
from bench.rss import LAUNCHER
from bench.server import CachedFakeApiServer

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import llmd_doctor.cli  # noqa: F401  (what `llmd-doctor check` imports before it reads)
from llmd_doctor import run as runmod
from llmd_doctor.renderers.json import render_json
t_imports = time.perf_counter() - t0
kc = sys.argv[1]
seen = {}
build = runmod.build_snapshot
def timed_build(opts, specs, *rest):
    t = time.perf_counter()
    snap = build(opts, specs, *rest)
    seen.update(snap=snap, build_s=time.perf_counter() - t,
                rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return snap
runmod.build_snapshot = timed_build
t = time.perf_counter()
report = runmod.diagnose(runmod.RunOptions(kubeconfig=kc))
t_diagnose = time.perf_counter() - t
try:  # rendered as `check` renders it: without the cyclic GC (llmd_doctor/gc_pause.py)
    from llmd_doctor.gc_pause import paused
except ImportError:  # a tree from before it
    from contextlib import nullcontext as paused
t = time.perf_counter()
with paused():
    render_json(report)
t_render = time.perf_counter() - t
snap = seen["snap"]
durations = {r.spec.id: r.duration_s for r in report.results}
out = {"startup_s": round(t_imports, 3), **getattr(snap, "timings", {}), "read_s": round(seen["build_s"], 3),
       "checks_s": round(sum(durations.values()), 3), "diagnose_s": round(t_diagnose, 3),
       "other_s": round(t_diagnose - seen["build_s"] - sum(durations.values()), 3),
       "render_s": round(t_render, 3), "requests": snap.requests,
       "objects": sum(len(v) for v in snap.objects.values()), "pods_read": len(snap.objects.get("Pod", [])),
       "slowest": sorted(((k, round(v, 3)) for k, v in durations.items()), key=lambda kv: -kv[1])[:5],
       "rss_after_reads_mb": round(seen["rss"]),
       "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
print(json.dumps(out), flush=True)
"""


def run_phases(srv: CachedFakeApiServer, kubeconfig: str, timeout: float = 300,
               python: str = sys.executable) -> dict[str, Any]:
    """One timed run against a server that is already warm; {} when the child failed."""
    with tempfile.TemporaryDirectory() as d:
        # Through the small launcher, so the child's ru_maxrss is its own (see bench/rss.py).
        r = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(Path(d) / "rusage"), str(timeout),
                            python, "-c", CHILD, kubeconfig], capture_output=True, text=True,
                           timeout=timeout + 30)
    try:
        return dict(json.loads(r.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        print(r.stderr[-3000:], file=sys.stderr)
        return {}


# The phases compared between runs (seconds, but for the RSS), in the order a run goes through them.
COMPARED = ("startup_s", "lists", "pods", "logs and reviews", "read_s", "checks_s", "render_s", "diagnose_s",
            "rss_peak_mb")


def summarize(runs: list[dict[str, Any]], against: list[dict[str, Any]] | None = None) -> list[str]:
    """Each phase's median and range over `runs`; with `against` (the other tree's runs, paired in
    order), its too, and in how many pairs `runs` took less."""
    lines = []
    for key in COMPARED:
        mine = [r[key] for r in runs if key in r]
        if not mine:
            continue
        line = f"{key:18s} {_spread(mine)}"
        theirs = [r[key] for r in against or [] if key in r]
        if theirs:
            pairs = list(zip(mine, theirs, strict=False))
            less = sum(a < b for a, b in pairs)
            line += f"   against {_spread(theirs)}   less in {less}/{len(pairs)} pairs"
        lines.append(line)
    return lines


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f} ({min(values):.3f}-{max(values):.3f})"


def main(argv: list[str] | None = None) -> int:
    from bench.run import parse_sizes

    p = argparse.ArgumentParser(prog="python -m bench.phases", description=__doc__.split("\n\n")[0])
    p.add_argument("size", help="PODSxNAMESPACES, e.g. 10000x500")
    p.add_argument("--shape", default="shared", choices=SHAPES)
    p.add_argument("--latency", type=int, default=20, help="ms per request (default 20)")
    p.add_argument("--repeat", type=int, default=1, help="runs (of each tree, with --against); default 1")
    p.add_argument("--against", metavar="PYTHON", help="another tree's Python: its runs alternate with this one's")
    args = p.parse_args(argv)
    size = parse_sizes(args.size)[0]
    data = generate(size, shape=args.shape)
    with tempfile.TemporaryDirectory() as d, CachedFakeApiServer(data) as srv:
        kc = srv.kubeconfig(Path(d) / "kc")
        run_phases(srv, kc)  # warm the answer cache at 0 ms
        srv.latency_s = args.latency / 1000
        print(f"{args.shape}, {size.label}, {args.latency} ms per request")
        if args.repeat == 1 and not args.against:
            print(json.dumps(run_phases(srv, kc), indent=1))
            return 0
        mine: list[dict[str, Any]] = []
        theirs: list[dict[str, Any]] = []
        for _ in range(args.repeat):
            mine.append(run_phases(srv, kc))
            if args.against:
                theirs.append(run_phases(srv, kc, python=args.against))
        print(f"{args.repeat} runs" + (f", alternating with {args.against}" if args.against else "")
              + "; median (range)")
        print("\n".join(summarize(mine, theirs if args.against else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
