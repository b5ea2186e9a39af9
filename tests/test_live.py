"""The live path: the real kubernetes client against the fake API server serving the examples.

The same bundle read offline and served live must give the same results; the request log shows
one LIST per kind, logs only for unhealthy pods, and no write.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from fakeapi import FakeApiServer, Fault
from fakeapi.server import OTHER_CA_FILE
from scenario import Scenario

from llmd_doctor import __version__
from llmd_doctor.cli import main
from llmd_doctor.engine import run_checks
from llmd_doctor.run import RunOptions, build_snapshot, choose_specs
from llmd_doctor.sources.bundle import BundleData, read_bundle

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(["check", "-o", "json", "--no-probe", *argv])
    out, _ = capsys.readouterr()
    return int(exc.value.code or 0), json.loads(out)


# Checks whose words say where their evidence came from: cluster.access (bundle or API server),
# rbac.epp (the API server's SubjectAccessReview live, static evaluation offline) and the e2e
# probes (run live only). For those only the status and objects must agree.
SOURCE_WORDED = ("cluster.access", "rbac.epp", "e2e.")


def comparable(doc: dict) -> dict[str, tuple]:
    out = {}
    for c in doc["checks"]:
        if c["id"].startswith(SOURCE_WORDED):
            out[c["id"]] = (c["status"] if not c["id"].startswith("e2e.") else "-", tuple(c["objects"]))
        else:
            out[c["id"]] = (c["status"], c["message"], tuple(c["objects"]), tuple(c["evidence"]))
    return out


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_live_equals_bundle(example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_code, offline = run_json(capsys, "--bundle", str(EXAMPLES / example))
    with FakeApiServer(EXAMPLES / example) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "kubeconfig")
        live_code, live = run_json(capsys, "--kubeconfig", kubeconfig)
    assert live_code == bundle_code
    assert live["source"]["kind"] == "live" and live["source"]["context"] == "fake"
    assert live["source"]["server_version"] == offline["source"]["server_version"]
    assert comparable(live) == comparable(offline)
    access = next(c for c in live["checks"] if c["id"] == "cluster.access")
    assert access["status"] == "pass" and "as admin" in access["message"]


def test_request_log_one_list_per_kind_logs_for_unhealthy_and_the_runtime_sample_no_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        code, _ = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"))
        requests = list(srv.requests)
    assert code == 1
    methods = Counter(r.method for r in requests)
    assert set(methods) <= {"GET", "POST"}
    posts = [r.path for r in requests if r.method == "POST"]
    assert all(p.endswith(("selfsubjectreviews", "selfsubjectaccessreviews", "subjectaccessreviews")) for p in posts)
    # LISTs: /api/v1/<plural> and /apis/<group>/<version>/<plural> (discovery has fewer segments).
    lists = [r.path for r in requests if r.method == "GET" and not r.path.endswith("/log") and (
        (r.path.startswith("/api/v1/") and r.path.count("/") == 3)
        or (r.path.startswith("/apis/") and r.path.count("/") == 4))]
    assert len(lists) == len(set(lists)), f"a kind was listed twice: {sorted(lists)}"
    assert "/api/v1/pods" in lists and "/apis/apps/v1/deployments" in lists
    logs = [r for r in requests if r.path.endswith("/log")]
    # The crash-looping EPP pod: its current and previous log. Healthy pods: only the runtime checks' sample
    # (checks/runtime/_sample.py: 2 decode pods of the pool, 1 gateway proxy), current logs only.
    epp = "/api/v1/namespaces/llm-d/pods/ms-llm-d-epp-6c9d8b7f5-x2k4q/log"
    assert sorted(r.query.get("previous", "false") for r in logs if r.path == epp) == ["false", "true"]
    assert {r.path for r in logs if r.path != epp} == {f"/api/v1/namespaces/llm-d/pods/{p}/log" for p in (
        "ms-llm-d-modelservice-decode-7d4f9c8b6-4kz8t", "ms-llm-d-modelservice-decode-7d4f9c8b6-9wqnr",
        "llm-d-infra-inference-gateway-istio-5b9c7d6f48-qk2wz")}
    assert all(r.query.get("previous", "false") == "false" for r in logs if r.path != epp)
    assert all("tailLines" in r.query for r in logs)
    # Secrets, if listed at all, only as metadata.
    assert all("PartialObjectMetadata" in (r.accept or "") for r in requests if "/secrets" in r.path)


@pytest.mark.parametrize("aggregated", [True, False])
def test_discovery_aggregated_or_per_group_version(aggregated: bool, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Aggregated discovery (Kubernetes >= 1.26) is one request; an older server is asked per
    group-version. Both give the same results."""
    _, offline = run_json(capsys, "--bundle", str(EXAMPLES / "healthy"))
    with FakeApiServer(EXAMPLES / "healthy", aggregated_discovery=aggregated) as srv:
        _, live = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"))
        paths = [r.path for r in srv.requests]
    assert comparable(live) == comparable(offline)
    per_group_version = [p for p in paths if p.startswith("/apis/") and p.count("/") == 3]
    assert paths.count("/apis") == 1
    if aggregated:
        assert per_group_version == []
    else:
        assert "/apis/inference.networking.x-k8s.io/v1alpha2" in per_group_version


