"""`collect` against the fake API server: the round trip, redaction of planted secrets, the manifest,
forbidden kinds, `--no-redact`, and the atomic write."""

from __future__ import annotations

import base64
import copy
import json
import tarfile
from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer
from scenario import Scenario

from llmd_doctor.archive import write_archive
from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEED = "seed-rosa-epp-segfault"

# Planted secrets: none of these may appear anywhere in a redacted archive.
HF = "hf_PlantedHuggingFaceToken0123456789abcd"
API_KEY = "sk-plantedOpenAIKey0123456789abcdef"
BEARER = "plantedBearer0123456789abcdefXYZ"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLWp3dCJ9.cGxhbnRlZHNpZ25hdHVyZTAxMjM0"
SECRET_VALUE = "planted-secret-value-42"
DB_PASSWORD = "planted-db-password-77"
PLANTED = (HF, API_KEY, BEARER, JWT, SECRET_VALUE, DB_PASSWORD,
           base64.b64encode(HF.encode()).decode(), base64.b64encode(SECRET_VALUE.encode()).decode())


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, _ = cli(capsys, "check", "-o", "json", *argv)
    assert code in (0, 1), out
    return json.loads(out)


def comparable(doc: dict) -> dict[str, tuple]:
    """Results by id. cluster.access says where the data came from; the e2e probes run live only
    (a bundle replays recorded probes), so for those only the status must agree."""
    out: dict[str, tuple] = {}
    for c in doc["checks"]:
        if c["id"] == "cluster.access" or c["id"].startswith("e2e."):
            out[c["id"]] = (c["status"],)
        else:
            out[c["id"]] = (c["status"], c["message"], tuple(c["objects"]), tuple(c["evidence"]))
    return out


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]


def manifest_of(archive: Path) -> dict:
    files = members(archive)
    name = next(n for n in files if n.endswith("/bundle.yaml"))
    return yaml.safe_load(files[name])


