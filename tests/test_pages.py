"""List pages parsed in helper processes (sources/pages.py) give what parsing them here gives.

The helpers only move work to spare cores: the same items, the same warnings, the same errors, and a
helper that fails leaves its page to this process. These run real helper processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeapi import FakeApiServer
from test_live import comparable, run_json

from llmd_doctor.snapshot import ApiError
from llmd_doctor.sources import pages
from llmd_doctor.sources.pages import PageKind, PageParsers, Shaper, read_page

ROOT = Path(__file__).resolve().parents[1]
POD_PAGE = PageKind("Pod", "Pod", "v1", prune=True)


@pytest.fixture
def every_page_to_helpers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page goes to a helper (one, whatever the machine's cores); yields the kinds they parsed."""
    used: list[str] = []
    parse = pages._Helper.parse

    def counted(self: pages._Helper, body: bytes, pk: PageKind) -> pages.Page:
        page = parse(self, body, pk)
        used.append(pk.key)
        return page

    monkeypatch.setattr(pages, "BIG_PAGE", 0)
    monkeypatch.setattr(pages, "HERE_TOO", False)
    monkeypatch.setattr(pages, "spare_cores", lambda: 1)
    monkeypatch.setattr(pages._Helper, "parse", counted)
    yield used


def _pod_list(n: int, bad: int | None = None) -> bytes:
    items = []
    for i in range(n):
        containers = [1] if i == bad else [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0",
                                             "volumeMounts": [{"name": f"kube-api-access-{i:05d}",
                                                               "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}]
        items.append({"metadata": {"name": f"vllm-{i}", "namespace": "llm-d", "labels": {"app": "vllm"},
                                   "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "u"}]},
                      "spec": {"containers": containers}, "status": {"phase": "Running"}})
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "next"}, "items": items}).encode()


def test_a_helper_gives_the_items_warnings_and_token_parsing_here_gives(every_page_to_helpers: list[str]) -> None:
    body = _pod_list(40, bad=7)
    parsers = PageParsers(Shaper())
    try:
        there = parsers.parse(body, POD_PAGE)
    finally:
        parsers.close()
    here = read_page(body, POD_PAGE, Shaper())
    assert every_page_to_helpers == ["Pod"]
    assert (there.items, there.warnings, there.cont) == (here.items, here.warnings, here.cont)
    assert len(there.items) == 39 and there.warnings == [
        "Pod vllm-7 has malformed field spec.containers[0] (an integer, not an object), ignored"]
    # Shared with this process's Sharer: the replicas hold one containers list.
    assert there.items[0]["spec"]["containers"] is there.items[-1]["spec"]["containers"]


def test_a_page_that_is_no_list_is_the_same_error_from_a_helper(every_page_to_helpers: list[str]) -> None:
    parsers = PageParsers(Shaper())
    try:
        with pytest.raises(ApiError) as there:
            parsers.parse(b'{"items": 3}', POD_PAGE)
        assert not parsers._failed  # the page was wrong, not the helper: it is used again
        assert len(parsers.parse(_pod_list(3), POD_PAGE).items) == 3
        assert len(parsers._all) == 1 and every_page_to_helpers == ["Pod"]
    finally:
        parsers.close()
    with pytest.raises(ApiError) as here:
        read_page(b'{"items": 3}', POD_PAGE, Shaper())
    assert str(there.value) == str(here.value) == "list pod: the response is not a list"


def test_a_helper_that_dies_leaves_its_page_to_this_process(every_page_to_helpers: list[str]) -> None:
    body = _pod_list(5)
    parsers = PageParsers(Shaper())
    try:
        parsers.parse(body, POD_PAGE)  # starts the helper
        for h in parsers._all:
            h.proc.kill()
            h.proc.wait()
        page = parsers.parse(body, POD_PAGE)
        assert parsers._failed and parsers.concurrency == 1
    finally:
        parsers.close()
    assert [p["metadata"]["name"] for p in page.items] == [f"vllm-{i}" for i in range(5)]


def test_no_helper_without_a_spare_core() -> None:
    parsers = PageParsers(Shaper(), helpers=0)
    page = parsers.parse(_pod_list(2000), POD_PAGE)
    assert len(page.items) == 2000 and parsers._all == [] and parsers.concurrency == 1


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_live_with_helpers_equals_bundle(example: str, every_page_to_helpers: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _, offline = run_json(capsys, "--bundle", str(ROOT / "examples" / example))
    with FakeApiServer(ROOT / "examples" / example) as srv:
        _, live = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "3")
    assert "Pod" in every_page_to_helpers and len(every_page_to_helpers) > 10
    assert comparable(live) == comparable(offline)
