"""The bundle reader, fuzzed: whatever a bundle holds, the result is warnings and check results.

Random file trees (mangled real objects as YAML/JSON, random YAML/JSON documents, random bytes,
manifests with the wrong types, logs), the same trees as tarballs (truncated, with odd member
names), go through read_bundle -> snapshot_from_bundle_data -> all checks -> the report renderers.
Nothing may raise. A whole-bundle failure (not a tarball at all) is the one allowed exception:
BundleError, the CLI's one-line usage error. A check that crashes becomes an `error` result (the
engine's net); test_objects_of_the_wrong_shape pins the crashes found so far, one by one.
"""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmd_doctor.engine import needed_access, needed_logs, run_checks
from llmd_doctor.registry import load_specs
from llmd_doctor.renderers.json import render_json
from llmd_doctor.renderers.text import TextStyle, render_text
from llmd_doctor.report import Report
from llmd_doctor.sources.bundle import BundleError, read_bundle, snapshot_from_bundle_data

ROOT = Path(__file__).resolve().parents[1]
SPECS = load_specs(plugins=False)
REAL: list[dict[str, Any]] = [o for ex in ("seed-rosa-epp-segfault", "healthy")
                               for o in read_bundle(ROOT / "examples" / ex).objects]
CRDS = [o for o in read_bundle(ROOT / "examples" / "healthy").objects if o.get("kind") == "CustomResourceDefinition"]
# LLMD_FUZZ_EXAMPLES=2000 for a long hunt; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("LLMD_FUZZ_EXAMPLES", "120")), deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.large_base_example])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["", "llm-d", "v1", "True", "8000", "-1", "nvidia.com/gpu"]))
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=12)


@st.composite
def mangled(draw: st.DrawFn) -> dict[str, Any]:
    """A real object (Pod, Deployment, InferencePool, HTTPRoute, ...) with random parts deleted or replaced."""
    obj = copy.deepcopy(draw(st.sampled_from(REAL)))
    for _ in range(draw(st.integers(0, 8))):
        node: Any = obj
        for _depth in range(draw(st.integers(0, 6))):
            if isinstance(node, dict) and node:
                child = node[draw(st.sampled_from(sorted(node, key=str)))]
            elif isinstance(node, list) and node:
                child = node[draw(st.integers(0, len(node) - 1))]
            else:
                break
            if not isinstance(child, dict | list) or not child:
                break
            node = child
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(json_values)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return obj


def _yaml(docs: list[Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


objects_text = st.one_of(
    st.lists(mangled(), min_size=1, max_size=4).map(_yaml),
    st.lists(mangled(), max_size=4).map(lambda items: json.dumps({"apiVersion": "v1", "kind": "List", "items": items})),
    st.lists(mangled(), max_size=3).map(lambda items: _yaml([{"apiVersion": "v1", "kind": "PodList", "items": items}])),
    st.lists(json_values, max_size=3).map(lambda docs: yaml.safe_dump_all(docs)),
    json_values.map(json.dumps),
)
manifest = st.fixed_dictionaries(
    {"apiVersion": st.just("llmd-doctor/v1"), "kind": st.just("Bundle")},
    optional={"namespaces": st.one_of(json_values, st.lists(st.sampled_from(["llm-d", "istio-system", "x", "nope"]))),
              "kinds": st.one_of(json_values, st.lists(st.sampled_from(["Pod", "Deployment.apps", "Secret", "Nope"]))),
              "serverVersion": st.one_of(json_values, st.sampled_from(["v1.31.10", "v1.2", "1.31", "vX"])),
              "context": json_values, "collectedAt": json_values, "redacted": json_values},
).map(lambda m: _yaml([m]))
log_text = st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode),
                     st.sampled_from([b"panic: runtime error: invalid memory address or nil pointer dereference\n"
                                      b"[signal SIGSEGV: segmentation violation]\n",
                                      b"\xff\xfe\x00 CUDA out of memory\n"]))
