"""checks/_rbac.py, the pure RBAC evaluator, against what the Kubernetes RBAC authorizer answers."""

from __future__ import annotations

from llmd_doctor.rbac_eval import Rbac, Request, Subject, aggregate, rule_allows

RBAC = "rbac.authorization.k8s.io/v1"
EPP = Subject.service_account("llm-d", "epp")
PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}


def role(name: str, ns: str, *rules: dict) -> dict:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": list(rules)}


def cluster_role(name: str, *rules: dict, labels: dict | None = None, selectors: list | None = None) -> dict:
    o = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}},
         "rules": list(rules)}
    if selectors is not None:
        o["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return o


def binding(name: str, ns: str | None, ref_kind: str, ref_name: str, *subjects: dict) -> dict:
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name},
            "subjects": list(subjects)}


def sa(name: str, ns: str | None = "llm-d") -> dict:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": ns} if ns else {})}


def test_service_account_identity_and_groups() -> None:
    assert EPP.user == "system:serviceaccount:llm-d:epp"
    assert EPP.groups == ("system:serviceaccounts", "system:serviceaccounts:llm-d", "system:authenticated")
    assert EPP.service_account_ref == ("llm-d", "epp")
    assert Subject("alice").service_account_ref is None


def test_role_binding_grants_in_its_namespace_only() -> None:
    rb = Rbac(roles=[role("epp", "llm-d", PODS)], role_bindings=[binding("epp", "llm-d", "Role", "epp", sa("epp"))])
    grant = rb.allows(EPP, Request("list", "pods", "", "llm-d"))
    assert grant is not None and str(grant) == "RoleBinding/llm-d/epp -> Role/llm-d/epp"
    assert rb.allows(EPP, Request("list", "pods", "", "other")) is None
    assert rb.allows(EPP, Request("list", "pods", "", None)) is None  # never cluster-wide
    assert rb.allows(EPP, Request("delete", "pods", "", "llm-d")) is None
    assert rb.allows(Subject.service_account("llm-d", "default"), Request("list", "pods", "", "llm-d")) is None


def test_role_binding_to_a_cluster_role_is_namespaced() -> None:
    rb = Rbac(cluster_roles=[cluster_role("pod-read", PODS)],
              role_bindings=[binding("epp", "llm-d", "ClusterRole", "pod-read", sa("epp"))])
    assert rb.allows(EPP, Request("watch", "pods", "", "llm-d")) is not None
    assert rb.allows(EPP, Request("watch", "pods", "", "kube-system")) is None


def test_cluster_role_binding_grants_everywhere_and_cluster_wide() -> None:
    auth = {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]}
    rb = Rbac(cluster_roles=[cluster_role("auth", auth, PODS)],
              cluster_role_bindings=[binding("auth", None, "ClusterRole", "auth", sa("epp"))])
    assert rb.allows(EPP, Request("create", "tokenreviews", "authentication.k8s.io")) is not None
    assert rb.allows(EPP, Request("list", "pods", "", "anywhere")) is not None
    # A ClusterRoleBinding's ServiceAccount subject needs a namespace: without one it names nobody.
    rb2 = Rbac(cluster_roles=[cluster_role("auth", auth)],
               cluster_role_bindings=[binding("auth", None, "ClusterRole", "auth", sa("epp", ns=None))])
    assert rb2.allows(EPP, Request("create", "tokenreviews", "authentication.k8s.io")) is None


def test_service_account_subject_defaults_to_the_binding_namespace() -> None:
    rb = Rbac(roles=[role("epp", "llm-d", PODS)], role_bindings=[binding("epp", "llm-d", "Role", "epp", sa("epp", None))])
    assert rb.allows(EPP, Request("get", "pods", "", "llm-d")) is not None


def test_group_and_user_subjects() -> None:
    for subj in ({"kind": "Group", "name": "system:serviceaccounts"},
                 {"kind": "Group", "name": "system:serviceaccounts:llm-d"},
                 {"kind": "Group", "name": "system:authenticated"},
                 {"kind": "User", "name": "system:serviceaccount:llm-d:epp"}):
        rb = Rbac(roles=[role("r", "llm-d", PODS)], role_bindings=[binding("b", "llm-d", "Role", "r", subj)])
        assert rb.allows(EPP, Request("list", "pods", "", "llm-d")) is not None, subj
    other_ns = {"kind": "Group", "name": "system:serviceaccounts:other"}
    rb = Rbac(roles=[role("r", "llm-d", PODS)], role_bindings=[binding("b", "llm-d", "Role", "r", other_ns)])
    assert rb.allows(EPP, Request("list", "pods", "", "llm-d")) is None


