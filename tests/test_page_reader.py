"""The page reader (sources/page_reader.py): a second process that reads every other page of long lists.

Against the fake API server over real HTTP, with pages so small that the examples' lists have
several: the results equal the bundle's and a run's without the reader, the same pages are asked
for (once each), a page the server refuses the reader is read as the parent reads its own, and
when the reader dies or cannot start, the list is read again by the parent alone.

In these small clusters no list is long enough to be worth a reader, and each is read before a
reader process could start; so `Prompt` (the reader, waiting for its process to be ready, with
`MIN_BYTES` 0) makes it take part in every list with a second page.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from fakeapi import FakeApiServer, Fault
from test_live import comparable, run_json

from llmd_doctor.sources import live, page_reader

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


class Prompt(page_reader.PageReader):
    """The reader, started with the run and waited for: every list with a second page uses it."""

    made: list[Prompt] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages = 0
        self.killed = False
        self.kill_after: int | None = None
        Prompt.made.append(self)
        self.start()

    def ready(self, wait: float = 0.0) -> bool:
        return super().ready(wait=20)

    def submit(self, job_of: Any) -> page_reader.Pending:
        pending = super().submit(job_of)
        self.pages += 1
        if self.kill_after is not None and self.pages > self.kill_after and self._proc is not None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self.killed = True
        return pending


@pytest.fixture
def prompt(monkeypatch: pytest.MonkeyPatch) -> type[Prompt]:
    Prompt.made = []
    monkeypatch.setattr(live, "PageReader", Prompt)
    monkeypatch.setattr(page_reader, "MIN_BYTES", 0)  # every list with a second page is worth it here
    return Prompt


def _requests(srv: FakeApiServer) -> list[tuple[str, str, str]]:
    """What was asked, but the logs (which pods' logs are read depends on nothing here) and reviews."""
    return sorted((r.method, r.path, str(sorted(r.query.items()))) for r in srv.requests
                  if "/log" not in r.path and r.method == "GET")


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_with_the_reader_the_results_and_the_pages_asked_for_are_those_without_it(
        example: str, prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, offline = run_json(capsys, "--bundle", str(EXAMPLES / example))
    with FakeApiServer(EXAMPLES / example) as srv:
        code, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
        with_reader = _requests(srv)
    assert sum(r.pages for r in prompt.made) >= 5  # the reader read pages of several lists
    assert comparable(doc) == comparable(offline)

    monkeypatch.setenv("LLMD_DOCTOR_PAGE_READER", "0")
    prompt.made = []
    with FakeApiServer(EXAMPLES / example) as srv:
        code_alone, alone = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k2"), "--chunk-size", "1")
        without = _requests(srv)
    assert not prompt.made
    assert (code, comparable(doc)) == (code_alone, comparable(alone))
    assert with_reader == without  # every page asked for once, by one of the two


@pytest.mark.parametrize("code", [403, 410, 500])
def test_a_page_refused_to_the_reader_is_read_as_the_parents_own(code: int, prompt: type[Prompt], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "seed-rosa-epp-segfault"

    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return Fault(status=code) if path == "/apis/apps/v1/deployments" and "continue" in query else None

    docs = []
    for reader in (True, False):
        os.environ["LLMD_DOCTOR_PAGE_READER"] = "1" if reader else "0"
        try:
            with FakeApiServer(example, fault=fault) as srv:
                docs.append(run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / f"k{reader}"),
                                     "--chunk-size", "1")[1])
        finally:
            del os.environ["LLMD_DOCTOR_PAGE_READER"]
    assert prompt.made and prompt.made[0].pages
    epp = [next(c for c in d["checks"] if c["id"] == "epp.deployment") for d in docs]
    assert epp[0]["status"] == "error" and epp[0]["message"] == epp[1]["message"], epp
    assert comparable(docs[0]) == comparable(docs[1])


def test_a_reader_that_dies_midway_leaves_the_list_to_the_parent(prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "seed-rosa-epp-segfault"
    _, offline = run_json(capsys, "--bundle", str(example))
    original = Prompt.__init__

    def dying(self: Prompt, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.kill_after = 2

    monkeypatch.setattr(Prompt, "__init__", dying)
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    assert prompt.made[0].killed and prompt.made[0].stopped  # stopped answering, or could not be sent a page
    assert comparable(doc) == comparable(offline)


def test_a_reader_that_cannot_start_changes_nothing(prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "healthy"
    _, offline = run_json(capsys, "--bundle", str(example))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(Prompt, "ready", page_reader.PageReader.ready)  # nothing to wait for
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    reader = prompt.made[0]
    assert reader.stopped and reader.stopped.startswith("the page reader cannot start") and reader.pages == 0
    assert comparable(doc) == comparable(offline)


def test_the_readers_requests_are_counted_with_the_runs(prompt: type[Prompt], tmp_path: Path) -> None:
    from llmd_doctor.run import RunOptions, build_snapshot, choose_specs

    with FakeApiServer(EXAMPLES / "healthy") as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), chunk_size=1)
        snap = build_snapshot(opts, choose_specs(opts))
        served = len(srv.requests)
    assert prompt.made[0].pages
    assert snap.requests == served


def test_the_reader_process_ends_cleanly_once_its_last_page_is_sent(prompt: type[Prompt], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's process ends as soon as its stdin closes and its last message is written (without
    tearing its interpreter down), with status 0, after it read its pages."""
    from llmd_doctor.run import RunOptions, build_snapshot, choose_specs

    procs: list[Any] = []
    start = page_reader.PageReader._start

    def keep(self: page_reader.PageReader) -> None:
        start(self)
        if not any(p is self._proc for p in procs):  # start() is asked again by every list
            procs.append(self._proc)

    monkeypatch.setattr(page_reader.PageReader, "_start", keep)
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), chunk_size=1)
        build_snapshot(opts, choose_specs(opts))
    assert prompt.made[0].pages and prompt.made[0].stopped is None
    assert [p.returncode for p in procs] == [0]


def test_a_reader_that_exits_at_once_stops_no_list_from_being_read(
        prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A Python that is no Python (a frozen build): the reader process exits before it says hello;
    the lists waiting for it go on alone, with the same results."""
    false = "/bin/false"
    if not os.path.exists(false):
        pytest.skip("no /bin/false here")
    monkeypatch.setattr(sys, "executable", false)
    monkeypatch.setattr(Prompt, "ready", page_reader.PageReader.ready)
    example = EXAMPLES / "healthy"
    _, offline = run_json(capsys, "--bundle", str(example))
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    reader = prompt.made[0]
    assert reader.stopped and "stopped" in reader.stopped and reader._ready.is_set()
    assert comparable(doc) == comparable(offline)


def test_credentials_rejected_on_a_readers_page_end_the_run_as_the_parents_would(
        prompt: type[Prompt], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "healthy"

    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return Fault(status=401) if path == "/api/v1/pods" and query.get("continue") else None

    with FakeApiServer(example, fault=fault) as srv, pytest.raises(SystemExit) as exc:
        from llmd_doctor.cli import main

        main(["check", "-o", "json", "--no-probe", "--kubeconfig", srv.kubeconfig(tmp_path / "k"),
              "--chunk-size", "1"])
    _, err = capsys.readouterr()
    assert prompt.made[0].pages
    assert exc.value.code not in (0, 1) and "rejected our credentials (401 Unauthorized)" in err, err


def _both(fault: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str,
          example: str = "seed-rosa-epp-segfault") -> dict[bool, dict]:
    """The run's JSON with the reader and without it, against servers that answer alike."""
    docs = {}
    for reader in (True, False):
        os.environ["LLMD_DOCTOR_PAGE_READER"] = "1" if reader else "0"
        try:
            with FakeApiServer(EXAMPLES / example, fault=fault) as srv:
                docs[reader] = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / f"k{reader}"), *argv)[1]
        finally:
            del os.environ["LLMD_DOCTOR_PAGE_READER"]
    return docs


def test_a_list_that_fails_while_the_reader_parses_its_page_leaves_the_reader_whole(
        prompt: type[Prompt], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reader's page is slow to parse and the parent's next page is gone (410): the list gives
    up on the reader's page, whose answer then comes to nobody; the reader serves the other lists on."""
    big = json.dumps({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"continue": "tokX",
                      "remainingItemCount": 5}, "items": [{"metadata": {"name": f"d{i}", "namespace": "x", "uid": str(i)}}
                                                         for i in range(60000)]}).encode()

    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        if path == "/apis/apps/v1/deployments":
            return Fault(status=200, body=big) if not query.get("continue") else Fault(status=410)
        return None

    docs = _both(fault, tmp_path, capsys, "--chunk-size", "1")
    reader = prompt.made[0]
    assert reader.pages and reader.stopped is None, reader.stopped
    assert comparable(docs[True]) == comparable(docs[False])


def test_the_deadline_is_the_runs_in_the_reader_too(prompt: type[Prompt], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A page the reader asks for when the run's deadline passes says the run's deadline, as alone."""
    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return Fault(delay_s=2.5) if path == "/apis/apps/v1/deployments" and query.get("continue") else None

    docs = _both(fault, tmp_path, capsys, "--chunk-size", "1", "--timeout", "1.5s")
    assert prompt.made[0].pages
    said = {c["message"] for d in docs.values() for c in d["checks"] if "deadline" in c["message"]}
    assert said and all("deadline of 1.5s passed" in m for m in said), said
    assert comparable(docs[True]) == comparable(docs[False])


def test_an_empty_continue_token_is_the_last_page(prompt: type[Prompt], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from llmd_doctor.sources.bundle import read_bundle

    deployments = [o for o in read_bundle(EXAMPLES / "seed-rosa-epp-segfault").objects if o["kind"] == "Deployment"]
    body = json.dumps({"kind": "DeploymentList", "apiVersion": "apps/v1",
                       "metadata": {"continue": "", "remainingItemCount": 0}, "items": deployments}).encode()

    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return Fault(status=200, body=body) if path == "/apis/apps/v1/deployments" else None

    docs = _both(fault, tmp_path, capsys, "--chunk-size", "1")
    epp = [next(c for c in d["checks"] if c["id"] == "epp.deployment") for d in docs.values()]
    assert epp[0]["status"] == "fail" and epp[0]["message"] == epp[1]["message"]
    assert comparable(docs[True]) == comparable(docs[False])


def test_credentials_that_fail_when_a_list_starts_leave_the_list_to_the_parent(
        prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A token file or exec plugin that fails while the reader's connection is made: the parent reads
    the list (where the same failure is an API error for the kinds it hits), never a traceback."""
    def failing(client: Any) -> page_reader.Connect:
        raise page_reader.ReaderStopped("no credentials for the page reader: FileNotFoundError: token")

    original = page_reader.connect_for
    assert original is not None
    monkeypatch.setattr(page_reader, "connect_for", failing)
    example = EXAMPLES / "healthy"
    _, offline = run_json(capsys, "--bundle", str(example))
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    assert comparable(doc) == comparable(offline)


def test_the_credentials_error_of_a_token_file_is_the_readers_stop(tmp_path: Path) -> None:
    from llmd_doctor.sources.kubeclient import KubeClient
    from llmd_doctor.sources.kubeconfig import Target

    def gone() -> str:
        raise FileNotFoundError(str(tmp_path / "token"))

    client = KubeClient(target=Target(host="https://127.0.0.1:1", authorization=gone))
    with pytest.raises(page_reader.ReaderStopped, match="no credentials for the page reader: FileNotFoundError"):
        page_reader.connect_for(client)


def test_the_reader_imports_nothing_from_the_directory_the_tool_runs_in(
        prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The reader holds the cluster's credentials: a `queue.py` where the user happens to be must not
    run in it (`python -c` would put the current directory first on its path)."""
    here = tmp_path / "repo"
    here.mkdir()
    marker = tmp_path / "imported"
    for name in ("queue", "json", "signal", "pickle"):
        (here / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name}\\n')\n")
    monkeypatch.chdir(here)
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    assert prompt.made[0].pages
    assert not marker.exists(), marker.read_text()


def test_collect_with_the_reader_writes_the_bundle_collect_writes_without_it(
        prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`collect` keeps objects whole: the reader's pages are unpickled whole; every object file is the same."""
    import tarfile

    from llmd_doctor.cli import main

    def objects(archive: Path) -> dict[str, bytes]:
        with tarfile.open(archive) as tf:
            return {m.name.split("/", 1)[-1]: tf.extractfile(m).read()  # type: ignore[union-attr]
                    for m in tf.getmembers() if m.isfile() and not m.name.endswith("bundle.yaml")}

    archives = {}
    for reader in ("1", "0"):
        monkeypatch.setenv("LLMD_DOCTOR_PAGE_READER", reader)
        archives[reader] = tmp_path / f"b{reader}.tar.gz"
        with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv, pytest.raises(SystemExit) as exc:
            main(["collect", "--kubeconfig", srv.kubeconfig(tmp_path / f"k{reader}"), "--chunk-size", "1", "-q",
                  "-o", str(archives[reader])])
        assert exc.value.code in (0, None)
    assert prompt.made and prompt.made[0].pages
    assert objects(archives["1"]) == objects(archives["0"])


def test_the_reader_is_worth_it_only_for_a_long_list() -> None:
    """What the first page's size times `remainingItemCount` says is left, against MIN_BYTES: a list by
    selector (no count), a short one, and one like issue #15's pods (3.8 MB pages, 9,500 more pods)."""
    def page(remaining: int | None, size: int) -> bytes:
        meta = {"continue": "t", **({"remainingItemCount": remaining} if remaining is not None else {})}
        head = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": meta})[:-1]
        return (head + ', "items": [' + " " * size + "]}").encode()

    assert not page_reader.worth_it(page(None, 3_800_000), 500)  # by selector: small by design
    assert not page_reader.worth_it(page(1_000, 2_000_000), 500)  # ~4 MB more: parsed alone
    assert page_reader.worth_it(page(9_500, 3_800_000), 500)  # ~72 MB more
    assert not page_reader.worth_it(b'{"kind": "PodList", "items": []}', 500)
