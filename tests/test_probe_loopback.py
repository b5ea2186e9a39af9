"""The probe against a real HTTP server on 127.0.0.1: streaming and TTFT, slow answers, garbage, refusal.

Nothing leaves the machine: the gateway is a threaded `http.server` in the test, DNS is faked
where a name would be looked up, and the live cluster is the fake API server.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scenario import EXAMPLES, Scenario

from llmd_doctor.probes import ProbeOptions, run_probes
from llmd_doctor.probes import chat as chat_mod
from llmd_doctor.sources.bundle import BundleData, read_bundle

MODEL = "meta-llama/Llama-3.2-3B-Instruct"
ANSWER = {"id": "chatcmpl-a892106c-3fb0-44f6-996c-4a5d1a93ea80", "object": "chat.completion", "created": 1755826903,
          "model": MODEL, "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 = 4.",
                                                                "refusal": None}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 44, "total_tokens": 53, "completion_tokens": 9}}

Handler = Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    for k, v in {"content-type": "application/json", **(headers or {})}.items():
        h.send_header(k, v)
    h.send_header("content-length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def models(h: BaseHTTPRequestHandler, _: dict[str, Any]) -> None:
    send(h, 200, json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode())


def openai(h: BaseHTTPRequestHandler, body: dict[str, Any], first_token_delay: float = 0.0) -> None:
    """vLLM-like: JSON, or server-sent events when `stream` is true (first token after a delay)."""
    if not body.get("stream"):
        send(h, 200, json.dumps(ANSWER).encode(), {"x-went-into-resp-headers": "true", "x-inference-pod": "decode-0"})
        return
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.end_headers()
    time.sleep(first_token_delay)
    for word in ("2", " + 2", " = 4."):
        chunk = {"id": "c", "object": "chat.completion.chunk", "model": MODEL,
                 "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        h.wfile.flush()
    h.wfile.write(b"data: [DONE]\n\n")


class Gateway:
    """A loopback OpenAI-compatible 'gateway' whose answers the test chooses per method and path."""

    def __init__(self, routes: dict[tuple[str, str], Handler]):
        self.routes = routes
        self.seen: list[dict[str, Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n)) if n else {}
                outer.seen.append({"method": self.command, "path": self.path, "body": body,
                                   "authorization": self.headers.get("authorization")})
                handler = outer.routes.get((self.command, self.path))
                if handler is None:
                    send(self, 404, b"", {"server": "istio-envoy"})
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self, body)

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Gateway:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@cache
def _example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


def live_snapshot(example: str = "healthy"):
    snap = Scenario(copy.deepcopy(_example(example))).snapshot()
    snap.source.kind = "live"
    return snap


def opts(url: str, **kw: Any) -> ProbeOptions:
    return ProbeOptions(gateway_url=url, **kw)


def test_a_working_gateway_passes_and_records_request_response_and_ttft() -> None:
    routes = {("GET", "/v1/models"): models,
              ("POST", "/v1/chat/completions"): lambda h, b: openai(h, b, first_token_delay=0.2)}
    with Gateway(routes) as gw:
        recs = run_probes(live_snapshot(), opts(gw.url, prefix_requests=2))
    e2e = recs["e2e"]
    assert (e2e["status"], e2e["error_class"]) == (200, None)
    assert e2e["request"]["body"]["messages"][0]["content"].startswith("Hello! What is 2+2?")
    assert e2e["response"] == ANSWER
    stream = e2e["stream"]
    assert stream["request"]["body"]["stream"] is True and stream["request"]["headers"]["accept"] == "text/event-stream"
    assert stream["chunks"] == 3 and stream["done"] and stream["content_excerpt"] == "2 + 2 = 4."
    assert 0.2 <= stream["ttft_s"] <= stream["latency_s"]
    assert [s["path"] for s in gw.seen] == ["/v1/models"] + ["/v1/chat/completions"] * 4
    assert recs["routing"]["prefix"]["endpoints"] == {"decode-0": 2}


def test_a_slow_gateway_is_a_timeout_not_a_hang() -> None:
    def slow(h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        time.sleep(3)
        openai(h, body)

    with Gateway({("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): slow}) as gw:
        started = time.monotonic()
        recs = run_probes(live_snapshot(), opts(gw.url, total_timeout=0.5, read_timeout=0.5, connect_timeout=0.5))
        took = time.monotonic() - started
    assert took < 2.5
    e2e = recs["e2e"]
    assert e2e["error_class"] == "timeout" and "within 0.5s" in e2e["error"] and e2e["hop"] == "model-server"


def test_a_body_that_trickles_past_the_total_timeout_is_a_timeout() -> None:
    def trickle(h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        h.send_response(200)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", "1000")
        h.end_headers()
        for _ in range(40):  # a byte every 0.1s: no read timeout ever fires
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)

    with Gateway({("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): trickle}) as gw:
        started = time.monotonic()
        recs = run_probes(live_snapshot(), opts(gw.url, total_timeout=0.6, read_timeout=0.5))
        took = time.monotonic() - started
    assert took < 2.5
    assert recs["e2e"]["error_class"] == "timeout" and "(total)" in recs["e2e"]["error"]
    assert recs["e2e"]["status"] == 200  # the headers came, the body did not


def test_garbage_is_not_an_openai_answer() -> None:
    def garbage(h: BaseHTTPRequestHandler, _: dict[str, Any]) -> None:
        send(h, 200, b"\x00\xffnot json at all", {"content-type": "application/octet-stream"})

    with Gateway({("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): garbage}) as gw:
        e2e = run_probes(live_snapshot(), opts(gw.url))["e2e"]
    assert e2e["error_class"] == "not_openai" and "not JSON" in e2e["error"]
    assert "not json at all" in e2e["body_excerpt"]


def test_a_stream_without_data_lines_is_recorded_as_such() -> None:
    def no_sse(h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("stream"):
            send(h, 200, b"<html>proxy</html>", {"content-type": "text/html"})
        else:
            openai(h, body)

    with Gateway({("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): no_sse}) as gw:
        e2e = run_probes(live_snapshot(), opts(gw.url, prefix_requests=0))["e2e"]
    assert e2e["error_class"] is None
    assert e2e["stream"]["error_class"] == "not_openai" and e2e["stream"]["body_excerpt"] == "<html>proxy</html>"


def test_a_closed_port_is_refused_quickly() -> None:
    with socket.socket() as s:  # bound, never listening: connections are refused, and no other test
        s.bind(("127.0.0.1", 0))  # (another xdist worker) can take the port meanwhile
        port = s.getsockname()[1]
        started = time.monotonic()
        recs = run_probes(live_snapshot(), opts(f"http://127.0.0.1:{port}"))
    assert time.monotonic() - started < 5  # refused at once, far from the probe's timeouts
    assert recs["models"]["error_class"] == "refused" and recs["e2e"]["error_class"] == "refused"


def test_a_hung_dns_lookup_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args: Any, **kw: Any) -> Any:
        time.sleep(5)
        raise OSError("late")

    monkeypatch.setattr(chat_mod.socket, "getaddrinfo", hang)
    started = time.monotonic()
    assert chat_mod.resolve("gateway.example", 80, 0.2) == "no answer within 0.2s"
    assert time.monotonic() - started < 1


def test_a_cluster_internal_gateway_is_not_run_with_the_port_forward_to_use() -> None:
    snap = live_snapshot()
    recs = run_probes(snap, ProbeOptions(resolver=lambda host, port, timeout: "[Errno -2] Name or service not known"))
    for name in ("e2e", "models", "routing"):
        why = recs[name]["not_run"]
        assert "llm-d-infra-inference-gateway-istio.llm-d.svc.cluster.local:80" in why
        assert "kubectl port-forward -n llm-d svc/llm-d-infra-inference-gateway-istio 8000:80" in why
        assert "--gateway-url http://localhost:8000" in why


def test_a_probe_stopped_by_its_dns_lookup_makes_no_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and the CA bundle cost ~0.1 s: a probe that cannot resolve its target never loads them."""
    made: list[int] = []
    real = chat_mod._client
    monkeypatch.setattr(chat_mod, "_client", lambda opts: (made.append(1), real(opts))[1])
    recs = run_probes(live_snapshot(), ProbeOptions(resolver=lambda host, port, timeout: "Name or service not known"))
    assert "not_run" in recs["e2e"] and made == []
    prober = chat_mod.Prober(ProbeOptions(), lambda: made.append(2), lambda h, p, t: "no such host", None)
    rec = prober.exchange("GET", "http://gw.example.invalid/v1/models", kind="models")
    assert rec["error_class"] == "dns" and made == []