def test_a_group_version_whose_discovery_fails_is_unknown_not_none(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An older server answers /apis, then 503 for the pools' group-version: whether InferencePools
    are served is unknown, so no check may pass on "there are none"."""
    gv = "/apis/inference.networking.x-k8s.io/v1alpha2"
    with FakeApiServer(EXAMPLES / "healthy", aggregated_discovery=False,
                       fault=lambda m, p, q: Fault(status=503) if p == gv else None) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"))
    checks = {c["id"]: c for c in doc["checks"]}
    pool_checks = [c for c in doc["checks"] if c["id"].startswith("inferencepool.")]
    assert pool_checks and all(c["status"] in ("error", "skip", "blocked") for c in pool_checks), [
        (c["id"], c["status"]) for c in pool_checks]
    assert "discovery of inference.networking.x-k8s.io/v1alpha2 failed: HTTP 503" in json.dumps(doc)
    assert doc["summary"]["verdict"] != "healthy" and checks["cluster.access"]["status"] != "pass"


def test_stale_aggregated_entries_are_asked_per_group_version() -> None:
    """A group-version whose aggregated entry is stale (its aggregated API server did not answer)
    is asked directly; the fresh ones are taken as they are."""
    from llmd_doctor.sources.connection import aggregated

    doc = {"kind": "APIGroupDiscoveryList", "items": [
        {"metadata": {"name": "gateway.networking.k8s.io"}, "versions": [
            {"version": "v1", "freshness": "Current", "resources": [
                {"resource": "httproutes", "responseKind": {"group": "gateway.networking.k8s.io", "version": "v1",
                                                            "kind": "HTTPRoute"}, "scope": "Namespaced"}]},
            {"version": "v1beta1", "freshness": "Stale", "resources": []}]},
        {"metadata": {"name": "unrelated.example.com"}, "versions": [{"version": "v1", "resources": [
            {"resource": "things", "responseKind": {"kind": "Thing"}}]}]},
        {"metadata": {"name": "inference.networking.k8s.io"}, "versions": "not a list"}]}
    served, stale = aggregated(doc, {"gateway.networking.k8s.io", "inference.networking.k8s.io"})
    assert served == {"HTTPRoute.gateway.networking.k8s.io": ["v1"]}
    assert stale == [("gateway.networking.k8s.io", "v1beta1")]


def test_forbidden_kind_is_an_error_naming_verb_resource_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        srv.forbid("list", "deployments", group="apps")
        code, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on-error", "--fail-on", "never")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["epp.deployment"]["status"] == "error"
    assert "cannot list deployments.apps cluster-wide" in checks["epp.deployment"]["message"]
    assert checks["gateway-api.crds"]["status"] == "pass"  # the rest still runs
    assert checks["cluster.access"]["status"] == "warn"
    assert code == 3


def test_namespace_scope_lists_per_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        code, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "-n", "llm-d")
        paths = {r.path for r in srv.requests}
    assert code == 1
    assert "/api/v1/namespaces/llm-d/pods" in paths and "/api/v1/pods" not in paths
    assert {c["id"]: c["status"] for c in doc["checks"]}["epp.logs"] == "fail"


def test_paginated_lists_are_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--chunk-size", "2")
        continued = [r for r in srv.requests if r.path == "/api/v1/pods" and "continue" in r.query]
    assert continued, "the pod list was not paginated"
    assert {c["id"]: c["status"] for c in doc["checks"]}["epp.deployment"] == "fail"


def test_unreachable_server_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k")
    # The server is gone now.
    with pytest.raises(SystemExit) as exc:
        main(["check", "--kubeconfig", kubeconfig, "--request-timeout", "2s", "--no-probe"])
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.startswith("llmd-doctor: error: cannot reach the API server") and err.count("\n") == 1


def test_server_errors_are_retried_then_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = Counter()

    def flaky(method: str, path: str, query: dict) -> Fault | None:
        if path == "/api/v1/pods":
            calls[path] += 1
            return Fault(status=500)
        return None

    with FakeApiServer(EXAMPLES / "healthy", fault=flaky) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--fail-on", "never")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["epp.deployment"]["status"] == "error"
    assert "HTTP 500" in checks["epp.deployment"]["message"]
    assert calls["/api/v1/pods"] == 3  # one try and two retries


# ---- the cluster cannot be read at all, or not in time (issue #12) ----------------------------------


def run_fatal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """A run that must stop before reporting: exit 2, one line on stderr, nothing on stdout."""
    with pytest.raises(SystemExit) as exc:
        main(["check", "-o", "json", "--no-probe", *argv])
    out, err = capsys.readouterr()
    assert exc.value.code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_expired_token_stops_the_run_naming_authentication(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        err = run_fatal(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k", token="expired-token"))
        statuses = {r.status for r in srv.requests}
    assert err == (f"llmd-doctor: error: the API server at {srv.https_url} rejected our credentials (401 "
                   "Unauthorized): the token may have expired; run `kubectl get --raw /api` to check\n")
    assert statuses == {401}
    assert "RBAC" not in err and "forbidden" not in err


def test_lists_refused_401_after_an_anonymous_version_stop_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/version readable without credentials (kube-apiserver's anonymous conditions), every list 401."""
    with FakeApiServer(EXAMPLES / "healthy", anonymous_paths=("/version",)) as srv:
        err = run_fatal(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k", token=None))
        by_path = {r.path: r.status for r in srv.requests}
    assert by_path["/version"] == 200 and 401 in by_path.values()
    assert err == (f"llmd-doctor: error: the API server at {srv.https_url} answered 401 Unauthorized: the "
                   "kubeconfig's user 'admin' has no credentials (token, client certificate or exec plugin); "
                   "check --kubeconfig and --context\n")


def test_a_kubeconfig_trusting_another_ca_names_the_tls_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "healthy") as srv:
        err = run_fatal(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k", ca_file=OTHER_CA_FILE))
        answered = srv.requests
    assert err == (f"llmd-doctor: error: TLS verification of {srv.https_url} failed: certificate verify failed: "
                   "unable to get local issuer certificate; check the kubeconfig's certificate-authority-data "
                   "or --context\n")
    assert answered == []  # the handshake failed: no request reached the server


def test_a_hung_list_says_how_many_tries_and_how_long(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hung = "/apis/apps/v1/deployments"
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault",
                       fault=lambda m, p, q: Fault(delay_s=3.0) if p == hung else None) as srv:
        _, doc = run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"), "--request-timeout", "0.5s",
                          "--fail-on", "never")
        tries = [r for r in srv.requests if r.path == hung]
    message = {c["id"]: c for c in doc["checks"]}["epp.deployment"]["message"]
    m = re.search(r"timed out after 0\.5s \((\d) attempts, ([\d.]+)s\)", message)
    assert m, message
    # The server saw each try (it logs a request once its delay is over, so it may miss the last one).
    assert int(m.group(1)) == 2 and len(tries) <= 2
    assert float(m.group(2)) >= 2 * 0.5  # the time it says is at least the time the tries took


def test_the_run_deadline_turns_what_was_not_read_into_errors(tmp_path: Path) -> None:
    """Pods hang for 30 s; with a 2 s deadline the run reports in about 2 s: pods are an error naming
    the deadline, the rest was read as usual."""
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault",
                       fault=lambda m, p, q: Fault(delay_s=30.0) if p == "/api/v1/pods" else None) as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), deadline=2.0)
        started = time.monotonic()
        snap = build_snapshot(opts, choose_specs(opts))
        elapsed = time.monotonic() - started
    assert elapsed < 15, f"the run waited for the hung read ({elapsed:.1f}s)"
    assert str(snap.errors["Pod"]) == "not read: the run's deadline of 2s passed"
    assert snap.has_collected("Deployment.apps") and snap.list("Deployment.apps")
    results = {r.spec.id: r for r in run_checks(choose_specs(opts), snap)}
    assert results["epp.deployment"].status.value == "error"
    assert "deadline of 2s passed" in results["epp.deployment"].message


