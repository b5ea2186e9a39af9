"""Bundles that are not what they claim: empty ones, unsafe tarball members, archive bombs."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import CliRun

from llmd_doctor.snapshot import LogRequest
from llmd_doctor.sources import bundle as bundle_source
from llmd_doctor.sources.bundle import BundleError, load_bundle, read_bundle

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "decode-0", "namespace": "llm-d"},
       "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0"}]}}
MANIFEST = {"apiVersion": "llmd-doctor/v1", "kind": "Bundle", "context": "ctx", "kinds": ["Pod", "Service"]}


def tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def file(name: str, data: bytes | str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data.encode() if isinstance(data, str) else data


def link(name: str, target: str, hard: bool = False) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = (tarfile.LNKTYPE if hard else tarfile.SYMTYPE), target
    return info, b""


# ---- bundles with nothing in them -----------------------------------------------------------------


def test_an_empty_directory_is_a_usage_error(tmp_path: Path, cli: CliRun) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli("check", "--bundle", str(empty))
    assert (code, out) == (2, "")
    assert err == f"llmd-doctor: error: bundle {empty} holds no Kubernetes objects (it holds no files)\n"


def test_files_that_are_not_objects(tmp_path: Path, cli: CliRun) -> None:
    (tmp_path / "README.md").write_text("# notes\n")
    (tmp_path / "logs" / "llm-d" / "p").mkdir(parents=True)
    (tmp_path / "logs" / "llm-d" / "p" / "c.log").write_text("hello\n")
    with pytest.raises(BundleError, match=r"holds no Kubernetes objects \(none of its 2 file\(s\) is a"):
        read_bundle(tmp_path)


def test_a_bundle_whose_files_all_fail_to_parse_names_the_first_few(tmp_path: Path,
                                                                    cli: CliRun) -> None:
    for i in range(5):
        (tmp_path / f"broken{i}.yaml").write_text("kind: Pod\nmetadata: {name: [\n")
    code, _, err = cli("check", "--bundle", str(tmp_path))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"llmd-doctor: error: bundle {tmp_path} holds no Kubernetes objects: broken0.yaml: does not parse")
    assert "broken2.yaml" in err and "broken3.yaml" not in err and err.endswith("; and 2 more\n")


def test_an_archive_with_no_objects(tmp_path: Path, cli: CliRun) -> None:
    archive = tar(tmp_path / "b.tar.gz", [file("b/notes.txt", "x")])
    code, _, err = cli("check", "--bundle", str(archive))
    assert code == 2 and "holds no Kubernetes objects" in err


def test_a_manifest_that_names_kinds_is_an_empty_cluster_not_an_empty_bundle(tmp_path: Path) -> None:
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump(MANIFEST))
    snap = load_bundle(tmp_path)
    assert snap.list("Pod") == [] and snap.list("Service") == []  # listed: the cluster has none
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump({"apiVersion": "llmd-doctor/v1", "kind": "Bundle"}))
    with pytest.raises(BundleError, match="holds no Kubernetes objects"):
        load_bundle(tmp_path)


# ---- unsafe members ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "why"), [
    (file("/etc/evil.yaml", yaml.safe_dump(POD)), "outside the bundle (absolute path or ..)"),
    (file("b/../../evil.yaml", yaml.safe_dump(POD)), "outside the bundle (absolute path or ..)"),
    (link("b/logs/llm-d/decode-0/evil.log", "/etc/shadow"), "is a link (to /etc/shadow)"),
    (link("b/pods-link.yaml", "b/pods.yaml", hard=True), "is a link (to b/pods.yaml)"),
])
def test_unsafe_members_are_skipped_with_a_warning_and_the_top_folder_still_stripped(
        tmp_path: Path, bad: tuple[tarfile.TarInfo, bytes], why: str) -> None:
    archive = tar(tmp_path / "b.tar.gz", [
        file("b/bundle.yaml", yaml.safe_dump(MANIFEST)),
        file("b/pods.yaml", yaml.safe_dump(POD)),
        file("b/logs/llm-d/decode-0/vllm.log", "INFO started\n"),
        bad,
    ])
    snap = load_bundle(archive)
    assert [w for w in snap.warnings if bad[0].name in w] == [f"{bad[0].name}: archive member {why}, skipped"]
    # The rest reads as usual: the manifest and the logs are found under the stripped top folder.
    assert snap.source.context == "ctx"
    assert snap.log(LogRequest("llm-d", "decode-0", "vllm")) == "INFO started\n"
    assert [p["metadata"]["name"] for p in snap.list("Pod")] == ["decode-0"]


def test_a_leading_dot_slash_is_not_unsafe(tmp_path: Path) -> None:
    archive = tar(tmp_path / "b.tar.gz", [file("./b/bundle.yaml", yaml.safe_dump(MANIFEST)),
                                          file("./b/pods.yaml", yaml.safe_dump(POD))])
    snap = load_bundle(archive)
    assert snap.source.context == "ctx" and snap.warnings == []


# ---- caps -------------------------------------------------------------------------------------------


def empty_entries_tarball(path: Path, n: int) -> Path:
    """n empty members (one header each): ~2 MB gzipped for 400,000. Written raw, it takes a second."""
    header = tarfile.TarInfo("b/f.yaml").tobuf(tarfile.GNU_FORMAT)
    with gzip.open(path, "wb", compresslevel=1) as gz:
        for _ in range(n // 10_000):
            gz.write(header * 10_000)
        gz.write(b"\0" * 1024)
    return path


def test_an_archive_of_400k_empty_entries_stops_at_the_cap_holding_no_headers(
        tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = empty_entries_tarball(tmp_path / "bomb.tar.gz", 400_000)
    assert archive.stat().st_size < 4 * 1024 * 1024
    parsed = {"headers": 0, "held": 0}
    real_next = tarfile.TarFile.next

    def counting_next(self: tarfile.TarFile) -> tarfile.TarInfo | None:
        parsed["held"] = max(parsed["held"], len(self.members))
        m = real_next(self)
        parsed["headers"] += m is not None
        return m

    monkeypatch.setattr(tarfile.TarFile, "next", counting_next)
    code, _, err = cli("check", "--bundle", str(archive))
    assert code == 2
    assert err == (f"llmd-doctor: error: bundle archive {archive} has more than 100,000 members; a bundle has far "
                   "fewer (unpack it and pass the directory if it is genuine)\n")
    # Stopped at the cap: the other 299,999 headers are never parsed (the old reader parsed all 400,000:
    # 38 s, 434 MB), and tarfile's own list of headers never grows (bounded memory).
    assert parsed["headers"] == 100_002  # 100,001 headers; tarfile.open reads the first ahead and returns it twice
    assert parsed["held"] <= 1


def test_member_cap_counts_members_not_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_source, "MAX_MEMBERS", 3)
    ok = tar(tmp_path / "ok.tar.gz", [file("b/bundle.yaml", yaml.safe_dump(MANIFEST)), file("b/p.yaml", yaml.safe_dump(POD))])
    assert load_bundle(ok).source.context == "ctx"
    dirs = [(tarfile.TarInfo(f"b/d{i}"), b"") for i in range(3)]
    for info, _ in dirs:
        info.type = tarfile.DIRTYPE
    with pytest.raises(BundleError, match="more than 3 members"):
        read_bundle(tar(tmp_path / "dirs.tar.gz", [*dirs, file("b/p.yaml", yaml.safe_dump(POD))]))


def test_a_member_claiming_gigabytes_is_refused_before_reading(tmp_path: Path) -> None:
    big = tarfile.TarInfo("b/huge.log")
    big.size = 3 * 1024**3
    path = tmp_path / "big.tar.gz"
    with gzip.open(path, "wb") as gz:  # the header alone: the data it claims is not there
        gz.write(tarfile.TarInfo("b/p.yaml").tobuf() + big.tobuf() + b"\0" * 1024)
    with pytest.raises(BundleError, match=r"holds more than 2 GiB uncompressed"):
        read_bundle(path)
