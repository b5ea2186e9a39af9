"""The shape of every field llmd-doctor reads, per kind: what an API server would send.

An object whose field has a type no API server sends (`selector: [1]`, `containers: [1]`,
`rules: 3`) is dropped by the source with one warning naming it and the field, so the topology and
the checks can trust the shapes they read and never crash on them. (What the live source keeps of
each object is `sources/prune.py`'s, which errs on keeping.)

A schema is a dict `{field: schema}` (the value must be an object; only the named fields are
checked), a one-element list `[schema]` (a list whose items match), `MAP` (an object kept
whole, e.g. labels), `ANY` (kept as is, unchecked) or a tuple of scalar types.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from llmd_doctor import shape_checks

ANY = "any"
MAP = "map"
STR: tuple[type, ...] = (str,)
INT: tuple[type, ...] = (int,)
BOOL: tuple[type, ...] = (bool,)
SCALAR: tuple[type, ...] = (str, int, float, bool)
INT_OR_STR: tuple[type, ...] = (int, str)
QUANTITY: tuple[type, ...] = (str, int, float)

Schema = Any

# ---- shared pieces ---------------------------------------------------------------------------

CONDITIONS = [{"type": STR, "status": STR, "reason": STR, "message": STR, "observedGeneration": INT,
               "lastTransitionTime": STR}]
METADATA = {
    "name": STR, "namespace": STR, "labels": MAP, "annotations": MAP, "uid": STR, "generation": INT,
    "creationTimestamp": STR, "resourceVersion": STR,
    "ownerReferences": [{"kind": STR, "name": STR, "controller": BOOL, "apiVersion": STR, "uid": STR}],
}
LABEL_SELECTOR = {
    "matchLabels": MAP,
    "matchExpressions": [{"key": STR, "operator": STR, "values": [SCALAR]}],
}
_PROBE = {
    "httpGet": {"port": INT_OR_STR, "path": STR, "scheme": STR},
    "tcpSocket": {"port": INT_OR_STR},
    "grpc": {"port": INT},
    "exec": {"command": [SCALAR]},
    "initialDelaySeconds": INT, "periodSeconds": INT, "failureThreshold": INT, "timeoutSeconds": INT,
}
CONTAINER = {
    "name": STR, "image": STR, "command": [SCALAR], "args": [SCALAR], "restartPolicy": STR, "workingDir": STR,
    "ports": [{"containerPort": INT, "name": STR, "protocol": STR}],
    "env": [{"name": STR, "value": SCALAR, "valueFrom": {
        "fieldRef": {"fieldPath": STR},
        "secretKeyRef": {"name": STR, "key": STR, "optional": BOOL},
        "configMapKeyRef": {"name": STR, "key": STR, "optional": BOOL},
    }}],
    "envFrom": [{"configMapRef": {"name": STR}, "secretRef": {"name": STR}, "prefix": STR}],
    "resources": {"requests": MAP, "limits": MAP, "claims": [{"name": STR}]},
    "volumeMounts": [{"name": STR, "mountPath": STR, "subPath": STR, "readOnly": BOOL}],
    "readinessProbe": _PROBE, "livenessProbe": _PROBE, "startupProbe": _PROBE,
}
_NODE_SELECTOR_TERM = {"matchExpressions": [{"key": STR, "operator": STR, "values": [SCALAR]}],
                       "matchFields": [{"key": STR, "operator": STR, "values": [SCALAR]}]}
POD_SPEC = {
    "containers": [CONTAINER],
    "initContainers": [CONTAINER],
    "volumes": [{
        "name": STR,
        "configMap": {"name": STR, "items": [{"key": STR, "path": STR}], "optional": BOOL},
        "secret": {"secretName": STR},
        "projected": {"sources": [{"configMap": {"name": STR, "items": [{"key": STR, "path": STR}]},
                                   "secret": {"name": STR}}]},
        "persistentVolumeClaim": {"claimName": STR}, "emptyDir": MAP, "hostPath": MAP,
    }],
    "nodeName": STR, "nodeSelector": MAP, "serviceAccountName": STR, "serviceAccount": STR,
    "tolerations": [{"key": STR, "operator": STR, "value": SCALAR, "effect": STR}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [_NODE_SELECTOR_TERM]}}},
    "resourceClaims": [MAP],
    "schedulerName": STR, "priorityClassName": STR, "hostNetwork": BOOL,
}
_CONTAINER_STATE = {
    "waiting": {"reason": STR, "message": STR},
    "running": {"startedAt": STR},
    "terminated": {"exitCode": INT, "signal": INT, "reason": STR, "message": STR, "startedAt": STR,
                   "finishedAt": STR},
}
CONTAINER_STATUS = {"name": STR, "ready": BOOL, "started": BOOL, "restartCount": INT, "image": STR,
                    "state": _CONTAINER_STATE, "lastState": _CONTAINER_STATE}
TEMPLATE = {"metadata": {"labels": MAP, "annotations": MAP}, "spec": POD_SPEC}
WORKLOAD_STATUS = {"replicas": INT, "readyReplicas": INT, "availableReplicas": INT, "updatedReplicas": INT,
                   "observedGeneration": INT, "conditions": CONDITIONS}
WORKLOAD = {"spec": {"replicas": INT, "selector": LABEL_SELECTOR, "template": TEMPLATE, "strategy": MAP},
            "status": WORKLOAD_STATUS}
_PARENT_REF = {"group": STR, "kind": STR, "namespace": STR, "name": STR, "sectionName": STR, "port": INT}
_ROUTE_PARENT_STATUS = {"parentRef": _PARENT_REF, "controllerName": STR, "conditions": CONDITIONS}
_BACKEND_REF = {"group": STR, "kind": STR, "namespace": STR, "name": STR, "port": INT, "weight": INT}
_POOL_PARENT_STATUS = {"parentRef": _PARENT_REF, "controllerName": STR, "conditions": CONDITIONS}
_RBAC_RULE = {"apiGroups": [STR], "resources": [STR], "verbs": [STR], "resourceNames": [STR],
              "nonResourceURLs": [STR]}
_SUBJECT = {"kind": STR, "name": STR, "namespace": STR, "apiGroup": STR}
_TLS = {"mode": STR, "insecureSkipVerify": BOOL, "caCertificates": STR, "credentialName": STR, "sni": STR}

# ---- per kind ----------------------------------------------------------------------------------

SCHEMAS: dict[str, Schema] = {
    "Pod": {"spec": POD_SPEC, "status": {
        "phase": STR, "reason": STR, "message": STR, "podIP": STR, "hostIP": STR, "startTime": STR,
        "conditions": CONDITIONS, "containerStatuses": [CONTAINER_STATUS],
        "initContainerStatuses": [CONTAINER_STATUS]}},
    "Deployment.apps": WORKLOAD,
    "ReplicaSet.apps": WORKLOAD,
    "StatefulSet.apps": WORKLOAD,
    "Service": {"spec": {"selector": MAP, "type": STR, "clusterIP": STR,
                         "ports": [{"name": STR, "port": INT, "targetPort": INT_OR_STR, "protocol": STR,
                                    "appProtocol": STR}]},
                "status": {"loadBalancer": {"ingress": [{"ip": STR, "hostname": STR}]}}},
    "ServiceAccount": {},
    "Namespace": {"status": {"phase": STR}},
    "ConfigMap": {"data": MAP, "binaryData": MAP},
    "Secret": {"type": STR, "data": MAP},
    "Node": {"spec": {"unschedulable": BOOL, "taints": [{"key": STR, "value": SCALAR, "effect": STR}]},
             "status": {"allocatable": MAP, "capacity": MAP, "conditions": CONDITIONS,
                        "nodeInfo": MAP}},
    "Event": {"type": STR, "reason": STR, "message": STR, "note": STR, "count": INT, "series": {"count": INT},
              "lastTimestamp": STR, "eventTime": STR, "firstTimestamp": STR,
              "involvedObject": {"kind": STR, "name": STR, "namespace": STR},
              "regarding": {"kind": STR, "name": STR, "namespace": STR}},
    "Role.rbac.authorization.k8s.io": {"rules": [_RBAC_RULE]},
    "ClusterRole.rbac.authorization.k8s.io": {
        "rules": [_RBAC_RULE], "aggregationRule": {"clusterRoleSelectors": [LABEL_SELECTOR]}},
    "RoleBinding.rbac.authorization.k8s.io": {"subjects": [_SUBJECT], "roleRef": {"kind": STR, "name": STR,
                                                                                   "apiGroup": STR}},
    "ClusterRoleBinding.rbac.authorization.k8s.io": {"subjects": [_SUBJECT], "roleRef": {
        "kind": STR, "name": STR, "apiGroup": STR}},
    # CRDs: only what says which kinds are served (the schemas inside are not read).
    "CustomResourceDefinition.apiextensions.k8s.io": {"spec": {
        "group": STR, "names": {"kind": STR, "plural": STR},
        "versions": [{"name": STR, "served": BOOL, "storage": BOOL}]}},
    "GatewayClass.gateway.networking.k8s.io": {"spec": {"controllerName": STR, "parametersRef": MAP},
                                               "status": {"conditions": CONDITIONS}},
    "Gateway.gateway.networking.k8s.io": {
        "spec": {"gatewayClassName": STR,
                 "listeners": [{"name": STR, "port": INT, "protocol": STR, "hostname": STR, "allowedRoutes": MAP,
                                "tls": MAP}],
                 "infrastructure": {"parametersRef": {"group": STR, "kind": STR, "name": STR},
                                    "labels": MAP, "annotations": MAP},
                 "addresses": [{"type": STR, "value": STR}]},
        "status": {"conditions": CONDITIONS, "addresses": [{"type": STR, "value": STR}],
                   "listeners": [{"name": STR, "attachedRoutes": INT, "conditions": CONDITIONS,
                                  "supportedKinds": [MAP]}]}},
    "HTTPRoute.gateway.networking.k8s.io": {
        "spec": {"parentRefs": [_PARENT_REF], "hostnames": [STR],
                 "rules": [{"backendRefs": [_BACKEND_REF], "timeouts": MAP, "filters": [MAP],
                            "matches": [{"path": {"type": STR, "value": STR}, "headers": [MAP], "method": STR}]}]},
        "status": {"parents": [_ROUTE_PARENT_STATUS]}},
    "ReferenceGrant.gateway.networking.k8s.io": {"spec": {
        "from": [{"group": STR, "kind": STR, "namespace": STR}], "to": [{"group": STR, "kind": STR, "name": STR}]}},
    "InferencePool.inference.networking.x-k8s.io": {
        "spec": {"selector": MAP, "targetPortNumber": INT,
                 "extensionRef": {"group": STR, "kind": STR, "name": STR, "portNumber": INT, "failureMode": STR}},
        "status": {"parent": [_POOL_PARENT_STATUS], "parents": [_POOL_PARENT_STATUS]}},
    "InferencePool.inference.networking.k8s.io": {
        "spec": {"selector": {"matchLabels": MAP}, "targetPorts": [{"number": INT}],
                 "endpointPickerRef": {"group": STR, "kind": STR, "name": STR, "port": {"number": INT},
                                       "failureMode": STR},
                 "extensionRef": {"group": STR, "kind": STR, "name": STR, "portNumber": INT, "failureMode": STR}},
        "status": {"parents": [_POOL_PARENT_STATUS]}},
    "InferenceModel.inference.networking.x-k8s.io": {"spec": {
        "modelName": STR, "criticality": STR, "poolRef": {"group": STR, "kind": STR, "name": STR},
        "targetModels": [{"name": STR, "weight": INT}]}},
    "InferenceObjective.inference.networking.x-k8s.io": {"spec": {
        "priority": INT, "poolRef": {"group": STR, "kind": STR, "name": STR}}},
    "InferenceObjective.llm-d.ai": {"spec": {"priority": INT, "poolRef": {"group": STR, "kind": STR, "name": STR}}},
    "InferenceModelRewrite.inference.networking.x-k8s.io": {"spec": MAP},
    "InferenceModelRewrite.llm-d.ai": {"spec": MAP},
    "DestinationRule.networking.istio.io": {"spec": {
        "host": STR, "trafficPolicy": {"tls": _TLS, "portLevelSettings": [{"port": {"number": INT}, "tls": _TLS}]}}},
    "GatewayParameters.gateway.kgateway.dev": {"spec": MAP},
    "HealthCheckPolicy.networking.gke.io": {
        "spec": {"default": MAP, "targetRef": {"group": STR, "kind": STR, "name": STR}},
        "status": {"conditions": CONDITIONS}},
}


# ---- validation ----------------------------------------------------------------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def _type_text(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _compile(schema: Schema) -> Callable[[Any], bool]:
    """A function telling whether a value matches `schema` — `problem` without building paths, the
    schema's dispatch done once: every object of every list is checked, and almost all fit."""
    if schema is ANY:
        return lambda v: True
    if schema is MAP:
        return lambda v: v is None or type(v) is dict
    if type(schema) is tuple:
        strict = bool not in schema  # bool is an int in Python; an integer field holding true is still wrong

        def scalar(v: Any) -> bool:
            return v is None or (isinstance(v, schema) and not (strict and type(v) is bool))
        return scalar
    if type(schema) is list:
        item_fits = _compile(schema[0])

        def items(v: Any) -> bool:
            if v is None:
                return True
            if type(v) is not list:
                return False
            for x in v:  # noqa: SIM110 - a loop, not all(genexpr): this runs for every field of every object
                if x is None or not item_fits(x):
                    return False
            return True
        return items
    fields = tuple((name, _compile(sub)) for name, sub in schema.items())

    def obj(v: Any) -> bool:
        if v is None:
            return True
        if type(v) is not dict:
            return False
        get = v.get
        for name, f in fields:  # noqa: SIM110 - likewise
            if not f(get(name)):
                return False
        return True
    return obj