def test_a_deadline_that_passes_before_anything_is_read_leaves_no_pass(tmp_path: Path) -> None:
    slow = {"/version": 0.0}
    with FakeApiServer(EXAMPLES / "healthy",
                       fault=lambda m, p, q: Fault(delay_s=slow.get(p, 1.5))) as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), deadline=1.0)
        snap = build_snapshot(opts, choose_specs(opts))
    results = run_checks(choose_specs(opts), snap)
    assert snap.errors and all("deadline of 1s passed" in str(e) for e in snap.errors.values())
    passed = [r.spec.id for r in results if r.status.value == "pass" and set(r.spec.inputs) & set(snap.errors)]
    assert passed == []


def test_every_request_carries_our_user_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        run_json(capsys, "--kubeconfig", srv.kubeconfig(tmp_path / "k"))
        agents = Counter(r.user_agent for r in srv.requests)
    assert agents and set(agents) == {f"llmd-doctor/{__version__}"}, agents


def test_a_namespace_asked_for_that_does_not_exist_is_recorded(tmp_path: Path) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), namespaces=["nope", "llm-d"])
        snap = build_snapshot(opts, choose_specs(opts))
        gets = Counter(r.path for r in srv.requests if r.path.startswith("/api/v1/namespaces/")
                       and r.path.count("/") == 4)
    assert snap.missing_namespaces == ["nope"]
    assert gets == {"/api/v1/namespaces/nope": 1, "/api/v1/namespaces/llm-d": 1}  # one GET per namespace