@pytest.mark.parametrize("example", [SEED, "healthy"])
def test_round_trip_collect_then_check_equals_live(example: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "bundle.tar.gz"
    with FakeApiServer(EXAMPLES / example) as srv:
        kc = srv.kubeconfig(tmp_path / "kc")
        live = check_json(capsys, "--kubeconfig", kc)
        code, out, err = cli(capsys, "collect", "--kubeconfig", kc, "-o", str(archive))
    assert code == 0 and out == ""  # stdout stays empty: the summary goes to stderr
    assert f"wrote {archive}" in err and "redacted:" in err
    offline = check_json(capsys, "--bundle", str(archive))
    assert comparable(offline) == comparable(live)
    assert offline["source"]["kind"] == "bundle" and offline["source"]["context"] == "fake"
    if example == SEED:
        epp_logs = next(c for c in offline["checks"] if c["id"] == "epp.logs")
        assert epp_logs["status"] == "fail" and any("scheduler.go:40" in e for e in epp_logs["evidence"])


def test_manifest_lists_every_kind_read_and_objects_are_kubectl_lists(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "b.tgz"
    with FakeApiServer(EXAMPLES / SEED) as srv:
        code, _, err = cli(capsys, "collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"), "-o", str(archive))
        requests = list(srv.requests)
    assert code == 0
    m = manifest_of(archive)
    assert (m["apiVersion"], m["kind"], m["context"], m["serverVersion"]) == \
        ("llmd-doctor/v1", "Bundle", "fake", "v1.31.10")
    assert m["redacted"] is True and "namespaces" not in m and "notCollected" not in m
    assert m["collectedAt"].endswith("Z")
    # Kinds read, with objects or without (StatefulSet: the cluster has none).
    for k in ("Pod", "Deployment.apps", "Node", "Event", "CustomResourceDefinition.apiextensions.k8s.io",
              "InferencePool.inference.networking.x-k8s.io", "StatefulSet.apps"):
        assert k in m["kinds"], k
    assert "none in the cluster: " in err and "StatefulSet.apps" in err
    files = members(archive)
    top = {n.split("/", 1)[0] for n in files}
    assert top == {"b"}  # one top folder, named after the archive
    pods = yaml.safe_load(files["b/namespaces/llm-d/pods.yaml"])
    assert pods["kind"] == "List" and all(p["apiVersion"] == "v1" and p["kind"] == "Pod" for p in pods["items"])
    assert "b/cluster/nodes.yaml" in files
    assert "b/logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.previous.log" in files
    # Model-server logs come along too (the healthy decode pods), current only: they never restarted.
    assert "b/logs/llm-d/ms-llm-d-modelservice-decode-7d4f9c8b6-9wqnr/vllm.log" in files
    assert not any(n.endswith("9wqnr/vllm.previous.log") for n in files)
    # Events: all of them, not just Warnings (check reads Warnings only).
    assert any(r.path.endswith("/events") and "fieldSelector" not in r.query for r in requests)
    assert all(r.method in ("GET", "POST") for r in requests)


def test_namespace_scope_is_in_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "scoped.tar.gz"
    with FakeApiServer(EXAMPLES / SEED) as srv:
        kc = srv.kubeconfig(tmp_path / "kc")
        live = check_json(capsys, "--kubeconfig", kc, "-n", "llm-d")
        code, _, err = cli(capsys, "collect", "--kubeconfig", kc, "-n", "llm-d", "-o", str(archive))
    assert code == 0 and "namespaces llm-d" in err
    assert manifest_of(archive)["namespaces"] == ["llm-d"]
    assert not any("/namespaces/istio-system/" in n for n in members(archive))
    assert comparable(check_json(capsys, "--bundle", str(archive))) == comparable(live)


def test_forbidden_kind_is_left_out_of_kinds_and_named_in_the_summary(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "b.tar.gz"
    with FakeApiServer(EXAMPLES / SEED) as srv:
        srv.forbid("list", "deployments", group="apps")
        code, _, err = cli(capsys, "collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"), "-o", str(archive))
    assert code == 0
    m = manifest_of(archive)
    assert "Deployment.apps" not in m["kinds"] and "Pod" in m["kinds"]
    assert "cannot list deployments.apps" in m["notCollected"]["Deployment.apps"]
    assert "not collected (unknown in the bundle): Deployment.apps: forbidden" in err
    checks = {c["id"]: c for c in check_json(capsys, "--bundle", str(archive))["checks"]}
    # The refusal, as the live run reported it — never "no EPP deployment" (tests/test_bundle_gaps.py).
    assert checks["epp.deployment"]["status"] == "error"
    assert checks["epp.deployment"]["message"].startswith("forbidden: cannot list deployments.apps cluster-wide")


# ---- redaction -----------------------------------------------------------------------------------


def planted_scenario() -> Scenario:
    sc = Scenario.example(SEED)
    sc.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "planted", "namespace": "llm-d"},
            "data": {"HF_TOKEN": base64.b64encode(HF.encode()).decode(),
                     "other": base64.b64encode(SECRET_VALUE.encode()).decode()},
            "stringData": {"password": DB_PASSWORD}})
    sc.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-settings", "namespace": "llm-d"},
            "data": {"api_key": API_KEY, "settings.yaml": f"model: llama\npassword: {DB_PASSWORD}\n"}})
    decode = sc.find("Deployment.apps", "ms-llm-d-modelservice-decode")
    last_applied = json.dumps({"kind": "Deployment", "spec": {"env": [{"name": "HF_TOKEN", "value": HF}]}})
    for obj in [decode, *[p for p in sc.all("Pod") if p["metadata"]["name"].startswith("ms-llm-d-modelservice")]]:
        spec = obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else obj["spec"]
        vllm = spec["containers"][0]
        vllm["env"] = [*vllm.get("env", []), {"name": "HF_TOKEN_LITERAL", "value": HF},
                       {"name": "HF_TOKEN", "value": HF}]
        vllm["args"] = [*vllm["args"], f"--api-key={API_KEY}"]
        obj["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = last_applied
    pod = sc.find_prefix("Pod", "ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t")
    sc.set_log("llm-d", pod["metadata"]["name"], "vllm",
               f"INFO loading model with token {HF}\nDEBUG request headers: Authorization: Bearer {BEARER}\n"
               f"DEBUG forwarded id_token={JWT}\nINFO Application startup complete.\n")
    epp = sc.find_prefix("Pod", "ms-llm-d-epp")
    previous = sc.data.logs[next(r for r in sc.data.logs if r.pod == epp["metadata"]["name"] and r.previous)]
    sc.set_log("llm-d", epp["metadata"]["name"], "epp",
               f"{{\"level\":\"info\",\"msg\":\"auth\",\"authorization\":\"Bearer {BEARER}\"}}\n" + previous,
               previous=True)
    return sc


def collect_planted(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[Path, str, list]:
    archive = tmp_path / "planted.tar.gz"
    sc = planted_scenario()
    with FakeApiServer(copy.deepcopy(sc.data)) as srv:
        code, _, err = cli(capsys, "collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"),
                           "-o", str(archive), *extra)
        requests = list(srv.requests)
    assert code == 0, err
    return archive, err, requests


def test_planted_secrets_never_reach_the_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive, err, requests = collect_planted(tmp_path, capsys)
    files = members(archive)
    for name, data in files.items():
        for secret in PLANTED:
            assert secret.encode() not in data, f"{secret} leaked into {name}"
    # Nor the kubeconfig's credentials.
    assert not any(b"admin-token" in d or b"certificate-authority-data" in d for d in files.values())
    # No request could have returned Secret values: every Secret read asked for metadata only.
    assert [r.path for r in requests if "/secrets" in r.path] == []  # collect reads no Secret at all
    assert "redacted:" in err and "env" in err and "logs" in err and "no Secret was read" in err
    # Structure is kept: the names are there, the values are masked.
    pods = yaml.safe_load(files["planted/namespaces/llm-d/pods.yaml"])["items"]
    decode = next(p for p in pods if p["metadata"]["name"].endswith("4kz8t"))
    env = {e["name"]: e.get("value") for e in decode["spec"]["containers"][0]["env"]}
    assert env["HF_TOKEN"] == "<redacted>" and env["CUDA_VISIBLE_DEVICES"] == "0"
    assert "--api-key=<redacted>" in decode["spec"]["containers"][0]["args"]
    assert "--max-model-len" in decode["spec"]["containers"][0]["args"]
    assert decode["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == "<redacted>"
    assert "planted/namespaces/llm-d/secrets.yaml" not in files  # Secrets are not collected at all
    log = files["planted/logs/llm-d/ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t/vllm.log"].decode()
    assert "Authorization: Bearer <redacted>" in log and "Application startup complete" in log
    cms = yaml.safe_load(files["planted/namespaces/llm-d/configmaps.yaml"])["items"]
    settings = next(c for c in cms if c["metadata"]["name"] == "app-settings")["data"]
    assert settings["api_key"] == "<redacted>" and "model: llama" in settings["settings.yaml"]
    # The EPP config ConfigMap is intact: checks read it.
    epp_cm = next(c for c in cms if c["metadata"]["name"] == "ms-llm-d-epp-config")
    assert epp_cm["data"] == Scenario.example(SEED).find("ConfigMap", "ms-llm-d-epp-config")["data"]
    # And the diagnosis still works on the redacted bundle.
    checks = {c["id"]: c for c in check_json(capsys, "--bundle", str(archive))["checks"]}
    assert checks["epp.logs"]["status"] == "fail"


def test_no_redact_warns_and_still_never_reads_secret_values(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    archive, err, requests = collect_planted(tmp_path, capsys, "--no-redact")
    assert "warning: --no-redact" in err and "NOT redacted" in err
    assert manifest_of(archive)["redacted"] is False
    blob = b"".join(members(archive).values())
    assert HF.encode() in blob and API_KEY.encode() in blob  # not masked, as asked
    assert SECRET_VALUE.encode() not in blob and base64.b64encode(SECRET_VALUE.encode()) not in blob
    assert DB_PASSWORD.encode() in blob  # only through the ConfigMap, never from the Secret
    assert [r.path for r in requests if "/secrets" in r.path] == [] and "no Secret was read" in err


def test_no_secret_is_read_even_when_a_check_declares_secrets(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "secret_check.py").write_text(
        "from llmd_doctor.model import Finding, Severity, Status\n"
        "from llmd_doctor.registry import check\n\n\n"
        "@check('example.secrets', title='Secrets', area='example', severity=Severity.MINOR, inputs=('Secret',))\n"
        "def secrets(ctx):\n"
        "    yield Finding(Status.PASS, f\"{len(ctx.snapshot.list('Secret'))} secrets\")\n")
    archive = tmp_path / "b.tar.gz"
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        code, _, err = cli(capsys, "collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"),
                           "--checks-dir", str(plugin), "-o", str(archive))
        requests = list(srv.requests)
    assert code == 0, err
    assert [r.path for r in requests if "/secrets" in r.path] == []
    assert "Secret" not in manifest_of(archive)["kinds"] and "no Secret was read" in err
    checks = {c["id"]: c for c in check_json(capsys, "--bundle", str(archive), "--checks-dir", str(plugin))["checks"]}
    assert checks["example.secrets"]["status"] == "skip"  # unknown in the bundle, never "0 secrets"


# ---- writing -------------------------------------------------------------------------------------


def test_interrupted_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.tar.gz"
    real = tarfile.TarFile.addfile
    calls = {"n": 0}

    def addfile(self: tarfile.TarFile, info: tarfile.TarInfo, fileobj=None) -> None:  # noqa: ANN001
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, info, fileobj)

    monkeypatch.setattr(tarfile.TarFile, "addfile", addfile)
    files = [(f"f{i}.yaml", b"x" * 1000) for i in range(5)]
    with pytest.raises(KeyboardInterrupt):
        write_archive(files, target)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file
    target.write_bytes(b"previous bundle")
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        write_archive(files, target)
    assert target.read_bytes() == b"previous bundle"  # an old bundle survives an interrupted new one
    assert [p.name for p in tmp_path.iterdir()] == ["out.tar.gz"]


def test_ctrl_c_during_collect_exits_130_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "addfile", boom)
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        code, _, err = cli(capsys, "collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"),
                           "-o", str(tmp_path / "b.tar.gz"))
    assert code == 130  # typer turns KeyboardInterrupt into exit 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kc"]


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        kc = srv.kubeconfig(tmp_path / "kc")
        code, _, err = cli(capsys, "collect", "--kubeconfig", kc, "-o", str(tmp_path / "missing" / "b.tar.gz"))
    assert code == 2 and "does not exist" in err
    # The server is gone now.
    code, _, err = cli(capsys, "collect", "--kubeconfig", kc, "--request-timeout", "2s", "-o", str(tmp_path / "b.tgz"))
    assert code == 2 and err.startswith("llmd-doctor: error: cannot reach the API server")
    assert not (tmp_path / "b.tgz").exists()
