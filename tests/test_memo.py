"""Readers remembered by identity (memo.py): once per shared containers list, never across objects."""

from __future__ import annotations

from typing import Any

from llmd_doctor.memo import per_containers, per_object


def test_a_reader_runs_once_per_containers_list_and_again_for_another() -> None:
    calls: list[str] = []

    @per_containers
    def first_image(pod: dict[str, Any]) -> str:
        calls.append(pod["metadata"]["name"])
        return str(pod["spec"]["containers"][0]["image"])

    shared = [{"name": "vllm", "image": "vllm:a"}]
    a = {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": shared}}
    b = {"kind": "Pod", "metadata": {"name": "b"}, "spec": {"containers": shared}}
    c = {"kind": "Pod", "metadata": {"name": "c"}, "spec": {"containers": [{"name": "vllm", "image": "vllm:b"}]}}
    assert [first_image(p) for p in (a, b, c, a)] == ["vllm:a", "vllm:a", "vllm:b", "vllm:a"]
    assert calls == ["a", "c"]
    # A workload's template is read through its pod spec.
    d = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": shared}}}}
    assert first_image(d) == "vllm:a" and calls == ["a", "c"]


def test_an_equal_but_distinct_object_is_read_again() -> None:
    calls = []

    @per_object
    def image(c: dict[str, Any]) -> str:
        calls.append(1)
        return str(c["image"])

    one, two = {"image": "x"}, {"image": "x"}
    assert image(one) == image(two) == image(one) == "x"
    assert len(calls) == 2