def test_wildcards() -> None:
    star = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    assert rule_allows(star, Request("list", "inferencepools", "inference.networking.k8s.io", "llm-d"))
    group_star = {"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["*"], "verbs": ["list"]}
    assert rule_allows(group_star, Request("list", "inferencemodels", "inference.networking.x-k8s.io", "ns"))
    assert not rule_allows(group_star, Request("list", "inferencepools", "inference.networking.k8s.io", "ns"))
    assert not rule_allows(group_star, Request("watch", "inferencemodels", "inference.networking.x-k8s.io", "ns"))


def test_subresources() -> None:
    status = {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]}
    assert rule_allows(status, Request("get", "pods", "", "ns", subresource="status"))
    assert not rule_allows(status, Request("get", "pods", "", "ns"))
    assert not rule_allows(PODS, Request("get", "pods", "", "ns", subresource="log"))
    any_log = {"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}
    assert rule_allows(any_log, Request("get", "pods", "", "ns", subresource="log"))


def test_resource_names_never_allow_list_or_watch() -> None:
    named = {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"],
             "resourceNames": ["ms-llm-d"], "verbs": ["get", "list", "watch"]}
    assert rule_allows(named, Request("get", "inferencepools", "inference.networking.k8s.io", "ns", name="ms-llm-d"))
    assert not rule_allows(named, Request("get", "inferencepools", "inference.networking.k8s.io", "ns", name="other"))
    assert not rule_allows(named, Request("list", "inferencepools", "inference.networking.k8s.io", "ns"))


def test_non_resource_urls() -> None:
    metrics = {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}
    assert rule_allows(metrics, Request("get", path="/metrics"))
    assert not rule_allows(metrics, Request("get", path="/healthz"))
    assert rule_allows({"nonResourceURLs": ["/debug/*"], "verbs": ["get"]}, Request("get", path="/debug/pprof"))
    assert not rule_allows(PODS, Request("get", path="/metrics"))


def test_aggregation_collects_labelled_cluster_roles_to_a_fixed_point() -> None:
    inference = {"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["inferencepools", "inferencemodels"],
                 "verbs": ["get", "list", "watch"]}
    roles = [
        cluster_role("epp-reader", selectors=[{"matchLabels": {"llm-d.ai/aggregate-to-epp": "true"}}]),
        cluster_role("epp-pods", PODS, labels={"llm-d.ai/aggregate-to-epp": "true"}),
        # itself aggregated: its rules reach epp-reader through two levels
        cluster_role("epp-inference", labels={"llm-d.ai/aggregate-to-epp": "true"},
                     selectors=[{"matchExpressions": [{"key": "inference", "operator": "Exists"}]}]),
        cluster_role("inference-base", inference, labels={"inference": "x"}),
        cluster_role("unrelated", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
    ]
    agg = aggregate(roles)
    assert PODS in agg["epp-reader"] and inference in agg["epp-reader"]
    assert all("secrets" not in r.get("resources", []) for r in agg["epp-reader"])
    rb = Rbac(cluster_roles=roles, role_bindings=[binding("epp", "llm-d", "ClusterRole", "epp-reader", sa("epp"))])
    assert rb.allows(EPP, Request("watch", "inferencemodels", "inference.networking.x-k8s.io", "llm-d")) is not None


def test_empty_aggregation_selector_selects_every_cluster_role() -> None:
    roles = [cluster_role("all", selectors=[{}]), cluster_role("pods", PODS)]
    assert PODS in aggregate(roles)["all"]


def test_dangling_bindings_grant_nothing_and_are_reported() -> None:
    rb = Rbac(role_bindings=[binding("epp", "llm-d", "Role", "missing", sa("epp"))])
    assert rb.allows(EPP, Request("list", "pods", "", "llm-d")) is None
    assert [str(g) for g in rb.dangling(EPP, "llm-d")] == ["RoleBinding/llm-d/epp -> Role/llm-d/missing"]
    assert [str(g) for g in rb.bindings_of(EPP, "llm-d")] == ["RoleBinding/llm-d/epp -> Role/llm-d/missing"]


def test_request_text() -> None:
    assert str(Request("list", "inferencepools", "inference.networking.k8s.io", "llm-d")) == \
        "list inferencepools.inference.networking.k8s.io in llm-d"
    assert str(Request("create", "tokenreviews", "authentication.k8s.io")) == \
        "create tokenreviews.authentication.k8s.io cluster-wide"


def test_rules_made_into_sets_answer_as_the_rule_is_written() -> None:
    """Rbac.allows matches each rule through sets made once per rule (issue #15: a dozen questions per
    EPP against the same roles); every rule and request below gets rule_allows's answer."""
    import itertools

    from llmd_doctor.rbac_eval import _compiled

    lists = {"verbs": [["get"], ["*"], ["list", "watch"], [], ["create", "*"]],
             "apiGroups": [[""], ["*"], ["inference.networking.k8s.io", ""], []],
             "resources": [["pods"], ["*"], ["pods/log"], ["*/log", "services"], ["inferencepools", "pods"], []],
             "resourceNames": [[], ["a"], ["a", "b"]]}
    rules = [dict(zip(lists, combo, strict=True)) for combo in itertools.product(*lists.values())]
    rules.append({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/metrics*"]})
    requests = [Request(verb, res, group, ns, name, sub)
                for verb, (res, sub), group, ns, name in itertools.product(
                    ["get", "list", "create"], [("pods", ""), ("pods", "log"), ("services", ""), ("inferencepools", "")],
                    ["", "inference.networking.k8s.io", "apps"], ["llm-d", None], [None, "a", "c"])]
    requests += [Request("get", path="/metrics/x"), Request("get", path="/healthz"), Request("list", path="/api")]
    answered = 0
    for rule in rules:
        for req in requests:
            assert _compiled(rule).allows(req) == rule_allows(rule, req), (rule, req)
            answered += 1
    assert answered == len(rules) * len(requests) > 50_000
