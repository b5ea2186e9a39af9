"""The probe flags: parsed by typer from the Annotated types, mapped into ProbeOptions, validated."""

from __future__ import annotations

import copy
from functools import cache

import click
import pytest
import typer

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
from llmd_doctor.probes import ProbeOptions

seen: list[ProbeOptions | None] = []
app = typer.Typer()


@app.command()
def cmd(probe: ProbeOpt = True, gateway_url: GatewayUrlOpt = None, model: ModelOpt = None,
        api_key_env: ApiKeyEnvOpt = None, probe_timeout: ProbeTimeoutOpt = "30s",
        probe_connect_timeout: ProbeConnectTimeoutOpt = "5s", prefix_probe: PrefixProbeOpt = 5) -> None:
    seen.append(probe_options(probe, gateway_url, model, api_key_env, probe_timeout, probe_connect_timeout,
                              prefix_probe))


def invoke(*argv: str) -> tuple[int, ProbeOptions | None, str]:
    """Like llmd_doctor.cli.main: click's usage errors become a message and exit code 2."""
    seen.clear()
    try:
        typer.main.get_command(app).main(args=list(argv), standalone_mode=False)
    except click.UsageError as e:
        return 2, None, e.format_message()
    return 0, (seen[0] if seen else None), ""


def test_defaults_probe_with_bounded_timeouts() -> None:
    code, o, _ = invoke()
    assert code == 0 and o is not None
    assert (o.gateway_url, o.model, o.api_key_env) == (None, None, None)
    assert (o.connect_timeout, o.read_timeout, o.total_timeout, o.prefix_requests) == (5.0, 30.0, 30.0, 5)


def test_no_probe_is_none() -> None:
    code, o, _ = invoke("--no-probe")
    assert code == 0 and o is None and seen == [None]


def test_flags_map_into_probe_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-123")
    code, o, _ = invoke("--gateway-url", "http://localhost:8000/", "--model", "m", "--api-key-env", "MY_KEY",
                        "--probe-timeout", "1m", "--probe-connect-timeout", "2s", "--prefix-probe", "0")
    assert code == 0
    assert (o.gateway_url, o.model, o.api_key_env) == ("http://localhost:8000", "m", "MY_KEY")
    assert (o.connect_timeout, o.total_timeout, o.prefix_requests) == (2.0, 60.0, 0)
    assert "sk-123" not in repr(o)  # only the variable's name is kept


def test_the_connect_timeout_never_exceeds_the_total() -> None:
    _, o, _ = invoke("--probe-timeout", "1s", "--probe-connect-timeout", "10s")
    assert o.connect_timeout == 1.0


@pytest.mark.parametrize(("argv", "expected"), [
    (["--gateway-url", "localhost:8000"], "is not an http:// or https:// URL"),
    (["--gateway-url", "http://u:secret@gw:8000"], "must not carry credentials"),
    (["--api-key-env", "NOT_SET_ANYWHERE_42"], "environment variable NOT_SET_ANYWHERE_42 is not set"),
    (["--api-key-env", "bad name"], "is not an environment variable name"),
    (["--probe-timeout", "soon"], "is not a duration"),
    (["--prefix-probe", "21"], "21"),
])
def test_bad_values_are_usage_errors(argv: list[str], expected: str) -> None:
    code, o, out = invoke(*argv)
    assert code == 2 and o is None and expected in out


def test_bad_values_raise_click_errors_for_the_entry_point() -> None:
    with pytest.raises(click.BadParameter) as exc:
        probe_options(True, "ftp://x", None, None, "30s", "5s", 5)
    assert exc.value.format_message() == "Invalid value for --gateway-url: 'ftp://x' is not an http:// or https:// URL"


def test_every_probe_request_says_who_sends_it(httpx_mock) -> None:  # noqa: ANN001
    """User-Agent llmd-doctor/<version>: a platform team finds the probe in the gateway's access log."""
    import httpx
    from scenario import Scenario

    from llmd_doctor import __version__
    from llmd_doctor.probes import run_probes

    gw = "http://gw.test"
    httpx_mock.add_response(method="GET", url=f"{gw}/v1/models", json={"object": "list", "data": [{"id": "m"}]})
    httpx_mock.add_response(method="POST", url=f"{gw}/v1/chat/completions", is_reusable=True, json={
        "id": "c", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}]})
    snap = Scenario.example("healthy").snapshot()
    snap.source.kind = "live"
    with httpx.Client() as client:
        run_probes(snap, ProbeOptions(client=client, gateway_url=gw, prefix_requests=2))
    sent = httpx_mock.get_requests()
    assert len(sent) >= 4  # models, chat, streamed chat, the prefix series
    assert {r.headers["user-agent"] for r in sent} == {f"llmd-doctor/{__version__}"}


# ---- --require-probe: a run that verified no end-to-end request is not a pass (exit 3) ----------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from llmd_doctor.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["check", "--only", "e2e.*", "-o", "json", *argv])
    return int(exc.value.code or 0), capsys.readouterr().err


@cache
def _healthy():  # noqa: ANN202
    from scenario import EXAMPLES

    from llmd_doctor.sources.bundle import read_bundle

    return read_bundle(EXAMPLES / "healthy")


ANSWERED = {"url": "http://localhost:8000/v1/chat/completions", "status": 200, "latency_s": 0.5,
            "request": {"method": "POST", "body": {"model": "meta-llama/Llama-3.2-3B-Instruct"}},
            "response": {"id": "c", "object": "chat.completion", "usage": {},
                         "choices": [{"message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}]}}


def test_require_probe_exits_3_when_no_probe_was_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    from scenario import EXAMPLES

    bundle = str(EXAMPLES / "healthy")
    assert cli(capsys, "--bundle", bundle)[0] == 0
    code, err = cli(capsys, "--bundle", bundle, "--require-probe")
    assert code == 3
    assert err.strip() == ("llmd-doctor: --require-probe: the end-to-end request was not verified (e2e.chat-completion "
                           "skip: probe not run: offline bundle (it holds no probes/e2e.json))")
    assert cli(capsys, "--bundle", bundle, "--require-probe", "--exit-zero")[0] == 0
    assert cli(capsys, "--bundle", bundle, "--require-probe", "-q")[1] == ""
    code, err = cli(capsys, "--bundle", bundle, "--require-probe", "--no-probe")
    assert code == 2 and "--require-probe" in err and "drop --no-probe" in err


@pytest.mark.parametrize(("record", "code"), [
    (ANSWERED, 0),
    ({**ANSWERED, "status": 503, "response": None, "body_excerpt": "no healthy upstream"}, 1),  # reached: findings
    ({"not_run": "the gateway's cluster-internal address gw.llm-d.svc.cluster.local:80 is not reachable"}, 3),
    ({**ANSWERED, "status": 401, "response": {"error": {"message": "Missing bearer token"}}}, 3),
])
def test_require_probe_with_a_recorded_probe(record, code) -> None:  # noqa: ANN001
    from scenario import Scenario

    from llmd_doctor.cli.probe_options import require_probe_code
    from llmd_doctor.report import Report

    sc = Scenario(copy.deepcopy(_healthy()))
    sc.data.probes["e2e"] = record
    report = Report(sc.snapshot().source, "", 0.0, list(sc.run("e2e.*").values()))
    assert require_probe_code(report, report.exit_code("fail"), True, False, quiet=True) == code
    assert require_probe_code(report, report.exit_code("fail"), False, False) == (1 if code == 1 else 0)
