"""The benchmark: `llmd-doctor check` against generated clusters, beside the kubectl script a person runs.

    python -m bench                 # the default matrix (well under 10 minutes on 2 cores)
    python -m bench --quick         # a smoke run (100 pods, 0 and 20 ms)
    python -m bench --sizes 10000x500 --latency 20 --out docs/performance.md

For each size a cluster is generated in memory (bench/gen.py) and served by one fake API server
(bench/server.py); for each injected latency the same server answers, in turn, `llmd-doctor check
--kubeconfig K -o json` (a child process: wall time, peak RSS from wait4, requests from the server's
log) and the kubectl commands the seed's author ran (bench/kubectl_script.py). A doctor run that
passes --timeout is killed and reported as "> T s"; the larger latencies of that size are then not
run (they can only be slower).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.gen import Size, describe, generate
from bench.kubectl_script import script
from bench.rss import LAUNCHER
from bench.server import CachedFakeApiServer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = "100x1,1000x50,10000x500"
DEFAULT_LATENCIES = "0,20,100"


@dataclass
class Run:
    wall_s: float | None  # None = killed at the timeout
    rss_mb: float
    requests: int
    exit_code: int | None = None
    lists_per_kind: int = 0  # the most LISTs (first pages) any one resource got
    checks_s: float | None = None  # the checks' own time (from the JSON report)
    slowest: str = ""
    commands: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


def doctor_argv() -> list[str]:
    exe = Path(sys.executable).with_name("llmd-doctor")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "llmd_doctor"]


def run_child(argv: list[str], timeout: float, env: dict[str, str] | None = None,
              stdout: Any = subprocess.DEVNULL) -> tuple[float | None, float, int | None]:
    """(wall seconds or None when killed at the timeout, peak RSS MB of this child alone, exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as res:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, res.name, str(timeout), *argv], stdout=stdout,
                       stderr=subprocess.DEVNULL, env=env, check=False)
        wall = time.perf_counter() - started
        maxrss_kb, code = (int(x) for x in res.read().split())
    return (None if code == -9 else wall), maxrss_kb / 1024, code


def _list_counts(srv: CachedFakeApiServer) -> int:
    """The most first-page LISTs of one collection (pages after the first carry `continue`)."""
    lists = Counter(r.path for r in srv.requests
                    if r.method == "GET" and "continue" not in r.query and not r.path.endswith("/log")
                    and _is_collection(r.path))
    return max(lists.values(), default=0)


def _is_collection(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return False
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    return len(rest) == 1


def run_doctor(srv: CachedFakeApiServer, kubeconfig: str, timeout: float, out_dir: Path) -> Run:
    srv.clear_requests()
    out = out_dir / "doctor.json"
    with open(out, "w") as f:
        wall, rss, code = run_child([*doctor_argv(), "check", "--kubeconfig", kubeconfig, "-o", "json"], timeout,
                                    env={**os.environ, "NO_COLOR": "1"}, stdout=f)
    run = Run(wall, rss, len(srv.requests), code, _list_counts(srv))
    reqs = Counter("log" if r.path.endswith("/log") else "review" if r.method == "POST" else "discovery"
                   if not _is_collection(r.path) else "list" for r in srv.requests)
    run.detail = dict(reqs)
    if wall is not None:
        try:
            doc = json.loads(out.read_text())
            durations = {c["id"]: c.get("duration_s", 0.0) for c in doc["checks"]}
            run.checks_s = sum(durations.values())
            top = max(durations, key=lambda k: durations[k])
            run.slowest = f"{top} {durations[top]:.1f}s"
        except (ValueError, KeyError):
            pass
    return run


def run_kubectl(srv: CachedFakeApiServer, kubeconfig: str, home: Path, cmds: list[list[str]], timeout: float) -> Run:
    srv.clear_requests()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": kubeconfig}
    total, peak, failed = 0.0, 0.0, 0
    for cmd in cmds:
        wall, rss, code = run_child(["kubectl", *cmd], timeout, env=env)
        total += wall if wall is not None else timeout
        peak = max(peak, rss)
        failed += code != 0
    return Run(total, peak, len(srv.requests), failed, commands=len(cmds))


def help_time(runs: int = 20) -> tuple[float, str]:
    """Median wall time of `llmd-doctor --help` in ms, and how it was measured."""
    argv = [*doctor_argv(), "--help"]
    if shutil.which("hyperfine"):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "h.json"
            cmd = " ".join(argv)
            subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out), cmd],
                           check=True, capture_output=True)
            res = json.loads(out.read_text())["results"][0]
            return res["median"] * 1000, f"hyperfine -N --warmup 3 --runs {runs} '{cmd}' (median)"
    times = []
    for _ in range(runs + 3):
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times[3:]) * 1000, f"{runs} subprocess runs of '{' '.join(argv)}' after 3 warm-ups (median)"


def _fmt_s(v: float | None, timeout: float) -> str:
    return f"> {timeout:.0f}" if v is None else f"{v:.2f}"


