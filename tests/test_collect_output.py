"""`collect -o`: where the archive goes. Devices and pipes are written in place, never replaced;
`-o -` is stdout; a directory gets a default name; a regular file is written atomically."""

from __future__ import annotations

import io
import os
import socket
import stat
import tarfile
import threading
from pathlib import Path

import pytest
import yaml
from conftest import CliRun
from fakeapi import FakeApiServer

from llmd_doctor.archive import default_output
from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
HEALTHY = ROOT / "examples" / "healthy"


def run_binary(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    """The entry point with stdout captured as bytes (the `cli` fixture decodes it as text)."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsysbinary.readouterr()
    return int(exc.value.code or 0), out, err.decode()


def device(tmp_path: Path, name: str, minor: int) -> Path:
    """/dev/null (minor 3) or /dev/full (minor 7). As root, a node of the same device in tmp_path, so a
    regression replaces a test file and not the machine's /dev/null; otherwise the real one (a
    non-root user cannot replace it)."""
    if os.geteuid() != 0:
        return Path("/dev") / name
    node = tmp_path / name
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return node


def archive_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
        return tf.getnames()


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a generator fixture
    with FakeApiServer(HEALTHY) as srv:
        yield srv.kubeconfig(tmp_path_factory.mktemp("kc") / "kc")


def test_dev_null_is_written_in_place_not_replaced(tmp_path: Path, kubeconfig: str,
                                                   cli: CliRun) -> None:
    null = device(tmp_path, "null", 3)
    code, out, err = cli("collect", "--kubeconfig", kubeconfig, "-o", str(null))
    assert code == 0, err
    assert out == "" and f"wrote {null} (" in err
    assert stat.S_ISCHR(os.stat(null).st_mode) and os.stat(null).st_rdev == os.makedev(1, 3)
    assert not [p for p in null.parent.iterdir() if p.name.endswith(".part")]


def test_dev_full_is_a_one_line_error_and_leaves_nothing(tmp_path: Path, kubeconfig: str,
                                                         cli: CliRun) -> None:
    full = device(tmp_path, "full", 7)
    before = sorted(p.name for p in full.parent.iterdir())
    code, out, err = cli("collect", "--kubeconfig", kubeconfig, "-o", str(full))
    assert code == 2 and out == ""
    assert err == f"llmd-doctor: error: cannot write {full}: No space left on device\n"
    assert stat.S_ISCHR(os.stat(full).st_mode) and os.stat(full).st_rdev == os.makedev(1, 7)
    assert sorted(p.name for p in full.parent.iterdir()) == before


def test_dash_writes_the_archive_to_stdout_and_the_summary_to_stderr(
        tmp_path: Path, kubeconfig: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = run_binary(capsysbinary, "collect", "--kubeconfig", kubeconfig, "-o", "-")
    assert code == 0, err
    assert isinstance(out, bytes) and err.startswith("wrote stdout (")
    names = archive_names(out)
    top = {n.split("/", 1)[0] for n in names}
    assert len(top) == 1 and next(iter(top)).startswith("llmd-doctor-bundle-fake-")
    assert any(n.endswith("/bundle.yaml") for n in names) and any("/namespaces/llm-d/pods.yaml" in n for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written beside


def test_a_fifo_is_streamed_into(tmp_path: Path, kubeconfig: str, cli: CliRun) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = cli("collect", "--kubeconfig", kubeconfig, "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert any(n.endswith("/bundle.yaml") for n in archive_names(got[0]))


def test_a_directory_gets_a_name_with_context_and_time(tmp_path: Path, kubeconfig: str,
                                                       cli: CliRun) -> None:
    code, _, err = cli("collect", "--kubeconfig", kubeconfig, "-o", str(tmp_path))
    assert code == 0, err
    [written] = list(tmp_path.iterdir())
    assert written.name.startswith("llmd-doctor-bundle-fake-") and written.name.endswith(".tar.gz")
    assert f"wrote {written} (" in err
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    top = written.name.removesuffix(".tar.gz")
    with tarfile.open(written) as tf:
        assert yaml.safe_load(tf.extractfile(f"{top}/bundle.yaml").read())["context"] == "fake"  # type: ignore[union-attr]


def test_a_symlink_is_followed_and_kept(tmp_path: Path, kubeconfig: str, cli: CliRun) -> None:
    real = tmp_path / "real.tar.gz"
    real.write_bytes(b"old")
    link = tmp_path / "latest.tar.gz"
    link.symlink_to(real)
    code, _, err = cli("collect", "--kubeconfig", kubeconfig, "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert any(n.endswith("/bundle.yaml") for n in archive_names(real.read_bytes()))


def test_targets_refused_before_reading_the_cluster(tmp_path: Path, cli: CliRun) -> None:
    with FakeApiServer(HEALTHY) as srv:
        kc = srv.kubeconfig(tmp_path / "kc")
        sock_path = tmp_path / "s.sock"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_path))
            code, _, err = cli("collect", "--kubeconfig", kc, "-o", str(sock_path))
        assert code == 2 and err.startswith(f"llmd-doctor: error: cannot write {sock_path}: it is a socket")
        code, _, err = cli("collect", "--kubeconfig", kc, "-o", f"{tmp_path}/nodir/")
        assert code == 2 and "does not exist" in err
        assert srv.requests == []  # refused before any request
    assert not (tmp_path / "nodir").exists()


def test_default_name_is_safe_for_any_context() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    assert default_output(now) == "llmd-doctor-bundle-20261203-100000.tar.gz"
    assert default_output(now, "arn:aws:eks:us-east-1:1234:cluster/prod") == \
        "llmd-doctor-bundle-arn-aws-eks-us-east-1-1234-cluster-prod-20261203-100000.tar.gz"
    assert default_output(now, "default/api-ocp:6443/kube:admin") == \
        "llmd-doctor-bundle-default-api-ocp-6443-kube-admin-20261203-100000.tar.gz"
    assert default_output(now, "../..") == "llmd-doctor-bundle-20261203-100000.tar.gz"
