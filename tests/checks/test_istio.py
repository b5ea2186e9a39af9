"""istio.control-plane, istio.inference-extension, istio.epp-destination-rule on the examples and variants
(Istio 1.28 with v1 pools, dev builds, kgateway and GKE gateways, EPP TLS settings)."""

from __future__ import annotations

from test_gateway import (
    GATEWAY_NAME,
    GATEWAY_REF,
    GW,
    add_kgateway,
    containers,
    example,
    finding,
    result,
    route_condition,
    set_istio,
    to_v1_pool,
    use_class,
)

from llmd_doctor.model import EPP_CAPABILITIES, GATEWAY_ROUTING, Status

ISTIOD = "Deployment/istio-system/istiod"
DR = "DestinationRule.networking.istio.io"
DR_NAME = "ms-llm-d-epp-insecure-tls"
EPP_SVC = "Service/llm-d/ms-llm-d-epp"
ISTIO_IDS = ("istio.control-plane", "istio.inference-extension", "istio.epp-destination-rule")


def test_healthy_example_passes_every_istio_check() -> None:
    results = example("healthy").run(*ISTIO_IDS)
    for cid in ISTIO_IDS:
        assert results[cid].status == Status.PASS, (cid, results[cid].message)
    assert results["istio.control-plane"].objects == [ISTIOD]
    assert "Istio 1.27.0" in results["istio.control-plane"].message
    ext = results["istio.inference-extension"]
    assert "ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true" in ext.message
    assert "Service/llm-d/ms-llm-d-ip-f2239922" in ext.message  # Istio's shadow Service for the pool
    assert results["istio.epp-destination-rule"].objects == [f"DestinationRule/llm-d/{DR_NAME}"]


def test_seed_example_istio_checks_do_not_fail() -> None:
    results = example("seed-rosa-epp-segfault").run(*ISTIO_IDS)
    assert results["istio.control-plane"].status == Status.PASS
    # The seed's route goes to a Service: nothing for the inference extension to do.
    assert results["istio.inference-extension"].status == Status.SKIP
    assert "no Istio Gateway routes to an InferencePool" in results["istio.inference-extension"].message
    assert results["istio.epp-destination-rule"].status == Status.PASS


# ---- istio.control-plane ------------------------------------------------------------------------------


def test_istiod_missing_fails_on_the_istio_gateway() -> None:
    sc = example("healthy")
    sc.remove("Deployment.apps", "istiod")
    results = sc.run(*ISTIO_IDS)
    res = results["istio.control-plane"]
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, GATEWAY_REF)
    assert "no istiod Deployment exists" in f.message and "class istio" in f.message
    for cid in ("istio.inference-extension", "istio.epp-destination-rule"):
        assert results[cid].status == Status.BLOCKED and results[cid].blocked_by == ["istio.control-plane"]


def test_istiod_unavailable_fails() -> None:
    sc = example("healthy")
    d = sc.find("Deployment.apps", "istiod")
    d["status"].update(readyReplicas=0, availableReplicas=0, unavailableReplicas=1)
    d["status"]["conditions"][0].update(status="False", reason="MinimumReplicasUnavailable",
                                        message="Deployment does not have minimum availability.")
    res = result(sc, "istio.control-plane")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ISTIOD)
    assert "not available" in f.message and "MinimumReplicasUnavailable" in f.message and GATEWAY_REF in f.message


def test_no_istio_at_all_is_skipped_naming_the_gateway() -> None:
    sc = example("healthy")
    sc.remove("Deployment.apps", "istiod")
    use_class(sc, "gke-l7-regional-external-managed", "networking.gke.io/gateway")
    results = sc.run(*ISTIO_IDS)
    assert results["istio.control-plane"].status == Status.SKIP
    assert results["istio.control-plane"].message == "no Istio control plane; gateway is GKE Gateway"
    assert results["istio.inference-extension"].status == Status.SKIP


def test_istiod_version_from_a_dev_build() -> None:
    sc = example("healthy")
    set_istio(sc, "1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401")
    res = result(sc, "istio.control-plane")
    assert res.status == Status.PASS
    assert "Istio 1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401 (pre-release build)" in res.message


