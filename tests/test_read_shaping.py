"""The live source's shortcuts change nothing a check says (issue #15).

Two shortcuts make a large cluster cheap to read: pods are listed only where the checks can care
about them (sources/pod_queries.py), and each object is cut to the fields the checks read, with
identical parts shared (sources/prune.py). For every example, every real-failure case
(tests/cases), and each of them with ordinary team namespaces added around it (bench/apps.py: the
shape of a shared cluster), all checks run on the full snapshot and on the shortened one and must
give exactly the same results. These run the real checks, so a check that starts reading a field
the keep-lists drop, or a pod the plan leaves out, fails here.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakeapi.selectors import parse_label_selector

from bench.apps import AppCluster
from llmd_doctor.engine import run_checks
from llmd_doctor.model import CheckResult
from llmd_doctor.registry import load_specs
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.sources import pod_queries
from llmd_doctor.sources.bundle import BundleData, read_bundle, snapshot_from_bundle_data
from llmd_doctor.sources.prune import Sharer, prune

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "bundle.yaml").exists())
CASES = sorted((ROOT / "tests" / "cases").glob("*.yaml"))
SPECS = load_specs(plugins=False)


def _case(path: Path) -> BundleData:
    sys.path.insert(0, str(path.parent))
    try:
        from build import load_case  # tests/cases/build.py
    finally:
        sys.path.remove(str(path.parent))
    return load_case(path)[0].data


def bundles() -> list[Any]:
    out = [pytest.param(lambda name=name: read_bundle(ROOT / "examples" / name), id=name) for name in EXAMPLES]
    out += [pytest.param(lambda p=p: _case(p), id=f"case-{p.stem}") for p in CASES]
    return out


Obj = dict[str, Any]


def _vllm_container(image: str = "vllm/vllm-openai:v0.10.1") -> Obj:
    return {"name": "vllm", "image": image, "args": ["--model", "Qwen/Qwen3-0.6B", "--port", "8000"],
            "resources": {"limits": {"nvidia.com/gpu": "1"}}}


def with_teams(data: BundleData, extra: str = "") -> BundleData:
    """The bundle with six ordinary team namespaces around it (DaemonSets on its nodes, a Job, a bare
    pod), plus one `extra` llm-d-looking thing outside llm-d's namespaces."""
    data = copy.deepcopy(data)
    nodes = [o["metadata"]["name"] for o in data.objects if o.get("kind") == "Node"] or ["node-a", "node-b"]
    apps = AppCluster(nodes, seed=12)
    apps.daemonset("kube-system", "node-exporter")
    apps.bare_pod("team-0", "netshoot-debug")
    apps.job("team-1", "nightly-report-1")
    for i in range(6):
        apps.namespace(f"team-{i}", 5)
    if extra == "bare-vllm-pod":  # nothing owns it, nothing selects it, no label says what it is
        pod = apps._pod("team-2", "vllm-experiment", {"run": "vllm-experiment"}, None, "web", 8000, "default")
        pod["spec"]["containers"] = [_vllm_container()]
        apps.objects.append(pod)
    elif extra == "vllm-deployment":  # a model server no pool selects, in a team namespace
        apps.deployment("team-3", "qwen", "web", 2)
        for o in apps.objects:
            spec = (o.get("spec") or {}).get("template", {}).get("spec") if o.get("kind") != "Pod" else o.get("spec")
            if (o["metadata"].get("name") or "").startswith("qwen") and spec:
                spec["containers"] = [_vllm_container()]
    elif extra == "role-labelled-pod":  # the role label set on a pod whose template has none
        pod = next(o for o in apps.objects if o["kind"] == "Pod" and o["metadata"]["namespace"] == "team-4")
        pod["metadata"]["labels"] = {**pod["metadata"]["labels"], "llm-d.ai/role": "decode"}
    elif extra == "gpu-deployment":  # a GPU workload with an image no pattern knows
        apps.deployment("team-5", "embedder", "web", 2)
        for o in apps.objects:
            spec = (o.get("spec") or {}).get("template", {}).get("spec") if o.get("kind") != "Pod" else o.get("spec")
            if (o["metadata"].get("name") or "").startswith("embedder") and spec:
                spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    data.objects.extend(apps.objects)
    return data


# cluster.access says how many objects were read: fewer pods read is a different, true, count.
COUNTS_READ = ("cluster.access",)


