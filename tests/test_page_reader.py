"""The page reader (sources/page_reader.py): a second process that reads every other page of long lists.

Against the fake API server over real HTTP, with pages so small that the examples' lists have
several: the results equal the bundle's and a run's without the reader, the same pages are asked
for (once each), a page the server refuses the reader is read as the parent reads its own, and
when the reader dies or cannot start, the list is read again by the parent alone.

In these small clusters a list is read before a reader process could start, so `Prompt` (the
reader, waiting for its process to be ready before a list is read) makes it take part in every
list with a second page.
"""

from __future__ import annotations

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
        self.warm()

    def ready(self) -> bool:
        self._ready.wait(timeout=20)
        return super().ready()

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
    assert prompt.made[0].killed and prompt.made[0].broken
    assert comparable(doc) == comparable(offline)


def test_a_reader_that_cannot_start_changes_nothing(prompt: type[Prompt], monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "healthy"
    _, offline = run_json(capsys, "--bundle", str(example))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(Prompt, "ready", page_reader.PageReader.ready)  # nothing to wait for
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    assert prompt.made[0].broken and prompt.made[0].pages == 0
    assert comparable(doc) == comparable(offline)


def test_the_readers_requests_are_counted_with_the_runs(prompt: type[Prompt], tmp_path: Path) -> None:
    from llmd_doctor.run import RunOptions, build_snapshot, choose_specs

    with FakeApiServer(EXAMPLES / "healthy") as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), chunk_size=1)
        snap = build_snapshot(opts, choose_specs(opts))
        served = len(srv.requests)
    assert prompt.made[0].pages
    assert snap.requests == served


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
