"""The probe flags of `check` and `report`, and the function that turns them into ProbeOptions.

    from llmd_doctor.cli.probe_options import (ApiKeyEnvOpt, GatewayUrlOpt, ModelOpt, PrefixProbeOpt,
                                               ProbeConnectTimeoutOpt, ProbeOpt, ProbeTimeoutOpt,
                                               RequireProbeOpt, probe_options, require_probe_code)

    def check(..., probe: ProbeOpt = True, gateway_url: GatewayUrlOpt = None, model: ModelOpt = None,
              api_key_env: ApiKeyEnvOpt = None, probe_timeout: ProbeTimeoutOpt = "30s",
              probe_connect_timeout: ProbeConnectTimeoutOpt = "5s", prefix_probe: PrefixProbeOpt = 5,
              require_probe: RequireProbeOpt = False):
        opts = run_options(...)
        opts.probe = probe_options(probe, gateway_url, model, api_key_env, probe_timeout,
                                   probe_connect_timeout, prefix_probe, require=require_probe)
        ...
        code = require_probe_code(report, final_code(...), require_probe, exit_zero, quiet)

No httpx here: `--help` stays light. The API key is read from the environment when the probe
sends (never from a flag, never printed); here we only check that the variable is set.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import click
import typer

from llmd_doctor.cli.app import parse_duration

if TYPE_CHECKING:
    from llmd_doctor.model import ExitCode
    from llmd_doctor.probes import ProbeOptions
    from llmd_doctor.report import Report

_PANEL = "End-to-end probe"

ProbeOpt = Annotated[bool, typer.Option(
    "--probe/--no-probe", rich_help_panel=_PANEL,
    help="Send a real chat completion through the gateway (live clusters; bundles replay recorded probes).")]
GatewayUrlOpt = Annotated[str | None, typer.Option(
    "--gateway-url", metavar="URL", rich_help_panel=_PANEL,
    help="Where to send the probe (e.g. http://localhost:8000 behind a kubectl port-forward); "
         "default: the Gateway's status address and HTTP listener port.")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", rich_help_panel=_PANEL,
    help="The model to ask for; default: the InferenceModel's modelName, the model servers' "
         "--served-model-name, or the first of GET /v1/models.")]
ApiKeyEnvOpt = Annotated[str | None, typer.Option(
    "--api-key-env", metavar="NAME", rich_help_panel=_PANEL,
    help="Environment variable holding the API key, sent as 'Authorization: Bearer' (never printed or recorded).")]
ProbeTimeoutOpt = Annotated[str, typer.Option(
    "--probe-timeout", rich_help_panel=_PANEL,
    help="Longest wait for one probe request, start to last byte (e.g. 30s, 2m).")]
ProbeConnectTimeoutOpt = Annotated[str, typer.Option(
    "--probe-connect-timeout", rich_help_panel=_PANEL,
    help="Longest wait for the gateway's DNS name and TCP/TLS connection.")]
PrefixProbeOpt = Annotated[int, typer.Option(
    "--prefix-probe", metavar="N", min=0, max=20, rich_help_panel=_PANEL,
    help="Requests sharing a long prefix sent to measure prefix affinity (0 = none).")]

RequireProbeOpt = Annotated[bool, typer.Option(
    "--require-probe", rich_help_panel=_PANEL,
    help="Exit 3 (could not check) when the end-to-end probe did not run or did not reach the gateway "
         "(CI: a run that verified no request is not a pass).")]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def probe_options(probe: bool, gateway_url: str | None, model: str | None, api_key_env: str | None,
                  probe_timeout: str, probe_connect_timeout: str, prefix_probe: int,
                  require: bool = False, quiet: bool = False) -> ProbeOptions | None:
    """The flags as ProbeOptions; None with --no-probe. Bad values raise click.BadParameter (exit 2).
    `quiet` (-q) keeps the probe's one-line notices off stderr (the records still carry them)."""
    from llmd_doctor.probes import ProbeOptions

    if not probe:
        if require:
            raise click.BadParameter("needs the probe; drop --no-probe", param_hint="--require-probe")
        return None
    if gateway_url is not None:
        parts = urlsplit(gateway_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise click.BadParameter(f"{gateway_url!r} is not an http:// or https:// URL", param_hint="--gateway-url")
        if parts.username or parts.password:  # it would be recorded; keys go through --api-key-env
            raise click.BadParameter("must not carry credentials; pass the API key with --api-key-env",
                                     param_hint="--gateway-url")
    if api_key_env is not None:
        if not _ENV_NAME.fullmatch(api_key_env):
            raise click.BadParameter(f"{api_key_env!r} is not an environment variable name", param_hint="--api-key-env")
        if not os.environ.get(api_key_env):
            raise click.BadParameter(f"environment variable {api_key_env} is not set", param_hint="--api-key-env")
    if model is not None and not model.strip():
        raise click.BadParameter("must not be empty", param_hint="--model")
    total = parse_duration(probe_timeout, "--probe-timeout")
    connect = min(parse_duration(probe_connect_timeout, "--probe-connect-timeout"), total)
    return ProbeOptions(
        gateway_url=gateway_url.rstrip("/") if gateway_url else None,
        model=model,
        api_key_env=api_key_env,
        connect_timeout=connect,
        read_timeout=total,
        total_timeout=total,
        prefix_requests=prefix_probe,
        notice=(lambda line: None) if quiet else None,
    )


def probe_unverified(report: Report) -> str | None:
    """Why no end-to-end request was verified, or None when the gateway answered (pass, warn or fail:
    a request went through and was judged)."""
    from llmd_doctor.model import Status

    r = next((r for r in report.results if r.id == "e2e.chat-completion"), None)
    if r is None:
        return "e2e.chat-completion was not run"
    if r.status in (Status.PASS, Status.WARN, Status.FAIL):
        return None
    return f"e2e.chat-completion {r.status.value}: {r.message}"


def require_probe_code(report: Report, code: ExitCode, require: bool, exit_zero: bool, quiet: bool = False) -> ExitCode:
    """--require-probe: exit 3 when the run would pass but verified no end-to-end request. Findings
    (exit 1), --wait's verdict and --exit-zero win, as they do over --fail-on-error."""
    from llmd_doctor.model import ExitCode

    if not require or exit_zero or code != ExitCode.OK:
        return code
    why = probe_unverified(report)
    if why is None:
        return code
    if not quiet:
        print(f"llmd-doctor: --require-probe: the end-to-end request was not verified ({why})", file=sys.stderr)
    return ExitCode.COULD_NOT_CHECK
