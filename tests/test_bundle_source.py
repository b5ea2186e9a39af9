"""The bundle reader, per shared/spec/bundle.md."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from llmd_doctor.snapshot import LogRequest, NotCollected
from llmd_doctor.sources.bundle import BundleError, load_bundle, read_bundle

UPSTREAM = Path(__file__).resolve().parent / "upstream"  # verbatim copy of shared/upstream
POOL_CRD = UPSTREAM / "gie-v0.5.1" / "config__crd__bases__inference.networking.x-k8s.io_inferencepools.yaml"

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "decode-0", "namespace": "llm-d", "labels": {"llm-d.ai/role": "decode"}},
    "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0"}]},
    "status": {"phase": "Running"},
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "b"
    write(root / "llm-d" / "pods.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [POD]}))
    write(
        root / "llm-d" / "more.yaml",
        "---\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "llm-d"}})
        + "---\n" + yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "other"}}),
    )
    # A typed list as the API returns it: items without apiVersion/kind.
    write(root / "deep" / "er" / "cms.json", json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMapList", "items": [{"metadata": {"name": "cm", "namespace": "llm-d"}}]}
    ))
    shutil.copy(POOL_CRD, root / "crd.yaml")
    write(root / "logs" / "llm-d" / "decode-0" / "vllm.log", "INFO started\n")
    write(root / "logs" / "llm-d" / "decode-0" / "vllm.previous.log", "panic\n")
    write(root / "probes" / "e2e.json", json.dumps({"status": 200}))
    write(root / "bundle.yaml", yaml.safe_dump({
        "apiVersion": "llmd-doctor/v1", "kind": "Bundle", "context": "ctx", "serverVersion": "v1.31.4",
        "kinds": ["Pod", "RoleBinding.rbac.authorization.k8s.io"],
    }))
    return root


def test_reads_every_layout_of_objects(bundle: Path) -> None:
    data = read_bundle(bundle)
    kinds = sorted(o["kind"] for o in data.objects)
    assert kinds == ["ConfigMap", "CustomResourceDefinition", "Deployment", "Pod", "Service"]
    cm = next(o for o in data.objects if o["kind"] == "ConfigMap")
    assert cm["apiVersion"] == "v1"
    assert data.warnings == []
    assert data.logs[LogRequest("llm-d", "decode-0", "vllm", False)] == "INFO started\n"
    assert data.logs[LogRequest("llm-d", "decode-0", "vllm", True)] == "panic\n"
    assert data.probes == {"e2e": {"status": 200}}
    assert data.manifest["context"] == "ctx"


def test_absent_versus_not_collected(bundle: Path) -> None:
    snap = load_bundle(bundle)
    assert [o["metadata"]["name"] for o in snap.list("Pod")] == ["decode-0"]
    # Listed in the manifest with no objects: the cluster has none.
    assert snap.list("RoleBinding.rbac.authorization.k8s.io") == []
    # Neither listed nor present: unknown.
    with pytest.raises(NotCollected, match="bundle holds no Secret objects"):
        snap.list("Secret")
    assert snap.source.context == "ctx" and snap.source.server_version == "v1.31.4"


def test_served_versions_come_from_crds(bundle: Path) -> None:
    snap = load_bundle(bundle)
    assert snap.served_versions("InferencePool", "inference.networking.x-k8s.io") == ["v1alpha2"]
    assert snap.served_versions("InferencePool", "inference.networking.k8s.io") == []  # CRDs present, this one absent
    assert snap.served_versions("Deployment", "apps") == ["v1"]


def test_served_versions_unknown_without_crds(tmp_path: Path) -> None:
    write(tmp_path / "p.yaml", yaml.safe_dump(POD))
    snap = load_bundle(tmp_path)
    with pytest.raises(NotCollected, match="CustomResourceDefinition"):
        snap.served_versions("Gateway", "gateway.networking.k8s.io")


def test_logs_not_captured_is_unknown_not_empty(bundle: Path) -> None:
    snap = load_bundle(bundle)
    assert snap.log(LogRequest("llm-d", "decode-0", "routing-proxy")) is None  # pod captured, no such log
    with pytest.raises(NotCollected):
        snap.log(LogRequest("llm-d", "epp-0", "epp"))


def test_namespace_scope(bundle: Path) -> None:
    snap = load_bundle(bundle, ["other"])
    assert snap.list("Pod") == []
    assert [o["metadata"]["name"] for o in snap.list("Deployment.apps")] == ["d"]


@pytest.mark.parametrize("top_folder", [True, False])
def test_tarball_with_or_without_top_folder(bundle: Path, tmp_path: Path, top_folder: bool) -> None:
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for f in bundle.rglob("*"):
            if f.is_file():
                rel = f.relative_to(bundle).as_posix()
                tf.add(f, arcname=f"mybundle/{rel}" if top_folder else rel)
    snap = load_bundle(archive)
    assert [o["metadata"]["name"] for o in snap.list("Pod")] == ["decode-0"]
    assert snap.log(LogRequest("llm-d", "decode-0", "vllm", True)) == "panic\n"
    assert snap.source.context == "ctx"


def test_bad_files_are_warnings_not_crashes(tmp_path: Path) -> None:
    write(tmp_path / "broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    write(tmp_path / "nokind.yaml", "metadata: {name: x}\n")
    write(tmp_path / "scalar.json", "42")
    write(tmp_path / "good.yaml", yaml.safe_dump(POD))
    write(tmp_path / "logs" / "bad-path.log", "x")
    data = read_bundle(tmp_path)
    assert [o["kind"] for o in data.objects] == ["Pod"]
    text = "\n".join(data.warnings)
    assert "broken.yaml: does not parse" in text
    assert "nokind.yaml: object x has no apiVersion/kind" in text
    assert "scalar.json: not a Kubernetes object" in text
    assert "logs/bad-path.log" in text


def test_unreadable_bundle_is_a_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not found"):
        read_bundle(tmp_path / "missing")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(BundleError, match="cannot read bundle archive"):
        read_bundle(junk)


def test_an_empty_typed_list_means_none_not_unknown(tmp_path: Path) -> None:
    write(tmp_path / "llm-d" / "statefulsets.json", json.dumps(
        {"apiVersion": "apps/v1", "kind": "StatefulSetList", "metadata": {}, "items": []}))
    write(tmp_path / "llm-d" / "other.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": []}))
    write(tmp_path / "p.yaml", yaml.safe_dump(POD))
    snap = load_bundle(tmp_path)
    assert snap.list("StatefulSet.apps") == []  # `kubectl get statefulsets -o json` with none: listed
    with pytest.raises(NotCollected):
        snap.list("Service")  # an untyped empty List says nothing about any kind


def test_recorded_access_reviews_answer_access_questions(tmp_path: Path) -> None:
    from llmd_doctor.snapshot import AccessQuestion

    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "metadata": {},
           "spec": {"user": "system:serviceaccount:llm-d:epp", "groups": ["system:serviceaccounts"],
                    "resourceAttributes": {"verb": "list", "resource": "pods", "group": "", "namespace": "llm-d"}},
           "status": {"allowed": False}}
    write(tmp_path / "access" / "subjectaccessreviews.yaml",
          yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [sar]}))
    write(tmp_path / "p.yaml", yaml.safe_dump(POD))
    snap = load_bundle(tmp_path)
    q = AccessQuestion("system:serviceaccount:llm-d:epp", "list", "pods", "", "llm-d", ("system:serviceaccounts",))
    assert snap.reviewed(q) is False
    with pytest.raises(NotCollected):
        snap.reviewed(AccessQuestion("someone", "list", "pods"))
    assert "SubjectAccessReview.authorization.k8s.io" not in snap.objects  # answers, not cluster objects


def test_collect_layout_is_native_not_must_gather(tmp_path: Path) -> None:
    """`collect` writes namespaces/<ns>/...: with bundle.yaml beside it, it is a native bundle."""
    write(tmp_path / "bundle.yaml", "apiVersion: llmd-doctor/v1\nkind: Bundle\nnamespaces: [llm-d]\n")
    write(tmp_path / "namespaces" / "llm-d" / "pods.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "List",
                                                                          "items": [POD]}))
    write(tmp_path / "namespaces" / "llm-d" / "core" / "notes.json", json.dumps({"note": "x"}))
    data = read_bundle(tmp_path)
    assert data.layout == "bundle" and [o["metadata"]["name"] for o in data.objects] == ["decode-0"]
    assert any("notes.json" in w for w in data.warnings)  # native bundles warn about non-objects
