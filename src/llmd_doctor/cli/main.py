"""The entry point: click's usage errors and our own become one line on stderr and exit 2."""

from __future__ import annotations

import sys

import click
import typer

from llmd_doctor.cli.app import app
from llmd_doctor.model import ExitCode


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's usage errors and our own become one line on stderr and exit 2."""
    from llmd_doctor.errors import UsageError

    try:
        code = app(args=argv, prog_name="llmd-doctor", standalone_mode=False)
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
    raise SystemExit(int(code or 0))
