"""Which way of keeping the cyclic GC out of the read is best: the live source's `_gc_paused`, swapped.

    python -m bench.gc_modes 10000x500 --runs 2

Serves both shapes like `python -m bench` and runs, for each GC mode in turn (interleaved, `--runs`
times), a child that does what `llmd-doctor check -o json` does with `_gc_paused` replaced:
`on` (GC left alone), `disable` (disabled during the read, enabled after), `threshold` (gen-0
threshold 100,000 during the read), `freeze` (disabled, then what was read frozen: what the live
source does). Prints the seconds of the read, of the rest (checks, probe, report) and of rendering
(memory: `python -m bench`, whose launcher measures the child alone). Only the read is swapped: the
checks and the report run with the collector paused in every mode (llmd_doctor/gc_pause.py), so
`rest_s` differs between modes only by what a mode leaves for the collections of the probe stage.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.gen import SHAPES, generate
from bench.server import CachedFakeApiServer

MODES = ("on", "disable", "threshold", "freeze")
CHILD = r"""
import contextlib, gc, json, sys, time
mode, kc = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
import llmd_doctor.cli  # noqa: F401
from llmd_doctor import run as runmod
from llmd_doctor.renderers.json import render_json
from llmd_doctor.sources import live

@contextlib.contextmanager
def paused():
    if mode == "on":
        yield
    elif mode == "threshold":
        old = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            yield
        finally:
            gc.set_threshold(*old)
    else:
        gc.disable()
        try:
            yield
        finally:
            if mode == "freeze":
                gc.freeze()
            gc.enable()

live._gc_paused = paused
seen = {}
build = runmod.build_snapshot
def timed(opts, specs, *rest):
    t = time.perf_counter()
    snap = build(opts, specs, *rest)
    seen["read"] = time.perf_counter() - t
    return snap
runmod.build_snapshot = timed
t = time.perf_counter()
report = runmod.diagnose(runmod.RunOptions(kubeconfig=kc))
d = time.perf_counter() - t
t = time.perf_counter()
render_json(report)
r = time.perf_counter() - t
print(json.dumps({"mode": mode, "read_s": round(seen["read"], 2), "rest_s": round(d - seen["read"], 2),
                  "render_s": round(r, 2), "total_s": round(time.perf_counter() - t0, 2)}))
"""


def main(argv: list[str] | None = None) -> int:
    from bench.run import parse_sizes

    p = argparse.ArgumentParser(prog="python -m bench.gc_modes", description=__doc__.split("\n\n")[0])
    p.add_argument("size", nargs="?", default="10000x500", help="PODSxNAMESPACES (default 10000x500)")
    p.add_argument("--runs", type=int, default=2, help="runs of each mode (default 2)")
    p.add_argument("--latency", type=int, default=20, help="ms per request (default 20)")
    args = p.parse_args(argv)
    size = parse_sizes(args.size)[0]
    for shape in SHAPES:
        with tempfile.TemporaryDirectory() as d, CachedFakeApiServer(generate(size, shape=shape)) as srv:
            kc = srv.kubeconfig(Path(d) / "kc")
            subprocess.run([sys.executable, "-c", CHILD, "freeze", kc], capture_output=True)  # warm the cache
            srv.latency_s = args.latency / 1000
            for _ in range(args.runs):
                for mode in MODES:
                    out = subprocess.run([sys.executable, "-c", CHILD, mode, kc], capture_output=True, text=True)
                    print(shape, out.stdout.strip() or out.stderr[-500:], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
