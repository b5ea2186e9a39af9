"""Faults the live path must survive, each through the real CLI against the fake API server.

403 on every kind the checks read, 500s and timeouts (bounded retries with backoff, then `error`),
truncated and malformed bodies, objects with missing fields, 50 MB and non-UTF-8 logs, and Ctrl-C.
None of them may end in a traceback; missing data is never reported as `pass`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fakeapi import FakeApiServer, Fault
from fakeapi.catalog import Catalog
from scenario import Scenario

from bench.rss import LAUNCHER
from llmd_doctor.cli import main
from llmd_doctor.engine import needed_kinds
from llmd_doctor.kinds import info
from llmd_doctor.registry import load_specs
from llmd_doctor.sources.bundle import read_bundle

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-rosa-epp-segfault"
NS = "llm-d"
EPP_POD = "ms-llm-d-epp-6c9d8b7f5-x2k4q"
EPP_LOG = f"/api/v1/namespaces/{NS}/pods/{EPP_POD}/log"
CRASHED = "check crashed"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    with pytest.raises(SystemExit) as exc:
        main(["check", "-o", "json", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return int(exc.value.code or 0), json.loads(out), err


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["checks"]}


def no_crash(doc: dict[str, Any]) -> None:
    crashed = [(c["id"], c["message"]) for c in doc["checks"] if CRASHED in c["message"]]
    assert crashed == [], crashed


def readers_of(key: str) -> set[str]:
    return {s.id for s in load_specs() if key in s.inputs}


def resource_name(key: str) -> str:
    k = info(key)
    return f"{k.plural}.{k.group}" if k.group else k.plural


_BASELINES: dict[str, dict[str, dict[str, Any]]] = {}


def baseline(example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """An example's live results with nothing injected (once per example)."""
    if example not in _BASELINES:
        with FakeApiServer(ROOT / "examples" / example) as srv:
            _, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "base"), "--fail-on", "never")
        _BASELINES[example] = by_id(doc)
    return _BASELINES[example]


def _served_kinds() -> list[str]:
    """Kinds the checks read that the examples serve (the others are never listed)."""
    cat = Catalog(read_bundle(SEED).objects)
    return [k for k in needed_kinds(load_specs())
            if cat.for_kind(info(k).group, info(k).kind) is not None]


# Kinds without which some check cannot conclude: denying them must give an `error` and exit 3.
# (The others are read as optional evidence: denying them must show in cluster.access and must
# not turn a finding into a `pass`.)
REQUIRED = {"Pod", "Deployment.apps", "Service", "Gateway.gateway.networking.k8s.io",
            "GatewayClass.gateway.networking.k8s.io", "HTTPRoute.gateway.networking.k8s.io",
            "InferencePool.inference.networking.x-k8s.io", "InferenceModel.inference.networking.x-k8s.io",
            "DestinationRule.networking.istio.io"}
# Checks that ask the API server (SubjectAccessReview): the fake's deny rule answers their questions
# too, so their result may legitimately change when a kind is denied.
ASKS = {s.id for s in load_specs() if s.access is not None}


def _params() -> list[Any]:
    return [pytest.param(example, key, id=f"{example}-{key}")
            for example in ("seed-rosa-epp-segfault", "healthy") for key in _served_kinds()]


def _hides_missing_data(check: dict[str, Any], key: str) -> list[str]:
    """Findings folded under a `pass` result (skip ranks below pass) that say the denied kind could
    not be read. A pass finding that says so itself is transparent, not hidden."""
    k = info(key)
    words = (k.plural, f"{k.kind}s", k.kind)
    return [f["message"] for f in check.get("findings") or []
            if f["status"] != "pass" and any(w in f["message"] for w in words)
            and any(m in f["message"] for m in ("could not be read", "forbidden", "cannot list", "not read", "not collected"))]