def _without(schema: Schema, paths: frozenset[tuple[str, ...]]) -> Schema:
    """`schema` with the subtrees at `paths` unchecked (ANY)."""
    if not paths or not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for name in {p[0] for p in paths}:
        if name in out:
            rest = frozenset(p[1:] for p in paths if p[0] == name)
            out[name] = ANY if () in rest else _without(out[name], rest)
    return out


@cache
def _fits(key: str, skip: frozenset[tuple[str, ...]] = frozenset()) -> Callable[[Any], bool]:
    return _compile(_without(SCHEMAS.get(key, ANY), skip))


@cache
def _metadata_fits(skip: frozenset[tuple[str, ...]] = frozenset()) -> Callable[[Any], bool]:
    return _compile(_without(METADATA, skip))


def problem(value: Any, schema: Schema, path: str = "") -> str | None:
    """The first field of `value` that does not match `schema`, as `spec.containers[0]: a list, not
    an object`; None when it matches. Absent and null fields match."""
    if value is None or schema == ANY:
        return None
    if schema == MAP:
        return None if isinstance(value, dict) else f"{path or 'value'}: {_type_text(value)}, not an object"
    if isinstance(schema, tuple):
        # bool is an int in Python; an integer field holding true/false is still wrong.
        ok = isinstance(value, schema) and not (isinstance(value, bool) and bool not in schema)
        if ok:
            return None
        want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in schema)
        return f"{path or 'value'}: {_type_text(value)}, not {want}"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{path or 'value'}: {_type_text(value)}, not a list"
        for i, item in enumerate(value):
            if item is None:
                return f"{path}[{i}]: a null, not {'an object' if isinstance(schema[0], dict) else 'a value'}"
            if (p := problem(item, schema[0], f"{path}[{i}]")) is not None:
                return p
        return None
    if not isinstance(value, dict):
        return f"{path or 'value'}: {_type_text(value)}, not an object"
    for field, sub in schema.items():
        if field in value and (p := problem(value[field], sub, f"{path}.{field}" if path else field)) is not None:
            return p
    return None