def view(results: list[CheckResult]) -> list[tuple[Any, ...]]:
    """Everything a report shows of the results, durations aside."""
    return [(r.spec.id, str(r.status)) if r.spec.id in COUNTS_READ else
            (r.spec.id, str(r.status), r.message, tuple(r.blocked_by),
             tuple((str(f.status), f.message, f.object, f.evidence, f.remediation, f.capabilities)
                   for f in r.findings)) for r in results]


def checks_on(snap: Snapshot) -> list[tuple[Any, ...]]:
    return view(run_checks(SPECS, snap))


def full(data: BundleData) -> Snapshot:
    return snapshot_from_bundle_data(copy.deepcopy(data))


def pruned(data: BundleData) -> Snapshot:
    """The snapshot as the live source keeps it with `prune`: every object cut, equal parts shared."""
    snap = full(data)
    sharer = Sharer()

    def kept(o: dict[str, Any], key: str) -> dict[str, Any]:
        o = prune(o, key)
        sharer.share(o, key)
        return o

    snap.objects = {key: [kept(o, key) for o in items] for key, items in snap.objects.items()}
    return snap


def plan_for(snap: Snapshot) -> pod_queries.PodPlan:
    objects = {key: list(snap.objects.get(key, [])) for key in pod_queries.PLAN_INPUTS}
    return pod_queries.plan(objects)


def selected(data: BundleData) -> tuple[Snapshot, pod_queries.PodPlan, int]:
    """The snapshot with only the pods the plan lists (as the API server would answer its queries)."""
    snap = full(data)
    plan = plan_for(snap)
    pods = snap.objects.get("Pod", [])
    chosen: dict[tuple[str, str], Obj] = {}
    for q in plan.queries:
        match: Callable[[dict[str, str]], bool] = parse_label_selector(q.selector)
        for p in pods:
            m = p["metadata"]
            if (q.namespace is None or m.get("namespace") == q.namespace) and match(m.get("labels") or {}):
                chosen.setdefault((m.get("namespace"), m["name"]), p)
    snap.objects["Pod"] = list(chosen.values())
    snap.pod_scope = plan.scope
    return snap, plan, len(pods)


@pytest.mark.parametrize("load", bundles())
def test_pruned_objects_give_the_same_results(load: Callable[[], BundleData]) -> None:
    data = load()
    assert checks_on(pruned(data)) == checks_on(full(data))
    teams = with_teams(data)
    assert checks_on(pruned(teams)) == checks_on(full(teams))


@pytest.mark.parametrize("load", bundles())
def test_the_pods_a_plan_lists_give_the_same_results(load: Callable[[], BundleData]) -> None:
    data = with_teams(load())
    snap, plan, total = selected(data)
    assert plan.scope is not None, plan.why  # llm-d is a small part of this cluster: pods are selected
    assert len(snap.objects["Pod"]) < total
    assert checks_on(snap) == checks_on(full(data))


@pytest.mark.parametrize("extra", ["bare-vllm-pod", "vllm-deployment", "role-labelled-pod", "gpu-deployment"])
def test_llm_d_looking_pods_outside_llm_d_namespaces_are_still_read(extra: str) -> None:
    data = with_teams(read_bundle(ROOT / "examples" / "healthy"), extra)
    snap, plan, _ = selected(data)
    assert plan.scope is not None
    assert checks_on(snap) == checks_on(full(data))
    read = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in snap.objects["Pod"]}
    wanted = {
        "bare-vllm-pod": lambda ns, name: name == "vllm-experiment",
        "vllm-deployment": lambda ns, name: name.startswith("qwen-"),
        "role-labelled-pod": lambda ns, name: ns == "team-4" and any(
            p["metadata"]["name"] == name and "llm-d.ai/role" in p["metadata"]["labels"] for p in snap.objects["Pod"]),
        "gpu-deployment": lambda ns, name: name.startswith("embedder-"),
    }[extra]
    assert any(wanted(ns, name) for ns, name in read), f"the {extra} pods were not read"