@pytest.mark.parametrize(("example", "key"), _params())
def test_forbidden_kind_is_visible_and_never_becomes_a_pass(
    example: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = info(key)
    before = baseline(example, tmp_path, capsys)
    with FakeApiServer(ROOT / "examples" / example) as srv:
        srv.forbid("list", k.plural, group=k.group)
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never",
                               "--fail-on-error")
    no_crash(doc)
    checks = by_id(doc)
    expected = f"cannot list {resource_name(key)} cluster-wide"
    access = checks["cluster.access"]
    assert access["status"] == "warn" and any(expected in e for e in access["evidence"]), access
    errors = {i: c for i, c in checks.items() if c["status"] == "error"}
    for cid, c in errors.items():  # every error is this denial, named
        assert expected in c["message"], (cid, c["message"])
    if key in REQUIRED:
        assert errors, f"no check reports the forbidden {key}"
    assert code == (3 if errors else 0)
    readers = readers_of(key)
    changed: set[str] = set()
    for cid, c in checks.items():  # results come in run order: prerequisites first
        was = before[cid]
        if (c["status"], c["message"]) != (was["status"], was["message"]):
            changed.add(cid)
        if cid in readers or cid in ASKS or cid == "cluster.access":
            continue
        spec_requires = next(s.requires for s in load_specs() if s.id == cid)
        if not changed & set(spec_requires):  # the rest still runs, unchanged
            assert (c["status"], c["message"]) == (was["status"], was["message"]), cid
    for cid in readers - ASKS:  # missing data never makes a pass
        c = checks[cid]
        if c["status"] == "pass":
            assert before[cid]["status"] == "pass", f"{cid}: {before[cid]['status']} became pass: {c['message']}"
            assert _hides_missing_data(c, key) == [], (cid, _hides_missing_data(c, key))


@pytest.mark.parametrize("key", ["Pod", "Deployment.apps", "InferencePool.inference.networking.x-k8s.io",
                                 "HTTPRoute.gateway.networking.k8s.io"])
def test_forbidden_in_one_namespace_names_that_namespace(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = info(key)
    with FakeApiServer(SEED) as srv:
        srv.forbid("list", k.plural, namespace=NS, group=k.group)
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "-n", NS,
                               "--fail-on", "never", "--fail-on-error")
    no_crash(doc)
    expected = f"cannot list {resource_name(key)} in namespace {NS}"
    errors = [c for c in doc["checks"] if c["status"] == "error"]
    assert any(expected in c["message"] for c in errors), [c["message"] for c in errors]
    assert code == 3


def test_forbidden_logs_are_an_error_not_a_guess(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(SEED) as srv:
        srv.forbid("get", "pods/log")
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    no_crash(doc)
    logs = by_id(doc)["epp.logs"]
    assert logs["status"] in ("error", "skip") and "pods/log" in logs["message"], logs
    assert code == 0


# ---- 500s and timeouts ---------------------------------------------------------------------------


class Recorder:
    """A fault function that answers `fault` for matching requests, noting when each came."""

    def __init__(self, match: str, fault: Fault, times: int | None = None, method: str = "GET"):
        self.match, self.fault, self.left, self.method = match, fault, times, method
        self.at: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, query: dict[str, str]) -> Fault | None:
        if method != self.method or path != self.match:
            return None
        with self.lock:
            self.at.append(time.monotonic())
            if self.left is not None:
                if self.left <= 0:
                    return None
                self.left -= 1
        return self.fault


@pytest.mark.parametrize("code_", [500, 503])
def test_server_errors_are_retried_with_backoff_then_error(
    code_: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = Recorder("/apis/apps/v1/deployments", Fault(status=code_))
    with FakeApiServer(SEED, fault=rec) as srv:
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never",
                               "--fail-on-error")
    no_crash(doc)
    assert 2 <= len(rec.at) <= 4, f"{len(rec.at)} tries: retries must be bounded"
    gaps = [b - a for a, b in zip(rec.at, rec.at[1:], strict=False)]
    assert all(g >= 0.1 for g in gaps) and gaps == sorted(gaps), f"no backoff between tries: {gaps}"
    dep = by_id(doc)["epp.deployment"]
    assert dep["status"] == "error" and f"HTTP {code_}" in dep["message"], dep
    assert code == 3


def test_a_transient_500_is_retried_and_recovers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder("/api/v1/pods", Fault(status=500), times=1)
    with FakeApiServer(SEED, fault=rec) as srv:
        _, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    no_crash(doc)
    assert len(rec.at) == 2
    assert by_id(doc)["epp.deployment"]["status"] == "fail"  # the seed's real finding, not an error


def test_access_reviews_are_not_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder("/apis/authorization.k8s.io/v1/subjectaccessreviews", Fault(status=500), method="POST")
    with FakeApiServer(SEED, fault=rec) as srv:
        _, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
        posts = [r for r in srv.requests if r.path.endswith("/subjectaccessreviews")]
    no_crash(doc)
    questions = {r.path for r in posts}
    assert len(posts) == len(rec.at) and len(questions) <= 1  # one POST per question, none repeated
    for c in doc["checks"]:
        if c["id"] == "rbac.epp":
            assert c["status"] != "pass" or "SubjectAccessReview" not in c["message"]