def misshapen(obj: dict[str, Any], key: str, skip: frozenset[tuple[str, ...]] = frozenset()) -> str | None:
    """Why an object of kind `key` is of impossible shape, or None. `skip`: paths (("spec",
    "containers")) holding a value already found well-shaped, the very object, in another item."""
    for name in ("spec", "status"):
        if obj.get(name) is not None and not isinstance(obj[name], dict):
            return f"{name}: {_type_text(obj[name])}, not an object"
    meta_skip, rest_skip = _split(skip)
    meta = obj.get("metadata")
    if not _fits_metadata(meta, meta_skip) and (p := problem(meta, METADATA, "metadata")):
        return p
    meta = meta or {}
    for name in ("labels", "annotations"):
        if (name,) in meta_skip:
            continue
        for k, v in (meta.get(name) or {}).items():
            if type(v) is not str and v is not None and not isinstance(v, str | int | float | bool):
                return f"metadata.{name}.{k}: {_type_text(v)}, not a string"
    schema = SCHEMAS.get(key)
    if schema is None:
        return None
    # No kind's schema names metadata (checked above, and by tests/test_shapes.py): the object is
    # checked as it is, without a copy that leaves metadata out.
    generated = shape_checks.KINDS.get(key)
    fits = generated[0](obj, rest_skip) if generated and rest_skip <= generated[1] else _fits(key, rest_skip)(obj)
    return None if fits else problem({k: v for k, v in obj.items() if k != "metadata"}, schema)


def _fits_metadata(meta: Any, skip: frozenset[tuple[str, ...]]) -> bool:
    fits, paths = shape_checks.METADATA
    return fits(meta, skip) if skip <= paths else _metadata_fits(skip)(meta)


@cache
def _split(skip: frozenset[tuple[str, ...]]) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """(the paths under metadata, without it; the others)."""
    return frozenset(p[1:] for p in skip if p[0] == "metadata"), frozenset(p for p in skip if p[0] != "metadata")