# ---- istio.inference-extension ------------------------------------------------------------------------


def test_env_flag_missing_fails_with_the_route_condition() -> None:
    sc = example("healthy")
    set_istio(sc, "1.27.0", flag=None)
    sc.remove("Service", "ms-llm-d-ip-f2239922")  # istiod never reconciled the pool
    route_condition(sc, "ResolvedRefs", status="False", reason="InvalidKind",
                    message="InferencePool is not enabled. To enable, set SUPPORT_GATEWAY_API_INFERENCE_EXTENSION "
                            "to true in istiod")
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, ISTIOD)
    assert "does not enable the Gateway API Inference Extension" in f.message
    assert "ENABLE_GATEWAY_API_INFERENCE_EXTENSION is not set" in f.message  # the only name 1.27.0 reads
    assert any("InferencePool is not enabled" in e for e in f.evidence)
    assert any("no shadow Service" in e for e in f.evidence)
    assert "pilot.env.ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true" in res.remediation
    assert set(res.lost_capabilities) == {GATEWAY_ROUTING, *EPP_CAPABILITIES}


def test_the_pre_release_flag_name_on_1_27_is_named_as_the_cause() -> None:
    """Istio 1.27.0 renamed SUPPORT_… to ENABLE_… before release (istio/istio PR 57220): the old name alone
    leaves the extension off, and the finding says so."""
    sc = example("healthy")
    set_istio(sc, "1.27.0", flag="SUPPORT_GATEWAY_API_INFERENCE_EXTENSION")
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.FAIL
    assert "SUPPORT_GATEWAY_API_INFERENCE_EXTENSION=true is set, but Istio 1.27.0 does not read that name" \
        in finding(res, Status.FAIL, ISTIOD).message


def test_env_flag_false_fails_naming_the_value() -> None:
    sc = example("healthy")
    c = containers(sc, "istiod")[0]
    next(e for e in c["env"] if e["name"] == "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")["value"] = "false"
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.FAIL
    assert "ENABLE_GATEWAY_API_INFERENCE_EXTENSION=false" in finding(res, Status.FAIL, ISTIOD).message


def test_env_flag_from_a_reference_warns() -> None:
    sc = example("healthy")
    c = containers(sc, "istiod")[0]
    e = next(e for e in c["env"] if e["name"] == "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    e.pop("value")
    e["valueFrom"] = {"configMapKeyRef": {"name": "istiod-env", "key": "inference"}}
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.WARN
    assert "valueFrom" in finding(res, Status.WARN, ISTIOD).message


def test_either_flag_name_is_accepted() -> None:
    sc = example("healthy")
    set_istio(sc, "1.27.3", "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.PASS
    assert "ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true" in res.message


def test_istio_128_with_experimental_pool_group_fails() -> None:
    sc = example("healthy")
    set_istio(sc, "1.28.1", "ENABLE_GATEWAY_API_INFERENCE_EXTENSION")
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, GATEWAY_REF)
    assert "Istio 1.28.1, which routes only inference.networking.k8s.io" in f.message
    assert "inference.networking.x-k8s.io" in f.message and "InvalidKind" in f.message


def test_istio_128_with_v1_pool_passes() -> None:
    sc = example("healthy")
    to_v1_pool(sc)
    results = sc.run(*ISTIO_IDS)
    for cid in ISTIO_IDS:
        assert results[cid].status == Status.PASS, (cid, results[cid].message)
    assert "routes inference.networking.k8s.io InferencePools" in results["istio.inference-extension"].message


def test_istio_127_with_v1_pool_fails() -> None:
    sc = example("healthy")
    to_v1_pool(sc, istio=None)
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.FAIL
    assert "routes only inference.networking.x-k8s.io" in finding(res, Status.FAIL, GATEWAY_REF).message


def test_dev_build_is_judged_by_its_prerelease_facts() -> None:
    # llm-d v0.2-v0.4 ran 1.28-alpha builds that still read SUPPORT_… and routed x-k8s.io pools: no false failure.
    sc = example("healthy")
    set_istio(sc, "1.28-alpha.89f30b26ba71bf5e538083a4720d0bc2d8c06401")
    res = result(sc, "istio.inference-extension")
    assert res.status == Status.PASS
    assert "1.28-alpha" in res.message and "SUPPORT_GATEWAY_API_INFERENCE_EXTENSION=true" in res.message


def test_kgateway_gateway_skips_the_istio_extension_checks() -> None:
    sc = example("healthy")
    add_kgateway(sc, "v2.0.4")
    results = sc.run(*ISTIO_IDS)
    assert results["istio.control-plane"].status == Status.PASS  # istiod still runs (mesh)
    assert results["istio.inference-extension"].status == Status.SKIP
    dr = results["istio.epp-destination-rule"]
    assert dr.status == Status.SKIP and "kgateway" in dr.message


# ---- istio.epp-destination-rule -----------------------------------------------------------------------


def test_destination_rule_missing_fails() -> None:
    sc = example("healthy")
    sc.remove(DR, DR_NAME)
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.FAIL
    f = finding(res, Status.FAIL, EPP_SVC)
    assert "no DestinationRule" in f.message and "self-signed" in f.message and "500s" in f.message
    assert "host: ms-llm-d-epp.llm-d.svc.cluster.local" in res.remediation
    assert set(res.lost_capabilities) == {GATEWAY_ROUTING, *EPP_CAPABILITIES}


def test_destination_rule_wrong_mode_fails() -> None:
    sc = example("healthy")
    sc.patch(DR, DR_NAME, {"spec": {"trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL", "insecureSkipVerify": None}}}})
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.FAIL
    assert "tls.mode ISTIO_MUTUAL, not SIMPLE" in finding(res, Status.FAIL, f"DestinationRule/llm-d/{DR_NAME}").message