def table(rows: list[dict[str, Any]], timeout: float) -> str:
    head = ("| cluster | latency | doctor wall s | doctor checks s | doctor requests (list pages/logs/reviews) | "
            "LISTs per kind | doctor peak RSS MB | kubectl script wall s | kubectl requests | kubectl/doctor |\n"
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        d: Run = r["doctor"]
        k: Run | None = r.get("kubectl")
        det = d.detail
        reqs = f"{d.requests} ({det.get('list', 0)}/{det.get('log', 0)}/{det.get('review', 0)})"
        if d.wall_s is None:
            reqs = f"≥ {reqs}"
        ratio = "—"
        if k is not None and k.wall_s and d.wall_s:
            ratio = f"{k.wall_s / d.wall_s:.1f}×"
        elif k is not None and d.wall_s is None:
            ratio = f"< {k.wall_s / timeout:.2f}×"
        checks = "—" if d.checks_s is None else f"{d.checks_s:.2f}"
        lines.append(
            f"| {r['size']} | {r['latency_ms']} ms | {_fmt_s(d.wall_s, timeout)} | {checks} | {reqs} | "
            f"{d.lists_per_kind} | {d.rss_mb:.0f} | "
            f"{'—' if k is None else f'{k.wall_s:.2f} ({k.commands} cmds)'} | {'—' if k is None else k.requests} | "
            f"{ratio} |")
    return head + "\n".join(lines) + "\n"


def parse_sizes(text: str) -> list[Size]:
    out = []
    for part in text.split(","):
        pods, _, ns = part.strip().partition("x")
        out.append(Size(int(pods), int(ns or 1)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 100 pods in 1 namespace, 0 and 20 ms")
    p.add_argument("--sizes", default=DEFAULT_SIZES, help=f"PODSxNAMESPACES,... (default {DEFAULT_SIZES})")
    p.add_argument("--latency", default=DEFAULT_LATENCIES, help=f"ms per request, comma-separated (default {DEFAULT_LATENCIES})")
    p.add_argument("--kubectl-sizes", default=None,
                   help="sizes (PODS,...) at which to run the kubectl script too (default: every size)")
    p.add_argument("--timeout", type=float, default=90.0, help="kill a doctor run after this many seconds (default 90)")
    p.add_argument("--no-help-timing", action="store_true", help="skip the `llmd-doctor --help` timing")
    p.add_argument("--out", help="also write the results (markdown) to this file")
    p.add_argument("--json", help="also write the raw results to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.latency = "100x1", "0,20"
    sizes = parse_sizes(args.sizes)
    latencies = [int(x) for x in args.latency.split(",")]
    kubectl_at = {int(x) for x in args.kubectl_sizes.split(",")} if args.kubectl_sizes else {s.pods for s in sizes}
    have_kubectl = shutil.which("kubectl") is not None
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    rows: list[dict[str, Any]] = []

    help_ms, help_how = (None, "") if args.no_help_timing else help_time()
    if help_ms is not None:
        log(f"--help: {help_ms:.0f} ms ({help_how})")

    with tempfile.TemporaryDirectory(prefix="llmd-bench-") as tmp:
        tmpdir = Path(tmp)
        for size in sizes:
            t = time.perf_counter()
            data = generate(size)
            log(f"{size.label}: generated {len(data.objects)} objects in {time.perf_counter() - t:.1f}s")
            cmds = script(data)
            with CachedFakeApiServer(data) as srv:
                kc = srv.kubeconfig(tmpdir / f"kc-{size.pods}")
                home = tmpdir / f"home-{size.pods}"  # kubectl's discovery cache, warm after the first pass
                home.mkdir()
                # Warm the server's answer cache (and kubectl's discovery cache) before measuring.
                warm = run_doctor(srv, kc, args.timeout, tmpdir)
                log(f"  warm-up doctor: {_fmt_s(warm.wall_s, args.timeout)} s")
                if have_kubectl and size.pods in kubectl_at:
                    run_kubectl(srv, kc, home, cmds, args.timeout)
                gave_up = warm.wall_s is None
                for lat in latencies:
                    srv.latency_s = lat / 1000
                    if gave_up:
                        d = Run(None, warm.rss_mb, warm.requests, None, warm.lists_per_kind, detail=warm.detail)
                    else:
                        d = run_doctor(srv, kc, args.timeout, tmpdir)
                        gave_up = d.wall_s is None
                    k = run_kubectl(srv, kc, home, cmds, args.timeout) if have_kubectl and size.pods in kubectl_at else None
                    rows.append({"size": size.label, "latency_ms": lat, "doctor": d, "kubectl": k,
                                 "objects": describe(data)})
                    log(f"  {lat} ms: doctor {_fmt_s(d.wall_s, args.timeout)} s, {d.requests} requests, "
                        f"{d.rss_mb:.0f} MB; kubectl {'-' if k is None else f'{k.wall_s:.2f} s, {k.requests} requests'}")
    elapsed = time.perf_counter() - started

    facts = (f"{os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, {platform.system()} "
             f"{platform.release()}, load average at the end {os.getloadavg()[0]:.1f}")
    text = table(rows, args.timeout)
    report = [f"Command: `{command.strip()}` — {elapsed:.0f} s in all.", "", f"Machine: {facts}.", ""]
    if help_ms is not None:
        report += [f"`llmd-doctor --help`: **{help_ms:.0f} ms** ({help_how}).", ""]
    report.append(text)
    out = "\n".join(report)
    print(out)
    if args.out:
        Path(args.out).write_text(out)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "command": command, "facts": facts, "help_ms": help_ms, "elapsed_s": elapsed,
            "rows": [{**r, "doctor": r["doctor"].__dict__, "kubectl": r["kubectl"].__dict__ if r["kubectl"] else None}
                     for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
