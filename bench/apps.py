"""The rest of a shared cluster: ordinary workloads that are not llm-d, generated deterministically.

Per namespace a web Deployment and a worker Deployment (each with its current ReplicaSet and one
old one scaled to 0), a small StatefulSet, Services, ConfigMaps, Secrets, ServiceAccounts and a few
Warning events; in kube-system three DaemonSets with one pod per node, and CronJob-made Jobs with
their completed pods in some namespaces; one bare debug pod. Pods are shaped like a real API
server's answer (managedFields, status conditions, a projected service-account token volume),
about 6.5 KB of JSON each, the size issue #15 measured on a real shared cluster.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

Obj = dict[str, Any]
CREATED = "2025-09-02T08:14:07Z"
STARTED = "2025-09-02T08:14:31Z"
IMAGES = {
    "web": "registry.example.com/shop/storefront:4.18.2",
    "worker": "registry.example.com/shop/order-worker:4.18.2",
    "db": "docker.io/library/postgres:16.4",
    "kube-proxy": "registry.k8s.io/kube-proxy:v1.31.10",
    "node-exporter": "quay.io/prometheus/node-exporter:v1.8.2",
    "fluent-bit": "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
    "report": "registry.example.com/shop/nightly-report:4.18.2",
    "debug": "docker.io/nicolaka/netshoot:v0.13",
}


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bench/" + "/".join(parts)))


def _managed_fields(manager: str, operation: str = "Update") -> list[Obj]:
    """What `metadata.managedFields` looks like on a pod: the controller's and the kubelet's entries."""
    spec_fields = {f"f:{k}": {} for k in ("dnsPolicy", "enableServiceLinks", "restartPolicy", "schedulerName",
                                           "securityContext", "terminationGracePeriodSeconds")}
    spec_fields['k:{"name":"app"}'] = {".": {}, "f:env": {".": {}, 'k:{"name":"LOG_LEVEL"}': {".": {}, "f:name": {},
                                       "f:value": {}}}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                                       "f:ports": {".": {}, 'k:{"containerPort":8080,"protocol":"TCP"}': {}},
                                       "f:readinessProbe": {".": {}, "f:httpGet": {".": {}, "f:path": {}}},
                                       "f:resources": {".": {}, "f:limits": {}, "f:requests": {}}}
    return [
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": manager, "operation": operation,
         "time": CREATED, "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}},
                                                      "f:ownerReferences": {".": {}}},
                                       "f:spec": {"f:containers": spec_fields}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet", "operation": "Update",
         "subresource": "status", "time": STARTED,
         "fieldsV1": {"f:status": {"f:conditions": {f'k:{{"type":"{t}"}}': {".": {}, "f:lastProbeTime": {},
                                                                            "f:lastTransitionTime": {}, "f:status": {},
                                                                            "f:type": {}}
                                                    for t in ("ContainersReady", "Initialized", "PodScheduled",
                                                              "Ready")},
                                   "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                                   "f:podIPs": {".": {}}, "f:startTime": {}}}},
    ]


def _container(name: str, image: str, port: int | None, env: dict[str, str]) -> Obj:
    c: Obj = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "runAsNonRoot": True},
    }
    if port:
        c["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
        c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"}, "periodSeconds": 10,
                               "failureThreshold": 3, "successThreshold": 1, "timeoutSeconds": 1}
        c["livenessProbe"] = {"httpGet": {"path": "/livez", "port": port, "scheme": "HTTP"}, "periodSeconds": 20,
                              "failureThreshold": 3, "successThreshold": 1, "timeoutSeconds": 2,
                              "initialDelaySeconds": 15}
    return c


def _pod_spec(app: str, port: int | None, sa: str) -> Obj:
    env = {"LOG_LEVEL": "info", "APP_NAME": app, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4317",
           "FEATURE_FLAGS": "checkout-v2,search-v3,recommendations", "DB_HOST": "db-0.db", "DB_PORT": "5432",
           "CACHE_URL": "redis://redis-master.cache.svc.cluster.local:6379/0", "HTTP_TIMEOUT_SECONDS": "30",
           "JAVA_TOOL_OPTIONS": "-XX:MaxRAMPercentage=75 -XX:+UseG1GC -Dfile.encoding=UTF-8",
           "TZ": "Etc/UTC"}
    return {
        "containers": [_container("app", IMAGES.get(app, IMAGES["web"]), port, env)],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0, "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "serviceAccount": sa, "serviceAccountName": sa, "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "tolerationSeconds": 300}],
        "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}}],
    }


def _pod_status(ip: str, node_ip: str, image: str, phase: str = "Running") -> Obj:
    ready = "True" if phase == "Running" else "False"
    conds = [{"type": t, "status": ready if t in ("Ready", "ContainersReady") else "True", "lastProbeTime": None,
              "lastTransitionTime": STARTED} for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                                       "ContainersReady", "PodScheduled")]
    state: Obj = {"running": {"startedAt": STARTED}} if phase == "Running" else \
        {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": CREATED, "finishedAt": STARTED,
                        "containerID": "containerd://" + "0" * 64}}
    return {
        "phase": phase, "conditions": conds, "hostIP": node_ip, "hostIPs": [{"ip": node_ip}], "podIP": ip,
        "podIPs": [{"ip": ip}], "qosClass": "Burstable", "startTime": CREATED,
        "containerStatuses": [{"name": "app", "image": image, "imageID": image.split(":")[0] + "@sha256:" + "a" * 64,
                               "containerID": "containerd://" + "b" * 64, "ready": phase == "Running",
                               "restartCount": 0, "started": phase == "Running", "state": state, "lastState": {}}],
    }


class AppCluster:
    """Builds the non-llm-d part of a shared cluster (deterministic for a given seed)."""

    def __init__(self, nodes: list[str], seed: int = 15):
        self.nodes = nodes
        self.rand = random.Random(seed)
        self.objects: list[Obj] = []
        self.pods = 0
        self._ip = 0

    def _next_ip(self) -> str:
        self._ip += 1
        return f"10.{64 + (self._ip >> 16) % 64}.{(self._ip >> 8) & 255}.{self._ip & 255}"

    def _meta(self, kind: str, ns: str | None, name: str, labels: dict[str, str] | None = None) -> Obj:
        m: Obj = {"name": name, "uid": _uid(kind, ns or "", name), "resourceVersion": "1000",
                  "creationTimestamp": CREATED}
        if ns:
            m["namespace"] = ns
        if labels:
            m["labels"] = dict(labels)
        return m

    def _pod(self, ns: str, name: str, labels: dict[str, str], owner: tuple[str, str, str] | None, app: str,
             port: int | None, sa: str, phase: str = "Running", node: str | None = None) -> Obj:
        node = node or self.nodes[self.rand.randrange(len(self.nodes))]
        meta = self._meta("Pod", ns, name, labels)
        meta["generateName"] = name.rsplit("-", 1)[0] + "-"
        meta["annotations"] = {"kubectl.kubernetes.io/restartedAt": CREATED,
                               "prometheus.io/scrape": "true", "prometheus.io/port": str(port or 9090)}
        meta["managedFields"] = _managed_fields(owner[0].lower() + "-controller" if owner else "kubectl-run")
        if owner:
            kind, owner_name, api = owner
            meta["ownerReferences"] = [{"apiVersion": api, "kind": kind, "name": owner_name, "controller": True,
                                        "blockOwnerDeletion": True, "uid": _uid(kind, ns, owner_name)}]
        spec = _pod_spec(app, port, sa)
        spec["nodeName"] = node
        self.pods += 1
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
                "status": _pod_status(self._next_ip(), "10.0.0.1", spec["containers"][0]["image"], phase)}

    def _template(self, labels: dict[str, str], app: str, port: int | None, sa: str) -> Obj:
        return {"metadata": {"labels": dict(labels)}, "spec": _pod_spec(app, port, sa)}

    def deployment(self, ns: str, name: str, app: str, replicas: int, port: int | None = 8080) -> None:
        sa = "default"
        sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"}
        hashes = [format(self.rand.getrandbits(40), "010x")[:10] for _ in range(2)]
        dep_meta = self._meta("Deployment", ns, name, sel)
        dep_meta["generation"] = 4
        self.objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dep_meta, "spec": {
            "replicas": replicas, "selector": {"matchLabels": sel}, "revisionHistoryLimit": 10,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": self._template(sel, app, port, sa)},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "updatedReplicas": replicas, "observedGeneration": 4,
                       "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                      {"type": "Progressing", "status": "True",
                                       "reason": "NewReplicaSetAvailable"}]}})
        for i, h in enumerate(hashes):  # the current ReplicaSet, and the previous one scaled to 0
            labels = {**sel, "pod-template-hash": h}
            rs_name = f"{name}-{h}"
            meta = self._meta("ReplicaSet", ns, rs_name, labels)
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                        "controller": True, "uid": dep_meta["uid"]}]
            n = replicas if i == 0 else 0
            self.objects.append({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {
                "replicas": n, "selector": {"matchLabels": labels}, "template": self._template(labels, app, port, sa)},
                "status": {"replicas": n, "readyReplicas": n, "availableReplicas": n, "fullyLabeledReplicas": n}})
            for _ in range(n):
                suffix = format(self.rand.getrandbits(25), "05x")[:5]
                self.objects.append(self._pod(ns, f"{rs_name}-{suffix}", labels,
                                              ("ReplicaSet", rs_name, "apps/v1"), app, port, sa))

    def statefulset(self, ns: str, name: str, replicas: int) -> None:
        sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "database"}
        rev = f"{name}-{format(self.rand.getrandbits(40), '010x')[:10]}"
        self.objects.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": self._meta(
            "StatefulSet", ns, name, sel), "spec": {"replicas": replicas, "serviceName": name,
                                                    "selector": {"matchLabels": sel},
                                                    "template": self._template(sel, "db", 5432, "default")},
            "status": {"replicas": replicas, "readyReplicas": replicas, "currentRevision": rev}})
        for i in range(replicas):
            labels = {**sel, "controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                      "apps.kubernetes.io/pod-index": str(i)}
            self.objects.append(self._pod(ns, f"{name}-{i}", labels, ("StatefulSet", name, "apps/v1"), "db", 5432,
                                          "default"))

    def daemonset(self, ns: str, name: str) -> None:
        sel = {"k8s-app": name}
        self.objects.append({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": self._meta(
            "DaemonSet", ns, name, sel), "spec": {"selector": {"matchLabels": sel},
                                                  "template": self._template(sel, name, 9100, name)},
            "status": {"desiredNumberScheduled": len(self.nodes), "currentNumberScheduled": len(self.nodes),
                       "numberReady": len(self.nodes)}})
        for i, node in enumerate(self.nodes):
            labels = {**sel, "controller-revision-hash": "6d8f7b9c4", "pod-template-generation": "1"}
            self.objects.append(self._pod(ns, f"{name}-{format(i, '05x')}", labels, ("DaemonSet", name, "apps/v1"),
                                          name, 9100, name, node=node))

    def job(self, ns: str, name: str) -> None:
        uid = _uid("Job", ns, name)
        sel = {"batch.kubernetes.io/controller-uid": uid}
        labels = {**sel, "controller-uid": uid, "batch.kubernetes.io/job-name": name, "job-name": name}
        self.objects.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": self._meta("Job", ns, name, labels),
                             "spec": {"selector": {"matchLabels": sel},
                                      "template": self._template(labels, "report", None, "default")},
                             "status": {"succeeded": 1}})
        self.objects.append(self._pod(ns, f"{name}-{format(self.rand.getrandbits(25), '05x')[:5]}", labels,
                                      ("Job", name, "batch/v1"), "report", None, "default", phase="Succeeded"))

    def bare_pod(self, ns: str, name: str) -> None:
        self.objects.append(self._pod(ns, name, {"run": name}, None, "debug", None, "default"))

    def namespace(self, ns: str, pods: int) -> None:
        """One team's namespace holding about `pods` pods."""
        self.objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": self._meta(
            "Namespace", None, ns, {"kubernetes.io/metadata.name": ns}), "status": {"phase": "Active"}})
        db = 1 if pods < 6 else 2
        web = max(1, (pods - db) * 2 // 3)
        worker = max(0, pods - db - web)
        self.deployment(ns, "storefront", "web", web)
        if worker:
            self.deployment(ns, "order-worker", "worker", worker, port=None)
        self.statefulset(ns, "db", db)
        for name, port in (("storefront", 8080), ("db", 5432)):
            self.objects.append({"apiVersion": "v1", "kind": "Service", "metadata": self._meta("Service", ns, name),
                                 "spec": {"selector": {"app.kubernetes.io/name": name},
                                          "ports": [{"port": port, "targetPort": port, "protocol": "TCP"}],
                                          "type": "ClusterIP", "clusterIP": f"172.30.{self.rand.randrange(256)}.7"}})
        self.objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": self._meta("ConfigMap", ns,
                                                                                             "storefront-config"),
                             "data": {"settings.yaml": "cache: redis\nfeatures: [checkout-v2]\n" * 8}})
        self.objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": self._meta("ConfigMap", ns,
                                                                                             "kube-root-ca.crt"),
                             "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC" + "A" * 900 + "\n-----END "
                                      "CERTIFICATE-----\n"}})
        self.objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": self._meta("Secret", ns, "db-credentials"),
                             "type": "Opaque", "data": {"password": "c2VjcmV0"}})
        self.objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": self._meta(
            "ServiceAccount", ns, "default")})
        if self.rand.random() < 0.2:
            self.objects.append({"apiVersion": "v1", "kind": "Event", "metadata": self._meta(
                "Event", ns, f"storefront.{self.rand.getrandbits(32):x}"), "type": "Warning", "reason": "Unhealthy",
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503", "count": 3,
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": "storefront"},
                "lastTimestamp": STARTED})


def shared_cluster(namespaces: list[str], app_pods: int, nodes: list[str], seed: int = 15) -> list[Obj]:
    """`app_pods` ordinary pods: DaemonSet pods in kube-system (3 per node), a few Jobs and one bare
    pod, the rest spread over `namespaces`."""
    c = AppCluster(nodes, seed)
    c.objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": c._meta("Namespace", None, "kube-system"),
                      "status": {"phase": "Active"}})
    for ds in ("kube-proxy", "node-exporter", "fluent-bit"):
        c.daemonset("kube-system", ds)
    c.bare_pod("kube-system", "netshoot-debug")
    for i, ns in enumerate(namespaces[: max(1, len(namespaces) // 25)]):
        c.job(ns, f"nightly-report-2925{i:04d}")
    left = app_pods - c.pods
    for i, ns in enumerate(namespaces):
        share = left // (len(namespaces) - i)
        before = c.pods
        c.namespace(ns, share)
        left -= c.pods - before
    return c.objects