# ---- the live path: diagnose() with the fake API server and the loopback gateway --------------


@pytest.fixture
def fake_cluster(tmp_path: Path) -> Iterator[str]:
    from fakeapi import FakeApiServer

    with FakeApiServer(EXAMPLES / "healthy") as srv:
        yield srv.kubeconfig(tmp_path / "kubeconfig")


def test_diagnose_probes_a_live_cluster_and_the_report_carries_the_records(fake_cluster: str) -> None:
    from llmd_doctor.run import RunOptions, diagnose

    routes = {("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): openai}
    with Gateway(routes) as gw:
        report = diagnose(RunOptions(kubeconfig=fake_cluster, only=["cluster.access", "e2e.*"],
                                     probe=ProbeOptions(gateway_url=gw.url, prefix_requests=2)))
    results = {r.id: r for r in report.results}
    assert results["e2e.chat-completion"].status == "pass"
    assert "2 + 2 = 4." in results["e2e.chat-completion"].message
    assert results["e2e.models"].status == "pass"
    assert results["e2e.routing"].status == "pass"
    assert report.probes["e2e"]["response"] == ANSWER
    assert report.probes["e2e"]["target"]["gateway"] == "Gateway/llm-d/llm-d-infra-inference-gateway"


def test_diagnose_without_probe_options_sends_nothing(fake_cluster: str) -> None:
    from llmd_doctor.run import RunOptions, diagnose

    with Gateway({}) as gw:
        report = diagnose(RunOptions(kubeconfig=fake_cluster, only=["e2e.*"], probe=None))
    assert gw.seen == [] and report.probes == {}
    assert {r.id: r.message for r in report.results}["e2e.chat-completion"] == "probe not run (--no-probe)"


def test_diagnose_never_probes_a_bundle() -> None:
    from llmd_doctor.run import RunOptions, diagnose

    with Gateway({}) as gw:
        report = diagnose(RunOptions(bundle=str(EXAMPLES / "healthy"), only=["e2e.*"],
                                     probe=ProbeOptions(gateway_url=gw.url)))
    assert gw.seen == []
    assert {r.id: r.status for r in report.results}["e2e.chat-completion"] == "skip"


def test_a_crashing_probe_is_an_error_of_the_checks_not_of_the_run(fake_cluster: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from llmd_doctor.run import RunOptions, diagnose

    def boom(*args: Any, **kw: Any) -> None:
        raise ValueError("bug in the probe")

    monkeypatch.setattr(chat_mod, "discover", boom)
    report = diagnose(RunOptions(kubeconfig=fake_cluster, only=["e2e.*"], probe=ProbeOptions()))
    r = {x.id: x for x in report.results}["e2e.chat-completion"]
    assert r.status == "error" and "the probe crashed: ValueError: bug in the probe" in r.message


def test_collect_records_the_probe_and_an_offline_report_replays_it(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import tarfile

    from fakeapi import FakeApiServer

    from llmd_doctor.cli import main

    routes = {("GET", "/v1/models"): models, ("POST", "/v1/chat/completions"): openai}
    archive = tmp_path / "bundle.tar.gz"
    with FakeApiServer(EXAMPLES / "healthy") as srv, Gateway(routes) as gw:
        with pytest.raises(SystemExit) as exc:
            main(["collect", "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "-o", str(archive),
                  "--probe", "--gateway-url", gw.url])
        assert exc.value.code in (0, None)
    with tarfile.open(archive) as tf:
        names = tf.getnames()
    assert any(n.endswith("probes/e2e.json") for n in names)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["report", "--bundle", str(archive), "--format", "markdown"])
    md = capsys.readouterr().out
    assert "2 + 2 = 4." in md and "/v1/chat/completions" in md


def test_require_probe_fails_a_live_run_whose_gateway_refuses(fake_cluster: str, capsys: pytest.CaptureFixture[str]) -> None:
    from llmd_doctor.cli import main

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    argv = ["check", "--kubeconfig", fake_cluster, "--only", "cluster.access,e2e.*", "-o", "json",
            "--gateway-url", f"http://127.0.0.1:{port}"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0  # an error of the probe is not a statement about the cluster
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--require-probe"])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "--require-probe: the end-to-end request was not verified (e2e.chat-completion error: could not check: " \
           f"connection to 127.0.0.1:{port} refused" in err
