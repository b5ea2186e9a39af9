"""`llmd-doctor report`: the status report (-o markdown, html, json, junit or text), to stdout or --file.

A report gates (exit 1/3) only when asked: with --fail-on, --fail-on-error or --wait.
"""

from __future__ import annotations

from typing import Annotated

import typer

from llmd_doctor import gc_pause
from llmd_doctor.cli.app import (
    BundleOpt,
    ChecksDirOpt,
    ChunkOpt,
    ConfigOpt,
    ContextOpt,
    DeadlineOpt,
    ExitZeroOpt,
    FailOn,
    FailOnErrorOpt,
    IntervalOpt,
    JunitOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OnlyOpt,
    SkipOpt,
    TimeoutOpt,
    WaitOpt,
    app,
    diagnose_until,
    final_code,
    load_config,
    run_options,
    write_side_outputs,
)
from llmd_doctor.cli.output import (
    REPORT_FORMATS,
    Color,
    ColorOpt,
    FileOpt,
    QuietOpt,
    choose_format,
    emit,
    format_completer,
    output_option,
)
from llmd_doctor.cli.probe_options import (
    ApiKeyEnvOpt,
    GatewayUrlOpt,
    ModelOpt,
    PrefixProbeOpt,
    ProbeConnectTimeoutOpt,
    ProbeOpt,
    ProbeTimeoutOpt,
    RequireProbeOpt,
    probe_options,
    require_probe_code,
)


@app.command()
def report(
    bundle: BundleOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    request_timeout: TimeoutOpt = "10s",
    chunk_size: ChunkOpt = 500,
    output: Annotated[str | None, output_option(REPORT_FORMATS, "markdown")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", metavar="FORMAT", autocompletion=format_completer(REPORT_FORMATS),
        help="The same as -o/--output (kept for scripts that use it).")] = None,
    file: FileOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    timeout: DeadlineOpt = None,
    template: Annotated[
        str | None, typer.Option("--template", metavar="PATH", help="A Jinja2 template of your own (markdown, html).")
    ] = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    checks_dir: ChecksDirOpt = None,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Gate: exit 1 when a result is at or above this level (default: no gate).")
    ] = None,
    fail_on_error: FailOnErrorOpt = False,
    exit_zero: ExitZeroOpt = False,
    junit: JunitOpt = None,
    wait: WaitOpt = None,
    interval: IntervalOpt = "10s",
    probe: ProbeOpt = True,
    gateway_url: GatewayUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    probe_timeout: ProbeTimeoutOpt = "30s",
    probe_connect_timeout: ProbeConnectTimeoutOpt = "5s",
    prefix_probe: PrefixProbeOpt = 5,
    require_probe: RequireProbeOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Write the status report: what works, what is broken and why, what is lost, the next steps."""
    from llmd_doctor.errors import UsageError

    chosen = choose_format(output, file, "markdown", alias=fmt)
    if template and chosen not in ("markdown", "html"):
        raise UsageError(f"--template applies to -o markdown or html, not {chosen}")
    cfg = load_config(config)
    gate = fail_on.value if fail_on else cfg.fail_on
    level = gate or "fail"
    opts = run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,
                       quiet_progress=quiet, config=cfg, timeout=timeout)
    opts.probe = probe_options(probe, gateway_url or cfg.gateway_url, model or cfg.model, api_key_env,
                               probe_timeout, probe_connect_timeout, prefix_probe, require=require_probe,
                               quiet=quiet)
    rep, waited = diagnose_until(opts, wait, interval, level, fail_on_error, quiet=quiet, docs_url=cfg.docs_url)
    # The text form of a report lists what works too (the terminal `check` keeps passes short).
    with gc_pause.paused():  # rendering makes no cycles either (llmd_doctor/gc_pause.py)
        emit(rep, chosen, file=file, color=color, quiet=quiet, fail_on=level, template=template, verbose=True)
        write_side_outputs(rep, junit, level)
    code = final_code(rep, waited, gate, fail_on_error, exit_zero)
    raise typer.Exit(int(require_probe_code(rep, code, require_probe, exit_zero, quiet)))