def test_a_slow_kind_times_out_as_an_error_in_bounded_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder("/api/v1/pods", Fault(delay_s=3.0))
    with FakeApiServer(SEED, fault=rec) as srv:
        started = time.monotonic()
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--request-timeout", "0.5s",
                               "--fail-on", "never", "--fail-on-error")
        elapsed = time.monotonic() - started
    no_crash(doc)
    assert elapsed < 8, f"the run took {elapsed:.1f}s"
    assert 1 <= len(rec.at) <= 3
    dep = by_id(doc)["epp.deployment"]
    assert dep["status"] == "error" and "timed out after 0.5s" in dep["message"], dep
    assert code == 3


def test_a_server_that_never_answers_is_exit_2_in_bounded_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(SEED, fault=lambda m, p, q: Fault(delay_s=3.0)) as srv:
        started = time.monotonic()
        with pytest.raises(SystemExit) as exc:
            main(["check", "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--request-timeout", "0.5s"])
        elapsed = time.monotonic() - started
    _, err = capsys.readouterr()
    assert exc.value.code == 2 and elapsed < 8
    assert err.startswith("llmd-doctor: error: cannot reach the API server") and "timed out" in err
    assert "Traceback" not in err


def test_dropped_connections_are_retried_then_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = Recorder("/apis/apps/v1/deployments", Fault(drop=True))
    with FakeApiServer(SEED, fault=rec) as srv:
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never",
                               "--fail-on-error")
    no_crash(doc)
    assert 2 <= len(rec.at) <= 4
    assert by_id(doc)["epp.deployment"]["status"] == "error"
    assert code == 3


# ---- malformed answers ---------------------------------------------------------------------------

TRUNCATED = b'{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"x"'


