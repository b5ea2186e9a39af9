"""InferencePools of both API generations, as one shape.

`inference.networking.x-k8s.io/v1alpha2` (flat selector, targetPortNumber, extensionRef with
portNumber) and `inference.networking.k8s.io/v1` (matchLabels, targetPorts, endpointPickerRef with
port.number) become one `Pool`, so nothing downstream cares which generation a pool is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmd_doctor import k8s
from llmd_doctor.kinds import HTTPROUTE, POD, POOL_KEYS, SERVICE, X_INFERENCE
from llmd_doctor.topology.known import Items, Ref, recorded

if TYPE_CHECKING:
    from llmd_doctor.topology.epps import Epp
    from llmd_doctor.topology.routes import Backend, Route
    from llmd_doctor.topology.servers import ServerGroup

Obj = dict[str, Any]
EPP_GRPC_PORT = 9002  # the ext-proc gRPC port of every EPP release (GIE and llm-d defaults)


@dataclass(frozen=True)
class EppRef:
    """The pool's reference to its endpoint picker (extensionRef / endpointPickerRef)."""

    field: str  # "spec.extensionRef" | "spec.endpointPickerRef"
    kind: str
    group: str
    name: str | None
    port: int | None  # None: not set (v1alpha2 defaults to 9002; v1 requires it for a Service)
    failure_mode: str  # FailClose | FailOpen

    @property
    def text(self) -> str:
        return f"{self.field}: kind {self.kind} name {self.name}" + (f" port {self.port}" if self.port else "")


@dataclass(eq=False)
class Pool:
    obj: Obj
    group: str
    version: str
    name: str
    namespace: str
    selector: dict[str, str]
    target_ports: list[int]
    epp: EppRef
    parents: list[Obj]  # status.parents (status.parent in early v1alpha2)
    _routes: Items[Route] = field(default_factory=Items)
    _foreign_routes: Items[tuple[Route, Backend]] = field(default_factory=Items)
    _epp_service: Ref[Obj] = field(default_factory=Ref)
    _epps: Items[Epp] = field(default_factory=Items)
    _backing_epps: Items[Epp] = field(default_factory=Items)
    _pods: Items[Obj] = field(default_factory=Items)
    _servers: list[ServerGroup] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"InferencePool/{self.namespace}/{self.name}"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.group, self.namespace, self.name

    @property
    def selector_text(self) -> str:
        return k8s.selector_text(self.selector) or "<empty>"

    @property
    def fail_open(self) -> bool:
        return self.epp.failure_mode == "FailOpen"

    # ---- relations, each recording what it was derived from ---------------------------------------

    @recorded(HTTPROUTE)
    def routes(self) -> Items[Route]:
        """HTTPRoutes whose backendRef resolves to this pool (its name, namespace and group)."""
        return self._routes

    @recorded(HTTPROUTE)
    def foreign_routes(self) -> Items[tuple[Route, Backend]]:
        """Routes naming this pool's namespace/name in the other pool API group: a reference that
        resolves to no pool (with the backend that does it)."""
        return self._foreign_routes

    @recorded(SERVICE)
    def epp_service(self) -> Ref[Obj]:
        """The Service its extensionRef/endpointPickerRef names (when that is a Service)."""
        return self._epp_service

    @recorded("Deployment.apps", *POOL_KEYS)
    def epps(self) -> Items[Epp]:
        """Endpoint pickers whose pool flags resolve to this pool."""
        return self._epps

    @recorded("Deployment.apps", SERVICE)
    def backing_epps(self) -> Items[Epp]:
        """Endpoint pickers whose pods the EPP Service selects."""
        return self._backing_epps

    @recorded(POD)
    def pods(self) -> Items[Obj]:
        """The pods its selector matches (not Succeeded/Failed)."""
        return self._pods

    @recorded(POD, "Deployment.apps", "ReplicaSet.apps", "StatefulSet.apps")
    def servers(self) -> list[ServerGroup]:
        """The model-server groups whose pods it selects."""
        return self._servers


def parse_pool(obj: Obj) -> Pool:
    group, _, version = str(obj.get("apiVersion", "")).partition("/")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if group == X_INFERENCE:
        ref = spec.get("extensionRef") or {}
        selector = spec.get("selector") or {}
        ports = [spec["targetPortNumber"]] if spec.get("targetPortNumber") else []
        port = ref.get("portNumber")
        parents = status.get("parent") or status.get("parents") or []
        ref_field = "spec.extensionRef"
    else:
        ref = spec.get("endpointPickerRef") or spec.get("extensionRef") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        ports = [p.get("number") for p in spec.get("targetPorts") or [] if p.get("number")]
        port = (ref.get("port") or {}).get("number") if isinstance(ref.get("port"), dict) else ref.get("portNumber")
        parents = status.get("parents") or []
        ref_field = "spec.endpointPickerRef"
    return Pool(
        obj=obj, group=group, version=version, name=k8s.name(obj), namespace=k8s.namespace(obj),
        selector={str(a): str(b) for a, b in selector.items()},
        target_ports=[int(p) for p in ports if isinstance(p, int) or (isinstance(p, str) and p.isdigit())],
        epp=EppRef(ref_field, str(ref.get("kind") or "Service"), str(ref.get("group") or ""),
                   str(ref["name"]) if ref.get("name") else None, int(port) if isinstance(port, int) else None,
                   str(ref.get("failureMode") or "FailClose")),
        parents=[p for p in parents if isinstance(p, dict)],
    )
