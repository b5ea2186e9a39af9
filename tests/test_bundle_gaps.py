"""What a bundle cannot tell: reads refused or failed while collecting (bundle.yaml `failedReads`) and
namespaces the cluster did not have. `check --bundle` must reach the statuses the live run reached."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import CliRun
from fakeapi import FakeApiServer
from fakeapi.server import Fault
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmd_doctor import failed_reads
from llmd_doctor.engine import run_checks
from llmd_doctor.registry import load_specs
from llmd_doctor.snapshot import ApiError, Forbidden, LogRequest, Snapshot, SourceInfo
from llmd_doctor.sources.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-rosa-epp-segfault"
SPECS = load_specs(plugins=False)
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "decode-0", "namespace": "llm-d"},
       "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0"}]}}


def check_json(cli: CliRun, *argv: str) -> dict:
    code, out, err = cli("check", "-o", "json", "--fail-on", "never", *argv)
    assert code == 0, err
    return json.loads(out)


def statuses(doc: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in doc["checks"]}


def messages(doc: dict) -> dict[str, str]:
    """Messages of the checks that do not name the source (cluster.access) or run only live (e2e.*)."""
    return {c["id"]: c["message"] for c in doc["checks"] if c["id"] != "cluster.access" and not c["id"].startswith("e2e.")}


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tf:
        name = next(n for n in tf.getnames() if n.endswith("/bundle.yaml"))
        return yaml.safe_load(tf.extractfile(name).read())  # type: ignore[union-attr]


def rewrite_manifest(archive: Path, out: Path, change) -> None:  # noqa: ANN001 - a dict -> None function
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else b""  # type: ignore[union-attr]
            if m.name.endswith("/bundle.yaml"):
                doc = yaml.safe_load(data)
                change(doc)
                data = yaml.safe_dump(doc).encode()
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data))


def live_then_bundle(tmp_path: Path, cli: CliRun, srv: FakeApiServer, *extra: str) -> tuple[dict, dict, Path]:
    kc = srv.kubeconfig(tmp_path / "kc")
    live = check_json(cli, "--kubeconfig", kc, *extra)
    archive = tmp_path / "b.tar.gz"
    code, _, err = cli("collect", "--kubeconfig", kc, "-o", str(archive), *extra)
    assert code == 0, err
    return live, check_json(cli, "--bundle", str(archive)), archive


# (verb, resource, namespace, group) refusals, and the -n scope of the run
REFUSALS = {
    "pods": ([("list", "pods", None, "")], []),
    "pod-logs": ([("get", "pods/log", None, "")], []),
    "configmaps-in-llm-d": ([("list", "configmaps", "llm-d", "")], ["-n", "llm-d"]),
    "deployments-and-pools": ([("list", "deployments", None, "apps"),
                               ("list", "inferencepools", None, "inference.networking.x-k8s.io")], []),
    "pods-in-one-of-two-namespaces": ([("list", "pods", "istio-system", "")], ["-n", "llm-d,istio-system"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_reads_give_the_live_statuses_offline(case: str, tmp_path: Path,
                                                      cli: CliRun) -> None:
    denies, scope = REFUSALS[case]
    with FakeApiServer(SEED) as srv:
        for verb, resource, ns, group in denies:
            srv.forbid(verb, resource, ns, group)
        live, offline, archive = live_then_bundle(tmp_path, cli, srv, *scope)
    assert statuses(offline) == statuses(live)
    assert messages(offline) == messages(live)
    assert offline["summary"]["verdict"] == live["summary"]["verdict"] != "healthy"
    entries = manifest_of(archive)["failedReads"]
    assert entries and all(e["reason"] == "forbidden" and "forbidden" in e["message"] for e in entries)
    for verb, resource, ns, group in denies:
        res = f"{resource}.{group}" if group else resource
        # A log read names its pod's namespace even when the refusal was cluster-wide.
        assert any(e["verb"] == verb and e["resource"] == res and (e.get("namespace") == ns or "pod" in e)
                   for e in entries), entries
    # The offline report says what the bundle does not hold: cluster.access lists each refused read.
    access = {c["id"]: c for c in offline["checks"]}["cluster.access"]
    assert access["status"] == "warn" and any(e.startswith("forbidden: cannot") for e in access["evidence"])


def test_a_bundle_with_only_the_old_not_collected_map_reads_the_same(tmp_path: Path,
                                                                     cli: CliRun) -> None:
    with FakeApiServer(SEED) as srv:
        srv.forbid("list", "pods")
        live, _, archive = live_then_bundle(tmp_path, cli, srv)
    old = tmp_path / "old.tar.gz"
    rewrite_manifest(archive, old, lambda m: m.pop("failedReads"))
    assert "failedReads" not in manifest_of(old) and "Pod" in manifest_of(old)["notCollected"]
    offline = check_json(cli, "--bundle", str(old))
    assert statuses(offline) == statuses(live) and messages(offline) == messages(live)


def test_server_errors_and_timeouts_are_recorded_with_their_reason(tmp_path: Path,
                                                                   cli: CliRun) -> None:
    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        if path.endswith("/configmaps"):
            return Fault(status=500)
        if path.endswith("/replicasets"):
            return Fault(delay_s=1.5)
        return None

    with FakeApiServer(SEED, fault=fault) as srv:
        live, offline, archive = live_then_bundle(tmp_path, cli, srv, "--request-timeout", "0.5s")
    # cluster.access: the bundle lists every failed read (issue 12 asks the live run to do the same).
    assert {**statuses(offline), "cluster.access": "-"} == {**statuses(live), "cluster.access": "-"}
    access = {c["id"]: c for c in offline["checks"]}["cluster.access"]
    assert access["status"] == "warn" and any("HTTP 500" in e for e in access["evidence"])
    by_kind = {e["kind"]: e for e in manifest_of(archive)["failedReads"]}
    assert by_kind["ConfigMap"]["reason"] == "error" and "HTTP 500" in by_kind["ConfigMap"]["message"]
    assert (by_kind["ConfigMap"]["verb"], by_kind["ConfigMap"]["resource"]) == ("list", "configmaps")
    assert "namespace" not in by_kind["ConfigMap"]  # a cluster-wide list
    assert by_kind["ReplicaSet.apps"]["reason"] == "timeout"
    epp_config = {c["id"]: c for c in offline["checks"]}["epp.config"]
    assert epp_config["status"] == {c["id"]: c for c in live["checks"]}["epp.config"]["status"]


def test_entries_replay_into_the_same_snapshot_state() -> None:
    """Unit level: every kind of gap, written by `entries` and read back by `apply`."""
    snap = Snapshot(SourceInfo("live"), namespaces=["a", "b"])
    fa = Forbidden("list", "pods", "a", 'pods is forbidden: User "u" cannot list resource "pods" in "a"')
    fb = Forbidden("list", "pods", "b", "no")
    roles = ApiError("list roles: HTTP 503: unavailable")
    log_refused = Forbidden("get", "pods/log", "a", "no logs for you")
    snap.errors.update({"Pod": fb, "Role.rbac.authorization.k8s.io": roles})
    snap.denied += [fa, fb, log_refused]
    epp, epp_prev = LogRequest("a", "epp-0", "epp"), LogRequest("a", "epp-0", "epp", previous=True)
    snap.log_errors.update({epp: log_refused, epp_prev: ApiError("logs of a/epp-0/epp: timed out after 10s")})
    written = yaml.safe_load(yaml.safe_dump(failed_reads.entries(snap)))  # through YAML, as in bundle.yaml

    back = Snapshot(SourceInfo("bundle"), namespaces=["a", "b"], collected={"Pod", "Role.rbac.authorization.k8s.io"})
    failed_reads.apply(back, written)
    assert {k: (type(e), str(e)) for k, e in back.errors.items()} == {k: (type(e), str(e)) for k, e in snap.errors.items()}
    assert [str(d) for d in back.denied] == [str(d) for d in snap.denied]
    assert {r: str(e) for r, e in back.log_errors.items()} == {r: str(e) for r, e in snap.log_errors.items()}
    assert back.has_collected("Pod") is False
    reasons = {(e.get("kind") or e["container"] + (" prev" if e.get("previous") else ""), e["reason"]) for e in written}
    assert reasons == {("Pod", "forbidden"), ("Role.rbac.authorization.k8s.io", "error"), ("epp", "forbidden"),
                       ("epp prev", "timeout")}
    roles_entry = next(e for e in written if e.get("kind") == "Role.rbac.authorization.k8s.io")
    assert (roles_entry["verb"], roles_entry["resource"]) == ("list", "roles.rbac.authorization.k8s.io")
    assert "namespace" not in roles_entry  # two namespaces in scope: which one failed is not known


def test_malformed_failed_reads_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(POD))
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump({
        "apiVersion": "llmd-doctor/v1", "kind": "Bundle", "kinds": ["Pod"],
        "failedReads": [42, {"kind": "Pod", "reason": "maybe"}, {"kind": "Service", "reason": "error", "message": 7}],
    }))
    snap = load_bundle(tmp_path)
    assert snap.list("Pod")[0]["metadata"]["name"] == "decode-0"
    assert isinstance(snap.errors["Service"], ApiError) and str(snap.errors["Service"]) == "7"
    assert sum("failedReads[" in w for w in snap.warnings) == 2


# ---- missing namespaces ------------------------------------------------------------------------


def bundle(tmp_path: Path, manifest: dict | None, *objects: dict) -> Path:
    root = tmp_path / "b"
    root.mkdir()
    (root / "objects.yaml").write_text(yaml.safe_dump_all(list(objects)))
    if manifest is not None:
        (root / "bundle.yaml").write_text(yaml.safe_dump({"apiVersion": "llmd-doctor/v1", "kind": "Bundle", **manifest}))
    return root


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def test_all_namespace_bundle_with_namespace_objects_knows_what_is_missing(tmp_path: Path) -> None:
    root = bundle(tmp_path, None, POD, namespace("llm-d"), namespace("empty"))
    assert load_bundle(root, ["ghost", "llm-d", "empty"]).missing_namespaces == ["ghost"]
    assert load_bundle(root).missing_namespaces == []


def test_all_namespace_bundle_without_namespace_objects_does_not_know(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"kinds": ["Pod"]}, POD)
    assert load_bundle(root, ["ghost"]).missing_namespaces == []  # unknown, not missing


def test_scoped_bundle_that_read_a_namespace_cleanly_and_found_nothing(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"namespaces": ["llm-d", "ghost"], "kinds": ["Pod", "Service"]}, POD)
    assert load_bundle(root).missing_namespaces == ["ghost"]
    assert load_bundle(root, ["llm-d"]).missing_namespaces == []
    assert load_bundle(root, ["ghost"]).missing_namespaces == ["ghost"]


def test_scoped_bundle_with_a_failed_read_does_not_know(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"namespaces": ["llm-d", "ghost"], "kinds": ["Pod"],
                             "failedReads": [{"kind": "Service", "verb": "list", "resource": "services",
                                              "namespace": "ghost", "reason": "forbidden", "message": "no"}]}, POD)
    assert load_bundle(root).missing_namespaces == []


def test_collect_records_missing_namespaces_it_was_told_about(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"kinds": ["Pod"], "missingNamespaces": ["ghost"]}, POD)
    assert load_bundle(root, ["ghost", "llm-d"]).missing_namespaces == ["ghost"]


def test_collect_of_a_namespace_that_does_not_exist(tmp_path: Path, cli: CliRun) -> None:
    with FakeApiServer(SEED) as srv:
        code, _, err = cli("collect", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"), "-n", "llmd",
                           "-o", str(tmp_path / "b.tar.gz"))
    assert code == 0, err
    assert load_bundle(tmp_path / "b.tar.gz").missing_namespaces == ["llmd"]


# ---- any manifest gaps: warnings, never a crash ------------------------------------------------------

_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
              st.sampled_from(["forbidden", "error", "timeout", "Pod", "pods", "llm-d", "list", "pods/log"])),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["kind", "verb", "resource", "namespace", "reason", "message", "pod", "container",
                         "previous", "x"]), c, max_size=6),
    max_leaves=16)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(failed=_values, not_collected=_values, missing=_values, warnings=_values)
def test_any_gap_fields_are_read_without_crashing(tmp_path: Path, failed: object, not_collected: object,
                                                   missing: object, warnings: object) -> None:
    root = tmp_path / "any"
    root.mkdir(exist_ok=True)
    (root / "p.yaml").write_text(yaml.safe_dump(POD))
    (root / "bundle.yaml").write_text(yaml.safe_dump({
        "apiVersion": "llmd-doctor/v1", "kind": "Bundle", "kinds": ["Pod"], "failedReads": failed,
        "notCollected": not_collected, "missingNamespaces": missing, "warnings": warnings}))
    snap = load_bundle(root, ["llm-d", "ghost"])
    results = run_checks(SPECS, snap)
    assert len(results) == len(SPECS)
    assert all(isinstance(w, str) for w in snap.warnings)
    assert set(snap.missing_namespaces) <= {"ghost"}
