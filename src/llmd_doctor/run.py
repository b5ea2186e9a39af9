"""One diagnosis, start to end: choose checks, build the snapshot, run, make the Report.

Shared by `check` and `report`; the CLI only parses flags and renders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmd_doctor import gc_pause
from llmd_doctor.engine import needed_access, needed_kinds, needed_logs, run_checks
from llmd_doctor.errors import UsageError
from llmd_doctor.model import CheckSpec
from llmd_doctor.probes import ProbeOptions
from llmd_doctor.registry import load_specs, select
from llmd_doctor.report import Report
from llmd_doctor.snapshot import Snapshot


@dataclass
class RunOptions:
    bundle: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] = field(default_factory=list)
    request_timeout: float = 10.0
    chunk_size: int = 500
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    checks_dirs: list[str] = field(default_factory=list)
    check_options: dict[str, Any] = field(default_factory=dict)
    progress: Any = None  # Callable[[str], None]
    # The end-to-end probe (live clusters only): None = do not probe (the CLI's --no-probe).
    probe: ProbeOptions | None = None
    # Config-file suppressions (llmd_doctor.config.Suppression), applied to the results.
    suppress: list[Any] = field(default_factory=list)
    # Seconds for reading the live cluster (the CLI's --timeout); None = no limit.
    deadline: float | None = None


def choose_specs(opts: RunOptions) -> list[CheckSpec]:
    from llmd_doctor.registry import RegistryError

    try:
        return select(load_specs(opts.checks_dirs), opts.only, opts.skip)
    except RegistryError as e:
        raise UsageError(str(e)) from e


def connect_early(opts: RunOptions) -> Any:
    """For a live run, connecting and discovery started now, while the checks load (sources/live.Connection)."""
    if opts.bundle:
        return None
    from llmd_doctor.sources.live import Connection

    return Connection(_live_options(opts))


def _live_options(opts: RunOptions) -> Any:
    from llmd_doctor.sources.live import LiveOptions

    return LiveOptions(
        kubeconfig=opts.kubeconfig,
        context=opts.context,
        namespaces=opts.namespaces or None,
        request_timeout=opts.request_timeout,
        page_size=opts.chunk_size,
        progress=opts.progress,
        deadline=opts.deadline,
        prune=True,  # check reads each object once, for the checks; collect keeps them whole
    )


def build_snapshot(opts: RunOptions, specs: list[CheckSpec], connection: Any = None) -> Snapshot:
    if opts.bundle:
        from llmd_doctor.snapshot import NotCollected
        from llmd_doctor.sources.bundle import BundleError, load_bundle

        try:
            # What was read lives to the end: frozen, the collections after it skip it.
            with gc_pause.paused(freeze_after=True):
                return load_bundle(opts.bundle, opts.namespaces or None)
        except (BundleError, NotCollected) as e:
            raise UsageError(str(e)) from e
    from llmd_doctor.sources.live import LiveSourceError, load_live

    live = connection.opts if connection is not None else _live_options(opts)
    try:
        return load_live(
            needed_kinds(specs),
            lambda snap: needed_logs(specs, snap),
            live,
            access_for=lambda snap: needed_access(specs, snap, live.max_access_reviews),
            connection=connection,
        )
    except LiveSourceError as e:
        raise UsageError(str(e)) from e


def run_probe_stage(opts: RunOptions, specs: list[CheckSpec], snapshot: Snapshot) -> None:
    """Probe the gateway and put the records in the snapshot (live, probe enabled, an e2e check chosen).

    Bundles are never probed: their e2e checks read the recorded `probes/*.json`.
    """
    wanted = {s.id for s in specs if s.id.startswith("e2e.")}
    if opts.probe is None or snapshot.source.kind != "live" or not wanted:
        return
    from llmd_doctor.probes import run_probes

    if opts.progress is not None:
        opts.progress("probing the gateway (chat completion)")
    try:
        snapshot.probes.update(run_probes(snapshot, opts.probe, routing="e2e.routing" in wanted))
    except Exception as e:  # a bug in the probe must not take the run down; the e2e checks report it
        snapshot.probes.update({n: {"crashed": f"{type(e).__name__}: {e}"} for n in ("e2e", "models", "routing")})


def diagnose(opts: RunOptions) -> Report:
    """One run. What it read is frozen out of the garbage collector's sight (llmd_doctor/gc_pause.py):
    a process that diagnoses again calls `gc_pause.release_frozen()` between runs."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    connection = connect_early(opts)
    specs = choose_specs(opts)
    snapshot = build_snapshot(opts, specs, connection)
    run_probe_stage(opts, specs, snapshot)
    with gc_pause.paused():
        results = run_checks(specs, snapshot, opts.check_options)
        warnings = list(snapshot.warnings)
        if opts.suppress:
            from llmd_doctor.config import apply_suppressions

            warnings += apply_suppressions(results, opts.suppress)
        from llmd_doctor.topology import topology

        return Report(
            source=snapshot.source,
            started_at=started_at,
            duration_s=time.perf_counter() - started,
            results=results,
            warnings=warnings,
            probes=dict(snapshot.probes),
            related=topology(snapshot).related,
        )