content = st.one_of(objects_text.map(str.encode), st.binary(max_size=2000), st.text(max_size=500).map(str.encode),
                    st.just(_yaml(CRDS).encode()), objects_text.map(lambda t: t.encode()[: len(t) // 2]))
object_paths = st.sampled_from(["llm-d/pods.yaml", "llm-d/deployments.yaml", "objects.json", "crds/crds.yaml",
                                "cluster/nodes.yml", "istio-system/x.yaml", "a/b/c/deep.yaml", "README.md",
                                "weird name.yaml", "probes/chat-completion.json", "probes/x.json"])
log_paths = st.sampled_from(["logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.previous.log",
                             "logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.log",
                             "logs/llm-d/ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t/vllm.log",
                             "logs/llm-d/pod.log", "logs/a/b/c/d.log", "logs/llm-d/p/.log"])
trees = st.dictionaries(
    st.one_of(object_paths, log_paths, st.just("bundle.yaml")),
    st.one_of(content, log_text), min_size=0, max_size=8,
).flatmap(lambda tree: st.one_of(st.just(tree), manifest.map(lambda m: {**tree, "bundle.yaml": m.encode()})))


def diagnose(path: Path) -> None:
    try:
        data = read_bundle(path)
    except BundleError:
        return
    snap = snapshot_from_bundle_data(data)
    results = run_checks(SPECS, snap)
    assert len(results) == len(SPECS)
    report = Report(source=snap.source, started_at="2025-01-01T00:00:00Z", duration_s=0.0, results=results,
                    warnings=list(snap.warnings), probes=dict(snap.probes))
    json.loads(render_json(report))
    render_text(report, TextStyle(color=False, width=100, verbose=True))


def write_tree(root: Path, tree: dict[str, bytes]) -> None:
    for rel, data in tree.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)


@FUZZ
@given(trees)
def test_any_bundle_directory_is_warnings_or_results(tree: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as d:
        write_tree(Path(d), tree)
        diagnose(Path(d))


member_names = st.one_of(st.sampled_from(["../escape.yaml", "/abs/pods.yaml", "./top/llm-d/pods.yaml", "top/",
                                          "top/logs/llm-d/p/c.log", "a//b.yaml", "logs/../../x.log", ""]),
                         object_paths, log_paths)


@FUZZ
@given(trees, st.lists(st.tuples(member_names, content), max_size=3), st.booleans(), st.integers(0, 100))
def test_any_tarball_is_warnings_or_results(tree: dict[str, bytes], odd: list[tuple[str, bytes]],
                                           top_folder: bool, cut_percent: int) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in [*((("bundle/" if top_folder else "") + k, v) for k, v in tree.items()), *odd]:
            info = tarfile.TarInfo(name or "x")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("llm-d/link.yaml")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    raw = buf.getvalue()
    if cut_percent < 30:  # a truncated download
        raw = raw[: len(raw) * cut_percent // 30]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bundle.tar.gz"
        path.write_bytes(raw)
        diagnose(path)


@FUZZ
@given(st.binary(max_size=4000))
def test_any_bytes_as_a_tarball_is_a_usage_error_or_a_result(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bundle.tgz"
        path.write_bytes(raw)
        diagnose(path)


@pytest.mark.parametrize(
    "fields",
    [pytest.param({"namespaces": [None]}, id="namespaces-null"),
     pytest.param({"namespaces": [1, "llm-d"]}, id="namespaces-int"),
     pytest.param({"kinds": 5}, id="kinds-int"),
     pytest.param({"namespaces": "llm-d"}, id="namespaces-string"),
     pytest.param({"kinds": [None, "Pod", 3]}, id="kinds-mixed"),
     pytest.param({"serverVersion": {"a": 1}, "context": [1], "redacted": "yes", "collectedAt": [1]}, id="scalars-wrong")],
)
def test_manifest_field_types(fields: dict[str, Any], tmp_path: Path) -> None:
    """A hand-edited bundle.yaml with fields of the wrong type, through the real CLI."""
    bundle = tmp_path / "b"
    for src in (ROOT / "examples" / "seed-rosa-epp-segfault").rglob("*"):
        if src.is_file():
            dst = bundle / src.relative_to(ROOT / "examples" / "seed-rosa-epp-segfault")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    m = yaml.safe_load((bundle / "bundle.yaml").read_text())
    (bundle / "bundle.yaml").write_text(yaml.safe_dump({**m, **fields}))
    r = subprocess.run([sys.executable, "-m", "llmd_doctor", "check", "--bundle", str(bundle), "-o", "json"],
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 1), r.stderr
    crashed = [c["id"] for c in json.loads(r.stdout)["checks"] if "check crashed" in c["message"]]
    assert crashed == []


# Objects whose fields have the wrong JSON type (a hand-edited or corrupted bundle; the fuzzer's
# finds): (key, name prefix, {dotted path: value}). tests/test_shapes.py covers every field of every kind.
SHAPES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "pod-spec-list": ("Pod", "ms-llm-d-modelservice-decode", {"spec": [None]}),
    "pod-status-list": ("Pod", "ms-llm-d-epp", {"status": [None]}),
    "pod-containers-int": ("Pod", "ms-llm-d-modelservice-decode", {"spec.containers": [1]}),
    "deployment-spec-list": ("Deployment.apps", "ms-llm-d-epp", {"spec": [None]}),
    "gateway-spec-list": ("Gateway.gateway.networking.k8s.io", "llm-d-infra", {"spec": [None]}),
    "pool-spec-string": ("InferencePool.inference.networking.x-k8s.io", "ms-llm-d", {"spec": "x"}),
    "route-rules-int": ("HTTPRoute.gateway.networking.k8s.io", "ms-llm-d", {"spec.rules": [1]}),
    "node-status-list": ("Node", "ip-", {"status": [1]}),
    "crd-spec-list": ("CustomResourceDefinition.apiextensions.k8s.io", "inferencepools", {"spec": [1]}),
    "labels-list": ("Pod", "ms-llm-d-modelservice-decode", {"metadata.labels": ["a"]}),
    "pod-spec-missing": ("Pod", "ms-llm-d-epp", {"spec": None, "status": None}),
}


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_objects_of_the_wrong_shape(example: str, case: str) -> None:
    """Bundle -> snapshot -> the live hooks -> every check: no exception, no crashed check."""
    from scenario import Scenario

    key, prefix, patch = SHAPES[case]
    sc = Scenario.example(example)
    obj = sc.find_prefix(key, prefix)
    for path, value in patch.items():
        *parents, last = path.split(".")
        node = obj
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    snap = sc.snapshot()
    needed_logs(SPECS, snap)  # the live source calls these on whatever it listed
    needed_access(SPECS, snap)
    crashed = [f"{r.id}: {r.message}" for r in run_checks(SPECS, snap) if r.message.startswith("check crashed")]
    assert crashed == []