@pytest.mark.parametrize(
    "body",
    [TRUNCATED, b"<html><body>502 Bad Gateway</body></html>", b"", b'{"kind":"PodList","items":{"a":1}}',
     b'["not", "a", "list"]', b'{"kind":"PodList","items":[1, "two", null]}', b"\xff\xfe\x00garbage"],
    ids=["truncated", "html", "empty", "items-not-a-list", "json-array", "items-not-objects", "binary"],
)
def test_malformed_list_bodies_are_errors_not_tracebacks(
    body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fault = Fault(status=200, body=body)
    with FakeApiServer(SEED, fault=lambda m, p, q: fault if p == "/api/v1/pods" else None) as srv:
        code, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    no_crash(doc)
    dep = by_id(doc)["epp.deployment"]
    # An unusable pod list is an error; a list whose items are not objects is a list of nothing.
    assert dep["status"] in ("error", "skip", "fail", "warn"), dep
    assert dep["status"] != "pass"
    if body in (TRUNCATED, b"", b"\xff\xfe\x00garbage"):  # not JSON at all
        assert dep["status"] == "error", dep
    assert code == 0


def _bug(path: str, body: bytes, id_: str) -> Any:
    """A malformed answer that once raised in sources/live.py (now checked for its shape)."""
    return pytest.param(path, body, id=id_)


@pytest.mark.parametrize(
    ("path", "body"),
    [_bug("/version", b"{not json", "version-garbage"),
     _bug("/version", b'["v1.31"]', "version-array"),
     pytest.param("/apis", b"{truncated", id="apis-truncated"),
     _bug("/apis", b'{"groups": "nope"}', "apis-groups-string"),
     _bug("/apis/gateway.networking.k8s.io/v1", b'{"resources": [1, 2]}', "resources-not-objects"),
     _bug("/apis/authentication.k8s.io/v1/selfsubjectreviews", b'["who"]', "whoami-array"),
     pytest.param("/apis/authentication.k8s.io/v1/selfsubjectreviews", b"{trunc", id="whoami-truncated"),
     _bug("/apis/authorization.k8s.io/v1/subjectaccessreviews", b"{trunc", "sar-truncated"),
     _bug("/apis/authorization.k8s.io/v1/subjectaccessreviews", b'{"status": "yes"}', "sar-status-string")],
)
def test_malformed_discovery_and_review_answers_do_not_crash(
    path: str, body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fault = Fault(status=201 if "reviews" in path else 200, body=body)
    with FakeApiServer(SEED, fault=lambda m, p, q: fault if p == path else None) as srv, \
            pytest.raises(SystemExit) as exc:
        main(["check", "-o", "json", "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if exc.value.code == 2:  # a server whose /version is garbage is not a Kubernetes API server
        assert err.startswith("llmd-doctor: error: ") and err.count("\n") == 1, err
        return
    assert exc.value.code == 0, err
    no_crash(json.loads(out))


# ---- objects with missing fields -----------------------------------------------------------------


def _hollow(sc: Scenario) -> list[str]:
    """Strip the EPP pod, a decode pod, the pool and the route down to bare metadata."""
    refs = []
    for key, prefix, drop in [
        ("Pod", "ms-llm-d-epp", ("spec", "status")),
        ("Pod", "ms-llm-d-modelservice-decode", ("status",)),
        ("InferencePool.inference.networking.x-k8s.io", "ms-llm-d", ("spec", "status")),
        ("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d", ("spec",)),
        ("Deployment.apps", "ms-llm-d-epp", ("status",)),
    ]:
        obj = sc.find_prefix(key, prefix)
        for field in drop:
            obj.pop(field, None)
        if key != "Deployment.apps":  # a Deployment's spec still says what config it runs
            refs.append(f"{obj['kind']}/{obj['metadata']['namespace']}/{obj['metadata']['name']}")
    return refs


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_objects_missing_fields_never_crash_nor_pass(example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = Scenario.example(example)
    hollow = _hollow(sc)
    with FakeApiServer(sc.data) as srv:
        _, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    no_crash(doc)
    for c in doc["checks"]:
        if c["status"] == "pass":
            assert not set(c["objects"]) & set(hollow), (c["id"], c["objects"], c["message"])
    # The EPP pod without spec/status cannot be Ready: not a pass.
    assert by_id(doc)["epp.deployment"]["status"] != "pass"
    # Offline, the same bundle gives the same verdict on these checks.
    bundle = sc.write(tmp_path / "bundle")
    _, offline, _ = run_cli(capsys, "--bundle", str(bundle), "--fail-on", "never")
    no_crash(offline)


# ---- logs: huge, not UTF-8 -----------------------------------------------------------------------

# Peak RSS comes from a small launcher (bench/rss.py): a child forked from pytest would report pytest's own.


def run_child(argv: list[str], out: Path, timeout: float = 45) -> tuple[int, float, str]:
    """`llmd-doctor check -o json` in a child process: (exit code, its own peak RSS in MB, stderr)."""
    res, err_file = out.with_suffix(".rusage"), out.with_suffix(".err")
    with open(out, "w") as f, open(err_file, "w") as errf:
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(res), str(timeout), sys.executable, "-m",
                        "llmd_doctor", "check", "-o", "json", "--fail-on", "never", *argv],
                       stdout=f, stderr=errf, check=False)
    maxrss_kb, code = (int(x) for x in res.read_text().split())
    return code, maxrss_kb / 1024, err_file.read_text()


def _segv_tail() -> str:
    text = read_bundle(SEED).logs
    return next(t for r, t in text.items() if r.pod == EPP_POD and r.previous)


def test_a_50mb_log_is_tailed_and_capped(tmp_path: Path) -> None:
    """The request carries tailLines and limitBytes; the child's memory stays bounded; the
    signature at the end of the log is still found."""
    sc = Scenario.example("seed-rosa-epp-segfault")
    filler = "I0821 15:02:45.000000       1 noise.go:1] " + "x" * 160 + "\n"
    big = filler * (50 * 1024 * 1024 // len(filler)) + _segv_tail()
    sc.set_log(NS, EPP_POD, "epp", big, previous=True)
    with FakeApiServer(sc.data) as srv:
        out = tmp_path / "out.json"
        code, peak_mb, err = run_child(["--kubeconfig", srv.kubeconfig(tmp_path / "k")], out)
        logs = [r for r in srv.requests if r.path == EPP_LOG]
    assert code == 0, err
    assert logs and all("tailLines" in r.query and "limitBytes" in r.query for r in logs)
    assert all(0 < int(r.query["limitBytes"]) <= 10 * 1024 * 1024 for r in logs)
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"
    doc = json.loads(out.read_text())
    assert by_id(doc)["epp.logs"]["status"] == "fail" and "SIGSEGV" in by_id(doc)["epp.logs"]["message"]


def test_a_server_that_ignores_limit_bytes_does_not_blow_up_memory(tmp_path: Path) -> None:
    """Some proxies drop query parameters: the client must still cap what it keeps of a log."""
    body = (b"x" * 1023 + b"\n") * (50 * 1024) + _segv_tail().encode()
    fault = Fault(status=200, body=body, content_type="text/plain")
    with FakeApiServer(SEED, fault=lambda m, p, q: fault if p == EPP_LOG else None) as srv:
        out = tmp_path / "out.json"
        code, peak_mb, err = run_child(["--kubeconfig", srv.kubeconfig(tmp_path / "k")], out)
    assert code == 0, err
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"
    doc = json.loads(out.read_text())
    assert "SIGSEGV" in by_id(doc)["epp.logs"]["message"]


def test_a_50mb_log_in_a_bundle_is_tailed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = Scenario.example("seed-rosa-epp-segfault")
    bundle = sc.write(tmp_path / "b")
    log = bundle / "logs" / NS / EPP_POD / "epp.previous.log"
    with open(log, "wb") as f:
        chunk = b"I0821 noise " + b"y" * 1000 + b"\n"
        for _ in range(50 * 1024):
            f.write(chunk)
        f.write(_segv_tail().encode())
    data = read_bundle(bundle)
    kept = next(t for r, t in data.logs.items() if r.pod == EPP_POD and r.previous)
    assert len(kept.encode()) <= 4 * 1024 * 1024
    _, doc, _ = run_cli(capsys, "--bundle", str(bundle), "--fail-on", "never")
    assert "SIGSEGV" in by_id(doc)["epp.logs"]["message"]


@pytest.mark.parametrize("junk", [b"\xff\xfe\xfd", b"\xc3\x28\xa0\xa1", b"\x00\x01\x1b[31m\xe2\x82"],
                         ids=["invalid-start", "invalid-continuation", "control-and-truncated"])
def test_log_bytes_that_are_not_utf8(junk: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = junk * 100 + b"\n" + _segv_tail().encode() + junk
    fault = Fault(status=200, body=body, content_type="text/plain")
    with FakeApiServer(SEED, fault=lambda m, p, q: fault if p == EPP_LOG else None) as srv:
        _, doc, _ = run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    no_crash(doc)
    assert "SIGSEGV" in by_id(doc)["epp.logs"]["message"]
    # The text renderer copes with what came back too.
    with FakeApiServer(SEED, fault=lambda m, p, q: fault if p == EPP_LOG else None) as srv, \
            pytest.raises(SystemExit):
        main(["check", "--kubeconfig", srv.kubeconfig(tmp_path / "k2"), "-v"])
    out, err = capsys.readouterr()
    assert "epp.logs" in out and "Traceback" not in err


# ---- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_exits_130_quietly_and_writes_nothing_half(tmp_path: Path) -> None:
    help_text = subprocess.run([sys.executable, "-m", "llmd_doctor", "check", "--help"], capture_output=True,
                               text=True, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}).stdout
    junit = tmp_path / "junit.xml" if "--junit" in help_text else None
    with FakeApiServer(SEED, latency_s=1.0) as srv:
        argv = [sys.executable, "-m", "llmd_doctor", "check", "-o", "json", "--kubeconfig",
                srv.kubeconfig(tmp_path / "k")]
        if junit:
            argv += ["--junit", str(junit)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not any(r.path.startswith("/apis/") for r in srv.requests) and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until it is talking to the server (past start-up and /version)
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail("Ctrl-C did not stop the run within 15 s")
        stopped = time.monotonic() - sent
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err, err.decode()
    assert err.decode().strip() in ("", "llmd-doctor: interrupted"), err.decode()
    assert out == b"", "a half-written report on stdout"
    if junit:
        assert not junit.exists(), "a half-written --junit file"
    assert stopped < 5, f"Ctrl-C took {stopped:.1f}s to stop the run"


def test_request_counts_per_kind_are_one_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With faults off, the same server sees exactly one LIST per kind (a guard for the tests above)."""
    with FakeApiServer(SEED) as srv:
        run_cli(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
        lists = Counter(r.path for r in srv.requests if r.method == "GET" and "continue" not in r.query
                        and not r.path.endswith("/log") and r.path.count("/") >= 3
                        and not (r.path.startswith("/apis/") and r.path.count("/") == 3))
    assert lists and max(lists.values()) == 1, lists
