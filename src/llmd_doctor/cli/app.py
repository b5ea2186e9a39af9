"""The Typer app, the options commands share, and the helpers that turn flags into RunOptions.

Each command lives in its own module beside this one and registers itself on `app`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import click
import typer

from llmd_doctor import __version__, gc_pause
from llmd_doctor.cli import complete
from llmd_doctor.model import ExitCode

if TYPE_CHECKING:
    from llmd_doctor.config import Config
    from llmd_doctor.report import Report
    from llmd_doctor.run import RunOptions

app = typer.Typer(
    name="llmd-doctor",
    help="Diagnose llm-d deployments: Istio, Gateway API, InferencePool, endpoint picker, GPU model servers.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


def parse_duration(text: str, flag: str | None = None) -> float:
    """`10`, `10s`, `1m`, `500ms` -> seconds (kubectl's --request-timeout style); a bad value is a
    usage error naming `flag`."""
    from llmd_doctor.config import DURATION

    m = DURATION.fullmatch(text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 10s, 1m)", param_hint=flag)
    value = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if value <= 0:
        raise click.BadParameter("must be greater than zero", param_hint=flag)
    return value


def _split(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def use_color() -> bool:
    """`--color auto` for stdout: NO_COLOR, FORCE_COLOR, a terminal (see cli/output.py)."""
    from llmd_doctor.cli.output import color_enabled

    return color_enabled("auto")


# Options shared by check and report.
BundleOpt = Annotated[
    str | None, typer.Option("--bundle", "-b", help="Diagnose a captured bundle (directory or .tar.gz) instead of a live cluster.")
]
KubeconfigOpt = Annotated[str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")]
ContextOpt = Annotated[str | None, typer.Option(
    "--context", autocompletion=complete.contexts, help="The kubeconfig context to use.")]
NamespaceOpt = Annotated[list[str] | None, typer.Option(
    "--namespace", "-n", autocompletion=complete.namespaces,
    help="Only these namespaces (repeatable or comma-separated; default: all).")]
TimeoutOpt = Annotated[str, typer.Option("--request-timeout", help="Timeout of each API request (e.g. 10s, 1m).")]
DeadlineOpt = Annotated[str | None, typer.Option(
    "--timeout", metavar="DURATION",
    help="Give up a live run after this long in total (e.g. 2m; what was read by then is reported).")]
ChunkOpt = Annotated[int, typer.Option("--chunk-size", min=1, help="Objects per LIST page (like kubectl's --chunk-size).")]
OnlyOpt = Annotated[list[str] | None, typer.Option(
    "--only", autocompletion=complete.check_ids, help="Run only these check ids or globs (e.g. 'epp.*').")]
SkipOpt = Annotated[list[str] | None, typer.Option(
    "--skip", autocompletion=complete.check_ids, help="Skip these check ids or globs.")]
ChecksDirOpt = Annotated[list[str] | None, typer.Option("--checks-dir", help="Load extra check modules (*.py) from this directory.")]
FailOnOpt = Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a result is at or above this level.")]
FailOnErrorOpt = Annotated[bool, typer.Option("--fail-on-error", help="Exit 3 when a check could not run (error).")]
ExitZeroOpt = Annotated[bool, typer.Option("--exit-zero", help="Always exit 0 when the run completes.")]
JunitOpt = Annotated[
    str | None, typer.Option("--junit", metavar="FILE", help="Also write the results as JUnit XML to FILE (any format).")
]
WaitOpt = Annotated[
    str | None,
    typer.Option("--wait", metavar="DURATION", help=(
        "Re-run the diagnosis until nothing is at or above --fail-on (e.g. 5m); stop at once on states "
        "waiting cannot fix (CrashLoopBackOff past its back-off, ImagePullBackOff, Unschedulable); exit 4 "
        "when time runs out.")),
]
IntervalOpt = Annotated[str, typer.Option("--interval", metavar="DURATION", help="Time between two runs with --wait.")]


class Spinner:
    """A progress indicator on stderr (rich status) while a live cluster is read."""

    def __init__(self) -> None:
        self._status = None

    def __call__(self, msg: str) -> None:
        if self._status is None:
            from rich.console import Console

            self._status = Console(stderr=True).status(msg, spinner="dots")
            self._status.start()
        else:
            self._status.update(msg)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


DEFAULT_TIMEOUT = "10s"
ConfigOpt = Annotated[str | None, typer.Option(
    "--config", metavar="FILE", help="Config file (default: .llmd-doctor.yaml in the working directory, if any).")]


def load_config(path: str | None) -> Config:
    from llmd_doctor.config import ConfigError, load
    from llmd_doctor.run import UsageError

    try:
        return load(path)
    except ConfigError as e:
        raise UsageError(str(e)) from e


def run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,  # noqa: ANN001
                 quiet_progress=False, config: Config | None = None, timeout: str | None = None):  # noqa: ANN001
    """RunOptions from the flags; the config file fills what the flags leave unset."""
    from llmd_doctor.config import Config
    from llmd_doctor.run import RunOptions

    cfg = config or Config()
    progress = Spinner() if not bundle and not quiet_progress and sys.stderr.isatty() else None
    if request_timeout == DEFAULT_TIMEOUT and cfg.request_timeout:
        request_timeout = cfg.request_timeout
    timeout = timeout or cfg.timeout
    opts = RunOptions(
        bundle=bundle,
        kubeconfig=kubeconfig or cfg.kubeconfig,
        context=context or cfg.context,
        namespaces=_split(namespace) or list(cfg.namespaces),
        request_timeout=parse_duration(request_timeout, "--request-timeout"),
        chunk_size=chunk_size,
        only=_split(only) or list(cfg.only),
        skip=_split(skip) or list(cfg.skip),
        checks_dirs=list(checks_dir or []),
        progress=progress,
        suppress=list(cfg.suppress),
        deadline=parse_duration(timeout, "--timeout") if timeout else None,
    )
    if cfg.expect:
        opts.check_options["expect"] = cfg.expect
    return opts


def diagnose(opts: RunOptions, docs_url: str | None = None) -> Report:
    from llmd_doctor.run import diagnose

    try:
        report = diagnose(opts)
    finally:
        stop = getattr(opts.progress, "stop", None)
        if stop is not None:
            stop()
    resolve_docs(report, docs_url)
    return report


def resolve_docs(report: Report, configured: str | None = None) -> None:
    """Every result's docs reference becomes one a user can follow from the installed tool:
    `llmd-doctor explain <id>`, with `<base>#<anchor>` when a docs base URL is configured. A URL a
    plugin check declared itself is kept."""
    from llmd_doctor import docsref

    base = docsref.base_url(configured)
    for r in report.results:
        if docsref.is_own_reference(r.spec.docs):
            r.spec = replace(r.spec, docs=docsref.reference(r.spec.id, base))


def note(msg: str) -> None:
    """One line on stderr (stdout carries only the report)."""
    sys.stderr.write(f"llmd-doctor: {msg}\n")
    sys.stderr.flush()


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"


def diagnose_until(opts: RunOptions, wait: str | None, interval: str, fail_on: str,
                   fail_on_error: bool, *, quiet: bool = False,
                   docs_url: str | None = None) -> tuple[Report, ExitCode | None]:
    """Diagnose once, or with --wait until healthy: nothing at or above `fail_on` (and no error
    with --fail-on-error). Returns the last report and the exit code the wait decided (None =
    let the gate decide): the gate's code when a state cannot recover by waiting, 4 on timeout.
    `quiet` keeps the progress notes off stderr."""
    if wait is None:
        return diagnose(opts, docs_url), None
    budget, pause = parse_duration(wait, "--wait"), parse_duration(interval, "--interval")
    deadline = time.monotonic() + budget
    runs = 0

    def say(msg: str) -> None:
        if not quiet:
            note(msg)

    while True:
        runs += 1
        report = diagnose(opts, docs_url)
        code = report.exit_code(fail_on, fail_on_error)
        if code == ExitCode.OK:
            if runs > 1:
                say(f"healthy after {runs} runs")
            return report, None
        stuck = report.unrecoverable(fail_on)
        if stuck:
            by_why: dict[str, list[str]] = {}
            for check_id, why in stuck:
                by_why.setdefault(why, []).append(check_id)
            for why, ids in by_why.items():
                say(f"not waiting: {why} ({', '.join(ids)}): waiting will not fix this")
            return report, code
        pending = [r.id for r in report.gating(fail_on)] or ["checks that could not run"]
        left = deadline - time.monotonic()
        if left <= 0:
            say(f"--wait {wait} ran out after {runs} run{'s' if runs > 1 else ''}; still failing: {', '.join(pending)}")
            return report, ExitCode.WAIT_TIMEOUT
        step = min(pause, left)
        say(f"not healthy yet ({', '.join(pending)}); next run in {_fmt_s(step)}, {_fmt_s(left)} left")
        del report  # with its run's snapshot: released, before the next run reads another
        gc_pause.release_frozen()
        time.sleep(step)


def write_side_outputs(report: Report, junit: str | None, fail_on: str) -> None:
    """--junit FILE, and the GitHub Actions step summary when $GITHUB_STEP_SUMMARY is set (a
    summary that cannot be written is a warning: it must not change the gate's verdict)."""
    if junit:
        from llmd_doctor.renderers.junit import render_junit

        write_file(junit, render_junit(report, fail_on=fail_on))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from llmd_doctor.renderers.summary import append_step_summary

        try:
            append_step_summary(report)
        except OSError as e:
            note(f"warning: cannot append to $GITHUB_STEP_SUMMARY: {e.strerror or e}")


def write_file(path: str, text: str) -> None:
    from llmd_doctor.run import UsageError

    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e


def final_code(report: Report, waited: ExitCode | None, fail_on: str | None, fail_on_error: bool,
               exit_zero: bool) -> ExitCode:
    """The exit code: --exit-zero wins, then what --wait decided, then the gate (none without
    --fail-on, for `report`)."""
    if exit_zero:
        return ExitCode.OK
    if waited is not None:
        return waited
    return report.exit_code(fail_on or "never", fail_on_error)