def test_a_namespace_we_may_not_get_is_unknown_not_missing(tmp_path: Path) -> None:
    with FakeApiServer(EXAMPLES / "seed-rosa-epp-segfault") as srv:
        srv.forbid("get", "namespaces")
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"), namespaces=["nope", "llm-d"])
        snap = build_snapshot(opts, choose_specs(opts))
    assert snap.missing_namespaces == []


# ---- a shared cluster: pods are read where the checks can care about them (issue #15) -----------


def shared_cluster(extra: str = "") -> BundleData:
    """examples/healthy with ordinary team namespaces around it (tests/test_read_shaping.py)."""
    from test_read_shaping import with_teams

    return with_teams(read_bundle(EXAMPLES / "healthy"), extra)


def test_a_shared_cluster_lists_only_llm_d_pods_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_cluster("bare-vllm-pod")
    bundle = Scenario(copy.deepcopy(data)).write(tmp_path / "bundle")
    _, offline = run_json(capsys, "--bundle", str(bundle), "--fail-on", "never")
    with FakeApiServer(data) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k")
        _, live = run_json(capsys, "--kubeconfig", kubeconfig, "--fail-on", "never")
        pod_lists = [r for r in srv.requests if r.path.endswith("/pods")]
        opts = RunOptions(kubeconfig=kubeconfig)
        snap = build_snapshot(opts, choose_specs(opts))
    assert comparable(live) == comparable(offline)
    # No list of every pod: llm-d's namespace in full, the rest by label selector.
    assert not [r for r in pod_lists if r.path == "/api/v1/pods" and "labelSelector" not in r.query]
    assert "/api/v1/namespaces/llm-d/pods" in {r.path for r in pod_lists}
    read = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in snap.list("Pod")}
    everything = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in data.objects if o["kind"] == "Pod"}
    assert read < everything and ("team-2", "vllm-experiment") in read
    scope = snap.pod_scope
    assert scope is not None and "llm-d" in scope.namespaces
    assert scope.complete("llm-d") and not scope.complete("team-0")


