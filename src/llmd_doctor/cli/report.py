"""`llmd-doctor report`: the status report as Markdown, HTML, JSON or JUnit, to stdout or a file.

A report gates (exit 1/3) only when asked: with --fail-on, --fail-on-error or --wait.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from llmd_doctor.cli.app import (
    BundleOpt,
    ChecksDirOpt,
    ChunkOpt,
    ConfigOpt,
    ContextOpt,
    ExitZeroOpt,
    FailOn,
    FailOnErrorOpt,
    IntervalOpt,
    JunitOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OnlyOpt,
    ReportFormat,
    SkipOpt,
    TimeoutOpt,
    WaitOpt,
    app,
    diagnose_until,
    final_code,
    load_config,
    note,
    run_options,
    write_file,
    write_side_outputs,
)
from llmd_doctor.cli.probe_options import (
    ApiKeyEnvOpt,
    GatewayUrlOpt,
    ModelOpt,
    PrefixProbeOpt,
    ProbeConnectTimeoutOpt,
    ProbeOpt,
    ProbeTimeoutOpt,
    probe_options,
)


def render(report, fmt: ReportFormat, template: str | None, fail_on: str) -> str:  # noqa: ANN001
    from llmd_doctor.renderers.templating import TemplateError
    from llmd_doctor.run import UsageError

    try:
        if fmt == ReportFormat.markdown:
            from llmd_doctor.renderers.markdown import render_markdown

            return render_markdown(report, template)
        if fmt == ReportFormat.html:
            from llmd_doctor.renderers.html import render_html

            return render_html(report, template)
    except TemplateError as e:
        raise UsageError(str(e)) from e
    if fmt == ReportFormat.json:
        from llmd_doctor.renderers.json import render_json

        return render_json(report)
    from llmd_doctor.renderers.junit import render_junit

    return render_junit(report, fail_on=fail_on)


@app.command()
def report(
    bundle: BundleOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    request_timeout: TimeoutOpt = "10s",
    chunk_size: ChunkOpt = 500,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.markdown,
    output_file: Annotated[
        str | None, typer.Option("--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
    ] = None,
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
    config: ConfigOpt = None,
) -> None:
    """Write the status report: what works, what is broken and why, what is lost, the next steps."""
    from llmd_doctor.run import UsageError

    if template and fmt not in (ReportFormat.markdown, ReportFormat.html):
        raise UsageError(f"--template applies to --format markdown or html, not {fmt.value}")
    cfg = load_config(config)
    gate = fail_on.value if fail_on else cfg.fail_on
    level = gate or "fail"
    opts = run_options(bundle, kubeconfig, context, namespace, request_timeout, chunk_size, only, skip, checks_dir,
                       config=cfg)
    opts.probe = probe_options(probe, gateway_url or cfg.gateway_url, model or cfg.model, api_key_env,
                               probe_timeout, probe_connect_timeout, prefix_probe)
    rep, waited = diagnose_until(opts, wait, interval, level, fail_on_error)
    text = render(rep, fmt, template, level)
    if output_file and output_file != "-":
        write_file(output_file, text)
        note(f"wrote the {fmt.value} report to {output_file} (verdict: {rep.verdict})")
    else:
        sys.stdout.write(text)
    write_side_outputs(rep, junit, level)
    raise typer.Exit(int(final_code(rep, waited, gate, fail_on_error, exit_zero)))
