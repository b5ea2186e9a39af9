"""`llmd-doctor check`: run the checks and print the results (text by default, any report format); the CI gate."""

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
def check(
    bundle: BundleOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    request_timeout: TimeoutOpt = "10s",
    chunk_size: ChunkOpt = 500,
    output: Annotated[str | None, output_option(REPORT_FORMATS, "text")] = None,
    file: FileOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    timeout: DeadlineOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    checks_dir: ChecksDirOpt = None,
    fail_on: Annotated[FailOn | None, typer.Option(
        "--fail-on", help="Exit 1 when a result is at or above this level (default: fail, or the config's failOn).")] = None,
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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List passing and skipped checks too.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run the checks against a live cluster (kubeconfig) or a bundle, and print the results."""
    fmt = choose_format(output, file, "text")
    cfg = load_config(config)
    level = fail_on.value if fail_on else (cfg.fail_on or "fail")
    opts = run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,
                       quiet_progress=quiet, config=cfg, timeout=timeout)
    opts.probe = probe_options(probe, gateway_url or cfg.gateway_url, model or cfg.model, api_key_env,
                               probe_timeout, probe_connect_timeout, prefix_probe, require=require_probe,
                               quiet=quiet)
    report, waited = diagnose_until(opts, wait, interval, level, fail_on_error, quiet=quiet, docs_url=cfg.docs_url)
    with gc_pause.paused():  # rendering makes no cycles either (llmd_doctor/gc_pause.py)
        emit(report, fmt, file=file, color=color, quiet=quiet, fail_on=level, verbose=verbose)
        write_side_outputs(report, junit, level)
    code = final_code(report, waited, level, fail_on_error, exit_zero)
    raise typer.Exit(int(require_probe_code(report, code, require_probe, exit_zero, quiet)))
