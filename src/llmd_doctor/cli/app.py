"""The Typer app, the options commands share, and the helpers that turn flags into RunOptions.

Each command lives in its own module beside this one and registers itself on `app`.
"""

from __future__ import annotations

import os
import re
import sys
from enum import StrEnum
from typing import Annotated

import click
import typer

from llmd_doctor import __version__

app = typer.Typer(
    name="llmd-doctor",
    help="Diagnose llm-d deployments: Istio, Gateway API, InferencePool, endpoint picker, GPU model servers.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Output(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    warn = "warn"
    fail = "fail"
    never = "never"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"llmd-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """llmd-doctor: find what is broken in an llm-d deployment, why, and how to fix it."""


def parse_duration(text: str) -> float:
    """`10`, `10s`, `1m`, `500ms` -> seconds (kubectl's --request-timeout style)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 10s, 1m)")
    value = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if value <= 0:
        raise click.BadParameter("must be greater than zero")
    return value


def _split(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def use_color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


# Options shared by check and report.
BundleOpt = Annotated[
    str | None, typer.Option("--bundle", "-b", help="Diagnose a captured bundle (directory or .tar.gz) instead of a live cluster.")
]
KubeconfigOpt = Annotated[str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")]
ContextOpt = Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")]
NamespaceOpt = Annotated[
    list[str] | None, typer.Option("--namespace", "-n", help="Only these namespaces (repeatable or comma-separated; default: all).")
]
TimeoutOpt = Annotated[str, typer.Option("--request-timeout", help="Timeout of each API request (e.g. 10s, 1m).")]
ChunkOpt = Annotated[int, typer.Option("--chunk-size", min=1, help="Objects per LIST page (like kubectl's --chunk-size).")]
OnlyOpt = Annotated[list[str] | None, typer.Option("--only", help="Run only these check ids or globs (e.g. 'epp.*').")]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Skip these check ids or globs.")]
ChecksDirOpt = Annotated[list[str] | None, typer.Option("--checks-dir", help="Load extra check modules (*.py) from this directory.")]
FailOnOpt = Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a result is at or above this level.")]
FailOnErrorOpt = Annotated[bool, typer.Option("--fail-on-error", help="Exit 3 when a check could not run (error).")]
ExitZeroOpt = Annotated[bool, typer.Option("--exit-zero", help="Always exit 0 when the run completes.")]


def run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,  # noqa: ANN001
                 quiet_progress):
    from llmd_doctor.run import RunOptions

    progress = None
    if not bundle and not quiet_progress and sys.stderr.isatty():
        def progress(msg: str) -> None:
            sys.stderr.write(f"\r\x1b[2K… {msg}")
            sys.stderr.flush()

    return RunOptions(
        bundle=bundle,
        kubeconfig=kubeconfig,
        context=context,
        namespaces=_split(namespace),
        request_timeout=parse_duration(request_timeout),
        chunk_size=chunk_size,
        only=_split(only),
        skip=_split(skip),
        checks_dirs=list(checks_dir or []),
        progress=progress,
    )


def diagnose(opts):  # noqa: ANN001
    from llmd_doctor.run import diagnose

    try:
        return diagnose(opts)
    finally:
        if opts.progress is not None:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
