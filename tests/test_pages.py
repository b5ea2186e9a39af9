"""List pages, from JSON bytes to the items kept (sources/pages.py).

A page parsed while the next is fetched keeps what the list gives, in order; malformed items are
named once; replicas of one owner share their containers; a body that is no list is an ApiError
with the kind's name. The live source's pipelining over real HTTP is tests/test_live.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakeapi import FakeApiServer
from test_live import comparable, run_json

from llmd_doctor.snapshot import ApiError
from llmd_doctor.sources import live
from llmd_doctor.sources.pages import PageKind, Shaper, read_page

ROOT = Path(__file__).resolve().parents[1]
POD_PAGE = PageKind("Pod", "Pod", "v1", prune=True, plural="pods")


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


def test_a_page_keeps_its_items_in_order_names_the_malformed_and_shares_replicas_parts() -> None:
    page = read_page(_pod_list(40, bad=7), POD_PAGE, Shaper())
    assert [p["metadata"]["name"] for p in page.items] == [f"vllm-{i}" for i in range(40) if i != 7]
    assert all(p["apiVersion"] == "v1" and p["kind"] == "Pod" for p in page.items)
    assert page.warnings == ["Pod vllm-7 has malformed field spec.containers[0] (an integer, not an object), ignored"]
    assert page.cont == "next"
    # Equal to the previous replica's: one list (the malformed one in between starts a new run).
    before, after = page.items[:7], page.items[7:]
    assert all(p["spec"]["containers"] is before[0]["spec"]["containers"] for p in before)
    assert all(p["spec"]["containers"] is after[0]["spec"]["containers"] for p in after)


@pytest.mark.parametrize("body", [b'{"items": 3}', b"[1, 2]", b'{"kind": "PodList", "metadata": {}}'])
def test_a_page_that_is_no_list_names_the_kind(body: bytes) -> None:
    with pytest.raises(ApiError, match=r"^list pods: the response is not a list$"):
        read_page(body, POD_PAGE, Shaper())


def test_malformed_json_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="malformed JSON in the API response"):
        read_page(b'{"items": [', POD_PAGE, Shaper())


@pytest.mark.parametrize("ahead", [0, 1, 3])
def test_pages_parsed_while_the_next_is_fetched_give_the_bundle_results(
        ahead: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(live, "PARSE_AHEAD", ahead)
    example = ROOT / "examples" / "seed-rosa-epp-segfault"
    _, offline = run_json(capsys, "--bundle", str(example))
    with FakeApiServer(example) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "2")
    assert comparable(doc) == comparable(offline)


@pytest.mark.parametrize("code", [404, 410])
def test_a_later_page_gone_is_an_error_not_the_list(code: int, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """404/410 on a continue page (the list expired or went away midway): what was read is not the
    whole list, so the kind is an error, not the first pages nor "not served"."""
    from fakeapi import Fault

    example = ROOT / "examples" / "seed-rosa-epp-segfault"

    def fault(method: str, path: str, query: dict[str, str]) -> Fault | None:
        return Fault(status=code) if path == "/apis/apps/v1/deployments" and "continue" in query else None

    with FakeApiServer(example, fault=fault) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "1")
    epp = next(c for c in doc["checks"] if c["id"] == "epp.deployment")
    assert epp["status"] == "error" and f"HTTP {code} on a later page" in epp["message"], epp["message"]