def test_the_plan_says_what_it_left_out() -> None:
    snap, plan, total = selected(with_teams(read_bundle(ROOT / "examples" / "healthy")))
    scope = plan.scope
    assert scope is not None
    assert "llm-d" in scope.namespaces and not any(ns.startswith("team-") for ns in scope.namespaces)
    assert scope.complete("llm-d") and not scope.complete("team-0") and not scope.complete(None)
    assert scope.workloads_left_out > 0 and "pod template" in scope.left_out
    doc = scope.to_dict()
    assert doc["namespaces"] == scope.namespaces and all("labelSelector" in s for s in doc["selectors"])
    # The pods of no controller (the bare debug pod) are read wherever they are.
    assert any(p["metadata"]["name"] == "netshoot-debug" for p in snap.objects["Pod"])


def test_a_cluster_that_is_mostly_llm_d_lists_every_pod() -> None:
    plan = plan_for(full(read_bundle(ROOT / "examples" / "healthy")))
    assert plan.scope is None and plan.queries == [pod_queries.EVERY_POD] and "most pods" in plan.why


def test_a_kind_the_plan_needs_that_could_not_be_read_lists_every_pod() -> None:
    snap = full(with_teams(read_bundle(ROOT / "examples" / "healthy")))
    objects = {key: list(snap.objects.get(key, [])) for key in pod_queries.PLAN_INPUTS}
    plan = pod_queries.plan(objects, unreadable={"ReplicaSet.apps"})
    assert plan.scope is None and "ReplicaSet.apps could not be read" in plan.why
    # Without DaemonSets their pods (and the StatefulSets', which share the label) are read as unowned.
    plan = pod_queries.plan(objects, unreadable={"DaemonSet.apps"})
    unowned = next(q for q in plan.queries if q.namespace is None and q.selector.startswith("!"))
    assert "controller-revision-hash" not in unowned.selector and "!pod-template-hash" in unowned.selector


@pytest.mark.parametrize(("selector", "query"), [
    ({"matchLabels": {"app": "vllm", "tier": "decode"}}, "app=vllm,tier=decode"),
    ({"matchExpressions": [{"key": "role", "operator": "In", "values": ["b", "a"]},
                           {"key": "x", "operator": "Exists"}, {"key": "y", "operator": "DoesNotExist"}]},
     "role in (a,b),x,!y"),
    ({}, None), ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, None), ([1], None),
])
def test_label_selectors_become_query_strings(selector: Any, query: str | None) -> None:
    assert pod_queries.selector_query(selector) == query


def test_pools_in_most_namespaces_settle_it_before_the_workloads_are_read() -> None:
    llmd = full(read_bundle(ROOT / "examples" / "healthy"))
    objects = {key: list(llmd.objects.get(key, [])) for key in pod_queries.EARLY}
    assert pod_queries.mostly_llmd(objects) == "InferencePools in 1 of 2 namespaces"
    shared = full(with_teams(read_bundle(ROOT / "examples" / "healthy")))
    assert pod_queries.mostly_llmd({key: list(shared.objects.get(key, [])) for key in pod_queries.EARLY}) is None
    assert pod_queries.mostly_llmd({}) is None  # namespaces could not be read: plan properly


def _pod_shaper() -> Callable[[dict[str, Any]], dict[str, Any] | str]:
    """Each listed pod as the live source keeps it with `prune`."""
    from llmd_doctor.sources.pages import PageKind, Shaper

    shaper, pk = Shaper(), PageKind("Pod", "Pod", "v1", prune=True)
    return lambda item: shaper(item, pk)


def _replica(name: str, containers: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "llm-d", "labels": {"app": "vllm"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                              "uid": "rs-uid", "controller": True}]},
            "spec": {"containers": copy.deepcopy(containers)}, "status": {"phase": "Running"}}


