"""The benchmark: `llmd-doctor check` on two cluster shapes, beside the kubectl walk a person runs.

    python -m bench                       # both shapes at 10,000 pods / 500 ns, 20 ms; phases; growth
    python -m bench --quick               # a smoke run: 1,000 pods / 50 ns, no growth runs
    python -m bench --shapes shared --sizes 10000x500 --no-growth

Shapes (bench/gen.py): `shared`, a shared cluster where llm-d is 3 namespaces among 500 (the rest
ordinary workloads, DaemonSets, Jobs), and `all-llmd`, where every namespace is a full llm-d stack.
For each shape and size a cluster is generated in memory (fixed seeds: every run serves the same
objects) and served by one fake API server (bench/server.py) with the injected latency; the same
server answers, in turn, `llmd-doctor check --kubeconfig K -o json` (a child process: wall time,
peak RSS from wait4, requests and bytes from the server's log) and the kubectl commands of the
seed's author (bench/kubectl_script.py), each `--repeat` times (default 3), interleaved: the table
gives the median run and the range, and the ratio compares the medians (one run alone swings by
±30 % on a shared machine). Then `bench.phases` times one run's phases, and runs at growing sizes
give the cost per pod. A doctor run that passes --timeout is killed and shown as "> T s".
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.gen import SHAPES, Size, describe, generate
from bench.kubectl_script import script
from bench.rss import LAUNCHER
from bench.server import CachedFakeApiServer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = "10000x500"
DEFAULT_GROWTH = "1000x50,5000x250,10000x500"
MB = 1024 * 1024


@dataclass
class Run:
    wall_s: float | None  # None = killed at the timeout
    rss_mb: float
    requests: int
    exit_code: int | None = None
    lists_per_kind: int = 0  # the most LISTs (first pages, no selector) any one resource got
    checks_s: float | None = None  # the checks' own time (from the JSON report)
    slowest: str = ""
    commands: int = 0
    read_mb: float = 0.0  # bytes the server sent
    pod_mb: float = 0.0  # of which pod lists
    detail: dict[str, Any] = field(default_factory=dict)
    walls: list[float | None] = field(default_factory=list)  # every run's wall (the median is wall_s)


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (so its requests and bytes are one run's), with every run's wall
    and the highest peak RSS of them all. A run killed at the timeout counts as the slowest."""
    order = sorted(runs, key=lambda r: float("inf") if r.wall_s is None else r.wall_s)
    mid = order[(len(order) - 1) // 2]
    return replace(mid, rss_mb=max(r.rss_mb for r in runs), walls=[r.wall_s for r in runs])


# The interpreter that runs llmd-doctor (--python): another checkout's virtualenv, to compare trees.
DOCTOR_PYTHON = sys.executable


def doctor_argv() -> list[str]:
    exe = Path(DOCTOR_PYTHON).with_name("llmd-doctor")
    return [str(exe)] if exe.exists() else [DOCTOR_PYTHON, "-m", "llmd_doctor"]


def run_child(argv: list[str], timeout: float, env: dict[str, str] | None = None,
              stdout: Any = subprocess.DEVNULL) -> tuple[float | None, float, int | None]:
    """(wall seconds or None when killed at the timeout, peak RSS MB of this child and its helpers (bench/rss.py), exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as res:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, res.name, str(timeout), *argv], stdout=stdout,
                       stderr=subprocess.DEVNULL, env=env, check=False)
        wall = time.perf_counter() - started
        maxrss_kb, code = (int(x) for x in res.read().split())
    return (None if code == -9 else wall), maxrss_kb / 1024, code


def compile_bytecode(python: str) -> str:
    """Compile the measured llmd-doctor's modules, as `pip install` does for a wheel: a checkout run with
    PYTHONDONTWRITEBYTECODE (as on this project's machines) would otherwise compile every module on every
    run, which no installed tool does (0.3 s of a run)."""
    code = ("import compileall, os, llmd_doctor, llmd_doctor.checks as c; "
            "ok = all(compileall.compile_dir(os.path.dirname(m.__file__), quiet=1) for m in (llmd_doctor, c)); "
            "print('bytecode compiled' if ok else 'bytecode: some modules did not compile')")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    return r.stdout.strip() or f"bytecode not compiled: {r.stderr.strip()[-200:]}"


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


def _resource(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _list_counts(srv: CachedFakeApiServer) -> int:
    """The most full LISTs (first pages without a selector) of one resource across the cluster."""
    lists = Counter(r.path for r in srv.requests
                    if r.method == "GET" and "continue" not in r.query and "labelSelector" not in r.query
                    and not r.path.endswith("/log") and _is_collection(r.path) and "/namespaces/" not in r.path)
    return max(lists.values(), default=0)


def run_doctor(srv: CachedFakeApiServer, kubeconfig: str, timeout: float, out_dir: Path) -> Run:
    srv.clear_requests()
    out = out_dir / "doctor.json"
    with open(out, "w") as f:
        wall, rss, code = run_child([*doctor_argv(), "check", "--kubeconfig", kubeconfig, "-o", "json"], timeout,
                                    env={**os.environ, "NO_COLOR": "1"}, stdout=f)
    reqs = srv.requests
    run = Run(wall, rss, len(reqs), code, _list_counts(srv))
    run.detail = dict(Counter("log" if r.path.endswith("/log") else "review" if r.method == "POST" else
                              "list" if _is_collection(r.path) else "other" for r in reqs))
    run.read_mb = sum(r.size for r in reqs) / MB
    run.pod_mb = sum(r.size for r in reqs if _is_collection(r.path) and _resource(r.path) == "pods") / MB
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
    reqs = srv.requests
    return Run(total, peak, len(reqs), failed, commands=len(cmds), read_mb=sum(r.size for r in reqs) / MB)


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


def _fmt_walls(run: Run, timeout: float) -> str:
    """`0.99` for one run; `0.99 (0.95-1.20)`: the median, and the range of the runs."""
    out = _fmt_s(run.wall_s, timeout)
    walls = [w for w in run.walls if w is not None]
    if len(run.walls) > 1 and walls:
        out += f" ({min(walls):.2f}-{_fmt_s(max(walls), timeout) if len(walls) == len(run.walls) else f'> {timeout:.0f}'})"
    return out


def table(rows: list[dict[str, Any]], timeout: float) -> str:
    head = ("| shape | cluster | latency | doctor wall s | doctor peak RSS MB | doctor requests (lists/logs/reviews) "
            "| MB read (pods) | full LISTs per kind | kubectl walk wall s | kubectl requests | kubectl MB read "
            "| kubectl/doctor |\n|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        d: Run = r["doctor"]
        k: Run | None = r.get("kubectl")
        det = d.detail
        reqs = f"{d.requests} ({det.get('list', 0)}/{det.get('log', 0)}/{det.get('review', 0)})"
        ratio = "—"
        if k is not None and k.wall_s and d.wall_s:
            ratio = f"**{k.wall_s / d.wall_s:.1f}×**"
        elif k is not None and d.wall_s is None:
            ratio = f"< {k.wall_s / timeout:.2f}×"
        lines.append(
            f"| {r['shape']} | {r['size']} | {r['latency_ms']} ms | {_fmt_walls(d, timeout)} | {d.rss_mb:.0f} | "
            f"{reqs} | {d.read_mb:.1f} ({d.pod_mb:.1f}) | {d.lists_per_kind} | "
            f"{'—' if k is None else f'{_fmt_walls(k, timeout)} ({k.commands} cmds)'} | {'—' if k is None else k.requests} | "
            f"{'—' if k is None else f'{k.read_mb:.1f}'} | {ratio} |")
    return head + "\n".join(lines) + "\n"


PHASE_ROWS = (
    ("start-up and imports", "startup_s"),
    ("connect (kubeconfig, /version), started while the checks load", "connect"),
    ("discovery", "discovery"),
    ("lists, first round (until the pod plan)", "lists"),
    ("pods and the rest of the lists", "pods"),
    ("logs and access reviews", "logs and reviews"),
    ("reading the cluster, once the checks are loaded", "read_s"),
    ("the checks", "checks_s"),
    ("loading checks, the probe, the report", "other_s"),
    ("render (JSON)", "render_s"),
)


def phases_table(phases: dict[str, dict[str, Any]]) -> str:
    shapes = list(phases)
    out = ["| phase | " + " | ".join(shapes) + " |", "|---|" + "---:|" * len(shapes)]
    for label, key in PHASE_ROWS:
        cells = []
        for s in shapes:
            v = phases[s].get(key)
            cells.append("—" if v is None else f"{v:.2f} s")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("| objects read (pods) | " + " | ".join(
        f"{phases[s].get('objects', 0):,} ({phases[s].get('pods_read', 0):,})" for s in shapes) + " |")
    out.append("| peak RSS after reading / at the end | " + " | ".join(
        f"{phases[s].get('rss_after_reads_mb', 0):.0f} / {phases[s].get('rss_peak_mb', 0):.0f} MB" for s in shapes) + " |")
    out.append("| slowest checks | " + " | ".join(
        ", ".join(f"`{c}` {t:.2f}s" for c, t in phases[s].get("slowest", [])[:3]) or "—" for s in shapes) + " |")
    return "\n".join(out) + "\n"


def growth_table(growth: dict[str, list[dict[str, Any]]]) -> str:
    """Wall and RSS at each size, and the slope from the smallest to the largest (ms and KB per pod)."""
    out = ["| shape | " + " | ".join(r["size"] for r in next(iter(growth.values()))) + " | ms per pod | KB per pod |",
           "|---|" + "---:|" * (len(next(iter(growth.values()))) + 2)]
    for shape, runs in growth.items():
        cells = [f"{_fmt_s(r['wall_s'], 0)} s, {r['rss_mb']:.0f} MB" for r in runs]
        ok = [r for r in runs if r["wall_s"] is not None]
        if len(ok) >= 2:
            a, b = ok[0], ok[-1]
            dp = b["pods"] - a["pods"]
            ms = (b["wall_s"] - a["wall_s"]) * 1000 / dp
            kb = (b["rss_mb"] - a["rss_mb"]) * 1024 / dp
            cells += [f"{ms:.3f}", f"{kb:.1f}"]
        else:
            cells += ["—", "—"]
        out.append(f"| {shape} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def parse_sizes(text: str) -> list[Size]:
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        pods, _, ns = part.strip().partition("x")
        out.append(Size(int(pods), int(ns or 1)))
    return out


def measure_shape(shape: str, size: Size, latency_ms: int, tmpdir: Path, timeout: float, kubectl: bool,
                  phases: bool, log: Any, repeat: int = 1) -> dict[str, Any]:
    from bench.phases import run_phases

    t = time.perf_counter()
    data = generate(size, shape=shape)
    log(f"{shape} {size.label}: generated {len(data.objects)} objects in {time.perf_counter() - t:.1f}s")
    row: dict[str, Any] = {"shape": shape, "size": size.label, "pods": size.pods, "latency_ms": latency_ms,
                           "objects": describe(data)}
    cmds = script(data)
    with CachedFakeApiServer(data) as srv:
        kc = srv.kubeconfig(tmpdir / f"kc-{shape}-{size.pods}")
        home = tmpdir / f"home-{shape}-{size.pods}"  # kubectl's discovery cache, warm after the first pass
        home.mkdir(exist_ok=True)
        # Warm the server's answer cache (and kubectl's discovery cache) before measuring.
        warm = run_doctor(srv, kc, timeout, tmpdir)
        log(f"  warm-up doctor: {_fmt_s(warm.wall_s, timeout)} s")
        if kubectl:
            run_kubectl(srv, kc, home, cmds, timeout)
        srv.latency_s = latency_ms / 1000
        # Interleaved, so that what else loads the machine falls on both alike; the medians are compared.
        doctors: list[Run] = []
        walks: list[Run] = []
        for _ in range(max(1, repeat) if warm.wall_s is not None else 1):
            doctors.append(run_doctor(srv, kc, timeout, tmpdir) if warm.wall_s is not None else warm)
            if kubectl:
                walks.append(run_kubectl(srv, kc, home, cmds, timeout))
        d = row["doctor"] = median_run(doctors)
        k = row["kubectl"] = median_run(walks) if walks else None
        log(f"  {latency_ms} ms: doctor {_fmt_walls(d, timeout)} s, {d.rss_mb:.0f} MB, {d.requests} requests, "
            f"{d.read_mb:.1f} MB read; kubectl {'-' if k is None else f'{_fmt_walls(k, timeout)} s'}")
        if phases:
            row["phases"] = run_phases(srv, kc, timeout, DOCTOR_PYTHON)
            log(f"  phases: {row['phases']}")
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 1,000 pods / 50 ns, no growth runs")
    p.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated (default {','.join(SHAPES)})")
    p.add_argument("--sizes", default=DEFAULT_SIZES, help=f"PODSxNAMESPACES,... with kubectl (default {DEFAULT_SIZES})")
    p.add_argument("--latency", type=int, default=20, help="ms per request (default 20)")
    p.add_argument("--growth", default=DEFAULT_GROWTH, help=f"sizes for the cost per pod (default {DEFAULT_GROWTH})")
    p.add_argument("--no-growth", action="store_true", help="skip the growth runs")
    p.add_argument("--no-kubectl", action="store_true", help="skip the kubectl walk")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of the doctor and of the kubectl walk per shape, interleaved; medians compared (default 3)")
    p.add_argument("--timeout", type=float, default=90.0, help="kill a doctor run after this many seconds (default 90)")
    p.add_argument("--no-help-timing", action="store_true", help="skip the `llmd-doctor --help` timing")
    p.add_argument("--python", help="the Python (of a virtualenv) whose llmd-doctor to measure (default: this one)")
    p.add_argument("--out", help="also write the results (markdown) to this file")
    p.add_argument("--json", help="also write the raw results to this JSON file")
    args = p.parse_args(argv)
    global DOCTOR_PYTHON
    DOCTOR_PYTHON = args.python or sys.executable
    if args.quick:
        args.sizes, args.no_growth, args.repeat = "1000x50", True, 1
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    sizes = parse_sizes(args.sizes)
    growth_sizes = [] if args.no_growth else parse_sizes(args.growth)
    kubectl = shutil.which("kubectl") is not None and not args.no_kubectl
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(compile_bytecode(DOCTOR_PYTHON))

    help_ms, help_how = (None, "") if args.no_help_timing else help_time()
    if help_ms is not None:
        log(f"--help: {help_ms:.0f} ms ({help_how})")
    rows: list[dict[str, Any]] = []
    growth: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="llmd-bench-") as tmp:
        tmpdir = Path(tmp)
        for shape in shapes:
            for size in sizes:
                rows.append(measure_shape(shape, size, args.latency, tmpdir, args.timeout, kubectl, True, log,
                                          args.repeat))
            for size in growth_sizes:
                done = next((r for r in rows if r["shape"] == shape and r["pods"] == size.pods
                             and r["size"] == size.label), None)
                row = done or measure_shape(shape, size, args.latency, tmpdir, args.timeout, False, False, log)
                d: Run = row["doctor"]
                growth.setdefault(shape, []).append({"size": size.label, "pods": size.pods, "wall_s": d.wall_s,
                                                     "rss_mb": d.rss_mb})
    elapsed = time.perf_counter() - started

    facts = (f"{os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, {platform.system()} "
             f"{platform.release()}; load average (1 min) {load_before:.2f} at the start, "
             f"{os.getloadavg()[0]:.2f} at the end")
    report = [f"Command: `{command.strip()}` — {elapsed:.0f} s in all.", "", f"Machine: {facts}.", ""]
    if help_ms is not None:
        report += [f"`llmd-doctor --help`: **{help_ms:.0f} ms** ({help_how}).", ""]
    report += [table(rows, args.timeout)]
    phases = {r["shape"]: r["phases"] for r in rows if r.get("phases")}
    if phases:
        report += [f"Where the time goes ({sizes[-1].label}, {args.latency} ms; `python -m bench.phases`):", "",
                   phases_table(phases)]
    if growth:
        report += [f"Growth ({args.latency} ms; slope from the smallest to the largest size):", "",
                   growth_table(growth)]
    out = "\n".join(report)
    print(out)
    if args.out:
        Path(args.out).write_text(out)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "command": command, "facts": facts, "help_ms": help_ms, "elapsed_s": elapsed, "growth": growth,
            "rows": [{**r, "doctor": asdict(r["doctor"]), "kubectl": asdict(r["kubectl"]) if r["kubectl"] else None}
                     for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
