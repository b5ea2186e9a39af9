"""Dumps people already have: `kubectl cluster-info dump --output-directory` and OpenShift must-gather.

The trees are built from the seed example's objects and logs in the exact shapes those tools write
(kubectl's layout was checked by running `kubectl cluster-info dump` against the fake API server:
typed `*List` JSON per namespace, and one `logs.txt` per pod with every container's log between
`==== START/END logs for container C of pod NS/POD ====` lines).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer, Fault
from scenario import Scenario

from llmd_doctor.cli import main
from llmd_doctor.kinds import KINDS, key_of, split_api_version
from llmd_doctor.snapshot import LogRequest, NotCollected
from llmd_doctor.sources.bundle import (
    CLUSTER_INFO_DUMP,
    MUST_GATHER,
    load_bundle,
    read_bundle,
    split_dump_log,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = "seed-rosa-epp-segfault"
NS = "llm-d"
EPP_POD = "ms-llm-d-epp-6c9d8b7f5-x2k4q"
DECODE_POD = "ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# What cluster-info dump lists per namespace (file name -> kind key) and at the root.
DUMP_KINDS = {"events": "Event", "replication-controllers": "ReplicationController", "services": "Service",
              "daemonsets": "DaemonSet.apps", "deployments": "Deployment.apps", "replicasets": "ReplicaSet.apps",
              "pods": "Pod"}


def check_results(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, dict]:
    with pytest.raises(SystemExit):
        main(["check", "--bundle", str(path), "-o", "json"])
    out, _ = capsys.readouterr()
    return {c["id"]: c for c in json.loads(out)["checks"]}


def typed_list(key: str, items: list[dict], strip: bool) -> dict:
    kind, _, group = key.partition(".")
    version = KINDS[key].versions[0] if key in KINDS else "v1"
    api_version = f"{group}/{version}" if group else version
    if strip:  # the API server's typed lists: items without apiVersion/kind
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
    return {"kind": f"{kind}List", "apiVersion": api_version, "metadata": {"resourceVersion": "63610134"},
            "items": items}


def objects_of(sc: Scenario, key: str, ns: str | None = None) -> list[dict]:
    return [o for o in sc.all(key) if ns is None or o["metadata"].get("namespace") == ns]


def ident(o: dict) -> tuple[str, str, str]:
    return key_of(o), o["metadata"].get("namespace") or "", o["metadata"]["name"]


# ---- kubectl cluster-info dump -------------------------------------------------------------------


def dump_logs_txt(sc: Scenario, pod: dict) -> str:
    """What kubectl writes to <ns>/<pod>/logs.txt: init containers, then containers, each marked."""
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    out = ""
    spec = pod["spec"]
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        out += f"==== START logs for container {c['name']} of pod {ns}/{name} ====\n"
        out += sc.data.logs.get(LogRequest(ns, name, c["name"]), "")
        out += f"==== END logs for container {c['name']} of pod {ns}/{name} ====\n"
    return out


def build_cluster_info_dump(sc: Scenario, root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "nodes.json").write_text(json.dumps(typed_list("Node", objects_of(sc, "Node"), True), indent=4))
    for ns in ("llm-d", "istio-system"):
        for fname, key in DUMP_KINDS.items():
            (root / ns).mkdir(exist_ok=True)
            (root / ns / f"{fname}.json").write_text(
                json.dumps(typed_list(key, objects_of(sc, key, ns) if key in KINDS else [], True), indent=4))
        for pod in objects_of(sc, "Pod", ns):
            d = root / ns / pod["metadata"]["name"]
            d.mkdir()
            (d / "logs.txt").write_text(dump_logs_txt(sc, pod))
    return root


def test_cluster_info_dump_objects_logs_and_epp_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = Scenario.example(SEED)
    root = build_cluster_info_dump(sc, tmp_path / "dump")
    data = read_bundle(root)
    assert data.layout == CLUSTER_INFO_DUMP and data.namespaces == ["istio-system", "llm-d"]
    assert data.warnings == []
    want = {ident(o) for k in ("Node", *DUMP_KINDS.values()) if k in KINDS for o in sc.all(k)}
    assert {ident(o) for o in data.objects} == want
    # Every container's current log, init containers included (the routing proxy is one); no previous.
    assert data.logs[LogRequest(NS, EPP_POD, "epp")] == sc.data.logs[LogRequest(NS, EPP_POD, "epp")]
    assert data.logs[LogRequest(NS, DECODE_POD, "vllm")] == sc.data.logs[LogRequest(NS, DECODE_POD, "vllm")]
    assert data.logs[LogRequest(NS, DECODE_POD, "routing-proxy")] == ""
    assert not any(r.previous for r in data.logs)
    snap = load_bundle(root)
    assert snap.namespaces == ["istio-system", "llm-d"]
    assert snap.list("DaemonSet.apps") == []  # an empty typed list: listed, none
    assert snap.log(LogRequest(NS, EPP_POD, "epp", previous=True)) is None  # pod captured, no previous log
    with pytest.raises(NotCollected, match="kube-system is not in the bundle"):
        load_bundle(root, ["kube-system"])  # the dump skipped it: unknown, not empty
    checks = check_results(capsys, root)
    assert checks["epp.logs"]["status"] == "fail"
    assert checks["epp.logs"]["objects"] == [f"Pod/{NS}/{EPP_POD}"]
    assert any("scheduler.go:40" in e for e in checks["epp.logs"]["evidence"])
    assert checks["epp.deployment"]["status"] == "fail"
    # Not in a cluster-info dump: unknown, never "absent".
    assert checks["gateway-api.crds"]["status"] == "skip"


def test_cluster_info_dump_log_quirks(tmp_path: Path) -> None:
    marked = ("==== START logs for container a of pod ns/p ====\nline a\n==== END logs for container a of pod ns/p ====\n"
              "==== START logs for container b of pod ns/p ====\n"
              "Request log error: container \"b\" in pod \"p\" is waiting to start: PodInitializing\n"
              "==== END logs for container b of pod ns/p ====\n"
              "==== START logs for container c of pod ns/p ====\nno newline at the end"
              "==== END logs for container c of pod ns/p ====\n")
    assert split_dump_log(marked) == [("a", "line a\n"), ("b", None), ("c", "no newline at the end")]
    # Tailed from the front (a huge file): the first block lost its START line but keeps its END.
    assert split_dump_log("tail of x\n==== END logs for container x of pod ns/p ====\n") == [("x", "tail of x\n")]
    # Old kubectl: one unmarked log -> the pod's first container.
    sc = Scenario.example(SEED)
    root = build_cluster_info_dump(sc, tmp_path / "dump")
    (root / NS / EPP_POD / "logs.txt").write_text("unmarked epp log\n")
    (root / NS / "gone-pod").mkdir()
    (root / NS / "gone-pod" / "logs.txt").write_text("a pod that is not in pods.json\n")
    data = read_bundle(root)
    assert data.logs[LogRequest(NS, EPP_POD, "epp")] == "unmarked epp log\n"
    assert any("gone-pod" in w for w in data.warnings)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_a_real_kubectl_cluster_info_dump_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rcs(method: str, path: str, query: dict) -> Fault | None:  # the fake server does not serve RCs
        if path.endswith("/replicationcontrollers"):
            return Fault(status=200, body={"kind": "ReplicationControllerList", "apiVersion": "v1",
                                           "metadata": {}, "items": []})
        return None

    out = tmp_path / "dump"
    with FakeApiServer(ROOT / "examples" / SEED, fault=rcs) as srv:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "KUBECONFIG": srv.kubeconfig(tmp_path / "kc")}
        r = subprocess.run(["kubectl", "cluster-info", "dump", "--all-namespaces", "--output-directory", str(out)],
                           env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (out / "nodes.json").is_file() and (out / NS / "replication-controllers.json").is_file()
    data = read_bundle(out)
    assert data.layout == CLUSTER_INFO_DUMP and data.warnings == []
    assert LogRequest(NS, EPP_POD, "epp") in data.logs
    assert check_results(capsys, out)["epp.logs"]["status"] == "fail"


# ---- OpenShift must-gather -----------------------------------------------------------------------


def _group_dir(key: str) -> str:
    return split_api_version(key.partition(".")[2] + "/x")[0] if "." in key else "core"


def _plural(key: str) -> str:
    return KINDS[key].plural if key in KINDS else key.split(".")[0].lower() + "s"


def _timestamped(text: str) -> str:
    return "".join(f"2025-08-22T01:36:{i % 60:02d}.{i:09d}Z {line}" for i, line in enumerate(text.splitlines(True)))


def build_must_gather(sc: Scenario, root: Path) -> Path:
    """`oc adm must-gather` / `oc adm inspect` shapes under the image folder must-gather names."""
    base = root / "must-gather.local.5136848720735196135" / \
        "quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-0f7a6b1e1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
    def write(rel: str, doc: object) -> None:
        f = base / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(doc if isinstance(doc, str) else yaml.dump(doc, Dumper=DUMPER, sort_keys=False))

    by_ns: dict[tuple[str, str], list[dict]] = {}
    for o in sc.data.objects:
        key, ns = key_of(o), o["metadata"].get("namespace")
        if key == "Namespace":
            write(f"namespaces/{o['metadata']['name']}/{o['metadata']['name']}.yaml", o)
        elif ns:
            by_ns.setdefault((ns, key), []).append(o)
        else:  # one file per cluster-scoped object
            write(f"cluster-scoped-resources/{_group_dir(key)}/{_plural(key)}/{o['metadata']['name']}.yaml", o)
    for (ns, key), items in by_ns.items():
        write(f"namespaces/{ns}/{_group_dir(key)}/{_plural(key)}.yaml", typed_list(key, items, False))
    for pod in sc.all("Pod"):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        write(f"namespaces/{ns}/pods/{name}/{name}.yaml", pod)
        for c in pod["spec"]["containers"]:
            logs = base / f"namespaces/{ns}/pods/{name}/{c['name']}/{c['name']}/logs"
            logs.mkdir(parents=True)
            (logs / "current.log").write_text(_timestamped(sc.data.logs.get(LogRequest(ns, name, c["name"]), "")))
            prev = sc.data.logs.get(LogRequest(ns, name, c["name"], True))
            if prev is not None:
                (logs / "previous.log").write_text(_timestamped(prev))
    # Everything else a must-gather holds: not objects, never parsed as such.
    write("timestamp", "2025-08-22 01:40:00.000000000 +0000 UTC m=+0.1\n")
    write("version", "oc adm must-gather\n4.18.0\n")
    write("event-filter.html", "<html></html>\n")
    write("monitoring/prometheus/rules.json", json.dumps({"status": "success", "data": {"groups": []}}))
    write("host_service_logs/masters/kubelet_service.log", "kubelet log\n")
    (root / "must-gather.local.5136848720735196135" / "must-gather.logs").write_text("gathering\n")
    return root


@pytest.mark.parametrize("tarred", [False, True])
def test_must_gather_objects_logs_and_epp_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   tarred: bool) -> None:
    sc = Scenario.example(SEED)
    path = build_must_gather(sc, tmp_path / "mg")
    if tarred:
        archive = tmp_path / "must-gather.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(path / "must-gather.local.5136848720735196135", arcname="must-gather.local.5136848720735196135")
        path = archive
    data = read_bundle(path)
    assert data.layout == MUST_GATHER and data.namespaces == ["istio-system", "llm-d"]
    assert data.warnings == []
    assert {ident(o) for o in data.objects} == {ident(o) for o in sc.data.objects}
    # Logs: current and previous, timestamps stripped, the same text the example holds.
    assert data.logs[LogRequest(NS, EPP_POD, "epp", True)] == sc.data.logs[LogRequest(NS, EPP_POD, "epp", True)]
    assert data.logs[LogRequest(NS, EPP_POD, "epp")] == sc.data.logs[LogRequest(NS, EPP_POD, "epp")]
    assert data.logs[LogRequest(NS, DECODE_POD, "vllm")] == sc.data.logs[LogRequest(NS, DECODE_POD, "vllm")]
    checks = check_results(capsys, path)
    logs = checks["epp.logs"]
    assert logs["status"] == "fail" and "nil-pointer SIGSEGV" in logs["message"]
    assert any("scheduler.go:40" in e for e in logs["evidence"])
    assert not any(e.startswith("2025-08-22T") for e in logs["evidence"])  # no timestamp prefixes
    assert checks["gateway-api.crds"]["status"] == "pass"  # CRDs from cluster-scoped-resources
    assert checks["cluster.access"]["status"] == "pass"  # nothing unreadable: the noise was skipped


def test_must_gather_insecure_log_stands_in_only_when_the_plain_one_is_missing(tmp_path: Path) -> None:
    sc = Scenario.example(SEED)
    sc.remove("CustomResourceDefinition.apiextensions.k8s.io")  # not needed here; keeps the test fast
    root = build_must_gather(sc, tmp_path / "mg")
    logs = next(root.rglob(f"pods/{DECODE_POD}/vllm/vllm/logs"))
    (logs / "current.insecure.log").write_text("insecure retry\n")
    assert read_bundle(root).logs[LogRequest(NS, DECODE_POD, "vllm")] == sc.data.logs[LogRequest(NS, DECODE_POD, "vllm")]
    (logs / "current.log").unlink()
    assert read_bundle(root).logs[LogRequest(NS, DECODE_POD, "vllm")] == "insecure retry\n"
