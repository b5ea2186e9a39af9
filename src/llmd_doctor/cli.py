"""The command line. Thin: parse flags, call `run.diagnose`, render, exit with the spec's codes.

Heavy imports (the kubernetes client, jinja2, httpx) happen inside commands, never at import
time, so `--help` and `--version` stay fast.
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
from llmd_doctor.model import ExitCode

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


def _use_color() -> bool:
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


def _run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,  # noqa: ANN001
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


def _diagnose(opts):  # noqa: ANN001
    from llmd_doctor.run import diagnose

    try:
        return diagnose(opts)
    finally:
        if opts.progress is not None:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


@app.command()
def check(
    bundle: BundleOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    request_timeout: TimeoutOpt = "10s",
    chunk_size: ChunkOpt = 500,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    checks_dir: ChecksDirOpt = None,
    fail_on: FailOnOpt = FailOn.fail,
    fail_on_error: FailOnErrorOpt = False,
    exit_zero: ExitZeroOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List passing checks too.")] = False,
) -> None:
    """Run the checks against a live cluster (kubeconfig) or a bundle, and print the results."""
    opts = _run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip,
                        checks_dir, quiet_progress=output != Output.text)
    report = _diagnose(opts)
    if output == Output.json:
        from llmd_doctor.renderers.json import render_json

        sys.stdout.write(render_json(report))
    else:
        from llmd_doctor.renderers.text import TextStyle, render_text

        color = _use_color()
        width = typer.get_terminal_size()[0] if color else 100
        text = render_text(report, TextStyle(color=color, width=min(width, 120), verbose=verbose))
        if color:
            from rich.console import Console

            Console(highlight=False, soft_wrap=True).print(text, end="")
        else:
            sys.stdout.write(text)
    code = ExitCode.OK if exit_zero else report.exit_code(fail_on.value, fail_on_error)
    raise typer.Exit(int(code))


@app.command("list-checks")
def list_checks(
    checks_dir: ChecksDirOpt = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="Output format.")] = Output.text,
) -> None:
    """List the check catalog: id, severity, area and title."""
    from llmd_doctor.run import RunOptions, choose_specs

    specs = choose_specs(RunOptions(checks_dirs=list(checks_dir or [])))
    if output == Output.json:
        import json

        rows = [
            {"id": s.id, "title": s.title, "area": s.area, "severity": s.severity.value,
             "requires": list(s.requires), "capabilities": list(s.capabilities), "docs": s.docs}
            for s in specs
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    width = max((len(s.id) for s in specs), default=10)
    for s in specs:
        sys.stdout.write(f"{s.id:<{width}}  {s.severity.value:<8}  {s.title}\n")


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and our own become one line on stderr and exit 2."""
    from llmd_doctor.run import UsageError

    try:
        code = app(args=argv, prog_name="llmd-doctor", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:  # `llmd-doctor` alone prints help
        typer.echo(e.ctx.get_help())
        code = 0
    except click.UsageError as e:
        sys.stderr.write(f"llmd-doctor: error: {e.format_message()}\n")
        code = ExitCode.USAGE
    except UsageError as e:
        sys.stderr.write(f"llmd-doctor: error: {e}\n")
        code = ExitCode.USAGE
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("llmd-doctor: interrupted\n")
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("llmd-doctor: interrupted\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        code = 0
    raise SystemExit(int(code or 0))
