"""The entry point: click's usage errors and our own become one line on stderr and exit 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import typer

from llmd_doctor.cli.app import app
from llmd_doctor.model import ExitCode

_SHELL_COMPLETION_FLAGS = ("--install-completion", "--show-completion")


def prog_name(argv0: str | None = None, args: list[str] | None = None) -> str:
    """`kubectl llmd-doctor` when kubectl ran us as its plugin (argv[0] is kubectl-llmd_doctor),
    else `llmd-doctor`; usage and help say it. The shell-completion flags keep `llmd-doctor`: the
    name becomes an environment variable's (as the plugin, kubectl_complete-llmd_doctor completes)."""
    name = Path(sys.argv[0] if argv0 is None else argv0).name
    plugin = name.startswith(("kubectl-llmd_doctor", "kubectl-llmd-doctor"))
    if plugin and not any(a in _SHELL_COMPLETION_FLAGS for a in args or ()):
        return "kubectl llmd-doctor"
    return "llmd-doctor"


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and our own become one line on stderr and exit 2."""
    from llmd_doctor.errors import UsageError

    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, prog_name=prog_name(args=args), standalone_mode=False)
        if code == ExitCode.INTERRUPTED:  # Ctrl-C inside a command: click returns 130 when not standalone
            sys.stderr.write("llmd-doctor: interrupted\n")
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
        if code == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130) before we see it
            sys.stderr.write("llmd-doctor: interrupted\n")
    except click.exceptions.Abort:
        sys.stderr.write("llmd-doctor: interrupted\n")
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("llmd-doctor: interrupted\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        code = 0
    if argv is None:  # the program itself (not a caller of main): its process ends here
        _exit_without_teardown(int(code or 0))
    raise SystemExit(int(code or 0))


def _exit_without_teardown(code: int) -> None:
    """End the process without tearing down what the run read: freeing a 10,000-pod snapshot object by
    object took ~30 ms after the report was out (issue #15), work for nobody. Every file was closed by
    then; stdout and stderr are flushed here. When flushing fails (a closed pipe), this returns and the
    usual exit reports it, as before."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