def test_destination_rule_simple_without_skip_verify_fails() -> None:
    sc = example("healthy")
    sc.patch(DR, DR_NAME, {"spec": {"trafficPolicy": {"tls": {"insecureSkipVerify": None}}}})
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.FAIL
    assert "without insecureSkipVerify" in finding(res, Status.FAIL, f"DestinationRule/llm-d/{DR_NAME}").message


def test_destination_rule_host_forms() -> None:
    for host, ns, ok in (("ms-llm-d-epp", "llm-d", True), ("ms-llm-d-epp.llm-d", "llm-d", True),
                         ("ms-llm-d-epp", "istio-system", False), ("ms-llm-d-epp.other.svc.cluster.local", "llm-d", False)):
        sc = example("healthy")
        sc.patch(DR, DR_NAME, {"metadata": {"namespace": ns}, "spec": {"host": host}})
        res = result(sc, "istio.epp-destination-rule")
        assert res.status == (Status.PASS if ok else Status.FAIL), (host, ns, res.message)


def test_plaintext_epp_needs_no_destination_rule() -> None:
    sc = example("healthy")
    containers(sc, "ms-llm-d-epp")[0]["args"].append("-secureServing=false")
    # With the TLS DestinationRule still in place, the gateway would dial TLS to a plaintext EPP.
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.WARN
    assert "serves plaintext" in finding(res, Status.WARN, f"DestinationRule/llm-d/{DR_NAME}").message
    sc.remove(DR, DR_NAME)
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.PASS and "no TLS DestinationRule needed" in res.message


def test_unrouted_pool_without_destination_rule_only_warns() -> None:
    # The seed's pool gets no traffic (the route goes to a Service): a missing rule is a warning for later.
    sc = example("seed-rosa-epp-segfault")
    sc.remove(DR, DR_NAME)
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.WARN
    assert "no route sends traffic through" in finding(res, Status.WARN, EPP_SVC).message
    assert res.lost_capabilities == []


def test_v1_pool_gateway_without_istio_class_is_not_istios_business() -> None:
    sc = example("healthy")
    to_v1_pool(sc, istio=None)
    use_class(sc, "gke-l7-regional-external-managed", "networking.gke.io/gateway")
    sc.remove(DR, DR_NAME)
    sc.find(GW, GATEWAY_NAME)["metadata"]["labels"].pop("istio.io/enable-inference-extproc")
    res = result(sc, "istio.epp-destination-rule")
    assert res.status == Status.SKIP
