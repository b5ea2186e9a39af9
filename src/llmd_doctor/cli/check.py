"""`llmd-doctor check`: run the checks and print the results (text or JSON)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from llmd_doctor.cli.app import (
    BundleOpt,
    ChecksDirOpt,
    ChunkOpt,
    ContextOpt,
    ExitZeroOpt,
    FailOn,
    FailOnErrorOpt,
    FailOnOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OnlyOpt,
    Output,
    SkipOpt,
    TimeoutOpt,
    app,
    diagnose,
    run_options,
    use_color,
)
from llmd_doctor.model import ExitCode


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
    opts = run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip,
                        checks_dir, quiet_progress=output != Output.text)
    report = diagnose(opts)
    if output == Output.json:
        from llmd_doctor.renderers.json import render_json

        sys.stdout.write(render_json(report))
    else:
        from llmd_doctor.renderers.text import TextStyle, render_text

        color = use_color()
        width = typer.get_terminal_size()[0] if color else 100
        text = render_text(report, TextStyle(color=color, width=min(width, 120), verbose=verbose))
        if color:
            from rich.console import Console

            Console(highlight=False, soft_wrap=True).print(text, end="")
        else:
            sys.stdout.write(text)
    code = ExitCode.OK if exit_zero else report.exit_code(fail_on.value, fail_on_error)
    raise typer.Exit(int(code))
