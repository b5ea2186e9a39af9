"""List pages, from JSON bytes to the items kept (sources/pages.py).

A page parsed while the next is fetched keeps what the list gives, in order; malformed items are
named once; replicas of one owner share their containers; a body that is no list is an ApiError
with the kind's name. The live source's pipelining over real HTTP is tests/test_live.py's.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fakeapi import FakeApiServer
from test_live import comparable, run_json

from llmd_doctor.kinds import kind_key, split_api_version
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


# ---- items parsed a chunk at a time -----------------------------------------------------------------


def _bundle_objects() -> dict[str, list[dict]]:
    """Every object of every example, by kind, as a list would give them."""
    from llmd_doctor.sources.bundle import read_bundle

    by_kind: dict[str, list[dict]] = {}
    for example in sorted((ROOT / "examples").iterdir()):
        if (example / "bundle.yaml").exists():
            for o in read_bundle(example).objects:
                by_kind.setdefault(o.get("kind") or "?", []).append(o)
    return by_kind


def _list_body(kind: str, items: list[dict], compact: bool, tail: dict | None = None) -> bytes:
    doc = {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "7", "continue": "c2"},
           "items": items, **(tail or {})}
    return json.dumps(doc, separators=(",", ":") if compact else (", ", ": ")).encode()


def _whole(body: bytes, pk: PageKind) -> tuple[list, list, str | None]:
    import llmd_doctor.sources.pages as pages

    original = pages._items_in_chunks
    pages._items_in_chunks = lambda body, add: None  # type: ignore[assignment]
    try:
        page = read_page(body, pk, Shaper())
    finally:
        pages._items_in_chunks = original
    return page.items, page.warnings, page.cont


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("chunk", [1, 700])
def test_items_parsed_a_chunk_at_a_time_are_those_of_the_whole_parse(compact: bool, chunk: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of every example, in both layouts API servers write, with a cut before every item
    (chunk 1), every few items, and none: the same items, warnings and continue token."""
    import llmd_doctor.sources.pages as pages

    monkeypatch.setattr(pages, "CHUNK_BYTES", chunk)
    kinds = _bundle_objects()
    assert len(kinds) > 15 and {"Pod", "Deployment", "ReplicaSet", "ConfigMap"} <= set(kinds)
    from llmd_doctor.sources.prune import SPECS

    assert {"Pod", "Deployment.apps", "ReplicaSet.apps"} <= set(SPECS)  # the pruners these kinds exercise
    for kind, objects in kinds.items():
        for prune in (True, False):
            api_version = objects[0].get("apiVersion", "v1")
            pk = PageKind(kind_key(kind, split_api_version(api_version)[0]), kind, api_version, prune,
                          kind.lower() + "s")
            body = _list_body(kind, copy.deepcopy(objects), compact)
            page = read_page(body, pk, Shaper())
            assert (page.items, page.warnings, page.cont) == _whole(body, pk), kind


def test_a_cut_inside_an_item_is_parsed_with_the_next_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A StatefulSet's second volumeClaimTemplate looks like the start of a list item."""
    import llmd_doctor.sources.pages as pages

    monkeypatch.setattr(pages, "CHUNK_BYTES", 1)
    vct = [{"metadata": {"name": f"data-{i}"}, "spec": {"accessModes": ["ReadWriteOnce"]}} for i in range(3)]
    items = [{"metadata": {"name": f"s{i}", "namespace": "ns"}, "spec": {"volumeClaimTemplates": vct}}
             for i in range(4)]
    pk = PageKind("StatefulSet.apps", "StatefulSet", "apps/v1", False, "statefulsets")
    for compact in (True, False):
        body = _list_body("StatefulSet", items, compact)
        assert pages._NEXT_ITEM.search(body, body.index(b"data-0")) is not None  # a false cut exists
        page = read_page(body, pk, Shaper())
        assert [o["metadata"]["name"] for o in page.items] == ["s0", "s1", "s2", "s3"]
        assert all(o["spec"]["volumeClaimTemplates"] == vct for o in page.items)


