"""Kubeconfigs the live source reads itself, and those it hands to the official client.

Tokens, token files, client certificates, merged KUBECONFIG files and relative paths are read by
sources/kubeconfig.py without importing the kubernetes client (0.25-0.35 s, issue #15); exec
plugins and the like go through the official loader. Each is used against the fake API server.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakeapi import FakeApiServer
from fakeapi.server import CA_FILE, CERTS

from llmd_doctor.run import RunOptions, build_snapshot, choose_specs
from llmd_doctor.sources.kubeconfig import KubeconfigError, load
from llmd_doctor.sources.live import LiveOptions, LiveSourceError, load_live

ROOT = Path(__file__).resolve().parents[1]
HEALTHY = ROOT / "examples" / "healthy"


def write(path: Path, server: str, user: dict[str, Any], cluster: dict[str, Any] | None = None,
          context: str = "ctx") -> str:
    """A kubeconfig whose context, cluster and user are all named `context`."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": context,
           "clusters": [{"name": context, "cluster": {"server": server, **(cluster or {})}}],
           "users": [{"name": context, "user": user}],
           "contexts": [{"name": context, "context": {"cluster": context, "user": context}}]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def read_pods(kubeconfig: str) -> int:
    snap = load_live(["Pod"], lambda s: [], LiveOptions(kubeconfig=kubeconfig))
    return len(snap.list("Pod"))


def test_a_token_and_ca_file_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(Path(CA_FILE).read_bytes())
    with FakeApiServer(HEALTHY) as srv:
        kc = write(tmp_path / "config", srv.https_url, {"token": "admin-token"},
                   {"certificate-authority": "certs/ca.crt"})
        assert load(kc, None).loader == "llmd-doctor"
        assert read_pods(kc) > 0


def test_a_token_file_is_read_for_each_request(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("expired-token\n")
    with FakeApiServer(HEALTHY) as srv:
        kc = write(tmp_path / "config", srv.https_url, {"tokenFile": str(token)},
                   {"certificate-authority-data": base64.b64encode(Path(CA_FILE).read_bytes()).decode()})
        target = load(kc, None)
        assert target.authorization() == "Bearer expired-token"
        token.write_text("admin-token\n")  # rotated in place, as a projected token is
        assert target.authorization() == "Bearer admin-token"
        assert read_pods(kc) > 0


def test_client_certificate_data_is_loaded_and_named_when_refused(tmp_path: Path) -> None:
    """The fake server asks for no client certificate, so the token-less user is refused (401): the
    certificate and key were still loaded into the TLS context without error."""
    b64 = lambda p: base64.b64encode((CERTS / p).read_bytes()).decode()  # noqa: E731
    with FakeApiServer(HEALTHY) as srv:
        kc = write(tmp_path / "config", srv.https_url,
                   {"client-certificate-data": b64("server.crt"), "client-key-data": b64("server.key")},
                   {"certificate-authority-data": b64("ca.crt")})
        assert load(kc, None).has_credentials
        with pytest.raises(LiveSourceError, match=r"rejected our credentials \(401 Unauthorized\)"):
            read_pods(kc)
    assert not list(tmp_path.glob("llmd-doctor-*"))


def test_merged_kubeconfig_files_first_one_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeApiServer(HEALTHY) as srv:
        first = write(tmp_path / "a", srv.https_url, {"token": "admin-token"},
                      {"certificate-authority-data": base64.b64encode(Path(CA_FILE).read_bytes()).decode()})
        second = write(tmp_path / "b", "https://127.0.0.1:1", {"token": "other"}, context="other")
        clash = write(tmp_path / "c", "https://127.0.0.1:2", {"token": "x"})  # names "ctx" again
        monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second, clash]))
        target = load(None, None)  # the current context of the first file that names one
        assert (target.context, target.host) == ("ctx", srv.https_url)
        assert load(None, "other").host == "https://127.0.0.1:1"
        assert read_pods(first) > 0


@pytest.mark.parametrize(("doc", "message"), [
    ("- not a mapping", "not a mapping"),
    ("clusters: [", "invalid kubeconfig"),
    ("apiVersion: v1\nkind: Config\n", "no current context"),
])
def test_unusable_kubeconfigs_are_one_line_errors(doc: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(doc)
    with pytest.raises(KubeconfigError, match=message):
        load(str(path), None)


def test_an_exec_plugin_goes_through_the_official_loader(tmp_path: Path) -> None:
    plugin = tmp_path / "get-token"
    cred = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": {"token": "admin-token"}}
    plugin.write_text(f"#!/bin/sh\necho '{json.dumps(cred)}'\n")
    plugin.chmod(0o755)
    with FakeApiServer(HEALTHY) as srv:
        kc = write(tmp_path / "config", srv.https_url,
                   {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                             "interactiveMode": "Never"}},
                   {"certificate-authority-data": base64.b64encode(Path(CA_FILE).read_bytes()).decode()})
        assert load(kc, None).loader == "kubernetes-client"
        opts = RunOptions(kubeconfig=kc)
        snap = build_snapshot(opts, choose_specs(opts))
        users = {r.user for r in srv.requests if r.path != "/version"}
    assert snap.list("Pod") and users == {"admin"}


def test_a_check_with_a_plain_kubeconfig_never_imports_the_kubernetes_client(tmp_path: Path) -> None:
    with FakeApiServer(HEALTHY) as srv:
        kc = srv.kubeconfig(tmp_path / "k")
        code = ("import sys\nfrom llmd_doctor.cli import main\ntry:\n    main(['check', '--kubeconfig', "
                f"{kc!r}, '-o', 'json', '--no-probe'])\nexcept SystemExit:\n    pass\n"
                "print([m for m in sys.modules if m.split('.')[0] == 'kubernetes'], file=sys.stderr)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout)["source"]["kind"] == "live", out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