def test_a_shared_part_is_trusted_only_once_an_object_holding_it_was_found_well_shaped() -> None:
    shape = _pod_shaper()
    bad = [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0", "ports": [{"containerPort": "8000"}]}]
    good = [{"name": "vllm", "image": "vllm/vllm-openai:v0.10.0", "ports": [{"containerPort": 8000}]}]
    # Two replicas with the same malformed containers: the second shares the first's, and is still judged.
    first, second = shape(_replica("a", bad)), shape(_replica("b", bad))
    assert first == second.replace("Pod b", "Pod a")
    assert "malformed field spec.containers[0].ports[0].containerPort (a string, not an integer)" in second
    kept = [shape(_replica(n, good)) for n in ("c", "d", "e")]
    assert all(isinstance(k, dict) for k in kept)
    assert kept[1]["spec"]["containers"] is kept[0]["spec"]["containers"] is kept[2]["spec"]["containers"]
    # A replica whose containers differ is validated on its own, whatever came before it.
    assert "spec.containers[0].ports[0].containerPort" in str(shape(_replica("f", bad)))


def test_replicas_differing_only_in_their_token_volume_share_their_containers() -> None:
    """The API server gives each pod its own `kube-api-access-xxxxx` volume; no check reads it, and
    with it dropped the replicas of a workload hold one containers list (read once, see memo.py)."""
    shape = _pod_shaper()
    vllm = {"name": "vllm", "image": "vllm/vllm-openai:v0.10.0",
            "volumeMounts": [{"name": "model-cache", "mountPath": "/models"}]}
    pods = []
    for name, suffix in (("a", "x2k4q"), ("b", "9fzt7")):
        pod = _replica(name, [vllm])
        token = f"kube-api-access-{suffix}"
        pod["spec"]["containers"][0]["volumeMounts"].append(
            {"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True})
        pod["spec"]["volumes"] = [{"name": "model-cache", "emptyDir": {}},
                                  {"name": token, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]
        pods.append(shape(pod))
    a, b = pods
    assert a["spec"]["containers"] is b["spec"]["containers"]
    assert a["spec"]["containers"][0]["volumeMounts"] == [{"name": "model-cache", "mountPath": "/models"}]
    assert a["spec"]["volumes"] is b["spec"]["volumes"] and a["spec"]["volumes"] == [{"name": "model-cache", "emptyDir": {}}]


def _classify_per_field(template: Obj) -> str | None:
    """The plan's template test written the plain way, one search per field: `classify` must agree."""
    q = pod_queries
    labels = q._labels(template.get("metadata"))
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    containers = q._containers(spec)
    if q._llmd_labelled(labels):
        return "llmd"
    for c in containers:
        argv = " ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []) if isinstance(a, str | int))
        if q.LLMD_IMAGE.search(str(c.get("image", ""))) or q.LLMD_ARG.search(argv):
            return "llmd"
    if any(k in labels for k in q.OTHER_LABELS) or any(q.OTHER_LABEL_VALUES.search(v) for v in labels.values()):
        return "other"
    for c in containers:
        if q.OTHER_IMAGE.search(str(c.get("image", ""))) or any(q.ACCELERATOR.search(n) for n in q._resource_names(c)):
            return "other"
    return None


@functools.cache
def _every_bundle() -> tuple[BundleData, ...]:
    """Every example and case, read once per process (callers only read them)."""
    return tuple([read_bundle(ROOT / "examples" / name) for name in EXAMPLES] + [_case(p) for p in CASES])


def _templates() -> list[Obj]:
    out: list[Obj] = []
    datas = [*_every_bundle(), with_teams(read_bundle(ROOT / "examples" / "healthy"), "gpu-deployment")]
    for data in datas:
        for o in data.objects:
            if o.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"):
                out.append(pod_queries._template(o))
            elif o.get("kind") == "Pod":
                out.append(o)
    # Fields that the joined search must still see one by one: a match in the second container only,
    # `^epp:` as a later image's start, a flag that starts a later container's argv.
    side = {"name": "side", "image": "busybox:1.36", "args": ["sleep", "inf"]}
    out += [
        {"spec": {"containers": [side, {"name": "e", "image": "epp:v0.3"}]}},
        {"spec": {"containers": [side, {"name": "e", "image": "registry.k8s.io/x", "args": ["-poolName", "p"]}]}},
        {"spec": {"containers": [{"name": "a", "image": "x", "args": ["a-"]}, {"name": "b", "image": "y",
                                                                               "args": ["-pool-name=p"]}]}},
        {"spec": {"containers": [side, {"name": "g", "image": "z", "resources": {"limits": {"amd.com/gpu": 1}}}]}},
        {"metadata": {"labels": {"a": "b", "c": "my-envoy"}}, "spec": {"containers": [side]}},
        {"spec": {"initContainers": [{"name": "i", "image": "ghcr.io/llm-d/llm-d:v0.2"}], "containers": [side]}},
        {"spec": {"containers": [side, {"name": "n", "image": "x", "command": ["python", 3, "--vllm"]}]}},
        {"spec": {"containers": [side]}},
    ]
    return out


def test_the_joined_template_search_equals_one_search_per_field() -> None:
    templates = _templates()
    assert len(templates) > 300
    got = [pod_queries.classify(t) for t in templates]
    assert got == [_classify_per_field(t) for t in templates]
    assert got[-8:] == ["llmd", "llmd", "llmd", "other", "other", "llmd", "llmd", None]


def test_templates_holding_one_spec_object_are_each_classified_by_their_own_labels() -> None:
    """The containers' verdict is remembered per spec object (replicas and equal templates share one);
    what the labels say is not, so templates sharing a spec keep their own answers, in any order."""
    spec = {"containers": [{"name": "app", "image": "busybox:1.36", "args": ["sleep", "inf"]}]}
    plain = {"metadata": {"labels": {"app": "web"}}, "spec": spec}
    llmd = {"metadata": {"labels": {"llm-d.ai/role": "decode"}}, "spec": spec}
    gateway = {"metadata": {"labels": {"istio.io/gateway-name": "gw"}}, "spec": spec}
    for order in ([plain, llmd, gateway], [gateway, llmd, plain], [llmd, plain, gateway]):
        assert {id(t): pod_queries.classify(t) for t in order} == {
            id(plain): None, id(llmd): "llmd", id(gateway): "other"}
    gpu = {"containers": [{"name": "m", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}
    assert [pod_queries.classify({"metadata": {"labels": {"llm-d.ai/role": "x"}}, "spec": gpu}),
            pod_queries.classify({"spec": gpu}), pod_queries.classify({"spec": gpu})] == ["llmd", "other", "other"]


def test_a_deployments_old_revision_scaled_to_zero_decides_no_pod_list() -> None:
    data = with_teams(read_bundle(ROOT / "examples" / "healthy"), "vllm-deployment")
    objects = {key: list(full(data).objects.get(key, [])) for key in pod_queries.PLAN_INPUTS}
    seen: list[Obj] = []

    def spy(template: Obj) -> str | None:
        seen.append(template)
        return pod_queries.classify(template)

    plan = pod_queries.plan(objects, classify_template=spy)
    old = [r for r in objects["ReplicaSet.apps"] if r["spec"].get("replicas") == 0
           and r["metadata"].get("ownerReferences")]
    assert old and not any(pod_queries._template(r) is t for r in old for t in seen)
    assert any(q.namespace is not None and "qwen" in q.why for q in plan.queries), plan.queries


def test_the_compiled_keep_lists_cut_as_the_spec_language_says() -> None:
    """`prune` runs each kind's keep-list compiled (prune._compile); `prune_value` reads the spec
    language plainly. Every object of every example and case, of every kind, is cut the same."""
    from llmd_doctor.sources.prune import ANY_KIND as ANY_SPEC
    from llmd_doctor.sources.prune import SPECS, prune_value

    seen: set[str] = set()
    for data in _every_bundle():
        for key, items in full(data).objects.items():
            for o in items:  # neither changes the object it cuts
                assert prune(o, key) == prune_value(o, SPECS.get(key, ANY_SPEC))
                seen.add(key)
    assert {"Pod", "Deployment.apps", "ReplicaSet.apps", "Node"} <= seen
    odd = {"metadata": {"name": "x", "managedFields": [1], "annotations": "not a map"}, "spec": [1, {"a": 2}],
           "status": {"conditions": [{"type": "Ready", "lastTransitionTime": "t"}, "odd"]}}
    assert prune(copy.deepcopy(odd), "Pod") == prune_value(copy.deepcopy(odd), SPECS["Pod"])


def test_noisy_annotations_are_dropped_the_same_on_every_object() -> None:
    """The last applied manifest and CNI state go, the rest stays: the answer per key is remembered
    (replicas repeat their keys), so the second object of a kind is cut like the first."""
    noisy = {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "k8s.v1.cni.cncf.io/network-status": "[]",
             "k8s.ovn.org/pod-networks": "{}", "cni.projectcalico.org/podIP": "10.0.0.1/32"}
    kept = {"sidecar.istio.io/inject": "false", "prometheus.io/port": "8000", "openshift.io/scc": "restricted-v2"}
    for _ in range(2):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {**noisy, **kept}}}
        assert prune(pod, "Pod")["metadata"]["annotations"] == kept
    wl = {"metadata": {"name": "d", "annotations": {**kept, **noisy}},
          "spec": {"template": {"metadata": {"annotations": {**noisy, "a": "b"}}}}}
    cut = prune(wl, "Deployment.apps")
    assert cut["metadata"]["annotations"] == kept
    assert cut["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