def test_metadata_after_the_items_and_empty_or_null_items(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmd_doctor.sources.pages as pages

    monkeypatch.setattr(pages, "CHUNK_BYTES", 1)
    body = b'{"kind":"PodList","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}],"metadata":{"continue":"t"}}'
    page = read_page(body, POD_PAGE, Shaper())
    assert [p["metadata"]["name"] for p in page.items] == ["a", "b"] and page.cont == "t"
    for empty in (b'{"kind":"PodList","metadata":{},"items":[]}', b'{"kind":"PodList","metadata":{},"items":null}',
                  b'{"kind": "PodList", "metadata": {}, "items": [ ] }\n'):
        page = read_page(empty, POD_PAGE, Shaper())
        assert page.items == [] and page.cont is None


@pytest.mark.parametrize("body", [
    b'{"kind":"PodList","metadata":{},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}]}',
    b'{"kind":"PodList","metadata":{},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}x',
    b'{"kind":"PodList","metadata":{},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"\xff"}}]}',
])
def test_a_malformed_item_after_the_first_chunk_is_malformed_json(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import llmd_doctor.sources.pages as pages

    monkeypatch.setattr(pages, "CHUNK_BYTES", 1)
    with pytest.raises(ApiError, match="malformed JSON in the API response"):
        read_page(body, POD_PAGE, Shaper())


def test_equal_parts_of_different_owners_are_one_object() -> None:
    """The first pod of another namespace's ReplicaSet with the same containers shares them; a
    different one does not; a part whose first entry's name is not text is still compared."""
    def pod(owner: str, image: str, name: object = "vllm") -> dict:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"p-{owner}", "namespace": owner, "ownerReferences": [{"uid": owner}]},
                "spec": {"containers": [{"name": name, "image": image}]}}

    shaper = Shaper()
    a, b, c = (shaper(pod(o, img), POD_PAGE) for o, img in (("a", "vllm:1"), ("b", "vllm:1"), ("c", "vllm:2")))
    assert isinstance(a, dict) and isinstance(b, dict) and isinstance(c, dict)
    assert b["spec"]["containers"] is a["spec"]["containers"]
    assert c["spec"]["containers"] is not a["spec"]["containers"] and c["spec"]["containers"][0]["image"] == "vllm:2"
    odd = shaper(pod("d", "vllm:1", name={"not": "text"}), POD_PAGE)
    assert isinstance(odd, str) and "malformed" in odd


def test_a_chunk_that_does_not_parse_after_others_did_is_parsed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A list with a top-level field after its items: the last chunk takes it in and does not parse,
    after earlier chunks were passed on; the page is then parsed whole (not an error)."""
    import llmd_doctor.sources.pages as pages

    monkeypatch.setattr(pages, "CHUNK_BYTES", 1)
    items = [{"metadata": {"name": f"p{i}"}} for i in range(5)]
    body = json.dumps({"kind": "PodList", "metadata": {}, "items": items, "extra": [{"metadata": {}}]}).encode()
    page = read_page(body, POD_PAGE, Shaper())
    assert [p["metadata"]["name"] for p in page.items] == [f"p{i}" for i in range(5)] and not page.warnings


def test_a_page_shaped_elsewhere_shares_its_parts_with_the_pages_kept_here() -> None:
    """The page reader's page (its own Shaper, pickled): adopted, each of its parts is the one already
    kept here when equal (compared once per part, not per pod: `Sharer.share(mapped=...)`), whatever
    owner held it first; the items are unchanged; and pods kept here afterwards share with them too."""
    import pickle

    def pods(owner: str, image: str, names: range) -> list[dict]:
        return [{"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": f"{owner}-{i}", "namespace": owner, "ownerReferences": [{"uid": owner}],
                              "labels": {"app": owner}},
                 "spec": {"containers": [{"name": "vllm", "image": image, "args": ["--port", "8000"]}]},
                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}} for i in names]

    here = Shaper()
    first = [here(p, POD_PAGE) for p in pods("a", "vllm:1", range(3))]
    theirs = Shaper()  # the reader's: owner b's pods run a's containers, owner c others
    page = read_page(json.dumps({"kind": "PodList", "metadata": {"continue": "x"}, "items": [
        *pods("b", "vllm:1", range(4)), *pods("c", "vllm:2", range(4)), *pods("a", "vllm:1", range(3, 5))]}).encode(),
        POD_PAGE, theirs)
    expected = copy.deepcopy(page.items)
    adopted = here.adopt(pickle.loads(pickle.dumps(page)), POD_PAGE)
    assert adopted.items == expected
    a_containers = first[0]["spec"]["containers"]
    by_owner = {}
    for item in adopted.items:
        by_owner.setdefault(item["metadata"]["namespace"], []).append(item)
    assert all(p["spec"]["containers"] is a_containers for p in by_owner["a"] + by_owner["b"])
    c_containers = by_owner["c"][0]["spec"]["containers"]
    assert c_containers is not a_containers and all(p["spec"]["containers"] is c_containers for p in by_owner["c"])
    assert len({id(p["status"]["conditions"]) for p in adopted.items + first}) == 1
    later = here(pods("c", "vllm:2", range(9, 10))[0], POD_PAGE)
    assert isinstance(later, dict) and later["spec"]["containers"] is c_containers
