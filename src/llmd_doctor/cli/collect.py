"""`llmd-doctor collect`: write a redacted support bundle from a live cluster."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from llmd_doctor.cli.app import (
    ChecksDirOpt,
    ChunkOpt,
    ContextOpt,
    KubeconfigOpt,
    NamespaceOpt,
    TimeoutOpt,
    app,
    parse_duration,
)
from llmd_doctor.cli.probe_options import ApiKeyEnvOpt, GatewayUrlOpt, ModelOpt, probe_options

_PHASES = {"list": "listing objects", "logs": "reading logs", "write": "writing archive"}


class _Bar:
    """A rich progress bar on stderr, one task per phase; only on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def tick(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(_PHASES.get(phase, phase), total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


@app.command()
def collect(
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Where to write the bundle (.tar.gz): a file (replaced atomically), a directory "
        "(a default name inside), - for stdout, or a device or FIFO (written in place). "
        "Default: llmd-doctor-bundle-<context>-<UTC time>.tar.gz.")] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    request_timeout: TimeoutOpt = "10s",
    chunk_size: ChunkOpt = 500,
    no_redact: Annotated[bool, typer.Option(
        "--no-redact", help="Keep env values, args, ConfigMap values and logs unmasked (Secrets are never read).")] = False,
    tail: Annotated[int, typer.Option("--tail", min=1, help="Log lines kept per container log.")] = 1000,
    max_log_bytes: Annotated[int, typer.Option(
        "--max-log-bytes", min=1024, help="Byte cap per container log.")] = 1024 * 1024,
    checks_dir: ChecksDirOpt = None,
    probe: Annotated[bool, typer.Option(
        "--probe/--no-probe", help="Also send the end-to-end chat completion and record it in probes/.")] = False,
    gateway_url: GatewayUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.")] = False,
) -> None:
    """Collect a redacted support bundle: the objects and logs the checks read, CRDs, nodes, events."""
    from llmd_doctor.collect import CollectOptions, collect, format_summary

    if no_redact:
        sys.stderr.write("llmd-doctor: warning: --no-redact: tokens, keys and passwords in env vars, args, "
                         "ConfigMaps and logs stay in the bundle; review it before sharing\n")
    opts = CollectOptions(
        output=output, kubeconfig=kubeconfig, context=context,
        namespaces=[p.strip() for v in namespace or [] for p in v.split(",") if p.strip()],
        request_timeout=parse_duration(request_timeout, "--request-timeout"), chunk_size=chunk_size, redact=not no_redact,
        tail_lines=tail, log_limit_bytes=max_log_bytes, checks_dirs=list(checks_dir or []),
        probe=probe_options(probe, gateway_url, model, api_key_env, "30s", "5s", 5),
    )
    if sys.stderr.isatty() and not quiet:
        with _Bar() as bar:
            opts.tick = bar.tick
            summary = collect(opts)
    else:
        summary = collect(opts)
    if not quiet:
        sys.stderr.write(format_summary(summary))