def test_collect_on_a_shared_cluster_keeps_what_the_checks_read(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """collect reads pods the same way (and keeps objects whole): checking its bundle says what the
    live check said."""
    data = shared_cluster("vllm-deployment")
    with FakeApiServer(data) as srv:
        kubeconfig = srv.kubeconfig(tmp_path / "k")
        _, live = run_json(capsys, "--kubeconfig", kubeconfig, "--fail-on", "never")
        with pytest.raises(SystemExit) as exc:
            main(["collect", "--kubeconfig", kubeconfig, "-o", str(tmp_path / "b.tar.gz")])
        capsys.readouterr()
    assert exc.value.code in (0, None)
    _, offline = run_json(capsys, "--bundle", str(tmp_path / "b.tar.gz"), "--fail-on", "never")
    assert comparable(offline) == comparable(live)
    pods = [o for o in read_bundle(tmp_path / "b.tar.gz").objects if o.get("kind") == "Pod"]
    assert any(p["metadata"]["name"].startswith("qwen-") for p in pods)  # the team's vLLM Deployment
    # Not pruned (bundles are read by people too): fields no check reads are still there.
    teams = [p for p in pods if p["metadata"]["namespace"].startswith("team-")]
    assert teams and all("hostIPs" in p["status"] for p in teams)
    # The manifest says the pods were chosen, and how: a reader does not mistake the rest for absent.
    scope = read_bundle(tmp_path / "b.tar.gz").manifest["podScope"]
    assert scope["namespaces"] and scope["left_out"] and isinstance(scope["selectors"], list)


def test_an_object_of_impossible_shape_is_named_once_and_left_out(tmp_path: Path) -> None:
    """Validated as its page is parsed (what pruning keeps: the fields checks read): the same warning as a bundle's."""
    sc = Scenario.example("healthy")
    pod = sc.find_prefix("Pod", "ms-llm-d-modelservice-decode")
    pod["spec"]["containers"] = [1]
    name = pod["metadata"]["name"]
    with FakeApiServer(sc.data) as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"))
        snap = build_snapshot(opts, choose_specs(opts))
    offline = Scenario(sc.data).snapshot()
    warned = [w for w in snap.warnings if name in w]
    assert warned == [w for w in offline.warnings if name in w] and len(warned) == 1, snap.warnings
    assert "malformed field spec.containers[0]" in warned[0]
    assert name not in {p["metadata"]["name"] for p in snap.list("Pod")}


def test_connecting_and_discovery_start_before_the_checks_load(tmp_path: Path) -> None:
    """`check` connects and discovers while it loads its check modules; what it then reads is the
    same, and an error of the checks (a bad --checks-dir) is still the one said."""
    from llmd_doctor.errors import UsageError
    from llmd_doctor.run import connect_early, diagnose

    with FakeApiServer(EXAMPLES / "healthy") as srv:
        opts = RunOptions(kubeconfig=srv.kubeconfig(tmp_path / "k"))
        conn = connect_early(opts)
        _, version = conn.client()
        served = conn.served()
        assert version == srv.data.manifest.get("serverVersion", version)
        assert isinstance(served, dict) and served.get("InferencePool.inference.networking.x-k8s.io")
        assert [r.path for r in srv.requests][:1] == ["/version"]
        snap = build_snapshot(opts, choose_specs(opts), conn)
        assert snap.served == served and snap.source.server_version == version
        with pytest.raises(UsageError, match="--checks-dir .*not a directory"):
            diagnose(RunOptions(kubeconfig=opts.kubeconfig, checks_dirs=[str(tmp_path / "none")]))
    assert connect_early(RunOptions(bundle=str(EXAMPLES / "healthy"))) is None
