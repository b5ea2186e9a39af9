"""Where a report goes and how it looks: `-o/--output FORMAT`, `--file PATH`, `--color`, `-q`.

kubectl's conventions: `-o` names a format, never a file (`collect -o FILE` aside, as `kubectl cp`).
stdout carries one document for machine formats; progress and notes go to stderr.
Colour follows `--color auto|always|never`; in `auto`, NO_COLOR (https://no-color.org) turns it off
and FORCE_COLOR (https://force-color.org) on when set to anything non-empty, NO_COLOR winning.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, TextIO

import click
import typer

if TYPE_CHECKING:
    from llmd_doctor.report import Report

#: Formats of `check` and `report` (check's default is text, report's markdown).
REPORT_FORMATS = ("text", "json", "markdown", "html", "junit")
#: Formats of `list-checks`, as kubectl's: a table, a wider table, names only, documents.
LIST_FORMATS = ("text", "wide", "name", "json", "yaml")
MACHINE_FORMATS = ("json", "junit", "yaml", "name")
_BY_EXTENSION = {".txt": "text", ".json": "json", ".md": "markdown", ".markdown": "markdown",
                 ".html": "html", ".htm": "html", ".xml": "junit", ".yaml": "yaml", ".yml": "yaml"}
_OUTPUT_HINT = "'-o' / '--output'"


class Color(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


def format_completer(formats: tuple[str, ...]):  # noqa: ANN202
    def complete(incomplete: str) -> list[str]:
        return [f for f in formats if f.startswith(incomplete)]

    return complete


def output_option(formats: tuple[str, ...], default: str) -> object:
    return typer.Option(
        "--output", "-o", metavar="FORMAT", autocompletion=format_completer(formats),
        help=f"Output format: {'|'.join(formats)} (default: {default}; with --file, the file's extension).")


FileOpt = Annotated[str | None, typer.Option(
    "--file", metavar="PATH", help="Write the output to PATH instead of stdout ('-' = stdout).")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Text output: print nothing, only the exit code tells. Other formats: no progress on stderr.")]
ColorOpt = Annotated[Color, typer.Option(
    "--color", help="Colour the text output: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always, never.")]


def looks_like_path(value: str) -> bool:
    return any(c in value for c in "/\\~") or bool(PurePath(value).suffix) or value.startswith(".")


def choose_format(output: str | None, file: str | None, default: str, formats: tuple[str, ...] = REPORT_FORMATS,
                  alias: str | None = None) -> str:
    """The format asked for with -o (or its alias --format), else the --file extension's, else `default`.

    A value of -o that is no format but looks like a file (the old `report --output FILE`) is a
    usage error that points to --file."""
    if output and alias and output != alias:
        raise click.UsageError(f"-o/--output {output} and --format {alias} disagree; give one")
    value = output or alias
    if value is None:
        ext = PurePath(file).suffix.lower() if file and file != "-" else ""
        inferred = _BY_EXTENSION.get(ext)
        return inferred if inferred in formats else default
    if value in formats:
        return value
    if looks_like_path(value):
        raise click.BadParameter(f"{value!r} is not a format ({', '.join(formats)}); to write a file use "
                                 f"--file {value}", param_hint=_OUTPUT_HINT)
    raise click.BadParameter(f"{value!r} is not one of {', '.join(formats)}", param_hint=_OUTPUT_HINT)


def color_enabled(mode: Color | str, stream: TextIO | None = None) -> bool:
    """--color always/never, or auto: NO_COLOR off, FORCE_COLOR on, TERM=dumb off, else a terminal."""
    if mode == Color.always:
        return True
    if mode == Color.never:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return (stream or sys.stdout).isatty()


def render(report: Report, fmt: str, *, fail_on: str, template: str | None = None, color: bool = False,
           width: int = 100, verbose: bool = False) -> str:
    """The report in one format (text: rich markup when `color`, plain ASCII otherwise)."""
    from llmd_doctor.errors import UsageError
    from llmd_doctor.renderers.templating import TemplateError

    if fmt == "text":
        from llmd_doctor.renderers.text import TextStyle, render_text

        return render_text(report, TextStyle(color=color, width=min(width, 120), verbose=verbose))
    if fmt == "json":
        from llmd_doctor.renderers.json import render_json

        return render_json(report)
    if fmt == "junit":
        from llmd_doctor.renderers.junit import render_junit

        return render_junit(report, fail_on=fail_on)
    try:
        if fmt == "markdown":
            from llmd_doctor.renderers.markdown import render_markdown

            return render_markdown(report, template)
        from llmd_doctor.renderers.html import render_html

        return render_html(report, template)
    except TemplateError as e:
        raise UsageError(str(e)) from e


def emit(report: Report, fmt: str, *, file: str | None, color: Color, quiet: bool, fail_on: str,
         template: str | None = None, verbose: bool = False) -> None:
    """Render and write: to --file (plain text, a note on stderr unless quiet), or to stdout
    (nothing for text with --quiet)."""
    from llmd_doctor.cli.app import note, write_file

    if file and file != "-":
        write_file(file, render(report, fmt, fail_on=fail_on, template=template, verbose=verbose))
        if not quiet:
            note(f"wrote the {fmt} report to {file} (verdict: {report.verdict})")
        return
    if quiet and fmt == "text":
        return
    if fmt == "json":  # written as it is encoded (renderers/json.write_json)
        from llmd_doctor.renderers.json import write_json

        write_json(report, sys.stdout.write)
        return
    colored = fmt == "text" and color_enabled(color)
    width = typer.get_terminal_size()[0] if colored else 100
    text = render(report, fmt, fail_on=fail_on, template=template, color=colored, width=width, verbose=verbose)
    if colored:
        from rich.console import Console

        # rich reads NO_COLOR/FORCE_COLOR itself: the decision above is final, so say it explicitly.
        Console(highlight=False, soft_wrap=True, force_terminal=True, no_color=False,
                color_system="auto" if sys.stdout.isatty() else "standard").print(text, end="")
    else:
        sys.stdout.write(text)
